import CarawayProtocol
import CarawayWorker
import Foundation
import Logging
import Testing

/// The `caraway.*` handlers, called directly as a child would call them.
struct BuiltinTasksTests {
    static let registry = TaskRegistry.builtins

    func call(_ task: String, _ args: [JSON] = [], _ kwargs: JSONObject = [:], retries: Int = 0) throws -> JSON {
        let entry = try #require(Self.registry.entry(task), "\(task) is registered")
        let context = TaskContext(id: "exec-1", name: task, retries: retries, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        return try entry.handler(context, args, kwargs)
    }

    /// Runs `task` expecting a `TaskError` of `type` whose message contains `fragment`.
    func expectError(_ type: String, containing fragment: String, _ task: String, _ args: [JSON] = [], _ kwargs: JSONObject = [:],
                     sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let value = try call(task, args, kwargs)
            Issue.record("expected \(type), got \(value)", sourceLocation: sourceLocation)
        } catch let error as TaskError {
            #expect(error.type == type, sourceLocation: sourceLocation)
            #expect(error.module == "builtins", sourceLocation: sourceLocation)
            #expect(error.message.contains(fragment), "\(error.message)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected TaskError, got \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("add and mul keep integer results integral and follow Python for floats", arguments: [
        ("caraway.add", [2, 3] as [JSON], "5"),
        ("caraway.add", [-7, 7], "0"),
        ("caraway.add", [1.5, 2.25], "3.75"),
        ("caraway.add", [1, 0.5], "1.5"),
        ("caraway.add", [2.0, 3], "5.0"),
        ("caraway.mul", [6, 7], "42"),
        ("caraway.mul", [2.5, 4], "10.0"),
        ("caraway.mul", [-3, 3], "-9"),
    ])
    func arithmetic(task: String, args: [JSON], text: String) throws {
        let result = try call(task, args)
        #expect(result.numberValue?.text == text)
    }

    @Test func integerOverflowFallsBackToDouble() throws {
        let sum = try call("caraway.add", [JSON(Int.max), 1])
        #expect(sum.numberValue?.isInteger == false)
        #expect(sum.doubleValue == Double(Int.max) + 1)
        let product = try call("caraway.mul", [JSON(Int.max), 2])
        #expect(product.numberValue?.isInteger == false)
        #expect(product.doubleValue == Double(Int.max) * 2)
        // An integer literal too big for Int is already a double for Caraway.
        let big = try call("caraway.add", [.number(JSONNumber(literal: "99999999999999999999")!), 1])
        #expect(big.doubleValue == 1e20)
    }

    @Test func argumentsBindByKeywordAsWellAsPosition() throws {
        #expect(try call("caraway.add", [], ["x": 2, "y": 3]) == 5)
        #expect(try call("caraway.add", [2], ["y": 3]) == 5)
        #expect(try call("caraway.mul", [], ["y": 3, "x": 4]) == 12)
    }

    @Test func wrongTypesAreTypeErrorsNamingTheArgument() {
        expectError("TypeError", containing: "'x' must be a number, got a string", "caraway.add", ["a", 1])
        expectError("TypeError", containing: "'y' must be a number, got null", "caraway.add", [1, nil])
        expectError("TypeError", containing: "'y' must be a number, got a boolean", "caraway.mul", [1], ["y": true])
        expectError("TypeError", containing: "missing required argument 'y'", "caraway.add", [1])
    }

    @Test func tooManyPositionalArgumentsAreATypeError() {
        expectError("TypeError", containing: "takes 2 positional arguments but 3 were given", "caraway.add", [1, 2, 3])
        expectError("TypeError", containing: "takes 2 positional arguments but 3 were given", "caraway.mul", [1, 2, 3])
        expectError("TypeError", containing: "takes 1 positional argument but 2 were given", "caraway.xsum", [[1], [2]])
    }

    @Test func xsumAddsAListOfNumbers() throws {
        #expect(try call("caraway.xsum", [[1, 2, 3]]).numberValue?.text == "6")
        #expect(try call("caraway.xsum", [[1, 2.5]]).numberValue?.text == "3.5")
        #expect(try call("caraway.xsum", [[]]).numberValue?.text == "0")
        #expect(try call("caraway.xsum", [], ["numbers": [4, 5]]) == 9)
        #expect(try call("caraway.xsum", [[JSON(Int.max), 1]]).doubleValue == Double(Int.max) + 1)
        expectError("TypeError", containing: "element 1 must be a number, got a string", "caraway.xsum", [[1, "2"]])
        expectError("TypeError", containing: "'numbers' must be a list", "caraway.xsum", [5])
    }

    @Test func echoReturnsItsArguments() throws {
        #expect(try call("caraway.echo", [1, "a", nil], ["k": [true]]) == ["args": [1, "a", nil], "kwargs": ["k": [true]]])
        #expect(try call("caraway.echo") == ["args": [], "kwargs": [:]])
    }

    @Test func failRaisesARuntimeErrorWithTheMessage() {
        expectError("RuntimeError", containing: "boom", "caraway.fail", ["boom"])
        expectError("RuntimeError", containing: "kw boom", "caraway.fail", [], ["message": "kw boom"])
        expectError("RuntimeError", containing: "caraway.fail was asked to fail", "caraway.fail")
        #expect(Self.registry.entry("caraway.fail")?.options.maxRetries == 0)
    }

    @Test func sleepWaitsAndReturnsItsArgument() throws {
        let start = Date()
        #expect(try call("caraway.sleep", [0.05]) == 0.05)
        #expect(Date().timeIntervalSince(start) >= 0.045)
        #expect(try call("caraway.sleep", [0]) == 0)
        expectError("ValueError", containing: "non-negative", "caraway.sleep", [-1])
        expectError("TypeError", containing: "'seconds' must be a number", "caraway.sleep", ["1"])
    }

    @Test func noopReturnsNull() throws {
        #expect(try call("caraway.noop", [1, 2], ["x": 3]) == .null)
    }

    @Test func pidReturnsThisProcessID() throws {
        #expect(try call("caraway.pid") == JSON(Int(ProcessInfo.processInfo.processIdentifier)))
    }

    @Test func flakyAsksForRetriesUntilItsFailuresAreUsedUp() throws {
        do {
            _ = try call("caraway.flaky", [2, 0.5], ["max_retries": 9], retries: 1)
            Issue.record("expected a TaskRetry")
        } catch let retry as TaskRetry {
            #expect(retry.countdown == 0.5)
            #expect(retry.maxRetries == 9)
            #expect(retry.reason.contains("attempt 2 of 3"))
        }
        #expect(try call("caraway.flaky", [2], retries: 2) == 2)
        expectError("ValueError", containing: "non-negative integer", "caraway.flaky", [1.5])
    }

    @Test func theBuiltinsAreAllRegistered() {
        let expected: Set = ["caraway.add", "caraway.echo", "caraway.fail", "caraway.flaky", "caraway.mul", "caraway.noop", "caraway.pid",
                             "caraway.script", "caraway.sleep", "caraway.xsum"]
        #expect(expected.isSubset(of: Self.registry.names))
        #expect(Self.registry.names.allSatisfy { $0.hasPrefix("caraway.") })
    }
}
