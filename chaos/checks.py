"""The checks a chaos run ends with: pure functions over what the run recorded.

Inputs (all gathered by harness.py after the cluster settled):
- executions: the chaos log, one dict per execution start {id, tag, node, pid, t, delivery};
- sent: workload task id -> {sleep_ms, sent_at, confirmed} (confirmed = Redis acknowledged the LPUSH);
- results: task id -> Celery result status in Redis (None when there is no result record);
- faults: the fault records {kind, node, pid, start, end, ok, ...};
- events: node log events {node, time, event, fields} (beat.elected, beat.fired, ...);
- fires: rows of caraway_schedule_fires for the chaos schedule;
- end state: each node's /ready and /health, queue/in-flight counts, dead letters.

Each check appends violations (dicts with a `check` name and the evidence) and fills the summary.
The invariants are the design's I1–I3 (design.md §2); see docs/reliability.md for the rules.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict

TICK_ID = re.compile(r"^beat-(\d+)-(\d+)(?:-(.+))?$")

# How long after a copy's planned run time a fault can still explain its re-execution: the copy
# may have finished but not yet been acknowledged (the settle script's round trip, a slow proxy).
SETTLE_SLACK = 1.5
# Which fault explains a re-execution when several overlap it: the most specific one.
EXPLAIN_ORDER = {"kill_child": 0, "kill_node": 1, "watchdog_restart": 1, "stop_leader": 2, "partition": 2, "restart_redis": 3}


def _stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0, "median": None, "max": None, "min": None}
    return {"n": len(values), "median": round(statistics.median(values), 3), "max": round(max(values), 3),
            "min": round(min(values), 3)}


def parse_tick(task_id: str):
    """(schedule id, tick ms, suffix or None) for a beat task id, else None."""
    match = TICK_ID.match(task_id)
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), match.group(3)


class Checker:
    def __init__(self, *, executions, sent, results, faults, events, fires, schedule_id, every_ms, lease, ttl,
                 end_state, settle):
        self.executions = sorted(executions, key=lambda e: e["t"])
        self.sent = sent
        self.results = results
        self.faults = [f for f in faults if f.get("ok")]
        self.events = events
        self.fires = fires
        self.schedule_id = schedule_id
        self.every_ms = every_ms
        self.lease = lease
        self.ttl = ttl
        self.end_state = end_state
        self.settle = settle
        self.violations: list[dict] = []
        # Findings: behaviour the design rules out that the brief's checks do not count as a
        # violation (see docs/reliability.md); --strict turns them into violations.
        self.findings: list[dict] = []
        self.summary: dict = {}
        self.by_id: dict[str, list[dict]] = defaultdict(list)
        for e in self.executions:
            self.by_id[e["id"]].append(e)
        self.repeated = {i: runs for i, runs in self.by_id.items() if len(runs) > 1}

    def violation(self, check: str, message: str, **evidence) -> None:
        self.violations.append({"check": check, "message": message, **evidence})

    def finding(self, check: str, message: str, **evidence) -> None:
        self.findings.append({"check": check, "message": message, **evidence})

    def run(self) -> tuple[dict, list[dict]]:
        self.check_tasks()
        self.check_duplicates()
        self.check_ticks()
        self.check_leaders()
        self.measure_recovery()
        self.measure_failover()
        self.check_end_state()
        self.check_lease_losses()
        return self.summary, self.violations

    # ---- I1: no loss ------------------------------------------------------------------------------
    def check_tasks(self) -> None:
        confirmed = [i for i, s in self.sent.items() if s["confirmed"]]
        unconfirmed = [i for i, s in self.sent.items() if not s["confirmed"]]
        lost = [i for i in confirmed if self.results.get(i) != "SUCCESS"]
        unknown = sorted(i for i in self.by_id if i not in self.sent and parse_tick(i) is None)
        self.summary["tasks"] = {
            "sent": len(self.sent), "confirmed": len(confirmed), "unconfirmed": len(unconfirmed),
            "unconfirmed_executed": sum(1 for i in unconfirmed if i in self.by_id),
            "succeeded": sum(1 for i in confirmed if self.results.get(i) == "SUCCESS"),
            "lost": len(lost), "executions": sum(len(v) for i, v in self.by_id.items() if i in self.sent),
        }
        for task_id in lost[:200]:
            runs = self.by_id.get(task_id, [])
            self.violation("lost", f"task {task_id} was accepted by Redis but never reached SUCCESS "
                           f"(result: {self.results.get(task_id)}, {len(runs)} execution(s) started)",
                           task_id=task_id, result=self.results.get(task_id), executions=runs,
                           sent_at=self.sent[task_id]["sent_at"],
                           faults_near=[self._fault_ref(f) for f in self.faults
                                        if runs and f["start"] >= runs[0]["t"] - 1 and f["start"] <= runs[-1]["t"] + 5])
        if len(lost) > 200:
            self.violation("lost", f"... and {len(lost) - 200} more lost tasks", count=len(lost) - 200)
        if unknown:
            self.violation("unknown_execution", f"{len(unknown)} executions of ids the harness never sent",
                           ids=unknown[:50])

    # ---- I2: duplicates only for killed executions -------------------------------------------------
    def _run_seconds(self, task_id: str) -> float:
        sent = self.sent.get(task_id)
        return (sent["sleep_ms"] / 1000.0) if sent else 0.005

    @staticmethod
    def _fault_ref(fault: dict) -> str:
        target = fault.get("node") or fault.get("target") or ""
        extra = f" pid {fault['pid']}" if fault["kind"] == "kill_child" else ""
        return f"#{fault['id']} {fault['kind']} {target}{extra} @{fault['start']:.3f}"

    def explain(self, copy: dict, next_start: float, task_id: str):
        """The fault that explains why `copy` (an execution start) was followed by another start at
        `next_start`, or None. Rules (docs/reliability.md):
        - kill_child: the copy's own child pid on the copy's node was killed while the copy ran;
        - kill_node: the copy's node was killed while the copy ran;
        - stop_leader / partition: the copy's node was stopped / cut off while it held the copy;
        - restart_redis: Redis went away while the copy was held (any node).
        "While it ran/held" = the fault window overlaps [start, start + run time + SETTLE_SLACK] and
        the fault began before the next start."""
        run_end = copy["t"] + self._run_seconds(task_id) + SETTLE_SLACK
        best = None
        for fault in self.faults:
            start, end = fault["start"], fault["end"] if fault["end"] is not None else fault["start"]
            if start > next_start:
                continue
            kind = fault["kind"]
            if kind == "kill_child":
                fits = fault.get("pid") == copy["pid"] and fault.get("node") == copy["node"] and copy["t"] - 0.05 <= start <= run_end
            elif kind in ("kill_node", "watchdog_restart"):
                fits = fault.get("node") == copy["node"] and copy["t"] - 0.05 <= start <= run_end
            elif kind in ("stop_leader", "partition"):
                fits = fault.get("node") == copy["node"] and start <= run_end and end + SETTLE_SLACK >= copy["t"]
            elif kind == "restart_redis":
                fits = start <= run_end and end + SETTLE_SLACK >= copy["t"]
            else:
                fits = False
            # The most specific fault wins (a child kill over a Redis restart that also overlapped).
            if fits and (best is None or EXPLAIN_ORDER[kind] < EXPLAIN_ORDER[best["kind"]]):
                best = fault
        return best

    def check_duplicates(self) -> None:
        explained, unexplained, by_kind = [], [], defaultdict(int)
        for task_id, runs in self.repeated.items():
            for copy, nxt in zip(runs, runs[1:]):
                fault = self.explain(copy, nxt["t"], task_id)
                record = {"task_id": task_id, "copy": copy, "next": nxt}
                if fault is not None:
                    record["explained_by"] = self._fault_ref(fault)
                    by_kind[fault["kind"]] += 1
                    explained.append(record)
                else:
                    unexplained.append(record)
        ids = {r["task_id"] for r in explained + unexplained}

        def brief(record):
            c, n = record["copy"], record["next"]
            return {"id": record["task_id"], "copy": [c["node"], c["pid"], round(c["t"], 3), c.get("delivery")],
                    "next": [n["node"], n["pid"], round(n["t"], 3), n.get("delivery")],
                    "by": record.get("explained_by")}
        self.summary["duplicate_list"] = [brief(r) for r in (unexplained + explained)[:500]]
        self.summary["duplicates"] = {"ids": len(ids), "extra_executions": len(explained) + len(unexplained),
                                      "explained": len(explained), "unexplained": len(unexplained),
                                      "explained_by_kind": dict(by_kind)}
        for record in unexplained[:100]:
            self.violation("unexplained_duplicate",
                           f"task {record['task_id']} ran again at {record['next']['t']:.3f} on {record['next']['node']} "
                           f"after a run at {record['copy']['t']:.3f} on {record['copy']['node']} (pid {record['copy']['pid']}) "
                           f"that no fault interrupted", **record)

    # ---- I3: every tick exactly once ---------------------------------------------------------------
    def check_ticks(self) -> None:
        sid = self.schedule_id
        ids_by_tick: dict[int, set] = defaultdict(set)
        sources: dict[int, set] = defaultdict(set)
        executed_ticks: set[int] = set()
        for task_id in self.by_id:
            parsed = parse_tick(task_id)
            if parsed and parsed[0] == sid:
                ids_by_tick[parsed[1]].add(task_id)
                sources[parsed[1]].add("executed")
                executed_ticks.add(parsed[1])
        fired_ids: set[str] = set()
        for event in self.events:
            if event["event"] == "beat.fired":
                task_id = event["fields"].get("task.id", "")
                parsed = parse_tick(task_id)
                if parsed and parsed[0] == sid:
                    ids_by_tick[parsed[1]].add(task_id)
                    sources[parsed[1]].add("beat.fired")
                    fired_ids.add(task_id)
        fire_rows = {}
        for row in self.fires:
            tick = int(round(row["tick"] * 1000))
            fire_rows[row["task_id"]] = row
            ids_by_tick[tick].add(row["task_id"])
            sources[tick].add("fire_row")
        ticks = sorted(ids_by_tick)
        summary = {"schedule_id": sid, "every_ms": self.every_ms, "ticks": len(ticks), "fire_rows": len(self.fires),
                   "executed": len(executed_ticks), "duplicate_ticks": 0, "missing": 0, "missing_in_fault_windows": 0,
                   "off_grid": 0, "lost": 0, "unrecorded": 0}
        self.summary["ticks"] = summary
        if not ticks:
            self.violation("ticks", "the schedule never fired")
            return
        summary["first"], summary["last"] = ticks[0] / 1000.0, ticks[-1] / 1000.0
        # Duplicate fires: two distinct task ids for one tick.
        for tick in ticks:
            if len(ids_by_tick[tick]) > 1:
                summary["duplicate_ticks"] += 1
                if summary["duplicate_ticks"] <= 100:
                    execs = [e for i in ids_by_tick[tick] for e in self.by_id.get(i, [])]
                    self.violation("duplicate_tick", f"tick {tick} fired {len(ids_by_tick[tick])} times with distinct ids",
                                   tick_ms=tick, ids=sorted(ids_by_tick[tick]), executions=execs)
        # The grid: every tick between the first and the last must be there.
        base = ticks[0]
        present = set()
        for tick in ticks:
            k = round((tick - base) / self.every_ms)
            if abs(tick - (base + k * self.every_ms)) > 2:
                summary["off_grid"] += 1
                self.violation("off_grid_tick", f"tick {tick} is not on the schedule's grid", tick_ms=tick)
            present.add(k)
        missing_allowed, missing_bad = [], []
        for k in range(0, max(present) + 1):
            if k in present:
                continue
            tick_s = (base + k * self.every_ms) / 1000.0
            window = next((f for f in self.faults if f["kind"] != "kill_child"
                           and f["start"] - 1.0 <= tick_s <= (f["end"] or f["start"]) + self.ttl + 2.0), None)
            (missing_allowed if window else missing_bad).append((tick_s, window))
        summary["missing"] = len(missing_allowed) + len(missing_bad)
        summary["missing_in_fault_windows"] = len(missing_allowed)
        for tick_s, _ in missing_bad[:100]:
            self.violation("missing_tick", f"tick at {tick_s:.3f} never fired, outside any fault window", tick=tick_s)
        # Fired ticks must run; run ticks must have been recorded (fenced) first.
        for task_id in sorted(set(fire_rows) | fired_ids):
            if self.results.get(task_id) != "SUCCESS":
                summary["lost"] += 1
                self.violation("lost_tick", f"fired tick task {task_id} never reached SUCCESS",
                               task_id=task_id, result=self.results.get(task_id), row=fire_rows.get(task_id))
        unrecorded = sorted(i for t in executed_ticks for i in ids_by_tick[t] if i in self.by_id and i not in fire_rows)
        summary["unrecorded"] = len(unrecorded)
        if unrecorded:
            self.violation("unrecorded_fire", f"{len(unrecorded)} tick tasks ran without a fenced fire record in Postgres",
                           ids=unrecorded[:50])
        not_enqueued = [r["task_id"] for r in self.fires if r.get("enqueued_at") is None]
        if not_enqueued:
            self.violation("outbox", f"{len(not_enqueued)} fire records never marked enqueued", ids=not_enqueued[:50])

    # ---- I3: one leader per epoch ------------------------------------------------------------------
    def check_leaders(self) -> None:
        elected = defaultdict(set)
        for event in self.events:
            if event["event"] == "beat.elected":
                elected[int(event["fields"].get("beat.epoch", -1))].add(event["node"])
        fired_by = defaultdict(set)
        for row in self.fires:
            fired_by[int(row["epoch"])].add(row["node"])
        bad = {e: sorted(n) for e, n in elected.items() if len(n) > 1}
        bad_fires = {e: sorted(n) for e, n in fired_by.items() if len(n) > 1}
        foreign = {e: sorted(n - elected.get(e, set())) for e, n in fired_by.items() if n - elected.get(e, set())}
        self.summary["leaders"] = {"epochs": len(elected), "epochs_with_fires": len(fired_by),
                                   "epochs_with_two_leaders": len(bad) + len(bad_fires)}
        for epoch, nodes in bad.items():
            self.violation("two_leaders", f"epoch {epoch} was won by {nodes}", epoch=epoch, nodes=nodes)
        for epoch, nodes in bad_fires.items():
            self.violation("two_leaders", f"fires of epoch {epoch} were recorded by {nodes}", epoch=epoch, nodes=nodes)
        for epoch, nodes in foreign.items():
            self.violation("two_leaders", f"fires of epoch {epoch} recorded by {nodes}, which never won it",
                           epoch=epoch, nodes=nodes)

    # ---- recovery figures --------------------------------------------------------------------------
    def measure_recovery(self) -> None:
        node_recovery, child_requeue, per_kind = [], [], defaultdict(list)
        for fault in self.faults:
            kind = fault["kind"]
            if kind not in ("kill_node", "stop_leader", "partition", "kill_child"):
                continue
            values = []
            for task_id, runs in self.repeated.items():
                for copy, nxt in zip(runs, runs[1:]):
                    if copy["node"] != fault.get("node") or not (copy["t"] <= fault["start"] < nxt["t"]):
                        continue
                    if kind == "kill_child" and copy["pid"] != fault.get("pid"):
                        continue
                    if nxt["t"] - fault["start"] > 120:
                        continue
                    if self.explain(copy, nxt["t"], task_id) is not fault:
                        continue
                    values.append(nxt["t"] - fault["start"])
            fault["requeued"] = len(values)
            if values:
                fault["recovery_s"] = round(max(values), 3)
            (child_requeue if kind == "kill_child" else node_recovery).extend(values)
            per_kind[kind].extend(values)
        self.summary["recovery"] = {"node": _stats(node_recovery), "child": _stats(child_requeue),
                                    "by_kind": {k: _stats(v) for k, v in per_kind.items()}}

    def measure_failover(self) -> None:
        elections = sorted((e for e in self.events if e["event"] == "beat.elected"), key=lambda e: e["time"])
        values, slow = [], []
        limit = self.ttl + 1.0
        for fault in self.faults:
            if not fault.get("was_leader"):
                continue
            victim = fault.get("node")
            after = next((e for e in elections if e["time"] > fault["start"]
                          and (e["node"] != victim or fault["kind"] == "kill_node")), None)
            if after is None:
                fault["failover_s"] = None
                slow.append(fault)
                continue
            took = after["time"] - fault["start"]
            fault["failover_s"] = round(took, 3)
            fault["failover_to"] = after["node"]
            values.append(took)
            if took > limit + 0.25:  # log timestamps have ms resolution; the fault's start is taken just before the signal
                slow.append(fault)
        self.summary["failover"] = {**_stats(values), "limit_s": limit, "slow": len(slow)}
        for fault in slow:
            self.violation("slow_failover", f"after {self._fault_ref(fault)} (the leader) no other node was elected "
                           f"within TTL + 1 s = {limit:.1f}s (took {fault.get('failover_s')})", fault=fault["id"],
                           failover_s=fault.get("failover_s"))

    # ---- the end ----------------------------------------------------------------------------------
    def check_end_state(self) -> None:
        state = self.end_state
        self.summary["end"] = state
        if not self.settle.get("drained"):
            self.violation("settle", "queues and in-flight did not drain after the workload stopped",
                           **self.settle)
        for node in state["nodes"]:
            if not node["ready"]:
                self.violation("unhealthy", f"node {node['name']} is not ready at the end", node=node)
        leaders = [n["name"] for n in state["nodes"] if n.get("leader")]
        if len(leaders) != 1:
            self.violation("leaders_at_end", f"{len(leaders)} beat leaders at the end (expected 1): {leaders}")
        if state.get("dead_letters"):
            self.violation("dead_letters", f"{state['dead_letters']} dead-lettered messages", sample=state.get("dead_sample"))
        for node in state["nodes"]:
            if node.get("control_ping") is False:
                self.finding("deaf_to_control", f"node {node['name']} is ready but does not answer Celery remote control "
                             f"(pidbox ping) at the end: its pub/sub connection is dead and never came back",
                             node=node["name"])

    def check_lease_losses(self) -> None:
        """A node that was neither stopped nor partitioned must not lose its lease (I2: duplicates
        only for executions a fault interrupted). Killed nodes cannot log, so every `node.lease_lost`
        a node logs must follow a pause or partition of that node, or a Redis outage of at least
        half the lease."""
        unexplained = []
        for event in self.events:
            if event["event"] != "node.lease_lost":
                continue
            t, node = event["time"], event["node"]
            # A Redis outage of half the lease or more can legitimately cost a lease: the node's
            # reconnect backoff (up to 2 s) plus the renew period may not fit in what is left.
            cause = next((f for f in self.faults
                          if ((f["kind"] in ("stop_leader", "partition") and f.get("node") == node)
                              or (f["kind"] == "restart_redis" and (f["end"] or f["start"]) - f["start"] >= self.lease / 2))
                          and f["start"] <= t <= (f["end"] or f["start"]) + self.lease + 5.0), None)
            if cause is not None:
                continue
            before = [f for f in self.faults if f["start"] <= t and f["kind"] != "kill_child"]
            nearest = max(before, key=lambda f: f["start"]) if before else None
            detail = ""
            if nearest is not None:
                length = (nearest["end"] or nearest["start"]) - nearest["start"]
                detail = (f"; the last fault before it: {self._fault_ref(nearest)} lasting {length:.2f}s, "
                          f"ended {t - (nearest['end'] or nearest['start']):.2f}s earlier")
            unexplained.append(event)
            self.finding("lease_lost_without_cause", f"node {node} lost its lease at {t:.3f} although it was neither "
                         f"stopped nor partitioned (peers then re-ran its tasks){detail}", node=node, time=t,
                         nearest_fault=self._fault_ref(nearest) if nearest else None)
        self.summary["lease_losses_without_cause"] = len(unexplained)
