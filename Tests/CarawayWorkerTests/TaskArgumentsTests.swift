import CarawayProtocol
@testable import CarawayWorker
import Testing

struct TaskArgumentsTests {
    let arguments = TaskArguments(task: "t", args: [1, "s"], kwargs: ["y": 2.5, "name": "n", "flag": true])

    @Test func positionWinsOverKeywordThenKeywordThenMissing() throws {
        #expect(try arguments.value(0, "x") == 1)
        #expect(try arguments.value(2, "y") == 2.5)
        #expect(arguments.optional(3, "absent") == nil)
        #expect(arguments.optional(1, "name") == "s")
        do {
            _ = try arguments.value(3, "z")
            Issue.record("expected a TypeError")
        } catch {
            #expect(error.type == "TypeError")
            #expect(error.message == "t() missing required argument 'z' (position 4)")
        }
    }

    @Test func typedAccessorsNameTheArgumentAndTheTypeTheyGot() throws {
        #expect(try arguments.number(0, "x").int == 1)
        #expect(try arguments.string(3, "name") == "n")
        #expect(throws: TaskError.self) { try arguments.number(1, "s") }
        do {
            _ = try arguments.string(4, "flag")
            Issue.record("expected a TypeError")
        } catch {
            #expect(error.message == "t() argument 'flag' must be a string, got a boolean")
        }
    }

    @Test func bindingRejectsWhatPythonRejects() {
        let two = TaskArguments(task: "t", args: [1, 2], kwargs: [:])
        #expect(throws: Never.self) { try two.expect(parameters: ["x", "y"]) }
        func message(_ a: TaskArguments, _ parameters: [String]) -> String? {
            do { try a.expect(parameters: parameters); return nil } catch { return error.message }
        }
        #expect(message(two, ["x"]) == "t() takes 1 positional argument but 2 were given")
        #expect(message(TaskArguments(task: "t", args: [1], kwargs: ["z": 3]), ["x", "y"]) == "t() got an unexpected keyword argument 'z'")
        #expect(message(TaskArguments(task: "t", args: [1], kwargs: ["x": 3]), ["x", "y"]) == "t() got multiple values for argument 'x'")
        #expect(message(TaskArguments(task: "t", args: [1], kwargs: ["y": 3]), ["x", "y"]) == nil)
    }

    @Test func arithmeticKeepsIntegersIntegralAndFallsBackToDoubleOnOverflow() {
        let add = { (a: JSONNumber, b: JSONNumber) in
            Arithmetic.combine(a, b, int: { $0.addingReportingOverflow($1) }, double: +)
        }
        #expect(add(JSONNumber(2), JSONNumber(3)).numberValue?.text == "5")
        #expect(add(JSONNumber(2.0), JSONNumber(3)).numberValue?.text == "5.0")
        #expect(add(JSONNumber(Int.min), JSONNumber(-1)).doubleValue == Double(Int.min) - 1)
        #expect(add(JSONNumber(literal: "NaN")!, JSONNumber(1)).numberValue?.text == "NaN")
        #expect(add(JSONNumber(literal: "1e400")!, JSONNumber(1)).numberValue?.text == "Infinity")
    }
}
