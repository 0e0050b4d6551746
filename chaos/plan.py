"""The seeded fault plan: which fault, when, against whom, for how long.

Everything random in a run comes from `random.Random(seed)` streams derived here, so the same seed
and options give the same plan (the same kinds, times, targets, durations and parameters). What
a fault hits at run time can still differ in a replay where the target is chosen from live state
(the current beat leader, the child that is busy right now), because processes are not
deterministic; the plan records both what it intended and what it hit.

Two streams of faults:
- "major" faults run one at a time, each followed by a recovery gap: kill -9 a node (restarted
  after a pause, same name and ports), SIGSTOP the beat leader past its lock TTL, restart Redis,
  restart Postgres, partition one node from Redis and Postgres past its lease, add latency;
- child kills (kill -9 of one child process) arrive independently, during major faults too.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field

MAJOR_KINDS = ("kill_node", "stop_leader", "restart_redis", "restart_postgres", "partition", "latency")
ALL_KINDS = ("kill_child",) + MAJOR_KINDS


@dataclass
class PlannedFault:
    kind: str
    at: float                 # seconds after the workload started
    duration: float           # how long the fault lasts (0 for an instantaneous kill)
    node: int | None = None   # node index for node-targeted faults (the leader is found at run time)
    params: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Timing:
    """Fault durations, derived from the lease and the lock TTL so each fault is long enough to
    matter (a partition outlives the lease, a pause outlives the lock) and no longer."""
    lease: float
    ttl: float
    gap: tuple[float, float] = (2.0, 5.0)          # recovery between major faults

    def duration(self, kind: str, rng: random.Random) -> float:
        if kind == "kill_node":
            return rng.uniform(0.3, 3.0)             # down time before the restart
        if kind == "stop_leader":
            return rng.uniform(self.ttl + 0.5, self.ttl + 3.0)
        if kind == "restart_redis":
            return rng.uniform(0.2, 2.0)
        if kind == "restart_postgres":
            return rng.uniform(0.3, 3.0)
        if kind == "partition":
            return rng.uniform(self.lease + 1.0, self.lease + 4.0)
        if kind == "latency":
            return rng.uniform(3.0, 10.0)
        return 0.0


def build_plan(seed: int, total_faults: int, duration: float, nodes: int, kinds: list[str], timing: Timing,
               major_share: float, warmup: float = 3.0, cooldown: float = 3.0) -> tuple[list[PlannedFault], float, list[str]]:
    """Returns (faults sorted by time, workload duration, notes).

    `total_faults` are split between child kills and major faults (`major_share` of them major,
    spread over the kinds in a shuffled round-robin so every kind gets its share). Major faults are
    laid end to end with recovery gaps; if they do not fit into `duration`, the gaps shrink to 1 s
    and then the duration grows (noted). Child kills fall uniformly over the whole window.
    """
    rng = random.Random(seed)
    notes: list[str] = []
    major_kinds = [k for k in MAJOR_KINDS if k in kinds]
    child = "kill_child" in kinds
    if not major_kinds:
        n_major = 0
    elif not child:
        n_major = total_faults
    else:
        n_major = max(len(major_kinds), round(total_faults * major_share)) if total_faults >= 2 * len(major_kinds) else total_faults // 2
    n_child = total_faults - n_major if child else 0

    # Kinds in rounds: each round a fresh shuffle of every major kind, so counts stay balanced.
    sequence: list[str] = []
    while len(sequence) < n_major:
        round_ = list(major_kinds)
        rng.shuffle(round_)
        sequence += round_
    sequence = sequence[:n_major]

    majors: list[PlannedFault] = []
    for kind in sequence:
        params: dict = {}
        node = None
        if kind in ("kill_node", "partition", "latency"):
            node = rng.randrange(nodes)
        if kind == "partition":
            params["style"] = rng.choice(["refuse", "blackhole", "freeze"])
        if kind == "latency":
            params["delay_ms"] = rng.randint(50, 200)
            params["all_nodes"] = rng.random() < 0.3
        majors.append(PlannedFault(kind, 0.0, round(timing.duration(kind, rng), 3), node, params))
    gaps = [rng.uniform(*timing.gap) for _ in majors]

    busy = sum(f.duration for f in majors)
    window = duration - warmup - cooldown
    if majors and busy + sum(gaps) > window:
        scale = max(0.0, (window - busy - len(majors) * 1.0) / max(1e-9, sum(gaps) - len(majors) * 1.0))
        gaps = [1.0 + (g - 1.0) * min(1.0, scale) for g in gaps]
        if busy + sum(gaps) > window:
            new_duration = warmup + busy + sum(gaps) + cooldown
            notes.append(f"{len(majors)} major faults need {new_duration:.0f}s: duration raised from {duration:.0f}s")
            duration = new_duration
            window = duration - warmup - cooldown
    # Spread the leftover time evenly so the faults cover the whole window.
    slack = max(0.0, window - busy - sum(gaps))
    extra = slack / (len(majors) + 1) if majors else 0.0
    t = warmup + extra
    for fault, gap in zip(majors, gaps):
        fault.at = round(t, 3)
        t += fault.duration + gap + extra

    children = []
    for _ in range(n_child):
        children.append(PlannedFault("kill_child", round(rng.uniform(warmup, duration - cooldown), 3), 0.0,
                                     rng.randrange(nodes), {"pick": rng.random()}))
    plan = sorted(majors + children, key=lambda f: f.at)
    return plan, duration, notes
