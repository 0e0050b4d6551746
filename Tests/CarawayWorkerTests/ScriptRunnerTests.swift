import CarawayProtocol
import CarawayWorker
import Foundation
import Testing

/// `ScriptRunner` against real executables in a private temporary directory.
final class ScriptRunnerTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("caraway-scripts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    var runner: ScriptRunner { ScriptRunner(directory: directory.path) }

    /// Writes a shell script named `name` with `body` and the given permissions.
    func write(_ name: String, _ body: String, permissions: Int = 0o755) throws {
        let url = directory.appendingPathComponent(name)
        try ("#!/bin/sh\n" + body + "\n").write(to: url, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: url.path)
    }

    func run(_ name: String, _ parameters: JSON = [:], runner: ScriptRunner? = nil, timeout: Double = 10) throws(TaskError) -> JSON {
        try (runner ?? self.runner).run(name: name, parameters: parameters, executionID: "exec-42", timeout: timeout)
    }

    /// Runs `name` expecting a `TaskError` of `type` whose message contains `fragment`.
    func expectError(_ type: String, containing fragment: String, _ name: String, runner: ScriptRunner? = nil, timeout: Double = 10,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let value = try run(name, runner: runner, timeout: timeout)
            Issue.record("expected \(type), got \(value)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.type == type, sourceLocation: sourceLocation)
            #expect(error.message.contains(fragment), "\(error.message)", sourceLocation: sourceLocation)
        }
    }

    @Test func aScriptSeesItsParametersNameAndExecutionIDAndItsJSONStdoutIsTheResult() throws {
        try write("report.sh", #"printf '{"params": %s, "name": "%s", "id": "%s", "path": "%s"}\n' "$SCRIPT_PARAMETERS" "$SCRIPT_NAME" "$EXECUTION_ID" "$PATH""#)
        let result = try run("report.sh", ["n": 1, "s": "x y", "list": [true, nil]])
        #expect(result == ["params": ["n": 1, "s": "x y", "list": [true, nil]], "name": "report.sh", "id": "exec-42",
                           "path": "/usr/local/bin:/usr/bin:/bin"])
    }

    @Test func emptyStdoutIsNullAndStdinIsClosed() throws {
        try write("reads-stdin", "cat")
        #expect(try run("reads-stdin") == .null)
    }

    @Test func outputLargerThanAPipeBufferIsCollected() throws {
        try write("big", #"printf '"'; head -c 200000 /dev/zero | tr '\0' a; printf '"'; head -c 100000 /dev/zero | tr '\0' b >&2"#)
        #expect(try run("big") == .string(String(repeating: "a", count: 200_000)))
    }

    @Test func aNonZeroExitIsScriptFailedCarryingStderr() throws {
        try write("broken", "echo partial; echo 'disk on fire' >&2; exit 3")
        expectError("ScriptFailed", containing: "exited with status 3", "broken")
        expectError("ScriptFailed", containing: "disk on fire", "broken")
    }

    @Test func aScriptKilledByASignalFails() throws {
        try write("killed", "kill -9 $$")
        expectError("ScriptFailed", containing: "exited with status 137", "killed")
    }

    @Test func stdoutThatIsNotJSONIsScriptFailed() throws {
        try write("chatty", "echo hello world")
        expectError("ScriptFailed", containing: "not JSON", "chatty")
    }

    @Test func aScriptPastItsTimeoutIsKilledPromptly() throws {
        try write("slow", "sleep 5\necho 1")
        let start = Date()
        expectError("ScriptTimeout", containing: "did not finish within 0.3 s", "slow", timeout: 0.3)
        #expect(Date().timeIntervalSince(start) < 2)
    }

    @Test("names that are not plain file names are rejected", arguments: ["../x", "a/b", ".hidden", "", "/bin/sh", "x y", "a;b", "..", String(repeating: "a", count: 256)])
    func invalidName(_ name: String) throws {
        try write("x", "echo 1")
        #expect(!ScriptRunner.isValidName(name))
        expectError("ScriptError", containing: "invalid script name", name)
    }

    @Test("plain file names are valid", arguments: ["x", "report.sh", "a-b_c.1", "UPPER", String(repeating: "a", count: 255)])
    func validName(_ name: String) {
        #expect(ScriptRunner.isValidName(name))
    }

    @Test func aMissingScriptIsReported() {
        expectError("ScriptError", containing: "script 'absent' not found or not executable", "absent")
    }

    @Test func aScriptThatIsNotExecutableIsReported() throws {
        try write("plain", "echo 1", permissions: 0o644)
        expectError("ScriptError", containing: "not found or not executable", "plain")
    }

    @Test("without a scripts directory every script is refused", arguments: [nil, ""] as [String?])
    func noDirectory(_ directory: String?) throws {
        try write("x", "echo 1")
        expectError("ScriptError", containing: "disabled", "x", runner: ScriptRunner(directory: directory))
    }
}
