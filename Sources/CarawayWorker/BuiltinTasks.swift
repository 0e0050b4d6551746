import CarawayProtocol
#if canImport(Glibc)
import Glibc
#endif

extension TaskRegistry {
    /// The registry with Caraway's built-in tasks (`caraway.*`), the one the `caraway` binary uses.
    public static var builtins: TaskRegistry {
        var registry = TaskRegistry()
        registry.registerBuiltins()
        return registry
    }

    /// Adds the built-in tasks to this registry (user nodes call this to keep them).
    public mutating func registerBuiltins() {
        register("caraway.noop") { _, args, kwargs in
            .null
        }
        register("caraway.add") { context, args, kwargs in
            let a = TaskArguments(task: context.name, args: args, kwargs: kwargs)
            try a.expect(parameters: ["x", "y"])
            return Arithmetic.combine(try a.number(0, "x"), try a.number(1, "y"),
                                      int: { $0.addingReportingOverflow($1) }, double: +)
        }
        register("caraway.mul") { context, args, kwargs in
            let a = TaskArguments(task: context.name, args: args, kwargs: kwargs)
            try a.expect(parameters: ["x", "y"])
            return Arithmetic.combine(try a.number(0, "x"), try a.number(1, "y"),
                                      int: { $0.multipliedReportingOverflow(by: $1) }, double: *)
        }
        register("caraway.xsum") { context, args, kwargs in
            let a = TaskArguments(task: context.name, args: args, kwargs: kwargs)
            try a.expect(parameters: ["numbers"])
            guard case .array(let items) = try a.value(0, "numbers") else {
                throw TaskError.badArguments("caraway.xsum() argument 'numbers' must be a list of numbers")
            }
            var total: JSON = .number(JSONNumber(0))
            for (i, item) in items.enumerated() {
                guard case .number(let n) = item, case .number(let t) = total else {
                    throw TaskError.badArguments("caraway.xsum() element \(i) must be a number, got \(item.typeName)")
                }
                total = Arithmetic.combine(t, n, int: { $0.addingReportingOverflow($1) }, double: +)
            }
            return total
        }
        register("caraway.sleep") { context, args, kwargs in
            let a = TaskArguments(task: context.name, args: args, kwargs: kwargs)
            try a.expect(parameters: ["seconds"])
            guard let seconds = try a.number(0, "seconds").double, seconds >= 0, seconds.isFinite else {
                throw TaskError.badValue("caraway.sleep() argument 'seconds' must be a non-negative number")
            }
            // Sleep in small steps so a soft time limit is noticed promptly.
            var remaining = seconds
            while remaining > 0 {
                if context.isSoftTimeLimitExceeded { throw TaskError.softTimeLimitExceeded() }
                let step = min(remaining, 0.01)
                usleep(UInt32(step * 1_000_000))
                remaining -= step
            }
            return .number(try a.number(0, "seconds"))
        }
        register("caraway.fail", options: TaskOptions(maxRetries: 0)) { context, args, kwargs in
            let a = TaskArguments(task: context.name, args: args, kwargs: kwargs)
            try a.expect(parameters: ["message"])
            let message = a.optional(0, "message")?.stringValue ?? "caraway.fail was asked to fail"
            throw TaskError(type: "RuntimeError", message: message)
        }
        register("caraway.echo") { _, args, kwargs in
            .object(["args": .array(args), "kwargs": .object(kwargs)])
        }
        // Asks for a retry until it has been retried `failures` times, then returns the retry count:
        // exercises Celery-style retries (same id, retries + 1, countdown via the delayed set).
        register("caraway.flaky", options: TaskOptions(maxRetries: 5)) { context, args, kwargs in
            let a = TaskArguments(task: context.name, args: args, kwargs: kwargs)
            try a.expect(parameters: ["failures", "countdown", "max_retries"])
            guard let failures = try a.number(0, "failures").int, failures >= 0 else {
                throw TaskError.badValue("caraway.flaky() argument 'failures' must be a non-negative integer")
            }
            let countdown = a.optional(1, "countdown")?.doubleValue
            if context.retries < failures {
                throw TaskRetry(countdown: countdown, maxRetries: kwargs["max_retries"]?.intValue,
                                reason: "flaky: attempt \(context.retries + 1) of \(failures + 1) fails on purpose")
            }
            return .number(JSONNumber(context.retries))
        }
        // The chaos harness's workload: appends one line per execution (recorded at start, so a run
        // cut short by a kill still counts) to the file named by CARAWAY_CHAOS_LOG, then sleeps.
        register("caraway.chaos_record") { context, args, kwargs in
            let a = TaskArguments(task: context.name, args: args, kwargs: kwargs)
            try a.expect(parameters: ["tag", "sleep_ms"])
            let tag = a.optional(0, "tag")?.stringValue ?? ""
            let sleepMilliseconds = a.optional(1, "sleep_ms")?.intValue ?? 0
            guard (0...60_000).contains(sleepMilliseconds) else {
                throw TaskError.badValue("caraway.chaos_record() argument 'sleep_ms' must be 0-60000")
            }
            try ChaosLog.append(id: context.id, tag: tag, deliveries: context.deliveries)
            if sleepMilliseconds > 0 { usleep(UInt32(sleepMilliseconds) * 1000) }
            return .string(tag)
        }
        register("caraway.pid") { _, _, _ in
            .number(JSONNumber(Int(getpid())))
        }
        register("caraway.script") { context, args, kwargs in
            let a = TaskArguments(task: context.name, args: args, kwargs: kwargs)
            try a.expect(parameters: ["name", "params", "timeout"])
            let name = try a.string(0, "name")
            let parameters = a.optional(1, "params") ?? .object([:])
            let timeout = kwargs["timeout"]?.doubleValue ?? context.softTimeLimit ?? ScriptRunner.defaultTimeout
            return try ScriptRunner.fromEnvironment().run(name: name, parameters: parameters,
                                                          executionID: context.id, timeout: timeout)
        }
    }
}
