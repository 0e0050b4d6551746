"""The cluster under test: a private Redis (AOF, fsync always), a private Postgres, N Caraway nodes,
each behind its own pair of fault proxies. Builds on Tests/integration/carawaytest.py (process
helpers, PostgresServer, start_caraway_node) rather than duplicating it.

Every process is started from the harness's main thread with PR_SET_PDEATHSIG (carawaytest's
`die_with_parent`), so a harness that dies, however it dies, leaves nothing running.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "Tests" / "integration"))

from carawaytest import (PostgresServer, die_with_parent, free_port, http_request,  # noqa: E402
                         make_postgres_template, start_caraway_node, tail)

from proxy import ProxyHub  # noqa: E402


class ChaosRedis:
    """redis-server on a FIXED loopback port with an append-only file fsynced on every write.

    `appendfsync always`: Redis writes and fsyncs the AOF before it sends the reply of a write, so
    anything a client was told is stored survives `kill -9` of the server (and even of the machine).
    With the default `everysec`, Redis may postpone the write() itself while a background fsync is
    slow, and a crash then loses up to about two seconds of writes it already acknowledged — a loss
    the harness would wrongly blame on Caraway (I1 assumes "Redis keeps its data").
    """

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.log_path = self.directory / "redis.log"
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self, timeout: float = 2.0) -> redis.Redis:
        # No retries: redis-py 8 retries a refused connection with backoff for ~4 s by default,
        # which would stall the harness's main loop (and lengthen the very outage it injects).
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=timeout, socket_connect_timeout=timeout,
                           retry=Retry(NoBackoff(), 0))

    def start(self, timeout: float = 30.0) -> None:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
                "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no",
                "--logfile", str(self.log_path), "--loglevel", "notice", "--maxclients", "2000"]
        with open(self.log_path, "ab") as log:
            log.write(("$ " + " ".join(argv) + "\n").encode())
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        client = self.client(timeout=1.0)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}; log:\n{tail(self.log_path)}")
            try:
                # PING answers LOADING while the AOF is replayed; wait for real service.
                if client.ping() and client.info("persistence").get("loading", 0) == 0:
                    client.close()
                    return
            except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError, redis.ResponseError):
                pass
            time.sleep(0.02)
        raise RuntimeError(f"redis-server not ready on port {self.port} within {timeout}s; log:\n{tail(self.log_path)}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if not self.running():
            return
        try:
            self.client().shutdown(nosave=True)
        except Exception:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()


class ChaosPostgres(PostgresServer):
    """carawaytest's PostgresServer plus an immediate stop (SIGQUIT: no checkpoint, crash recovery
    at the next start) and durable commits.

    PostgresServer starts the server with `synchronous_commit=off` to keep tests fast; with it, a
    commit can be acknowledged before its WAL is written, and an immediate stop would drop it — the
    harness would then see Caraway's fenced fire records vanish. The role-level setting below
    overrides the server default for every session of the `postgres` user, so each acknowledged
    commit is in the WAL (written to the OS; `fsync=off` only matters if the machine crashes).
    """

    def make_durable(self) -> None:
        self.sql("ALTER ROLE postgres SET synchronous_commit = on")

    def stop_immediate(self, timeout: float = 20.0) -> None:
        self.stop(timeout, sig=signal.SIGQUIT)


class NodeSlot:
    """One node position: a fixed name, HTTP port and proxies; successive processes (instances)."""

    def __init__(self, index: int, name: str, binary: Path, directory: Path, hub: ProxyHub,
                 redis_port: int, postgres_port: int, flags: dict, env: dict):
        self.index = index
        self.name = name
        self.binary = binary
        self.directory = directory
        self.hub = hub
        self.redis_proxy = f"{name}/redis"
        self.postgres_proxy = f"{name}/postgres"
        hub.add(self.redis_proxy, redis_port)
        hub.add(self.postgres_proxy, postgres_port)
        self.http_port = free_port()
        self.flags = flags
        self.env = env
        self.handle = None
        self.stopped = False           # SIGSTOPped right now
        self.expected_down = False     # killed by the harness, restart pending
        self.unready_since: float | None = None  # watchdog: not ready since
        self.excused_until = 0.0       # watchdog: faults excuse unreadiness/idleness until then
        self.instances: list[dict] = []  # {pid, started, ended, how}
        self.log_path = directory / f"node-{name}.log"

    @property
    def proxies(self) -> tuple[str, str]:
        return (self.redis_proxy, self.postgres_proxy)

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.hub.port(self.redis_proxy)}/0"

    @property
    def database_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.hub.port(self.postgres_proxy)}/postgres"

    @property
    def pid(self) -> int | None:
        return self.handle.pid if self.handle is not None else None

    def start(self) -> None:
        self.handle = start_caraway_node(self.binary, self.redis_url, self.directory, self.name, env=self.env,
                                         http_port=self.http_port, database=self.database_url, **self.flags)
        self.stopped = False
        self.instances.append({"pid": self.handle.pid, "started": time.time(), "ended": None, "how": None})

    def running(self) -> bool:
        return self.handle is not None and self.handle.running()

    def exit_code(self) -> int | None:
        return None if self.handle is None else self.handle.process.poll()

    def note_exit(self, how: str) -> None:
        if self.instances and self.instances[-1]["ended"] is None:
            self.instances[-1]["ended"] = time.time()
            self.instances[-1]["how"] = how
            self.instances[-1]["code"] = self.exit_code()

    def kill(self) -> None:
        """kill -9 of the node process only: its children die with it (PR_SET_PDEATHSIG, EOF on fd 3)."""
        if self.handle is None:
            return
        if self.stopped:
            self.cont()
        self.handle.signal(signal.SIGKILL)
        try:
            self.handle.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self.note_exit("kill -9")

    def stop(self) -> None:
        self.handle.signal(signal.SIGSTOP)
        self.stopped = True

    def cont(self) -> None:
        if self.handle is not None:
            self.handle.signal(signal.SIGCONT)
        self.stopped = False

    def children(self) -> list[int]:
        return self.handle.children() if self.running() else []

    def get_json(self, path: str, timeout: float = 1.0):
        """(status, decoded JSON or None); (None, None) when the node does not answer in time."""
        try:
            status, body = http_request(self.http_port, "GET", path, timeout=timeout)
        except OSError:
            return None, None
        try:
            return status, json.loads(body)
        except ValueError:
            return status, None

    def ready(self, timeout: float = 1.0) -> bool:
        if not self.running() or self.stopped:
            return False
        status, _ = self.get_json("/ready", timeout)
        return status == 200

    def health(self, timeout: float = 1.0) -> dict | None:
        if not self.running() or self.stopped:
            return None
        status, body = self.get_json("/health", timeout)
        return body if status == 200 else None

    def terminate(self, timeout: float = 15.0) -> None:
        """Graceful stop at the end (SIGTERM), then the whole process group if it lingers."""
        if self.handle is None:
            return
        if self.stopped:
            self.cont()
        if self.running():
            self.handle.terminate()
            try:
                self.handle.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self.handle.kill_group()
        self.note_exit("terminated")


def postgres_template(directory: Path) -> Path:
    return make_postgres_template(directory)
