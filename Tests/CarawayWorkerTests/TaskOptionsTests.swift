import CarawayWorker
import Testing

/// SplitMix64: deterministic, so a jitter test replays exactly from its seed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

struct TaskOptionsTests {
    @Test func withoutJitterTheBackoffDoublesUntilTheCap() {
        let options = TaskOptions(retryBackoffBase: 1, retryBackoffMax: 600, retryJitter: false)
        var random = SplitMix64(seed: 1)
        let delays = (0...12).map { options.backoff(retries: $0, using: &random) }
        #expect(delays == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600, 600])
    }

    @Test func aFractionalBaseAndHugeRetryCountsStayFinite() {
        let options = TaskOptions(retryBackoffBase: 0.5, retryBackoffMax: 3, retryJitter: false)
        var random = SplitMix64(seed: 1)
        #expect((0...4).map { options.backoff(retries: $0, using: &random) } == [0.5, 1, 2, 3, 3])
        let uncapped = TaskOptions(retryBackoffBase: 1, retryBackoffMax: .greatestFiniteMagnitude, retryJitter: false)
        #expect(uncapped.backoff(retries: 1_000, using: &random) == Double(1 << 30))
    }

    @Test("with jitter every delay lies within [0, cap]", arguments: [1, 42, 0xDEAD_BEEF] as [UInt64])
    func jitterStaysInRange(seed: UInt64) {
        let options = TaskOptions(retryBackoffBase: 1, retryBackoffMax: 600, retryJitter: true)
        var random = SplitMix64(seed: seed)
        for retries in 0...15 {
            let cap = min(600, Double(1 << retries))
            let samples = (0..<200).map { _ in options.backoff(retries: retries, using: &random) }
            #expect(samples.allSatisfy { $0 >= 0 && $0 <= cap }, "retries \(retries)")
            // Full jitter spreads over the whole range rather than sitting at the cap.
            #expect(Set(samples).count > 150, "retries \(retries)")
            #expect(samples.min()! < cap / 4 && samples.max()! > cap * 3 / 4, "retries \(retries)")
        }
    }

    @Test func jitterIsReproducibleFromTheSeed() {
        let options = TaskOptions()
        var a = SplitMix64(seed: 7), b = SplitMix64(seed: 7)
        #expect((0..<10).map { options.backoff(retries: $0, using: &a) } == (0..<10).map { options.backoff(retries: $0, using: &b) })
    }

    @Test func defaultsMatchTheDocumentedPolicy() {
        let options = TaskOptions()
        #expect(options.rejectOnWorkerLost && options.maxRetries == 3 && options.retryJitter && !options.ignoreResult)
        #expect(options.retryBackoffBase == 1 && options.retryBackoffMax == 600)
        #expect(options.softTimeLimit == nil && options.hardTimeLimit == nil)
    }
}
