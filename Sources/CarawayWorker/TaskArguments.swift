import CarawayProtocol

/// Reads handler arguments the way Python binds them: by position first, then by keyword.
public struct TaskArguments {
    public let task: String
    public let args: [JSON]
    public let kwargs: JSONObject

    public init(task: String, args: [JSON], kwargs: JSONObject) {
        self.task = task
        self.args = args
        self.kwargs = kwargs
    }

    /// The argument at `position` or keyword `name`; throws a `TypeError` naming it when missing.
    public func value(_ position: Int, _ name: String) throws(TaskError) -> JSON {
        if position < args.count { return args[position] }
        if let value = kwargs[name] { return value }
        throw .badArguments("\(task)() missing required argument '\(name)' (position \(position + 1))")
    }

    public func optional(_ position: Int, _ name: String) -> JSON? {
        if position < args.count { return args[position] }
        return kwargs[name]
    }

    /// The argument as a number; a `TypeError` names the argument and the type it got.
    public func number(_ position: Int, _ name: String) throws(TaskError) -> JSONNumber {
        let value = try value(position, name)
        guard case .number(let n) = value else {
            throw .badArguments("\(task)() argument '\(name)' must be a number, got \(value.typeName)")
        }
        return n
    }

    public func string(_ position: Int, _ name: String) throws(TaskError) -> String {
        let value = try value(position, name)
        guard case .string(let s) = value else {
            throw .badArguments("\(task)() argument '\(name)' must be a string, got \(value.typeName)")
        }
        return s
    }

    /// Binds like a Python signature `def task(p1, p2, ...)`: too many positional arguments, an
    /// unexpected keyword, or a value given both ways is a `TypeError`, as Python raises it.
    public func expect(parameters: [String]) throws(TaskError) {
        if args.count > parameters.count {
            throw .badArguments("\(task)() takes \(parameters.count) positional argument\(parameters.count == 1 ? "" : "s") but \(args.count) were given")
        }
        for key in kwargs.keys {
            guard let index = parameters.firstIndex(of: key) else {
                throw .badArguments("\(task)() got an unexpected keyword argument '\(key)'")
            }
            if index < args.count { throw .badArguments("\(task)() got multiple values for argument '\(key)'") }
        }
    }
}

/// Arithmetic on JSON numbers that keeps integers integral (2 + 3 is 5, not 5.0).
enum Arithmetic {
    static func combine(_ a: JSONNumber, _ b: JSONNumber, int: (Int, Int) -> (Int, Bool), double: (Double, Double) -> Double) -> JSON {
        if let x = a.int, let y = b.int {
            let (value, overflow) = int(x, y)
            if !overflow { return .number(JSONNumber(value)) }
        }
        return .number(JSONNumber(double(a.double ?? .nan, b.double ?? .nan)))
    }
}
