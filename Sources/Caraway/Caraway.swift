import ArgumentParser
import CarawayWorker
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Entry point for the `caraway` binary and for users' own node binaries.
///
/// ```swift
/// var tasks = TaskRegistry.builtins
/// tasks.register("reports.build") { context, args, kwargs in ... }
/// Caraway.main(registry: tasks)
/// ```
/// The same binary also runs as a pool child (started by its own node with `CARAWAY_CHILD=1`),
/// so children always have exactly the node's tasks.
public enum Caraway {
    /// The registry the commands use; set once by `main` before parsing.
    nonisolated(unsafe) static var registry = TaskRegistry.builtins

    public static func main(registry: TaskRegistry = .builtins) -> Never {
        if ChildMain.isChild {
            let format = getenv("CARAWAY_LOG_FORMAT").flatMap { LineLogHandler.Format(rawValue: String(cString: $0)) } ?? .human
            let level = getenv("CARAWAY_LOG_LEVEL").flatMap { Logger.Level(rawValue: String(cString: $0)) } ?? .info
            LoggingSystem.bootstrap { LineLogHandler(label: $0, format: format, level: level) }
            ChildMain.run(registry: registry, logger: Logger(label: "caraway.child"))
        }
        Caraway.registry = registry
        CarawayCommand.main()
        exit(0)
    }
}

struct CarawayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caraway",
        abstract: "Caraway: Celery-compatible task nodes in Swift.",
        version: Node.version,
        subcommands: [NodeCommand.self, CallCommand.self, ScheduleCommand.self, InspectCommand.self, PurgeCommand.self,
                      RevokeCommand.self, EventsCommand.self]
    )
}
