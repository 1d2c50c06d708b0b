// The arguments of `exo boot`, parsed and checked before anything is built.

public struct BootOptions: Sendable, Equatable {
  public var apps: [AppChoice] = []
  public var accel: Accel = .tcg
  public var gdb = false
  /// Seconds before a boot counts as hung; `--gdb` runs have none.
  public var timeoutSeconds: Double = 60
  public var memoryMiB = 256
  /// `--forward` (repeatable) and `--inject`; checked against the apps' addresses in BootPlan.
  public var network = NetworkOptions()

  public init(apps: [AppChoice] = [], accel: Accel = .tcg) {
    self.apps = apps
    self.accel = accel
  }

  /// The timeout that applies: none while a debugger holds the machine.
  public var effectiveTimeout: Double? { gdb ? nil : timeoutSeconds }

  /// `arguments` follow the word `boot`; `knownApps` are the catalog's names.
  public static func parse(_ arguments: [String], knownApps: [String]) throws -> BootOptions {
    var options = BootOptions()
    var remaining = arguments[...]
    var held: [Int] = []

    func value(of option: String, inline: String?) throws -> String {
      if let inline { return inline }
      guard let next = remaining.popFirst() else { throw ExoFailure.usage("\(option) needs a value") }
      return next
    }

    while let argument = remaining.popFirst() {
      guard argument.hasPrefix("-") else {
        options.apps.append(try AppChoice.parse(argument))
        continue
      }
      // Both `--accel kvm` and `--accel=kvm`.
      let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
      let option = parts[0]
      let inline = parts.count > 1 ? parts[1] : nil
      switch option {
      case "--accel":
        let name = try value(of: option, inline: inline)
        guard let accel = Accel(rawValue: name) else {
          throw ExoFailure.usage("unknown accelerator '\(name)'; use tcg, kvm or icount")
        }
        options.accel = accel
      case "--gdb":
        guard inline == nil else { throw ExoFailure.usage("--gdb takes no value") }
        options.gdb = true
      case "--timeout":
        let text = try value(of: option, inline: inline)
        guard let seconds = Double(text), seconds > 0, seconds.isFinite else {
          throw ExoFailure.usage("--timeout needs a positive number of seconds, not '\(text)'")
        }
        options.timeoutSeconds = seconds
      case "--memory":
        let text = try value(of: option, inline: inline)
        guard let mib = Int(text), (16...65536).contains(mib) else {
          throw ExoFailure.usage("--memory needs a whole number of MiB in 16...65536, not '\(text)'")
        }
        options.memoryMiB = mib
      case "--held":
        let text = try value(of: option, inline: inline)
        guard let position = Int(text), position >= 1 else {
          throw ExoFailure.usage("--held needs an app's position in the list, 1 for the first, not '\(text)'")
        }
        held.append(position)
      case "--forward":
        options.network.forwards.append(try ForwardRequest.parse(try value(of: option, inline: inline)))
      case "--inject":
        guard options.network.injection == nil else { throw ExoFailure.usage("--inject is given twice") }
        options.network.injection = try FrameInjection.parse(try value(of: option, inline: inline))
      case "--build":
        let build = try value(of: option, inline: inline)
        switch build {
        case "exo": break
        case "micro":
          throw ExoFailure("the micro build does not exist yet; only --build exo", exitStatus: ExitStatus.usage)
        default: throw ExoFailure.usage("unknown build '\(build)'; the only build is exo")
        }
      default:
        throw ExoFailure.usage("unknown option '\(argument)'")
      }
    }

    guard !options.apps.isEmpty else { throw ExoFailure.usage("name at least one app to boot") }
    for position in held {
      // The first env has no env before it to start it.
      guard position >= 2, position <= options.apps.count else {
        throw ExoFailure.usage("--held \(position): held apps are 2...\(options.apps.count), started by an app before them")
      }
      options.apps[position - 1].held = true
    }
    for app in options.apps where !knownApps.contains(app.name) {
      throw ExoFailure(
        "unknown app '\(app.name)'; the apps are: \(knownApps.sorted().joined(separator: ", "))",
        exitStatus: ExitStatus.usage)
    }
    return options
  }
}
