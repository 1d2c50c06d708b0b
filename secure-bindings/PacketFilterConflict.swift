// The conflict check: may one frame match two filters? The kernel refuses a
// filter that may overlap one another env holds, so that every received frame
// has at most one owner and the order filters were bound in never matters.

extension PacketFilter {
  /// False only when some byte, at the same base and offset in both filters,
  /// has bits both test and demand differently: no frame can then match both.
  /// Bytes of different bases are never compared (an IP-payload offset lands
  /// on different frame bytes for different IHLs), and lengths never prove
  /// anything (a longer frame satisfies both), so in doubt the answer is true.
  /// Both filters are in canonical order, so this is one merge walk: at most
  /// 96 steps.
  public static func mayOverlap(_ a: PacketFilter, _ b: PacketFilter) -> Bool {
    let x = FilterBytes(a)
    let y = FilterBytes(b)
    var i = 0
    var j = 0
    while i < x.count && j < y.count {
      let s = x.tests[i]
      let t = y.tests[j]
      if s.position < t.position {
        i += 1
      } else if t.position < s.position {
        j += 1
      } else {
        if s.mask & t.mask & (s.value ^ t.value) != 0 { return false }
        i += 1
        j += 1
      }
    }
    return true
  }
}
