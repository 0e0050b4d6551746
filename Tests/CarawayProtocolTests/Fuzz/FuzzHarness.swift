import Foundation
import PropertyBased
import Testing

/// The driver behind the fuzz properties in this folder: bounded, reproducible runs of a
/// PropertyBased generator against a property that must never trap, hang or fail.
///
/// Environment (all optional):
/// - `CARAWAY_FUZZ_ITERATIONS`: cases per property at weight 1 (default 2000; `scripts/fuzz`
///   passes 200000). Each property scales it by its weight (0.5–3, by how much input space
///   it has), so at the default the folder stays well within ~20 s of a debug `swift test`
///   on a 2-core machine.
/// - `CARAWAY_FUZZ_SEED`: the run's seed (decimal or `0x` hex). Without it a fresh seed is
///   drawn per run; it is printed when each property starts and in every failure, so a crash
///   (which kills the process before any report) can be replayed too.
/// - `CARAWAY_FUZZ_CASE`: run only this case number of each property (with the seed above).
/// - `CARAWAY_FUZZ_TRACE=1`: print every case before running it; the last line before a
///   trap names the input.
/// - `CARAWAY_FUZZ_CASE_LIMIT_MS`: slowest one case may be before it fails (default 1000).
/// - `CARAWAY_FUZZ_HANG_SECONDS`: a case still running after this long aborts the process
///   with the replay line instead of eating CI's budget (default 30).
///
/// Every case gets its own generator state derived from (seed, property name, case number),
/// so a case replays alone, independent of iteration count and of other properties.
enum Fuzz {
    static let environment = ProcessInfo.processInfo.environment

    static let baseIterations: Int = environment["CARAWAY_FUZZ_ITERATIONS"].flatMap { Int($0) }.map { max(0, $0) }
        ?? 2000

    static let seed: UInt64 = parseSeed(environment["CARAWAY_FUZZ_SEED"]) ?? UInt64.random(in: .min ... .max)

    static let onlyCase: Int? = environment["CARAWAY_FUZZ_CASE"].flatMap { Int($0) }

    static let trace = environment["CARAWAY_FUZZ_TRACE"] == "1"

    /// No generated input is larger than this: a node caps messages anyway, and the bound
    /// keeps every case fast.
    static let maximumInputBytes = 64 * 1024

    static let caseLimit: Duration = .milliseconds(environment["CARAWAY_FUZZ_CASE_LIMIT_MS"].flatMap { Int($0) } ?? 1000)

    static let hangSeconds: Double = environment["CARAWAY_FUZZ_HANG_SECONDS"].flatMap { Double($0) } ?? 30

    static func parseSeed(_ text: String?) -> UInt64? {
        guard let text = text?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        if text.hasPrefix("0x") || text.hasPrefix("0X") { return UInt64(text.dropFirst(2), radix: 16) }
        return UInt64(text)
    }

    /// The replay hint printed with every failure.
    static func replay(_ name: String, case index: Int) -> String {
        "replay: CARAWAY_FUZZ_SEED=\(seed) CARAWAY_FUZZ_CASE=\(index) swift test --filter '\(name)'"
    }

    /// The generator state for one case: SplitMix64 over (seed, name, index) seeds xoshiro.
    static func caseGenerator(_ name: String, _ index: Int) -> Xoshiro {
        var mixer = SplitMix64(state: seed ^ fnv1a(name) &+ UInt64(truncatingIfNeeded: index) &* 0xD134_2543_DE82_EF95)
        return Xoshiro(seed: (mixer.next(), mixer.next(), mixer.next(), mixer.next()))
    }

    /// FNV-1a, because `Hasher` is seeded per process and would break replays.
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash
    }

    /// Runs `property` on `cases(weight)` inputs from `input`. The first failing case (a
    /// thrown ``FuzzFailure`` or any other error, or a case slower than ``caseLimit``) is
    /// recorded as an issue with its input and the replay line, and ends the property.
    /// - Returns: per-run statistics, for properties that check their generator's coverage.
    @discardableResult
    static func check<Value>(
        _ name: String,
        weight: Double = 1,
        input: Generator<Value, some Sequence>,
        describe: (Value) -> String = { String(describing: $0) },
        sourceLocation: SourceLocation = #_sourceLocation,
        _ property: (Value) throws -> Void
    ) -> Stats {
        let count = baseIterations == 0 ? 0 : max(1, Int((Double(baseIterations) * weight).rounded()))
        let indices: [Int] = onlyCase.map { [$0] } ?? Array(0..<count)
        print("fuzz \(name): \(indices.count) cases, CARAWAY_FUZZ_SEED=\(seed)")
        var stats = Stats()
        let clock = ContinuousClock()
        let started = clock.now
        for index in indices {
            var generator = caseGenerator(name, index)
            let generationStarted = clock.now
            let value = input.run(using: &generator)
            stats.generating += clock.now - generationStarted
            if trace {
                print("fuzz \(name) case \(index): \(String(describe(value).prefix(400)))")
                fflush(nil)
            }
            let token = Watchdog.shared.begin(name, index)
            let caseStarted = clock.now
            var failure: String?
            do {
                try property(value)
            } catch let error as FuzzFailure {
                failure = error.message
            } catch {
                failure = "unexpected error \(error)"
            }
            let elapsed = clock.now - caseStarted
            Watchdog.shared.end(token)
            stats.cases += 1
            stats.slowest = max(stats.slowest, elapsed)
            if failure == nil, elapsed > caseLimit {
                failure = "case took \(elapsed), over the \(caseLimit) bound: a hang or a superlinear path"
            }
            if let failure {
                Issue.record(
                    """
                    fuzz \(name) case \(index) failed: \(failure)
                    input: \(String(describe(value).prefix(2000)))
                    \(replay(name, case: index))
                    """, sourceLocation: sourceLocation)
                break
            }
        }
        stats.total = clock.now - started
        print("fuzz \(name): \(stats.cases) cases in \(stats.total) (generating \(stats.generating)), "
            + "slowest case \(stats.slowest)")
        return stats
    }

    struct Stats {
        var cases = 0
        var total: Duration = .zero
        var generating: Duration = .zero
        var slowest: Duration = .zero
    }
}

/// A property violation; the harness adds the input and the replay line.
struct FuzzFailure: Error {
    let message: String
}

/// Fails the current case unless `condition` holds.
func fuzzExpect(_ condition: Bool, _ message: @autoclosure () -> String) throws(FuzzFailure) {
    if !condition { throw FuzzFailure(message: message()) }
}

/// Counts outcomes inside a property (the body runs synchronously, so a class is enough).
final class FuzzCounter: @unchecked Sendable {
    private(set) var counts: [String: Int] = [:]
    func add(_ key: String) { counts[key, default: 0] += 1 }
    subscript(key: String) -> Int { counts[key, default: 0] }
    var summary: String { counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }
}

/// SplitMix64, to spread one seed into xoshiro's 256-bit state and for in-property choices.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Aborts the test process when a case runs for ``Fuzz/hangSeconds``: a decode that never
/// returns cannot be failed from its own thread, and a clear abort with the replay line
/// beats the CI stage timeout.
final class Watchdog: @unchecked Sendable {
    static let shared = Watchdog()

    private let lock = NSLock()
    private var running: [Int: (name: String, index: Int, since: ContinuousClock.Instant)] = [:]
    private var nextToken = 0
    private var thread: Thread?

    func begin(_ name: String, _ index: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        nextToken += 1
        running[nextToken] = (name, index, ContinuousClock.now)
        if thread == nil {
            let watcher = Thread { [unowned self] in self.watch() }
            watcher.name = "caraway-fuzz-watchdog"
            watcher.start()
            thread = watcher
        }
        return nextToken
    }

    func end(_ token: Int) {
        lock.lock()
        running[token] = nil
        lock.unlock()
    }

    private func watch() {
        while true {
            Thread.sleep(forTimeInterval: 0.25)
            lock.lock()
            let now = ContinuousClock.now
            let stuck = running.values.first { now - $0.since > .seconds(Fuzz.hangSeconds) }
            lock.unlock()
            if let stuck {
                let message = "\nfuzz \(stuck.name) case \(stuck.index) still running after \(Fuzz.hangSeconds) s: "
                    + "a hang.\n\(Fuzz.replay(stuck.name, case: stuck.index))\n"
                FileHandle.standardError.write(Data(message.utf8))
                abort()
            }
        }
    }
}
