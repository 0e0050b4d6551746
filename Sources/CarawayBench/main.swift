import CarawayBroker
import CarawayLoop
import CarawayProtocol
import CarawayRedis
import Logging
#if canImport(Glibc)
import Glibc
#endif

// caraway-bench: load generator and timer for bench/run. It talks to Redis only, like any
// producer, and speaks Celery's wire format, so the same runs time a Caraway node and a Celery
// worker (bench/harness.py runs both); the workers under test run as their own processes.
//
//   caraway-bench noop REDIS_URL COUNT       enqueue COUNT no-op tasks (ignore_result), time the drain
//   caraway-bench results REDIS_URL COUNT    the same with results stored, then read back
//   caraway-bench latency REDIS_URL COUNT    COUNT sequential caraway.add round trips, timed after
//                                            `latencyWarmUp` untimed ones in the same process
//   caraway-bench rtt REDIS_URL COUNT        COUNT sequential PINGs (to measure an injected delay)
//   caraway-bench proxy REDIS_URL MICROS     a TCP proxy to Redis holding each chunk MICROS each way;
//                                            prints {"port": N} once listening, runs until killed
//   caraway-bench floor REDIS_URL COUNT      enqueue COUNT no-op tasks and time caraway-floor draining them:
//                                            the node's Redis/child chain with nothing else (Floor.swift)
//   caraway-bench micro COUNT [STEP]         the node's per-task CPU steps in isolation (Micro.swift)
// Prints one JSON object on stdout.

func now() -> Double { Double(EventLoop.hrtime) / 1e9 }

let arguments = CommandLine.arguments
if (3...4).contains(arguments.count), arguments[1] == "micro", let count = Int(arguments[2]), count > 0 {
    try runMicro(count: count, only: arguments.count == 4 ? arguments[3] : nil)
    exit(0)
}
guard arguments.count == 4, let count = Int(arguments[3]), count > 0, let endpoint = try? RedisEndpoint.parse(arguments[2]) else {
    fputs("usage: caraway-bench noop|results|latency|rtt|floor REDIS_URL COUNT | proxy REDIS_URL MICROSECONDS | micro COUNT [STEP]\n", stderr)
    exit(2)
}
let mode = arguments[1]
let loop = try EventLoop()
let logger = Logger(label: "bench")
let connection = RedisConnection(loop: loop, endpoint: endpoint, name: "bench", logger: logger, commandTimeout: 60_000)
let subscriber = RedisSubscriber(loop: loop, endpoint: endpoint, name: "bench-sub", logger: logger)
let keys = RedisKeys()
var output = JSONObject()

func finish() {
    print(JSON.object(output).serializedString())
    subscriber.close()
    connection.close()
    loop.closeAllHandles()
}

func envelope(task: String, args: [JSON], ignoreResult: Bool) -> (String, [UInt8]) {
    let id = makeUUID()
    var draft = CeleryMessage.Draft(task: task, id: id, args: args)
    draft.ignoreResult = ignoreResult
    return (id, draft.encodedEnvelope(deliveryTag: makeUUID()))
}

/// Enqueues `count` messages in pipelined batches, then polls until queue and in-flight are empty.
func burnDown(task: String, storeResults: Bool) {
    var ids: [String] = []
    let batch = 1_000
    var sent = 0
    func sendBatch() {
        var command: [[UInt8]] = [Array("LPUSH".utf8), Array("bench:staging".utf8)]
        for _ in 0..<min(batch, count - sent) {
            let (id, bytes) = envelope(task: task, args: [], ignoreResult: !storeResults)
            ids.append(id)
            command.append(bytes)
        }
        sent += command.count - 2
        connection.send(bytes: command) { _ in
            if sent < count { sendBatch() } else { startTiming() }
        }
    }
    var started = 0.0
    // Messages are staged on another list and renamed onto `celery` in one step, so the node
    // (already running and idle) sees the whole backlog at once and enqueue speed is not measured.
    func startTiming() {
        started = now()
        connection.send(["RENAME", "bench:staging", "celery"]) { _ in poll() }
    }
    // Done when nothing waits and nothing runs: Caraway holds running tasks in its per-node
    // in-flight hashes, Celery (kombu, acks-late) in the `unacked` hash.
    func poll() {
        // Nodes come from the registry, not KEYS: a KEYS scan over 20,000 result keys every 5 ms
        // would load Redis in the results run.
        connection.send(["EVAL", "local n = redis.call('LLEN', KEYS[1]) + redis.call('HLEN', KEYS[2]) for _, id in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do n = n + redis.call('HLEN', ARGV[1] .. id) end return n",
                         "3", "celery", "unacked", keys.nodes, keys.inflightPrefix]) { result in
            if case .success(let value) = result, value.int == 0 {
                let elapsed = now() - started
                output["tasks"] = JSON(count)
                output["seconds"] = JSON(elapsed)
                output["tasks_per_second"] = JSON(Double(count) / elapsed)
                if storeResults { readBack(ids: ids, started: started) } else { finish() }
            } else {
                LoopTimer.once(loop: loop, after: 5) { poll() }
            }
        }
    }
    sendBatch()
}

/// Reads every result back. A result can trail the drain check by a moment (kombu moves a message
/// to `unacked` in a step after BRPOP), so missing ones are read again for up to 5 s; the time
/// until all were readable is reported too.
func readBack(ids: [String], started: Double) {
    var missing: [String] = []
    var index = 0
    var rounds = 0
    let deadline = now() + 5
    func next() {
        guard index < ids.count else { recheck(); return }
        let chunk = Array(ids[index..<min(index + 1_000, ids.count)])
        index += chunk.count
        connection.send(["MGET"] + chunk.map { keys.result(taskID: $0) }) { result in
            for (id, value) in zip(chunk, (try? result.get().array) ?? []) where value.isNull { missing.append(id) }
            next()
        }
    }
    func recheck() {
        guard !missing.isEmpty, now() < deadline else {
            output["results_missing"] = JSON(missing.count)
            output["seconds_until_all_results"] = JSON(now() - started)
            output["recheck_rounds"] = JSON(rounds)
            finish()
            return
        }
        rounds += 1
        LoopTimer.once(loop: loop, after: 20) {
            let ids = missing
            missing = []
            connection.send(["MGET"] + ids.map { keys.result(taskID: $0) }) { result in
                for (id, value) in zip(ids, (try? result.get().array) ?? []) where value.isNull { missing.append(id) }
                recheck()
            }
        }
    }
    next()
}

/// Sequential PINGs: the round trip to Redis (through a proxy when the URL points at one).
func roundTrips() {
    var samples: [Double] = []
    func one() {
        guard samples.count < count else {
            samples.sort()
            func pct(_ p: Double) -> Double { samples[min(samples.count - 1, Int(Double(samples.count) * p))] * 1000 }
            output["pings"] = JSON(samples.count)
            output["p50_ms"] = JSON(pct(0.50))
            output["p99_ms"] = JSON(pct(0.99))
            finish()
            return
        }
        let start = now()
        connection.send(["PING"]) { _ in
            samples.append(now() - start)
            one()
        }
    }
    one()
}

/// Untimed calls a latency run makes first: a fresh load generator's first ~20 ms of calls pay
/// for its own page faults and cold caches (1.5–2× slower on this VM), which is not what (c)
/// measures. The same for both systems; the harness warms the worker up separately.
let latencyWarmUp = 50

func latency() {
    var samples: [Double] = []
    var trace: [(Double, Double)] = []
    var pending: (id: String, start: Double)?
    var warmUpLeft = latencyWarmUp
    func one() {
        guard samples.count < count else { report(); return }
        let (id, bytes) = envelope(task: "caraway.add", args: [2, 3], ignoreResult: false)
        let channel = keys.result(taskID: id)
        subscriber.subscribe(channel) { _ in
            guard let p = pending, p.id == id else { return }
            if warmUpLeft > 0 {
                warmUpLeft -= 1
            } else {
                samples.append(now() - p.start)
                trace.append((p.start, now() - p.start))
            }
            pending = nil
            subscriber.unsubscribe(channel)
            one()
        }
        // Give SUBSCRIBE a head start on the same server: PING on the subscriber's connection is not
        // available in subscribe mode on RESP2, so a tiny delay-free trick: publish after a GET round trip.
        connection.send(["PING"]) { _ in
            pending = (id, now())
            connection.send(bytes: [Array("LPUSH".utf8), Array("celery".utf8), bytes]) { _ in }
        }
    }
    func report() {
        // CARAWAY_BENCH_TRACE=path: every sample as "start_s duration_ms", for tail analysis.
        if let path = getenv("CARAWAY_BENCH_TRACE"), let file = fopen(path, "w") {
            for (start, duration) in trace { fputs("\(start) \(duration * 1000)\n", file) }
            fclose(file)
        }
        samples.sort()
        func pct(_ p: Double) -> Double { samples[min(samples.count - 1, Int(Double(samples.count) * p))] * 1000 }
        output["calls"] = JSON(samples.count)
        output["warm_up_calls"] = JSON(latencyWarmUp)
        output["p50_ms"] = JSON(pct(0.50))
        output["p90_ms"] = JSON(pct(0.90))
        output["p99_ms"] = JSON(pct(0.99))
        output["max_ms"] = JSON(samples.last! * 1000)
        finish()
    }
    one()
}

if mode == "proxy" {
    // Here COUNT is the one-way hold in microseconds.
    let proxy = try LatencyProxy(loop: loop, listenPort: 0, upstreamHost: endpoint.host, upstreamPort: endpoint.port,
                                 oneWayDelayMicroseconds: count)
    print("{\"port\": \(proxy.port)}")
    fflush(stdout)
    withExtendedLifetime(proxy) { loop.run() }
    exit(0)
}

connection.onReady = {
    switch mode {
    case "rtt": roundTrips()
    case "noop": burnDown(task: "caraway.noop", storeResults: false)
    case "results": burnDown(task: "caraway.noop", storeResults: true)
    case "floor": floor(endpoint: endpoint, count: count)
    case "latency": subscriber.onReady = { latency() }; subscriber.connect()
    default: fputs("unknown mode \(mode)\n", stderr); exit(2)
    }
}
connection.connect()
loop.run()
