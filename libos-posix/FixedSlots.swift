// Fixed-size storage for the thread code's per-slot tables: allocated once,
// sized when the table is made (like the kernel's tables at boot), never
// grown or copied. The thread switch reads and writes these on every yield,
// and an Array's uniqueness check and write-back would be most of its cost.
// Copies of a FixedSlots share their storage: the owner keeps exactly one.

public struct FixedSlots<Element> {
  private let base: UnsafeMutablePointer<Element>?
  public let count: Int

  /// No slots and nothing allocated: a constant, so a global holding it is
  /// laid out at link time and read with no lazy-initialisation check.
  public init() {
    base = nil
    count = 0
  }

  public init(repeating value: Element, count: Int) {
    precondition(count >= 0)
    let storage = UnsafeMutablePointer<Element>.allocate(capacity: max(count, 1))
    storage.initialize(repeating: value, count: count)
    base = storage
    self.count = count
  }

  @inline(__always)
  public subscript(_ i: Int) -> Element {
    get {
      precondition(i >= 0 && i < count, "slot out of range")
      return base.unsafelyUnwrapped[i]
    }
    nonmutating set {
      precondition(i >= 0 && i < count, "slot out of range")
      base.unsafelyUnwrapped[i] = newValue
    }
  }

  /// The same without the range check, for the thread switch's own path:
  /// only for slots a scheduler or the table already holds (each was
  /// checked when it was admitted).
  @inline(__always)
  public subscript(unchecked i: Int) -> Element {
    get { base.unsafelyUnwrapped[i] }
    nonmutating set { base.unsafelyUnwrapped[i] = newValue }
  }
}
