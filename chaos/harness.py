"""Caraway's chaos harness: a real cluster, a steady workload, seeded faults, then the invariants.

    chaos/run [--seed N] [--scenario short|long] [--faults N] [--duration S] [--nodes 3] [--rate R]
              [--kinds k1,k2] [--planted-bug NAME] [--report PATH] [--keep] [--data DIR]

1. Start: a private Redis (AOF, appendfsync always), a private Postgres (durable commits), N nodes
   (lease and beat lock TTL of 3 s), each reaching Redis and Postgres through its own fault proxy.
   A schedule `chaos-tick` fires `caraway.chaos_record("tick", 5)` every second (misfire
   `catch_up:1000`: no tick is ever dropped by policy, so every tick must fire exactly once).
2. Run: a producer sends `caraway.chaos_record("w", 10..300 ms)` with known ids at --rate per
   second while the seeded plan (plan.py) injects faults; every fault is recorded with its target
   and its start and end times. A watchdog flags nodes that stay not ready, or ready but idle with
   work queued, after their faults are over (and restarts them so the run goes on).
3. Settle: stop the workload, heal everything, disable the schedule, wait until queues, delayed
   set and in-flight hashes are empty and every node is ready.
4. Check (checks.py) and report: lost tasks, (un)explained duplicates, duplicate/missing ticks,
   leaders per epoch, recovery and failover times; a table, a JSON report, the seed and the replay
   command. Exit 1 on any violation, 2 on a harness error.

docs/reliability.md describes the faults, the rules and a recorded long run.
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from cluster import REPO, ChaosPostgres, ChaosRedis, NodeSlot, postgres_template  # noqa: E402
from checks import Checker, parse_tick  # noqa: E402
from plan import ALL_KINDS, Timing, build_plan  # noqa: E402
from proxy import ProxyHub  # noqa: E402

import redis  # noqa: E402
from redis.backoff import NoBackoff  # noqa: E402
from redis.retry import Retry  # noqa: E402
from carawaytest import (delayed_count, inflight_total, queue_length, run_caraway, schedule_fires,  # noqa: E402
                         tail)

SCENARIOS = {
    # CI: a few faults of every kind in about two minutes of load; < 4 min wall time in all.
    "short": {"duration": 150.0, "faults": 60, "major_share": 0.3, "rate": 25.0},
    # >= 1,000 faults: ~180 major faults back to back and ~1,000 child kills, ~27 min wall time.
    "long": {"duration": 1500.0, "faults": 1200, "major_share": 0.15, "rate": 20.0},
}
PLANTED_BUGS = ("ack-before-result", "unfenced-fire")
TICK_EVERY = 1.0


def log(message: str) -> None:
    print(message, flush=True)


# ---- the workload ----------------------------------------------------------------------------------

class Workload(threading.Thread):
    """Sends caraway.chaos_record tasks with known ids at a steady rate, straight to Redis (the
    producer is outside the fault domain, except for Redis restarts). A send counts as accepted
    ("confirmed") only when Redis acknowledged the LPUSH; a send that failed is recorded as
    unconfirmed and never retried under the same id (a retry could push the same id twice)."""

    def __init__(self, redis_url: str, rate: float, seed: int):
        super().__init__(name="chaos-workload", daemon=True)
        from celery import Celery
        # No result backend: a Celery app with the Redis backend blocks ~20 s per send while Redis
        # restarts (its result consumer reconnects); the harness reads result keys itself.
        self.app = Celery("chaos-producer", broker=redis_url, set_as_current=False)
        self.app.conf.update(task_serializer="json", accept_content=["json"], broker_connection_retry_on_startup=True,
                             broker_connection_timeout=1.0)
        self.redis_url = redis_url
        self.rate = rate
        self.seed = seed
        self.rng = random.Random(f"workload-{seed}")
        self.sent: dict[str, dict] = {}
        self.failures = 0
        self.halt = threading.Event()
        self.error: str | None = None

    def _wait_for_redis(self) -> None:
        probe = redis.Redis.from_url(self.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5,
                                     retry=Retry(NoBackoff(), 0))
        while not self.halt.is_set():
            try:
                if probe.ping():
                    return
            except redis.RedisError:
                pass
            time.sleep(0.1)

    def run(self) -> None:
        try:
            n = 0
            next_at = time.monotonic()
            while not self.halt.is_set():
                now = time.monotonic()
                if now < next_at:
                    time.sleep(min(next_at - now, 0.05))
                    continue
                next_at = max(next_at + 1.0 / self.rate, now - 1.0)  # no burst after a stall
                n += 1
                task_id = f"w{self.seed}-{n:06d}"
                sleep_ms = self.rng.randint(10, 300)
                record = {"sleep_ms": sleep_ms, "sent_at": time.time(), "confirmed": False}
                self.sent[task_id] = record
                try:
                    self.app.send_task("caraway.chaos_record", args=["w", sleep_ms], task_id=task_id, retry=False)
                    record["confirmed"] = True
                except Exception as error:  # kombu OperationalError, redis errors
                    self.failures += 1
                    record["error"] = type(error).__name__
                    self._wait_for_redis()
        except Exception:
            self.error = traceback.format_exc()

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=30)


# ---- the chaos log ---------------------------------------------------------------------------------

class ChaosLog:
    """Incremental reader of the executions log the children append to (one JSON line each)."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.partial = b""
        self.entries: list[dict] = []
        self.bad_lines = 0

    def poll(self) -> list[dict]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        self.offset += len(data)
        data = self.partial + data
        lines = data.split(b"\n")
        self.partial = lines.pop()
        new = []
        for line in lines:
            if not line.strip():
                continue
            try:
                new.append(json.loads(line))
            except ValueError:
                self.bad_lines += 1
        self.entries.extend(new)
        return new

    def busy_pids(self, node: str, within: float = 0.35) -> list[int]:
        """Child pids of `node` that started an execution in the last `within` seconds (likely busy)."""
        self.poll()
        now = time.time()
        pids = []
        for entry in reversed(self.entries):
            if entry["t"] < now - within:
                break
            if entry["node"] == node and entry["pid"] not in pids:
                pids.append(entry["pid"])
        return pids


# ---- node logs ------------------------------------------------------------------------------------

def parse_time(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


KEPT_EVENTS = {"beat.elected", "beat.leadership_lost", "beat.fired", "beat.fenced", "beat.fenced_off",
               "beat.fire_refused", "node.starting", "node.registered", "node.lease_lost"}


def read_node_events(logs: dict[str, Path]) -> tuple[list[dict], dict]:
    """The beat/lifecycle events of every node log ({node name: log path}), and counts of warning+
    events per node."""
    events, noisy = [], {}
    for name, path in logs.items():
        counts: Counter = Counter()
        try:
            text = Path(path).read_text(errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            if not line.startswith("{"):
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            event = entry.get("event", "")
            level = entry.get("level", "")
            if level in ("warning", "error", "critical"):
                counts[f"{level} {event}"] += 1
            if event in KEPT_EVENTS:
                fields = {k: v for k, v in entry.items() if k not in ("time", "level", "event")}
                events.append({"node": name, "time": parse_time(entry["time"]), "event": event, "fields": fields})
        noisy[name] = dict(counts.most_common(30))
    events.sort(key=lambda e: e["time"])
    return events, noisy


# ---- the fault runner -------------------------------------------------------------------------------

class Chaos:
    def __init__(self, args, seed: int):
        self.args = args
        self.seed = seed
        self.binary = Path(args.bin or os.environ.get("CARAWAY_BIN") or REPO / ".build" / "release" / "caraway").resolve()
        self.violations_runtime: list[dict] = []
        self.faults: list[dict] = []
        self.slots: list[NodeSlot] = []
        self.hub: ProxyHub | None = None
        self.redis: ChaosRedis | None = None
        self.pg: ChaosPostgres | None = None
        self.template_dir: Path | None = None
        self.workload: Workload | None = None
        self.major_active: dict | None = None
        self.last_start_on: dict[str, float] = {}
        self.partitioned: set[str] = set()
        self.delayed: set[str] = set()

    # -- set-up --
    def start_cluster(self) -> None:
        args = self.args
        if not self.binary.is_file():
            raise SystemExit(f"chaos: no caraway binary at {self.binary}: run "
                             f"`scripts/build-release caraway` (chaos/run does) or set CARAWAY_BIN")
        self.data = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix=f"caraway-chaos-{self.seed}-"))
        self.data.mkdir(parents=True, exist_ok=True)
        # Run a private copy: a rebuild of .build/release/caraway during a long run must not put a
        # different version into the nodes the harness restarts.
        (self.data / "bin").mkdir(exist_ok=True)
        copy = self.data / "bin" / "caraway"
        shutil.copy2(self.binary, copy)
        self.binary_source = self.binary
        self.binary_sha256 = hashlib.sha256(copy.read_bytes()).hexdigest()
        self.binary = copy
        self.chaos_log_path = self.data / "executions.jsonl"
        self.chaos_log_path.unlink(missing_ok=True)
        self.chaos_log = ChaosLog(self.chaos_log_path)
        log(f"chaos: data in {self.data}; binary {self.binary_source} (sha256 {self.binary_sha256[:12]})")
        self.redis = ChaosRedis(self.data / "redis")
        self.redis.start()
        self.template_dir = Path(tempfile.mkdtemp(prefix="caraway-chaos-pgtemplate-"))
        template = postgres_template(self.template_dir)
        self.pg = ChaosPostgres(template, self.data / "postgres.log")
        self.pg.start()
        self.pg.make_durable()
        self.rc = self.redis.client()
        self.hub = ProxyHub()
        env = {"CARAWAY_CHAOS_LOG": str(self.chaos_log_path)}
        if args.planted_bug:
            env["CARAWAY_PLANTED_BUG"] = args.planted_bug
        flags = {"concurrency": args.concurrency, "lease_seconds": args.lease, "beat_lock_ttl": args.ttl,
                 "max_deliveries": 100, "log_format": "json", "queues": "celery", "shutdown_grace_seconds": 10,
                 "log_level": args.log_level}
        for i in range(args.nodes):
            slot = NodeSlot(i, f"node{i + 1}", self.binary, self.data, self.hub, self.redis.port, self.pg.port, flags, env)
            slot.start()
            self.slots.append(slot)
        deadline = time.monotonic() + 30
        for slot in self.slots:
            while True:
                health = slot.health() if slot.ready() else None
                if health and (health.get("beat") or {}).get("migrated"):
                    break
                if not slot.running():
                    raise RuntimeError(f"node {slot.name} exited at start-up; log:\n{tail(slot.log_path)}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"node {slot.name} not ready within 30 s; log:\n{tail(slot.log_path)}")
                time.sleep(0.1)
        result = run_caraway(self.binary, "schedule", "add", "chaos-tick", "--task", "caraway.chaos_record",
                             "--args", '["tick", 5]', "--every", str(TICK_EVERY), "--misfire", "catch_up:1000",
                             "--database", self.pg.url, "--json")
        if result.returncode != 0:
            raise RuntimeError(f"caraway schedule add failed: {result.stdout}{result.stderr}")
        self.schedule_id = int(json.loads(result.stdout)["id"])
        deadline = time.monotonic() + 15
        while self.chaos_log.poll() is not None and not any(parse_tick(e["id"]) for e in self.chaos_log.entries):
            if time.monotonic() > deadline:
                raise RuntimeError("the chaos schedule did not fire within 15 s; logs:\n"
                                   + "\n".join(tail(s.log_path, 20) for s in self.slots))
            time.sleep(0.1)
        log(f"chaos: {len(self.slots)} nodes × {args.concurrency} children up (lease {args.lease:g}s, "
            f"beat lock TTL {args.ttl:g}s), Redis :{self.redis.port} (AOF, fsync always), "
            f"Postgres :{self.pg.port}, schedule {self.schedule_id} every {TICK_EVERY:g}s")

    # -- helpers --
    def leader(self, wait: float = 4.0) -> tuple[NodeSlot | None, int | None]:
        """The node that says it leads (the highest epoch if several do), waiting up to `wait` s."""
        deadline = time.monotonic() + wait
        while True:
            found = []
            for slot in self.slots:
                health = slot.health(timeout=0.5)
                beat = (health or {}).get("beat") or {}
                if beat.get("leader"):
                    found.append((beat.get("epoch") or 0, slot))
            if found:
                epoch, slot = max(found, key=lambda x: x[0])
                return slot, epoch
            if time.monotonic() > deadline:
                return None, None
            time.sleep(0.2)

    def running_slot(self, index: int) -> NodeSlot | None:
        for k in range(len(self.slots)):
            slot = self.slots[(index + k) % len(self.slots)]
            if slot.running():
                return slot
        return None

    def record(self, planned, kind: str, **fields) -> dict:
        fault = {"id": len(self.faults) + 1, "kind": kind, "planned_at": round(self.t0 + planned.at, 3) if planned else None,
                 "start": time.time(), "end": None, "ok": True, "node": None, **fields}
        self.faults.append(fault)
        return fault

    # -- faults: each start returns the callable that ends it (or None) --
    def start_fault(self, planned):
        kind = planned.kind
        if kind == "kill_child":
            slot = self.running_slot(planned.node)
            if slot is None:
                self.record(planned, kind, ok=False, note="no running node")
                return None
            children = slot.children()
            if not children:
                self.record(planned, kind, ok=False, node=slot.name, note="no children")
                return None
            busy = [p for p in self.chaos_log.busy_pids(slot.name) if p in children]
            pick = planned.params["pick"]
            if busy and pick < 0.8:
                victim = busy[int(pick / 0.8 * len(busy)) % len(busy)]
            else:
                victim = children[int(pick * len(children)) % len(children)]
            fault = self.record(planned, kind, node=slot.name, pid=victim, busy=victim in busy)
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                fault["ok"] = False
                fault["note"] = "child already gone"
            fault["end"] = fault["start"]
            return None
        if kind == "kill_node":
            slot = self.slots[planned.node]
            leader, epoch = self.leader(wait=0.5)
            fault = self.record(planned, kind, node=slot.name, pid=slot.pid, was_leader=leader is slot,
                                leader_epoch=epoch if leader is slot else None, down_s=planned.duration)
            slot.expected_down = True
            self.excuse([slot], float("inf"))
            slot.kill()

            def end():
                slot.start()
                slot.expected_down = False
                fault["end"] = time.time()
                fault["new_pid"] = slot.pid
                self.excuse([slot], fault["end"] + self.args.stuck_after)
            return end
        if kind == "stop_leader":
            slot, epoch = self.leader()
            if slot is None:
                self.record(planned, kind, ok=False, note="no leader found")
                return None
            fault = self.record(planned, kind, node=slot.name, pid=slot.pid, was_leader=True, leader_epoch=epoch,
                                stopped_s=planned.duration)
            self.excuse([slot], float("inf"))
            slot.stop()

            def end():
                slot.cont()
                fault["end"] = time.time()
                self.excuse([slot], fault["end"] + self.args.stuck_after)
            return end
        if kind == "restart_redis":
            fault = self.record(planned, kind, target="redis", down_s=planned.duration)
            self.redis.kill()
            # While the server is down its port refuses connections; the proxies must too.
            proxies = [s.redis_proxy for s in self.slots]
            self.hub.cut(*proxies, style="refuse")
            self.excuse(self.slots, float("inf"))

            def end():
                self.redis.start()
                self.hub.heal(*proxies)
                self.redis.restarts += 1
                fault["end"] = time.time()
                self.excuse(self.slots, fault["end"] + self.args.stuck_after)
            return end
        if kind == "restart_postgres":
            fault = self.record(planned, kind, target="postgres", down_s=planned.duration)
            self.pg.stop_immediate()
            proxies = [s.postgres_proxy for s in self.slots]
            self.hub.cut(*proxies, style="refuse")

            def end():
                self.pg.start()
                self.hub.heal(*proxies)
                fault["end"] = time.time()
            return end
        if kind == "partition":
            slot = self.slots[planned.node]
            leader, epoch = self.leader(wait=0.5)
            style = planned.params["style"]
            fault = self.record(planned, kind, node=slot.name, pid=slot.pid, style=style, was_leader=leader is slot,
                                leader_epoch=epoch if leader is slot else None)
            if style == "freeze":
                self.hub.freeze(*slot.proxies)
            else:
                self.hub.cut(*slot.proxies, style=style)
            self.partitioned.add(slot.name)
            self.excuse([slot], float("inf"))

            def end():
                self.hub.heal(*slot.proxies)
                self.partitioned.discard(slot.name)
                fault["end"] = time.time()
                self.excuse([slot], fault["end"] + self.args.stuck_after)
            return end
        if kind == "latency":
            targets = self.slots if planned.params["all_nodes"] else [self.slots[planned.node]]
            delay = planned.params["delay_ms"]
            fault = self.record(planned, kind, node=None if len(targets) > 1 else targets[0].name,
                                target=",".join(s.name for s in targets), delay_ms=delay)
            names = [p for s in targets for p in s.proxies]
            self.hub.delay(delay, *names)
            self.excuse(targets, float("inf"))

            def end():
                self.hub.delay(0, *names)
                fault["end"] = time.time()
                self.excuse(targets, fault["end"] + self.args.stuck_after)
            return end
        raise ValueError(kind)

    def watch_nodes(self) -> None:
        """A node that exits without the harness killing it is a crash: record it, restart it."""
        for slot in self.slots:
            if getattr(slot, "expected_down", False) or slot.handle is None or slot.running():
                continue
            code = slot.exit_code()
            slot.note_exit("crashed")
            self.violations_runtime.append({"check": "node_crashed", "message": f"node {slot.name} (pid {slot.pid}) exited "
                                            f"by itself with code {code}", "node": slot.name, "pid": slot.pid,
                                            "time": time.time(), "log_tail": tail(slot.log_path, 40)})
            log(f"chaos: !! node {slot.name} exited by itself (code {code}); restarting it")
            slot.start()

    def excuse(self, slots, until: float) -> None:
        """Faults excuse a node's unreadiness or idleness while they last and for a grace period
        after they end (`until`); the watchdog judges the node only after that."""
        for slot in slots:
            slot.excused_until = until

    def watchdog(self) -> None:
        """Liveness, per node, once the faults that affect it are over (+ --stuck-after/--stall-after):
        - stuck: the node stays not ready (/ready != 200);
        - stalled: the node is ready and idle (no task running) while work is queued, and has not
          started a task for --stall-after seconds.
        Both are violations (I1: queued work runs while a node lives). The harness then restarts
        the node (kill -9, same name and ports), as a supervisor would, so the run goes on and the
        other invariants stay checked; the restarts are recorded as `watchdog_restart`."""
        now = time.time()
        for entry in self.chaos_log.poll():
            self.last_start_on[entry["node"]] = max(self.last_start_on.get(entry["node"], 0.0), entry["t"])
        backlog = None
        for slot in self.slots:
            if slot.expected_down or slot.stopped or not slot.running() or now < slot.excused_until:
                slot.unready_since = None
                continue
            status, body = slot.get_json("/ready", timeout=1.0)
            if status != 200:
                slot.unready_since = slot.unready_since or now
                if now - slot.unready_since >= 3.0:  # not a blip
                    self.violations_runtime.append({
                        "check": "node_stuck", "node": slot.name, "pid": slot.pid, "time": now,
                        "message": f"node {slot.name} (pid {slot.pid}) is still not ready {now - slot.excused_until + self.args.stuck_after:.0f}s "
                                   f"after the last fault that affected it ended (/ready: {status} {body})",
                        "log_tail": tail(slot.log_path, 25)})
                    log(f"chaos: !! node {slot.name} stuck (not ready, /ready {status} {body}): restarting it")
                    self.restart_by_watchdog(slot, "stuck")
                continue
            slot.unready_since = None
            idle_for = now - max(self.last_start_on.get(slot.name, 0.0), slot.excused_until - self.args.stuck_after)
            if idle_for < self.args.stall_after:
                continue
            if backlog is None:
                try:
                    backlog = queue_length(self.rc)
                except redis.RedisError:
                    return
            if backlog == 0:
                continue
            health = slot.health(timeout=1.0)
            if health is None or health.get("active") != 0:
                continue
            self.violations_runtime.append({
                "check": "stall", "node": slot.name, "pid": slot.pid, "time": now, "queue": backlog, "health": health,
                "message": f"node {slot.name} is ready and idle but started no task for {idle_for:.0f}s while "
                           f"{backlog} messages were queued", "log_tail": tail(slot.log_path, 25)})
            log(f"chaos: !! node {slot.name} stalled: ready, idle, {backlog} queued, no task for {idle_for:.0f}s: restarting it")
            self.restart_by_watchdog(slot, "stall")

    def restart_by_watchdog(self, slot: NodeSlot, reason: str) -> None:
        fault = {"id": len(self.faults) + 1, "kind": "watchdog_restart", "planned_at": None, "start": time.time(),
                 "end": None, "ok": True, "node": slot.name, "pid": slot.pid, "reason": reason}
        self.faults.append(fault)
        slot.expected_down = True
        slot.kill()
        slot.start()
        slot.expected_down = False
        slot.unready_since = None
        fault["end"] = time.time()
        self.excuse([slot], fault["end"] + self.args.stuck_after)

    def progress(self, done_faults: int, total: int) -> None:
        queue = inflight = "-"
        if self.redis.running():
            try:
                queue = queue_length(self.rc)
                inflight = inflight_total(self.rc)
            except redis.RedisError:
                queue = inflight = "?"
        self.chaos_log.poll()
        leader = "-"
        for slot in self.slots:
            if slot.stopped or not slot.running():
                continue
            health = slot.health(timeout=0.3)
            beat = (health or {}).get("beat") or {}
            if beat.get("leader"):
                leader = f"{slot.name}/e{beat.get('epoch')}"
        elapsed = time.time() - self.t0
        active = self.major_active["kind"] if self.major_active else "-"
        log(f"[{elapsed:6.0f}s] sent {len(self.workload.sent):6d}  runs {len(self.chaos_log.entries):6d}  "
            f"faults {done_faults:4d}/{total}  queue {queue}  in-flight {inflight}  leader {leader}  now: {active}")

    def run_plan(self, plan, duration: float) -> None:
        self.workload = Workload(self.redis.url, self.args.rate, self.seed)
        self.t0 = time.time()
        self.excuse(self.slots, self.t0 + self.args.stuck_after)
        self.workload.start()
        heap = [(self.t0 + f.at, i, "start", f) for i, f in enumerate(plan)]
        heapq.heapify(heap)
        counter = len(plan)
        done = 0
        next_progress = self.t0 + self.args.progress
        next_watch = self.t0 + 1.0
        end_at = self.t0 + duration
        while True:
            now = time.time()
            if heap and heap[0][0] <= now:
                _, _, what, item = heapq.heappop(heap)
                if what == "start":
                    done += 1
                    ender = self.start_fault(item)
                    if ender is not None:
                        self.major_active = self.faults[-1]
                        counter += 1
                        heapq.heappush(heap, (time.time() + item.duration, counter, "end", ender))
                else:
                    item()
                    self.major_active = None
                continue
            if not heap and now >= end_at:
                break
            self.watch_nodes()
            if now >= next_watch:
                self.watchdog()
                next_watch = time.time() + 1.0
            if now >= next_progress:
                self.progress(done, len(plan))
                next_progress += self.args.progress
            wait = min(0.1, (heap[0][0] - now) if heap else 0.1)
            if wait > 0:
                time.sleep(wait)
        self.workload_ended = time.time()

    # -- settle & collect --
    def settle(self, timeout: float) -> dict:
        self.workload.stop()
        for slot in self.slots:
            if slot.stopped:
                slot.cont()
        self.hub.heal(*[p for s in self.slots for p in s.proxies])
        self.hub.delay(0, *[p for s in self.slots for p in s.proxies])
        self.pg.sql("UPDATE caraway_schedules SET enabled = false WHERE id = %s", (self.schedule_id,))
        began = time.time()
        stable_since = None
        last = {}
        next_watch = began + 1.0
        while time.time() - began < timeout:
            self.watch_nodes()
            if time.time() >= next_watch:
                self.watchdog()
                next_watch = time.time() + 1.0
            try:
                last = {"queue": queue_length(self.rc), "inflight": inflight_total(self.rc), "delayed": delayed_count(self.rc)}
            except redis.RedisError as error:
                last = {"error": str(error)}
                time.sleep(0.25)
                continue
            last["not_ready"] = [s.name for s in self.slots if not s.ready()]
            quiet = last["queue"] == 0 and last["inflight"] == 0 and last["delayed"] == 0 and not last["not_ready"]
            if quiet:
                stable_since = stable_since or time.time()
                if time.time() - stable_since >= 2.0:
                    return {"drained": True, "seconds": round(time.time() - began, 2)}
            else:
                stable_since = None
            time.sleep(0.25)
        return {"drained": False, "seconds": round(time.time() - began, 2), **last}

    def results_for(self, ids) -> dict:
        ids = list(ids)
        found = {}
        for i in range(0, len(ids), 1000):
            batch = ids[i:i + 1000]
            values = self.rc.mget([f"celery-task-meta-{t}" for t in batch])
            for task_id, value in zip(batch, values):
                if value is None:
                    found[task_id] = None
                    continue
                try:
                    found[task_id] = json.loads(value).get("status")
                except ValueError:
                    found[task_id] = "UNDECODABLE"
        return found

    def control_ping(self, name: str, attempts: int = 3) -> bool:
        """Does the node answer Celery's remote control (a pidbox ping addressed to it)?"""
        from celery import Celery
        for _ in range(attempts):
            app = Celery("chaos-control", broker=self.redis.url, set_as_current=False)
            try:
                replies = app.control.ping(destination=[name], timeout=1.5)
                if any(name in reply for reply in replies):
                    return True
            except Exception:
                pass
            finally:
                app.close()
        return False

    def end_state(self) -> dict:
        nodes = []
        for slot in self.slots:
            health = slot.health() or {}
            beat = health.get("beat") or {}
            nodes.append({"name": slot.name, "running": slot.running(), "ready": slot.ready(),
                          "status": health.get("status"), "leader": bool(beat.get("leader")), "epoch": beat.get("epoch"),
                          "loop_lag_max_ms": health.get("loop_lag_max_ms"), "instances": len(slot.instances),
                          "control_ping": self.control_ping(slot.name)})
        dead = self.rc.lrange("caraway:dead", 0, 4)
        return {"nodes": nodes, "queue": queue_length(self.rc), "inflight": inflight_total(self.rc),
                "delayed": delayed_count(self.rc), "dead_letters": self.rc.llen("caraway:dead"),
                "dead_sample": [d.decode(errors="replace")[:500] for d in dead]}

    def teardown(self, keep: bool) -> None:
        if self.workload is not None and self.workload.is_alive():
            self.workload.stop()
        for slot in self.slots:
            try:
                slot.terminate()
            except Exception:
                pass
        if self.hub is not None:
            self.hub.close()
        if self.redis is not None:
            self.redis.stop()
        if self.pg is not None:
            # The Postgres data dir lives in its own /tmp dir (owned by the postgres user); the report
            # already holds the fire records, so it is kept only on an explicit --keep.
            if self.args.keep:
                self.pg.stop()
                log(f"chaos: Postgres data kept in {self.pg.directory}")
            else:
                self.pg.destroy()
        if self.template_dir is not None:
            shutil.rmtree(self.template_dir, ignore_errors=True)
        if not keep and getattr(self, "data", None) is not None and not self.args.data:
            shutil.rmtree(self.data, ignore_errors=True)


# ---- report -----------------------------------------------------------------------------------------

def replay_command(args, seed: int) -> str:
    parts = ["chaos/run", "--seed", str(seed), "--scenario", args.scenario]
    for flag, value, default in (("--faults", args.faults, None), ("--duration", args.duration, None),
                                 ("--nodes", args.nodes, 3), ("--rate", args.rate_given, None),
                                 ("--concurrency", args.concurrency, 3), ("--kinds", args.kinds, None),
                                 ("--planted-bug", args.planted_bug, None)):
        if value is not None and value != default:
            parts += [flag, str(value)]
    if args.strict:
        parts.append("--strict")
    return " ".join(parts)


def fmt_stats(stats: dict, unit: str = "s") -> str:
    if not stats.get("n"):
        return "n/a (n=0)"
    return f"median {stats['median']:.2f} {unit}, max {stats['max']:.2f} {unit} (n={stats['n']})"


def print_table(report: dict) -> None:
    s = report["summary"]
    faults = report["faults"]
    kinds = Counter(f["kind"] for f in faults if f["ok"])
    skipped = Counter(f["kind"] for f in faults if not f["ok"])
    cfg = report["config"]
    log("")
    log(f"== Caraway chaos run: seed {report['seed']}, scenario {cfg['scenario']}, {cfg['nodes']} nodes × "
        f"{cfg['concurrency']} children, {cfg['rate']:g} tasks/s, planted bug: {cfg['planted_bug'] or 'none'} ==")
    log(f"{'fault kind':<18}{'count':>7}{'skipped':>9}")
    for kind in ALL_KINDS:
        if kinds[kind] or skipped[kind]:
            log(f"  {kind:<16}{kinds[kind]:>7}{skipped[kind]:>9}")
    total = sum(v for k, v in kinds.items() if k in ALL_KINDS)
    log(f"  {'total':<16}{total:>7}{sum(skipped.values()):>9}")
    if kinds["watchdog_restart"]:
        log(f"  (+ {kinds['watchdog_restart']} watchdog restarts of stuck/stalled nodes: see violations)")
    t = s["tasks"]
    d = s["duplicates"]
    k = s["ticks"]
    log(f"tasks        sent {t['sent']}, accepted {t['confirmed']}, succeeded {t['succeeded']}, LOST {t['lost']} "
        f"(unconfirmed sends {t['unconfirmed']}, of which executed {t['unconfirmed_executed']})")
    by = ", ".join(f"{k_} {v}" for k_, v in sorted(d["explained_by_kind"].items())) or "-"
    log(f"duplicates   {d['extra_executions']} extra executions of {d['ids']} ids: explained {d['explained']} ({by}), "
        f"UNEXPLAINED {d['unexplained']}")
    log(f"ticks        {k['ticks']} ticks fired ({k['executed']} executed, {k['fire_rows']} fire records), "
        f"DUPLICATE {k['duplicate_ticks']}, missing {k['missing']} ({k['missing_in_fault_windows']} inside fault windows), "
        f"lost {k['lost']}, unrecorded {k['unrecorded']}")
    ld = s["leaders"]
    lead = [n for n in s["end"]["nodes"] if n["leader"]]
    log(f"leaders      {ld['epochs']} epochs, {ld['epochs_with_two_leaders']} with two leaders; at the end: "
        + (", ".join(f"{n['name']} (epoch {n['epoch']})" for n in lead) or "none"))
    r = s["recovery"]
    log(f"recovery     node faults: {fmt_stats(r['node'])}; child kills: {fmt_stats(r['child'])}")
    f = s["failover"]
    log(f"failover     {fmt_stats(f)}; limit TTL + 1 s = {f['limit_s']:.1f} s, slower: {f['slow']}")
    e = s["end"]
    ready = sum(1 for n in e["nodes"] if n["ready"])
    log(f"end          {ready}/{len(e['nodes'])} nodes ready; queue {e['queue']}, in-flight {e['inflight']}, "
        f"delayed {e['delayed']}, dead letters {e['dead_letters']}; settled in {report['settle']['seconds']} s")
    log(f"wall time    {report['wall_seconds']:.1f} s (workload {report['workload_seconds']:.1f} s)")
    findings = report["findings"]
    if findings:
        counts = Counter(f["check"] for f in findings)
        log(f"FINDINGS     {len(findings)} ({', '.join(f'{c} {n}' for c, n in counts.most_common())})"
            + ("" if report["config"].get("strict") else " — not counted as violations; --strict counts them"))
        for f in findings[:10]:
            log(f"  - [{f['check']}] {f['message']}")
    violations = report["violations"]
    if violations:
        counts = Counter(v["check"] for v in violations)
        log(f"RESULT: FAIL — {len(violations)} violations: " + ", ".join(f"{c} {n}" for c, n in counts.most_common()))
        for v in violations[:15]:
            log(f"  - [{v['check']}] {v['message']}")
    else:
        log("RESULT: PASS — no violations")
    log(f"seed {report['seed']}; replay: {report['replay']}")


# ---- main -------------------------------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="chaos/run", description="Caraway chaos harness (docs/reliability.md).")
    parser.add_argument("--seed", type=int, help="seed of the fault plan and the workload (default: random, printed)")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="short",
                        help="short: CI, < 4 min; long: >= 1,000 faults, ~27 min (default short)")
    parser.add_argument("--faults", type=int, help="total faults (default: the scenario's)")
    parser.add_argument("--duration", type=float, help="seconds of workload and faults (default: the scenario's)")
    parser.add_argument("--nodes", type=int, default=3, help="Caraway nodes (default 3)")
    parser.add_argument("--concurrency", type=int, default=3, help="children per node (default 3)")
    parser.add_argument("--rate", type=float, dest="rate_given", metavar="R", help="workload tasks per second (default: the scenario's)")
    parser.add_argument("--kinds", help=f"comma-separated fault kinds to use (default all: {','.join(ALL_KINDS)})")
    parser.add_argument("--planted-bug", choices=PLANTED_BUGS, help="run the nodes with CARAWAY_PLANTED_BUG (self-test)")
    parser.add_argument("--report", help="write the JSON report here")
    parser.add_argument("--keep", action="store_true", help="keep the data dir (logs, AOF, executions log)")
    parser.add_argument("--data", help="data dir (default: a fresh /tmp/caraway-chaos-<seed>-* dir)")
    parser.add_argument("--bin", help="caraway binary (default $CARAWAY_BIN or .build/release/caraway)")
    parser.add_argument("--lease", type=float, default=3.0, help="node lease seconds (default 3)")
    parser.add_argument("--ttl", type=float, default=3.0, help="beat lock TTL seconds (default 3)")
    parser.add_argument("--settle-timeout", type=float, default=120.0, help="max seconds to drain at the end")
    parser.add_argument("--progress", type=float, default=10.0, help="seconds between progress lines")
    parser.add_argument("--plan-only", action="store_true", help="print the fault plan as JSON and exit")
    parser.add_argument("--stuck-after", type=float, default=10.0,
                        help="grace after the last fault that affected a node before the watchdog judges it (default 10)")
    parser.add_argument("--stall-after", type=float, default=10.0,
                        help="seconds a ready, idle node may go without starting a task while work is queued (default 10)")
    parser.add_argument("--log-level", default="info", help="the nodes' --log-level (default info; debug to investigate)")
    parser.add_argument("--strict", action="store_true",
                        help="count findings (lease lost without a fault, node deaf to remote control) as violations")
    args = parser.parse_args(argv)
    scenario = SCENARIOS[args.scenario]
    args.rate = args.rate_given or scenario["rate"]
    if args.kinds:
        kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
        unknown = [k for k in kinds if k not in ALL_KINDS]
        if unknown:
            parser.error(f"unknown fault kinds {unknown}; known: {', '.join(ALL_KINDS)}")
        args.kind_list = kinds
    else:
        args.kind_list = list(ALL_KINDS)
    if args.nodes < 2:
        parser.error("--nodes must be at least 2 (faults need survivors)")
    return args


def recheck(directory: Path) -> int:
    """Runs the checks again on a kept data dir (raw.json, executions.jsonl, node logs): for
    working on the checks without re-running the cluster."""
    raw = json.loads((directory / "raw.json").read_text())
    executions = ChaosLog(directory / "executions.jsonl")
    executions.poll()
    logs = {p.name[len("node-"):-len(".log")]: p for p in sorted(directory.glob("node-*.log"))}
    events, _ = read_node_events(logs)
    faults = raw["faults"]
    for fault in faults:  # drop figures the previous check pass added
        for key in ("requeued", "recovery_s", "failover_s", "failover_to"):
            fault.pop(key, None)
    checker = Checker(executions=executions.entries, sent=raw["sent"], results=raw["results"], faults=faults,
                      events=events, fires=raw["fires"], schedule_id=raw["schedule_id"], every_ms=int(TICK_EVERY * 1000),
                      lease=raw["lease"], ttl=raw["ttl"], end_state=raw["end_state"], settle=raw["settle"])
    summary, violations = checker.run()
    violations = raw.get("runtime_violations", []) + violations
    summary.pop("duplicate_list", None)
    print(json.dumps(summary, indent=1, default=str))
    for v in violations[:30]:
        print(f"- [{v['check']}] {v['message']}")
    for f in checker.findings[:30]:
        print(f"- finding [{f['check']}] {f['message']}")
    print(f"{len(violations)} violations")
    return 1 if violations else 0


def main(argv=None) -> int:
    if argv is None and len(sys.argv) == 3 and sys.argv[1] == "--recheck":
        return recheck(Path(sys.argv[2]))
    args = parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)
    scenario = SCENARIOS[args.scenario]
    faults_total = args.faults if args.faults is not None else scenario["faults"]
    duration = args.duration if args.duration is not None else scenario["duration"]
    plan, duration, notes = build_plan(seed, faults_total, duration, args.nodes, args.kind_list,
                                       Timing(lease=args.lease, ttl=args.ttl), scenario["major_share"])
    log(f"chaos: seed {seed} (replay: {replay_command(args, seed)})")
    for note in notes:
        log(f"chaos: note: {note}")
    plan_counts = Counter(f.kind for f in plan)
    log(f"chaos: plan: {len(plan)} faults over {duration:.0f}s: " + ", ".join(f"{k} {plan_counts[k]}" for k in ALL_KINDS if plan_counts[k]))
    if args.plan_only:
        print(json.dumps([f.to_dict() for f in plan], indent=1))
        return 0

    started = time.time()
    chaos = Chaos(args, seed)
    violations: list[dict] = []
    keep = args.keep

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_term)
    try:
        chaos.start_cluster()
        chaos.run_plan(plan, duration)
        log(f"chaos: workload stopped after {time.time() - chaos.t0:.1f}s; settling…")
        settle = chaos.settle(args.settle_timeout)
        time.sleep(0.5)
        chaos.chaos_log.poll()
        executions = chaos.chaos_log.entries
        events, noisy = read_node_events({slot.name: slot.log_path for slot in chaos.slots})
        fires = schedule_fires(chaos.pg, chaos.schedule_id)
        tick_ids = {e["id"] for e in executions if parse_tick(e["id"])} | {r["task_id"] for r in fires} \
            | {e["fields"].get("task.id") for e in events if e["event"] == "beat.fired"}
        results = chaos.results_for(set(chaos.workload.sent) | {t for t in tick_ids if t})
        end_state = chaos.end_state()
        checker = Checker(executions=executions, sent=chaos.workload.sent, results=results, faults=chaos.faults,
                          events=events, fires=fires, schedule_id=chaos.schedule_id, every_ms=int(TICK_EVERY * 1000),
                          lease=args.lease, ttl=args.ttl, end_state=end_state, settle=settle)
        summary, violations = checker.run()
        findings = checker.findings
        violations = chaos.violations_runtime + violations
        if args.strict:
            violations += findings
        if chaos.workload.error:
            violations.append({"check": "harness", "message": "the workload thread failed", "traceback": chaos.workload.error})
        report = {
            "seed": seed, "replay": replay_command(args, seed),
            "config": {"scenario": args.scenario, "nodes": args.nodes, "concurrency": args.concurrency, "rate": args.rate,
                       "duration": duration, "faults_planned": len(plan), "kinds": args.kind_list, "lease_s": args.lease,
                       "beat_lock_ttl_s": args.ttl, "planted_bug": args.planted_bug, "binary": str(chaos.binary_source),
                       "binary_sha256": chaos.binary_sha256,
                       "tick_every_s": TICK_EVERY, "schedule_id": chaos.schedule_id, "strict": args.strict},
            "started": datetime.fromtimestamp(started, timezone.utc).isoformat(),
            "wall_seconds": round(time.time() - started, 1),
            "workload_seconds": round(chaos.workload_ended - chaos.t0, 1),
            "summary": summary, "settle": settle,
            "violations": violations,
            "findings": findings,
            "faults": chaos.faults,
            "fault_counts": dict(Counter(f["kind"] for f in chaos.faults if f["ok"])),
            "faults_total": sum(1 for f in chaos.faults if f["ok"] and f["kind"] in ALL_KINDS),
            "node_instances": {s.name: s.instances for s in chaos.slots},
            "node_warnings": noisy,
            "proxies": chaos.hub.describe(),
            "redis_restarts": chaos.redis.restarts,
            "chaos_log_bad_lines": chaos.chaos_log.bad_lines,
            "workload_send_failures": chaos.workload.failures,
            "notes": notes,
            "data_dir": str(chaos.data),
        }
        if violations:
            keep = True
        print_table(report)
        if keep:
            report_path = chaos.data / "report.json"
            report_path.write_text(json.dumps(report, indent=1, default=str))
            raw = {"sent": chaos.workload.sent, "results": results, "fires": fires, "faults": chaos.faults,
                   "end_state": end_state, "settle": settle, "schedule_id": chaos.schedule_id, "lease": args.lease,
                   "ttl": args.ttl, "runtime_violations": chaos.violations_runtime}
            (chaos.data / "raw.json").write_text(json.dumps(raw, default=str))
            log(f"chaos: kept {chaos.data} (node logs, executions.jsonl, redis AOF, report.json)")
        if args.report:
            Path(args.report).write_text(json.dumps(report, indent=1, default=str))
            log(f"chaos: report written to {args.report}")
        return 1 if violations else 0
    except KeyboardInterrupt:
        log(f"chaos: interrupted; seed {seed}")
        keep = True
        return 130
    except Exception:
        log("chaos: harness error:\n" + traceback.format_exc())
        log(f"chaos: seed {seed}; replay: {replay_command(args, seed)}")
        keep = True
        return 2
    finally:
        chaos.teardown(keep)


if __name__ == "__main__":
    sys.exit(main())
