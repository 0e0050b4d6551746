"""Caraway vs Celery, side by side, in one run, on one private Redis (bench/run is the entry point).

Both systems get identical messages from one load generator (`caraway-bench`, Celery's wire
format) and the same guarantees: prefetch 1, acks-late, reject-on-worker-lost, 2 worker
processes, JSON. Scenarios alternate the systems (Caraway first in even ones, Celery first in
odd ones) so a slow minute of this VM does not land on one side only:

  a  no-op burn-down: N tasks staged, renamed onto `celery` while the worker is idle, drained
  b  the same with results stored, then every result read back
  c  round trip of sequential `add` calls (subscribe to the result channel, then publish)
  d  resident memory of the worker (parent + children) right after (a)
  e  (a) with max-tasks-per-child = 10
  f  (a) through a loopback proxy adding ~1 ms to every round trip to Redis
  g  beat accuracy: lateness of one-second ticks, Caraway's beat vs celery beat, side by side
  h  scaling: 1, 2, 3 nodes (or Celery workers) of 2 processes each
  i  Caraway only: (a) with the execution history written to Postgres (its cost, issue 3)

plus redis-benchmark's LPUSH and RPOP rates on the same Redis as the physical limit, and the
chain's floor (`caraway-bench floor`: (a)'s messages drained by a bare C loop doing only what
prefetch 1 and acks-late make every node do — the node's settle_reserve script, two children,
no decoding, no bookkeeping; Sources/CarawayFloor/main.c), both measured in every round of (a).
Writes JSON and a markdown table (ratio Caraway/Celery per figure) to the output directory.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "Tests" / "integration"))

from carawaytest import (PostgresServer, RedisServer, child_pids, die_with_parent, free_port,  # noqa: E402
                         http_request, make_postgres_template, tail)

import redis  # noqa: E402

VENV_BIN = Path(sys.executable).parent


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


# ---- process helpers -----------------------------------------------------------------------------

def tree_pids(pid: int) -> list[int]:
    pids, frontier = [], [pid]
    while frontier:
        p = frontier.pop()
        pids.append(p)
        frontier.extend(child_pids(p))
    return pids


def memory_kib(pid: int) -> dict:
    """RSS and PSS (KiB) summed over a process and all its descendants."""
    rss = pss = 0
    processes = 0
    for p in tree_pids(pid):
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
            processes += 1
        except OSError:
            pass
    return {"rss_kib": rss, "pss_kib": pss, "processes": processes}


class Worker:
    """One Caraway node or one Celery worker (a process tree), started and stopped by the harness."""

    def __init__(self, system: str, index: int, argv: list[str], env: dict, log_path: Path, cwd: Path):
        self.system = system
        self.index = index
        self.argv = argv
        self.log_path = log_path
        with open(log_path, "ab") as out:
            out.write(("$ " + " ".join(argv) + "\n").encode())
            out.flush()
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                            env=env, cwd=cwd, start_new_session=True, preexec_fn=die_with_parent)

    def stop(self, timeout: float = 30.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log(f"{self.system} worker {self.index} ignored SIGTERM for {timeout}s; killing its group")
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # stray pool children, whatever happened
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)


# ---- the bench ----------------------------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="caraway-bench-"))
        os.chmod(self.work, 0o755)  # Postgres runs as its own user and must reach its data dir
        self.caraway = Path(args.bin).resolve() / "caraway"
        self.load = Path(args.bin).resolve() / "caraway-bench"
        self.redis = RedisServer(self.work / "redis").start()
        self.client = redis.Redis(host="127.0.0.1", port=self.redis.port)
        self.workers: list[Worker] = []
        self.helpers: list[subprocess.Popen] = []
        self.pg: PostgresServer | None = None
        self.results: dict = {"scenarios": {}}
        self.counter = 0

    # -- lifecycle --

    def close(self) -> None:
        for worker in self.workers:
            worker.stop(timeout=5)
        for helper in self.helpers:
            if helper.poll() is None:
                helper.kill()
                helper.wait(timeout=10)
        if self.pg is not None:
            self.pg.destroy()
        self.redis.stop()
        if not self.args.keep:
            subprocess.run(["rm", "-rf", str(self.work)])

    def start_workers(self, system: str, count: int = 1, redis_url: str | None = None, max_tasks_per_child: int = 0,
                      database: str | None = None) -> list[Worker]:
        url = redis_url or self.redis.url
        started = []
        for _ in range(count):
            self.counter += 1
            index = self.counter
            if system == "caraway":
                http = free_port()
                argv = [str(self.caraway), "node", "--redis", url, "--name", f"bench{index}", "--concurrency", "2",
                        "--http", f"127.0.0.1:{http}", "--log-level", "warning"]
                argv += ["--database", database] if database else []
                argv += ["--max-tasks-per-child", str(max_tasks_per_child)] if max_tasks_per_child else []
                worker = Worker(system, index, argv, dict(os.environ), self.work / f"caraway-{index}.log", self.work)
                worker.http = http
            else:
                ready = self.work / f"celery-{index}.ready"
                argv = [str(VENV_BIN / "celery"), "-A", "celery_app", "worker", "-P", "prefork", "-c", "2",
                        "--prefetch-multiplier", "1", "-O", "fair", "--without-gossip", "--without-mingle",
                        "--without-heartbeat", "-l", "WARNING", "-n", f"bench{index}@%h"]
                argv += ["--max-tasks-per-child", str(max_tasks_per_child)] if max_tasks_per_child else []
                env = dict(os.environ, BENCH_REDIS_URL=url, BENCH_READY_FILE=str(ready),
                           PYTHONPATH=str(REPO / "bench"))
                worker = Worker(system, index, argv, env, self.work / f"celery-{index}.log", REPO / "bench")
                worker.ready_file = ready
            self.workers.append(worker)
            started.append(worker)
        for worker in started:
            self.wait_ready(worker)
        time.sleep(0.5)  # let pools and consumers settle before anything is timed
        return started

    def wait_ready(self, worker: Worker, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if worker.process.poll() is not None:
                raise RuntimeError(f"{worker.system} worker exited with {worker.process.returncode}:\n{tail(worker.log_path)}")
            if worker.system == "caraway":
                try:
                    if http_request(worker.http, "GET", "/ready", timeout=1)[0] == 200:
                        return
                except OSError:
                    pass
            elif worker.ready_file.exists():
                return
            time.sleep(0.05)
        raise RuntimeError(f"{worker.system} worker not ready within {timeout}s:\n{tail(worker.log_path)}")

    def stop_workers(self, workers: list[Worker]) -> None:
        for worker in workers:
            worker.stop()
            self.workers.remove(worker)
        self.client.flushall()

    def run_load(self, mode: str, url: str, count: int) -> dict:
        result = subprocess.run([str(self.load), mode, url, str(count)], capture_output=True, text=True,
                                timeout=self.args.timeout, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise RuntimeError(f"caraway-bench {mode} failed ({result.returncode}): {result.stderr[-2000:]}")
        return json.loads(result.stdout)

    def order(self, scenario_index: int) -> list[str]:
        systems = ["caraway", "celery"] if scenario_index % 2 == 0 else ["celery", "caraway"]
        return [system for system in systems if system in self.args.systems]

    # -- scenarios --

    def burn_down(self, key: str, index: int, mode: str, count: int, max_tasks_per_child: int = 0, proxy: bool = False,
                  nodes: int = 1, measure_memory: bool = False, systems: list[str] | None = None,
                  database: str | None = None, trials: int = 1, limits: list[dict] | None = None) -> dict:
        """One burn-down per system, or `trials` rounds of them: each round starts fresh workers for
        both systems back to back (who goes first alternates), so the two systems' trials meet the
        same host minutes, and one worker instance the VM happens to treat badly is one trial, not
        all of them. Given `limits`, redis-benchmark and the chain's floor run at the start of each
        round and their rates are appended there."""
        runs: dict[str, list[dict]] = {}
        for trial in range(trials):
            if limits is not None:
                limits.append({**self.redis_benchmark(), "floor": self.floor(count)})
            for system in systems or self.order(index + trial):
                url = self.start_proxy() if proxy else None
                workers = self.start_workers(system, count=nodes, redis_url=url, max_tasks_per_child=max_tasks_per_child,
                                             database=database)
                # A short untimed run first, for both systems alike: first-task costs (page faults,
                # imports, connection set-up in each pool process) are not the steady state measured.
                self.run_load(mode, self.redis.url, max(20, min(2_000, count // 10)))
                log(f"{key}: {system} × {nodes}, {count} tasks" + (f", trial {trial + 1} of {trials}" if trials > 1 else ""))
                run = self.run_load(mode, self.redis.url, count)
                if measure_memory:
                    run["memory"] = memory_kib(workers[0].process.pid)
                if proxy:
                    run["proxy_rtt"] = self.proxy_rtt
                runs.setdefault(system, []).append(run)
                self.stop_workers(workers)
                self.stop_proxy()
        return {system: median_trial(system_runs) for system, system_runs in runs.items()}

    def latency(self, index: int) -> dict:
        """`trials` rounds of 1,000 sequential calls per system, fresh workers each round (as in
        burn_down); each percentile is the median over the rounds."""
        runs: dict[str, list[dict]] = {}
        for trial in range(self.args.trials):
            for system in self.order(index + trial):
                workers = self.start_workers(system)
                # No separate warm-up run: each latency run makes 50 untimed calls first (caraway-bench),
                # which warm the worker as well as the load generator.
                log(f"c: {system}, {self.args.calls} sequential add calls, trial {trial + 1} of {self.args.trials}")
                runs.setdefault(system, []).append(self.run_load("latency", self.redis.url, self.args.calls))
                self.stop_workers(workers)
        return {system: median_percentiles(system_runs) for system, system_runs in runs.items()}

    def start_proxy(self) -> str:
        process = subprocess.Popen([str(self.load), "proxy", self.redis.url, str(self.args.proxy_one_way_us)],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                   text=True, preexec_fn=die_with_parent)
        self.helpers.append(process)
        port = json.loads(process.stdout.readline())["port"]
        url = f"redis://127.0.0.1:{port}/0"
        direct = self.run_load("rtt", self.redis.url, 500)
        through = self.run_load("rtt", url, 500)
        self.proxy_rtt = {"direct_p50_ms": direct["p50_ms"], "proxied_p50_ms": through["p50_ms"],
                          "added_p50_ms": through["p50_ms"] - direct["p50_ms"]}
        self.proxy = process
        return url

    def stop_proxy(self) -> None:
        process = getattr(self, "proxy", None)
        if process is not None:
            process.kill()
            process.wait(timeout=10)
            self.helpers.remove(process)
            self.proxy = None

    def postgres(self) -> PostgresServer:
        if self.pg is None:
            self.pg = PostgresServer(make_postgres_template(self.work / "pg-template"), self.work / "postgres.log").start()
        return self.pg

    def beat(self) -> dict:
        """Both beats at once (a tick is one small write; they do not disturb each other), each
        firing every second onto its own probe queue that no worker consumes; a thread here pops
        each arrival and stamps it."""
        ticks = self.args.beat_ticks
        node = self.start_workers("caraway", database=self.postgres().url)[0]
        deadline = time.monotonic() + 30
        while not (json.loads(http_request(node.http, "GET", "/health")[1] or b"{}").get("beat") or {}).get("migrated"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Caraway node did not migrate the schedule table:\n{tail(node.log_path)}")
            time.sleep(0.1)
        arrivals: dict[str, list[float]] = {"bench-beat-caraway": [], "bench-beat-celery": []}
        stop = threading.Event()

        def probe():
            client = redis.Redis(host="127.0.0.1", port=self.redis.port)
            while not stop.is_set():
                item = client.blpop(list(arrivals), timeout=0.2)
                if item:
                    arrivals[item[0].decode()].append(time.time())

        thread = threading.Thread(target=probe, daemon=True)
        thread.start()
        log(f"g: both beats, {ticks} one-second ticks each")
        schedule = subprocess.run([str(self.caraway), "schedule", "add", "bench-probe", "--task", "caraway.noop",
                                   "--every", "1", "--queue", "bench-beat-caraway", "--database", self.pg.url, "--json"],
                                  capture_output=True, text=True, timeout=30)
        if schedule.returncode != 0:
            raise RuntimeError(f"caraway schedule add failed: {schedule.stdout}{schedule.stderr}")
        beat_log = self.work / "celery-beat.log"
        with open(beat_log, "ab") as out:
            celery_beat = subprocess.Popen(
                [str(VENV_BIN / "celery"), "-A", "celery_app", "beat", "-s", str(self.work / "celerybeat-schedule"),
                 "-l", "WARNING", "--max-interval", "1"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=REPO / "bench",
                env=dict(os.environ, BENCH_REDIS_URL=self.redis.url, PYTHONPATH=str(REPO / "bench")),
                start_new_session=True, preexec_fn=die_with_parent)
        self.helpers.append(celery_beat)
        deadline = time.monotonic() + ticks + 30
        # One tick more than needed on each side: the first arrival only anchors the grid.
        while min(len(arrivals[f"bench-beat-{x}"]) for x in self.args.systems) < ticks + 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        stop.set()
        thread.join()
        celery_beat.send_signal(signal.SIGTERM)
        celery_beat.wait(timeout=20)
        self.helpers.remove(celery_beat)
        self.stop_workers([node])
        return {system: beat_figures(arrivals[f"bench-beat-{system}"][:ticks + 1]) for system in self.args.systems}

    def floor(self, count: int) -> float:
        """Tasks/s of the bare chain (caraway-floor) over `count` no-op messages."""
        run = self.run_load("floor", self.redis.url, count)
        self.client.flushall()
        if run["tasks"] != count:
            raise RuntimeError(f"caraway-floor drained {run['tasks']} of {count} messages")
        return run["tasks_per_second"]

    def redis_benchmark(self) -> dict:
        rates = {}
        for test in ("lpush", "rpop"):
            out = subprocess.run(["redis-benchmark", "-p", str(self.redis.port), "-t", test, "-n", str(self.args.redis_benchmark_n),
                                  "-q"], capture_output=True, text=True, timeout=300).stdout
            line = [l for l in out.replace("\r", "\n").splitlines() if "requests per second" in l][-1]
            rates[test] = float(line.split(":")[1].split()[0])
        self.client.flushall()
        rates["pair"] = 1 / (1 / rates["lpush"] + 1 / rates["rpop"])
        return rates


def median_trial(trials: list[dict]) -> dict:
    """The trial with the median rate, every rate kept: one 1.5 s Caraway burn-down on this VM
    swings ±20 % with the host, where Celery's 20 s one averages the same noise away. Memory, when
    measured, is each figure's median over the trials (every trial kept)."""
    ranked = sorted(trials, key=lambda t: t["tasks_per_second"])
    chosen = dict(ranked[(len(ranked) - 1) // 2])
    if len(trials) > 1:
        chosen["trials_tasks_per_second"] = [t["tasks_per_second"] for t in trials]
        if "memory" in chosen:
            chosen["memory"] = {"rss_kib": statistics.median(t["memory"]["rss_kib"] for t in trials),
                                "pss_kib": statistics.median(t["memory"]["pss_kib"] for t in trials),
                                "processes": chosen["memory"]["processes"],
                                "trials": [t["memory"] for t in trials]}
    return chosen


def median_limit(limits: list[dict]) -> dict:
    """redis-benchmark and the floor, measured once per round of (a): each rate's median (every round kept)."""
    if len(limits) == 1:
        return limits[0]
    out = {test: statistics.median(l[test] for l in limits) for test in ("lpush", "rpop", "pair", "floor") if test in limits[0]}
    out["trials"] = limits
    return out


def median_percentiles(trials: list[dict]) -> dict:
    """Each percentile's median over the trials (every trial kept)."""
    if len(trials) == 1:
        return trials[0]
    out = {"calls": trials[0]["calls"], "warm_up_calls": trials[0].get("warm_up_calls", 0), "trials": trials}
    for q in ("p50_ms", "p90_ms", "p99_ms", "max_ms"):
        out[q] = statistics.median(t[q] for t in trials)
    return out


def beat_figures(times: list[float]) -> dict:
    """Lateness of each tick against the best one-second grid: ideal_i = phase + i, with the phase
    as early as the data allow (min of t_i - i), so a beat that fires every 1.000 s scores ~0 and
    one that slips a little each tick accumulates that slip (drift) as lateness."""
    if len(times) < 3:
        return {"ticks": len(times), "error": "too few ticks arrived"}
    t0 = times[0]
    offsets = [t - t0 - i for i, t in enumerate(times)]
    phase = min(offsets)
    lateness = sorted((o - phase) * 1000 for o in offsets[1:])
    intervals = [(b - a) * 1000 for a, b in zip(times, times[1:])]

    def pct(p):
        return lateness[min(len(lateness) - 1, int(len(lateness) * p))]

    return {"ticks": len(times) - 1, "lateness_p50_ms": pct(0.5), "lateness_p99_ms": pct(0.99),
            "lateness_max_ms": lateness[-1], "interval_mean_ms": statistics.mean(intervals),
            "interval_stdev_ms": statistics.pstdev(intervals),
            "drift_ms": ((times[-1] - times[0]) - (len(times) - 1)) * 1000}


# ---- report --------------------------------------------------------------------------------------

def command(argv: list[str]) -> str:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return (result.stdout or result.stderr).strip().splitlines()[0]
    except Exception as error:  # a missing tool must not sink the report
        return f"? ({error})"


def machine_facts(args) -> dict:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    import celery
    import kombu
    return {
        "cpus": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "caraway": command([str(Path(args.bin) / "caraway"), "--version"]),
        "caraway_commit": command(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]),
        "swift": command(["swift", "--version"]), "redis": command(["redis-server", "--version"]),
        "celery": celery.__version__, "kombu": kombu.__version__, "python": platform.python_version(),
    }


def rows(results: dict) -> list[tuple]:
    """(figure, caraway, celery, ratio text, target text, met) for the markdown table; a system that
    did not run shows a dash and leaves the ratio and verdict empty."""
    s = results["scenarios"]
    out = []

    def value(key, system, *path):
        v = s.get(key, {}).get(system)
        for p in path:
            v = v.get(p) if isinstance(v, dict) else None
        return v

    def row(label, key, path, fmt, compare=None, target=None, higher_is_better=True):
        if key not in s:
            return
        c, p = value(key, "caraway", *path), value(key, "celery", *path)
        r = c / p if isinstance(c, (int, float)) and isinstance(p, (int, float)) and p else None
        met = None
        if r is not None and target is not None:
            met = r >= target if higher_is_better else r <= target
        text = "" if r is None or compare is None else compare(r)
        goal = "" if target is None else (f"≥ {target:g}×" if higher_is_better else f"≤ {target:g}")
        out.append((label, fmt(c) if c is not None else "—", fmt(p) if p is not None else "—", text, goal, met))

    per_s = lambda v: f"{v:,.0f}/s"  # noqa: E731
    ms = lambda v: f"{v:.2f} ms"  # noqa: E731
    mib = lambda v: f"{v / 1024:.1f} MiB"  # noqa: E731
    times = lambda r: f"{r:.1f}×"  # noqa: E731
    frac = lambda r: f"{r:.3f}"  # noqa: E731

    row("(a) no-op burn-down", "a_noop", ["tasks_per_second"], per_s, times, 10)
    row("(b) with results stored and read back", "b_results", ["tasks_per_second"], per_s, times)
    for q in ("p50", "p90", "p99", "max"):
        row(f"(c) round trip `add`, {q}", "c_latency", [f"{q}_ms"], ms, frac, 0.2 if q == "p99" else None, False)
    row("(d) RSS after (a), parent + children", "a_noop", ["memory", "rss_kib"], mib, frac, 0.2, False)
    row("(d) PSS after (a) (shared pages split)", "a_noop", ["memory", "pss_kib"], mib, frac)
    row("(e) no-op, max-tasks-per-child 10", "e_recycle", ["tasks_per_second"], per_s, times, 10)
    row("(f) no-op, +1 ms to Redis", "f_latency_1ms", ["tasks_per_second"], per_s, times)
    for q in ("p50", "p99", "max"):
        row(f"(g) beat, tick lateness {q}", "g_beat", [f"lateness_{q}_ms"], ms)
    row("(g) beat, drift over the run (last tick vs first + n s)", "g_beat", ["drift_ms"], ms)
    for n in (1, 2, 3):
        row(f"(h) no-op, {n} node{'s' if n > 1 else ''} × 2 processes", f"h_scaling_{n}", ["tasks_per_second"], per_s, times)
    c, base = value("i_history", "caraway", "tasks_per_second"), value("a_noop", "caraway", "tasks_per_second")
    if c and base:
        out.append(("(i) no-op with execution history in Postgres", per_s(c), "", f"{100 * (c / base - 1):+.1f} % vs (a)", "", None))
    if "redis_benchmark" in results and base:
        pair = results["redis_benchmark"]["pair"]
        out.append(("(a) vs redis-benchmark LPUSH+RPOP pair", f"{base / pair:.2f} of {pair:,.0f}/s", "", "", "≥ 0.25",
                    base / pair >= 0.25))
        floor = results["redis_benchmark"].get("floor")
        if floor:
            out.append(("(a) vs the chain's floor (caraway-floor)", f"{base / floor:.2f} of {floor:,.0f}/s", "", "", "", None))
    return out


def markdown(results: dict) -> str:
    lines = ["| figure | Caraway | Celery | Caraway/Celery | target | met |", "|---|---|---|---|---|---|"]
    for figure, c, p, r, target, ok in rows(results):
        lines.append(f"| {figure} | {c} | {p} | {r} | {target} | {'' if ok is None else ('yes' if ok else '**no**')} |")
    m = results["machine"]
    rb = results.get("redis_benchmark")
    lines += ["", f"{results['date']} · `{results['command']}` · {m['cpus']} × {m['cpu']} · Linux {m['kernel']} · "
                  f"{m['caraway']} ({m['caraway_commit']}) · {m['swift']} · {m['redis']} · Celery {m['celery']} / "
                  f"kombu {m['kombu']} / Python {m['python']}"]
    if rb:
        lines.append(f"redis-benchmark on the same Redis: LPUSH {rb['lpush']:,.0f}/s, RPOP {rb['rpop']:,.0f}/s, "
                     f"pair {rb['pair']:,.0f}/s" + (" (medians of one run per round of (a): pair "
                     + " / ".join(f"{t['pair']:,.0f}" for t in rb["trials"]) + "/s)." if "trials" in rb else "."))
    if rb and rb.get("floor"):
        lines.append(f"The chain's floor (caraway-floor: (a)'s messages, the node's script, 2 children, nothing else): "
                     f"{rb['floor']:,.0f}/s" + (" (median; per round " + " / ".join(f"{t['floor']:,.0f}" for t in rb["trials"])
                                                + "/s)." if "trials" in rb else "."))
    s = results["scenarios"]
    for system in ("caraway", "celery"):
        rates = s.get("a_noop", {}).get(system, {}).get("trials_tasks_per_second", [])
        if rates:
            lines.append(f"(a) tasks/s, {system}, per round (fresh workers each round): "
                         + " / ".join(f"{r:,.0f}" for r in rates) + ".")
    for system in ("caraway", "celery"):
        rounds = s.get("c_latency", {}).get(system, {}).get("trials", [])
        if rounds:
            lines.append(f"(c) p99 ms, {system}, per round (fresh workers each round): "
                         + " / ".join(f"{t['p99_ms']:.2f}" for t in rounds) + ".")
    f = results["scenarios"].get("f_latency_1ms")
    if f:
        rtt = f["caraway"]["proxy_rtt"]
        lines.append(f"(f) proxy: PING p50 {rtt['direct_p50_ms']:.3f} ms direct, {rtt['proxied_p50_ms']:.3f} ms through "
                     f"the proxy (+{rtt['added_p50_ms']:.3f} ms).")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description="Caraway vs Celery on one Redis (bench/run).")
    parser.add_argument("--bin", default=str(REPO / ".build" / "release"), help="directory with caraway and caraway-bench")
    parser.add_argument("--tasks", type=int, default=20_000, help="burn-down size for (a), (b), (h)")
    parser.add_argument("--calls", type=int, default=1_000, help="sequential calls for (c)")
    parser.add_argument("--trials", type=int, default=3,
                        help="(a) and (c) run this many times per system; the median is reported, every trial kept")
    parser.add_argument("--recycle-tasks", type=int, default=2_000,
                        help="burn-down size for (e) (Celery recycles at ~65/s: 20,000 would take 5 min)")
    parser.add_argument("--latency-tasks", type=int, default=5_000, help="burn-down size for (f)")
    parser.add_argument("--proxy-one-way-us", type=int, default=500, help="(f) hold per direction, microseconds")
    parser.add_argument("--beat-ticks", type=int, default=60)
    parser.add_argument("--scaling", default="1,2,3", help="node counts for (h)")
    parser.add_argument("--only", default="abcdefghi", help="scenarios to run, e.g. 'ac'")
    parser.add_argument("--systems", default="caraway,celery",
                        help="which systems to run (caraway alone for quick before/after runs; no ratios then)")
    parser.add_argument("--redis-benchmark-n", type=int, default=200_000)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the harness works, measures nothing")
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    parser.add_argument("--timeout", type=float, default=900, help="per load-generator run, seconds")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir with logs")
    args = parser.parse_args()
    if args.smoke:
        args.tasks, args.calls, args.recycle_tasks, args.latency_tasks, args.trials = 300, 50, 100, 100, 2
        args.beat_ticks, args.scaling, args.redis_benchmark_n = 4, "1,2", 20_000
    only = set(args.only)
    args.systems = set(args.systems.split(","))
    if not args.systems <= {"caraway", "celery"}:
        parser.error(f"--systems: unknown system in {args.systems}")
    command_line = "bench/run " + " ".join(sys.argv[1:])

    bench = Bench(args)
    results = bench.results
    results.update(date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                   command=command_line.strip(), machine=machine_facts(args),
                   settings={"tasks": args.tasks, "calls": args.calls, "trials": args.trials, "recycle_tasks": args.recycle_tasks,
                             "latency_tasks": args.latency_tasks, "proxy_one_way_us": args.proxy_one_way_us,
                             "beat_ticks": args.beat_ticks, "smoke": args.smoke})
    started = time.monotonic()
    try:
        if not only & set("ad"):
            results["redis_benchmark"] = bench.redis_benchmark()  # else measured per round of (a)
        s = results["scenarios"]
        if only & set("ad"):
            limits: list[dict] = []
            s["a_noop"] = bench.burn_down("a", 0, "noop", args.tasks, measure_memory=True, trials=args.trials,
                                          limits=limits)
            results["redis_benchmark"] = median_limit(limits)
        if "b" in only:
            s["b_results"] = bench.burn_down("b", 1, "results", args.tasks)
        if "c" in only:
            s["c_latency"] = bench.latency(2)
        if "e" in only:
            s["e_recycle"] = bench.burn_down("e", 3, "noop", args.recycle_tasks, max_tasks_per_child=10)
        if "f" in only:
            s["f_latency_1ms"] = bench.burn_down("f", 4, "noop", args.latency_tasks, proxy=True)
        if "g" in only:
            s["g_beat"] = bench.beat()
        if "h" in only:
            for i, n in enumerate(int(x) for x in args.scaling.split(",")):
                s[f"h_scaling_{n}"] = bench.burn_down(f"h{n}", 5 + i, "noop", args.tasks, nodes=n)
        if "i" in only:
            s["i_history"] = bench.burn_down("i", 0, "noop", args.tasks, systems=["caraway"],
                                             database=bench.postgres().url)
    except BaseException as error:
        # Keep what was measured: the report says which scenario failed and why.
        results["error"] = f"{type(error).__name__}: {error}"
        raise
    finally:
        results["wall_seconds"] = round(time.monotonic() - started, 1)
        bench.close()
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
        table = markdown(results)
        (out / "latest.md").write_text(table)
        print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
