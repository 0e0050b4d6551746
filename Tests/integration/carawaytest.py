"""Real processes for the integration tests: a private redis-server, Caraway nodes, a stock
Python Celery worker, plus readers for Caraway's Redis keys.

Nothing here is a mock. Every helper starts or talks to a real process on a loopback port, so a
test that passes here passed against the same Redis layout Python Celery uses (spec §2–§4).
conftest.py turns these into fixtures; test modules import the key readers and `wait_until`.
"""

from __future__ import annotations

import ctypes
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import redis
from celery import Celery

REPO = Path(__file__).resolve().parents[2]

# Caraway's own keys (Sources/CarawayBroker/RedisKeys.swift), with the default empty prefix.
NODES_KEY = b"caraway:nodes"
DEAD_KEY = b"caraway:dead"
DELAYED_KEY = b"caraway:delayed"
INFLIGHT_PREFIX = b"caraway:inflight:"
# kombu's priority separator and steps (spec §2.1).
PRIORITY_SEP = b"\x06\x16"
PRIORITY_STEPS = (0, 3, 6, 9)
# <linux/prctl.h>
PR_SET_PDEATHSIG = 1


# ---- waiting -----------------------------------------------------------------------------------

def wait_until(predicate, timeout: float, what: str, interval: float = 0.05):
    """Polls `predicate` until it returns a truthy value and returns that value.

    Raises AssertionError naming `what` (and the last value seen) when `timeout` seconds pass,
    so a failure says what was being waited for rather than just "timed out".
    """
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what} (last value: {last!r})")
        time.sleep(interval)


def polled_result(result, timeout: float):
    """Returns a ready AsyncResult's value by polling the stored record.

    Celery's Redis result consumer can miss a result that is stored between its GET and its
    SUBSCRIBE (celery/celery#4039, open); chains hit that window often because the final task
    finishes about when `.get()` subscribes. Polling reads the same record without the race.
    """
    wait_until(result.ready, timeout, f"result of {result.id}")
    if result.failed():
        raise AssertionError(f"task {result.id} failed: {result.result!r}")
    return result.result


def free_port() -> int:
    """A loopback port nobody listens on right now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path: Path, lines: int = 60) -> str:
    """The last `lines` lines of a log file, or a note that it is missing."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as error:
        return f"<no log at {path}: {error}>"
    return "\n".join(text.splitlines()[-lines:])


# ---- redis-server --------------------------------------------------------------------------------

class RedisServer:
    """A private redis-server on a free loopback port, with no persistence, in `directory`."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.log_path = self.directory / "redis.log"
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.client: redis.Redis | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        # Another process can grab the free port between our probe and redis' bind: retry then.
        for _ in range(5):
            self.port = free_port()
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.directory), "--daemonize", "no",
                 "--logfile", str(self.log_path), "--loglevel", "warning"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )
            client = redis.Redis(host="127.0.0.1", port=self.port, db=0, decode_responses=False,
                                 socket_timeout=5)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    if client.ping():
                        self.client = client
                        return self
                except redis.ConnectionError:
                    time.sleep(0.01)
            self.stop()
        raise RuntimeError(f"redis-server would not start; log:\n{tail(self.log_path)}")

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


# ---- Caraway node --------------------------------------------------------------------------------

def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def node_arguments(flags: dict) -> list[str]:
    """CLI arguments for keyword flags: `max_tasks_per_child=3` → `--max-tasks-per-child 3`,
    `True` → a bare flag, `False`/`None` → omitted, lists/tuples → comma-joined."""
    arguments: list[str] = []
    for name, value in flags.items():
        if value is None or value is False:
            continue
        if value is True:
            arguments.append(_flag(name))
        elif isinstance(value, (list, tuple)):
            arguments += [_flag(name), ",".join(str(v) for v in value)]
        else:
            arguments += [_flag(name), str(value)]
    return arguments


def clean_environment(extra: dict | None = None) -> dict:
    """The test process' environment without CARAWAY_* settings (each node gets only what the
    test passes), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARAWAY_")}
    env.update({k: str(v) for k, v in (extra or {}).items()})
    return env


def http_request(port: int, method: str, path: str, body: bytes | None = None, timeout: float = 5.0):
    """One HTTP request to 127.0.0.1:`port`; returns (status, body bytes)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def child_pids(pid: int) -> list[int]:
    """Direct children of `pid`, from /proc/<pid>/task/*/children, else by scanning /proc."""
    children: set[int] = set()
    task_dir = Path(f"/proc/{pid}/task")
    found_children_files = False
    try:
        for task in task_dir.iterdir():
            path = task / "children"
            if path.exists():
                found_children_files = True
                children.update(int(p) for p in path.read_text().split())
    except OSError:
        return []
    if found_children_files:
        return sorted(children)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 (ppid) follows the parenthesised command, which may itself contain spaces.
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            children.add(int(entry.name))
    return sorted(children)


class NodeHandle:
    """A running `caraway node` started by the `start_node` fixture."""

    def __init__(self, process: subprocess.Popen, name: str, http_port: int, log_path: Path, argv: list[str]):
        self.process = process
        self.pid = process.pid
        self.name = name
        self.http_port = http_port
        self.log_path = log_path
        self.argv = argv

    def __repr__(self) -> str:
        return f"<caraway node {self.name} pid={self.pid} http={self.http_port}>"

    # process control
    def children(self) -> list[int]:
        """PIDs of the node's child processes (its task runners)."""
        return child_pids(self.pid)

    def terminate(self) -> None:
        """SIGTERM to the node only: a graceful shutdown."""
        self.signal(signal.SIGTERM)

    def interrupt(self) -> None:
        self.signal(signal.SIGINT)

    def kill(self) -> None:
        """SIGKILL to the node only (its children are left to notice)."""
        self.signal(signal.SIGKILL)

    def signal(self, signum: int) -> None:
        if self.process.poll() is None:
            os.kill(self.pid, signum)

    def wait(self, timeout: float) -> int:
        """Waits for the node to exit and returns its exit code (negative: killed by a signal)."""
        return self.process.wait(timeout=timeout)

    def running(self) -> bool:
        return self.process.poll() is None

    def kill_group(self) -> None:
        """SIGKILL to the node's whole process group (node, children, their scripts)."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    # HTTP
    def http(self, method: str, path: str, body: bytes | None = None, timeout: float = 5.0):
        return http_request(self.http_port, method, path, body, timeout)

    def get(self, path: str, timeout: float = 5.0):
        return self.http("GET", path, timeout=timeout)

    def health(self) -> dict:
        status, body = self.get("/health")
        assert status == 200, f"/health answered {status}: {body[:200]!r}"
        return json.loads(body)

    def node_id(self) -> str:
        """The node's id as /health reports it (the suffix of its `caraway:inflight:<id>` hash)."""
        return self.health()["node_id"]

    def log_text(self) -> str:
        return Path(self.log_path).read_text(errors="replace")


def die_with_parent() -> None:
    """preexec_fn: the kernel SIGKILLs the child when the test process dies, however it dies,
    so an interrupted or killed pytest run leaves no servers or nodes behind."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))


def start_caraway_node(binary: Path, redis_url: str, directory: Path, name: str, concurrency: int = 2,
                       env: dict | None = None, **flags) -> NodeHandle:
    """Launches `caraway node` (without waiting for it: see `wait_ready_200`)."""
    if not Path(binary).is_file():
        raise AssertionError(
            f"caraway binary not found at {binary}: build it with `scripts/build-release caraway` "
            f"or point CARAWAY_BIN at it")
    http_port = flags.pop("http_port", None) or free_port()
    argv = [str(binary), "node", "--redis", redis_url, "--name", name, "--concurrency", str(concurrency),
            "--http", f"127.0.0.1:{http_port}"] + node_arguments(flags)
    log_path = Path(directory) / f"node-{name}.log"
    with open(log_path, "ab") as log:
        log.write(("$ " + " ".join(argv) + "\n").encode())
        log.flush()
        # Own session, so teardown can kill the node and every child it spawned at once.
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   env=clean_environment(env), start_new_session=True, cwd=directory,
                                   preexec_fn=die_with_parent)
    return NodeHandle(process, name, http_port, log_path, argv)


def wait_ready_200(node: NodeHandle, timeout: float = 10.0) -> None:
    """Waits until the node's GET /ready answers 200; fails with the log tail otherwise."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        code = node.process.poll()
        if code is not None:
            raise AssertionError(f"caraway node {node.name} exited with {code} before /ready; log:\n"
                                 f"{tail(node.log_path)}")
        try:
            status, body = node.get("/ready", timeout=1.0)
            if status == 200:
                return
            last = f"{status} {body[:200]!r}"
        except OSError as error:
            last = repr(error)
        time.sleep(0.05)
    raise AssertionError(f"caraway node {node.name} not ready within {timeout}s (last /ready: {last}); log:\n"
                         f"{tail(node.log_path)}")


# ---- Caraway CLI and Python Celery as clients ---------------------------------------------------

def run_caraway(binary: Path, *arguments: str, timeout: float = 30.0, env: dict | None = None):
    """Runs the caraway CLI to completion (no CARAWAY_* from the test's environment); returns the
    CompletedProcess with text stdout/stderr."""
    return subprocess.run([str(binary), *arguments], capture_output=True, text=True, timeout=timeout,
                          env=clean_environment(env), stdin=subprocess.DEVNULL)


def make_celery_app(redis_url: str) -> Celery:
    """A Celery app that produces with JSON only, against `redis_url` as broker and backend."""
    app = Celery("caraway-tests", broker=redis_url, backend=redis_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        result_accept_content=["json"],
        broker_connection_retry_on_startup=True,
        enable_utc=True,
        timezone="UTC",
    )
    return app


# ---- stock Python Celery worker ----------------------------------------------------------------

# Python implementations of some Caraway built-ins, so a stock Celery worker can stand in for a
# Caraway node when the test checks what Caraway *produces* (reverse interop).
PYTHON_WORKER_MODULE = textwrap.dedent('''
    import os

    from celery import Celery

    app = Celery("pyworker", broker=os.environ["PYWORKER_REDIS_URL"], backend=os.environ["PYWORKER_REDIS_URL"])
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )


    @app.task(name="caraway.add")
    def add(a, b):
        return a + b


    @app.task(name="caraway.mul")
    def mul(a, b):
        return a * b


    @app.task(name="caraway.echo")
    def echo(*args, **kwargs):
        return {"args": list(args), "kwargs": kwargs}


    @app.task(name="caraway.fail")
    def fail(message):
        raise ValueError(message)
''')


class PythonWorker:
    """`celery -A pyworker worker -P solo` over the test's Redis, logging to a file."""

    def __init__(self, redis_url: str, directory: Path, queues: str = "celery"):
        self.redis_url = redis_url
        self.directory = Path(directory)
        self.queues = queues
        self.name = f"pyworker-{uuid.uuid4().hex[:8]}@localhost"
        self.log_path = self.directory / f"{self.name.split('@')[0]}.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> "PythonWorker":
        (self.directory / "pyworker.py").write_text(PYTHON_WORKER_MODULE)
        env = clean_environment({"PYWORKER_REDIS_URL": self.redis_url, "PYTHONPATH": str(self.directory),
                                 "PYTHONUNBUFFERED": "1"})
        celery = Path(sys.executable).with_name("celery")
        argv = [str(celery), "-A", "pyworker", "worker", "-P", "solo", "-c", "1", "--without-gossip",
                "--without-mingle", "--without-heartbeat", "-Q", self.queues, "-n", self.name, "-l", "INFO"]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                            env=env, cwd=self.directory, start_new_session=True,
                                            preexec_fn=die_with_parent)
        # "<name> ready." is the worker's own signal that its consumer is running.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"python celery worker exited with {self.process.returncode}; log:\n"
                                     f"{tail(self.log_path)}")
            if " ready." in self.log_path.read_text(errors="replace"):
                return self
            time.sleep(0.1)
        raise AssertionError(f"python celery worker not ready within {timeout}s; log:\n{tail(self.log_path)}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)


# ---- Caraway's Redis keys ------------------------------------------------------------------------

def queue_keys(queue: str) -> list[bytes]:
    """kombu's list keys for `queue`, priority step 0 first (spec §2.1)."""
    name = queue.encode()
    return [name if step == 0 else name + PRIORITY_SEP + str(step).encode() for step in PRIORITY_STEPS]


def queue_length(client: redis.Redis, queue: str = "celery") -> int:
    """Messages waiting in `queue` over all its priority sub-lists."""
    return sum(client.llen(key) for key in queue_keys(queue))


def dead_letters(client: redis.Redis) -> list[dict]:
    """`caraway:dead` decoded, newest first: each a JSON object with at least reason and raw."""
    return [json.loads(item) for item in client.lrange(DEAD_KEY, 0, -1)]


def registered_nodes(client: redis.Redis) -> dict[bytes, float]:
    """`caraway:nodes`: node id → lease expiry (ms)."""
    return dict(client.zrange(NODES_KEY, 0, -1, withscores=True))


def inflight_count(client: redis.Redis, node_id: str | bytes) -> int:
    """HLEN of one node's in-flight hash."""
    node = node_id.encode() if isinstance(node_id, str) else node_id
    return client.hlen(INFLIGHT_PREFIX + node)


def inflight_total(client: redis.Redis) -> int:
    """Messages held in flight by any node (sum over every `caraway:inflight:*` hash)."""
    return sum(client.hlen(key) for key in client.scan_iter(match=INFLIGHT_PREFIX + b"*")
               if client.type(key) == b"hash")


def delayed_count(client: redis.Redis) -> int:
    """Messages waiting in the delayed (ETA/countdown) sorted set."""
    return client.zcard(DELAYED_KEY)


# ---- PostgreSQL server -------------------------------------------------------------------------

def pg_bindir() -> Path:
    """PostgreSQL's server binaries: `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin."""
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
        if out and (Path(out) / "postgres").exists():
            return Path(out)
    except (OSError, subprocess.CalledProcessError):
        pass
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    if not candidates:
        raise AssertionError("no PostgreSQL server binaries found: run scripts/bootstrap (Debian package postgresql)")
    return candidates[-1].parent


def _postgres_ids() -> tuple[int, int] | None:
    """(uid, gid) of the unprivileged `postgres` OS user when we are root (PostgreSQL refuses to run
    as root), else None: the server then runs as the current user."""
    if os.getuid() != 0:
        return None
    import pwd
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        raise AssertionError("running as root but there is no 'postgres' OS user to run PostgreSQL as "
                             "(the Debian package postgresql creates it: run scripts/bootstrap)") from None
    return entry.pw_uid, entry.pw_gid


def _run_as_postgres(ids: tuple[int, int] | None):
    """preexec_fn: drop to the postgres user, then arm PDEATHSIG. The order matters: changing
    credentials clears the parent-death signal, and `runuser` would fork, so the signal would reach
    runuser rather than the postmaster. Dropping privileges ourselves keeps the postmaster the direct
    child of the test process, so it dies with pytest like redis-server does."""
    def preexec() -> None:
        if ids is not None:
            os.setgroups([])
            os.setgid(ids[1])
            os.setuid(ids[0])
        die_with_parent()
    return preexec


def make_postgres_template(directory: Path) -> Path:
    """`initdb` once into `directory`/data (trust auth, superuser `postgres`, no fsync) and returns
    that data directory; PostgresServer copies it, which is ~5x faster than an initdb per test."""
    ids = _postgres_ids()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if ids is not None:
        os.chown(directory, *ids)
    data = directory / "data"
    argv = [str(pg_bindir() / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres", "--no-sync",
            "-E", "UTF8", "--locale=C"]
    if ids is not None:
        argv = ["runuser", "-u", "postgres", "--"] + argv
    result = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise AssertionError(f"initdb failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return data


class PostgresServer:
    """A private PostgreSQL on a free loopback port, run as the `postgres` OS user when we are root.

    Its data directory lives in a fresh /tmp directory owned by that user (pytest's tmp_path is
    0700 root, which the postgres user could not enter); the server log goes to `log_path`.
    `.stop()` is a fast shutdown and `.start()` brings it back on the SAME port (outage tests).
    """

    def __init__(self, template: Path, log_path: Path):
        import tempfile
        self.ids = _postgres_ids()
        self.directory = Path(tempfile.mkdtemp(prefix="caraway-pg-"))
        self.data = self.directory / "data"
        self.log_path = Path(log_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cp", "-a", str(template), str(self.data)], check=True)
        if self.ids is not None:
            os.chown(self.directory, *self.ids)
            subprocess.run(["chown", "-R", f"{self.ids[0]}:{self.ids[1]}", str(self.data)], check=True)
        self.process: subprocess.Popen | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def start(self, timeout: float = 20.0) -> "PostgresServer":
        """Starts the server (on a new free port the first time, on the same port afterwards) and
        waits until it accepts connections."""
        attempts = 5 if self.port == 0 else 1
        for _ in range(attempts):
            if self.port == 0 or attempts > 1:
                self.port = free_port()
            argv = [str(pg_bindir() / "postgres"), "-D", str(self.data), "-p", str(self.port), "-k", str(self.directory),
                    "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
                    "-c", "full_page_writes=off", "-c", "max_connections=200", "-c", "log_min_messages=warning"]
            with open(self.log_path, "ab") as log:
                log.write(("$ " + " ".join(argv) + "\n").encode())
                log.flush()
                self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                                cwd=self.directory, preexec_fn=_run_as_postgres(self.ids))
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.process.poll() is None:
                if self.accepting():
                    return self
                time.sleep(0.05)
            self.stop()
        raise RuntimeError(f"postgres would not start on port {self.port}; log:\n{tail(self.log_path)}")

    def accepting(self) -> bool:
        import psycopg
        try:
            with psycopg.connect(self.url, connect_timeout=2, autocommit=True) as connection:
                connection.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 20.0, sig: int = signal.SIGINT) -> None:
        """Fast shutdown (SIGINT: open sessions are terminated; SIGQUIT: immediate, crash recovery at
        the next start), then waits; SIGKILL if it hangs."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def destroy(self) -> None:
        """Stops the server and removes its directory."""
        import shutil
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def sql(self, query: str, params=None):
        """Runs one statement in autocommit mode: rows as dicts for a query, else the row count."""
        import psycopg
        from psycopg.rows import dict_row
        with psycopg.connect(self.url, connect_timeout=5, autocommit=True, row_factory=dict_row) as connection:
            cursor = connection.execute(query, params)
            if cursor.description is None:
                return cursor.rowcount
            return cursor.fetchall()

    def scalar(self, query: str, params=None):
        """The first column of the first row (None without rows)."""
        rows = self.sql(query, params)
        return next(iter(rows[0].values())) if rows else None


# ---- REST API helpers ----------------------------------------------------------------------------

def api_call(port: int, method: str, path: str, body=None, token: str | None = None, headers: dict | None = None,
             timeout: float = 10.0):
    """One JSON request to a node's REST API; returns (status, decoded JSON or None, raw bytes).

    `body` is JSON-encoded unless it is bytes/str already; `token` adds `Authorization: Bearer`."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    all_headers = dict(headers or {})
    payload = None
    if body is not None:
        payload = body if isinstance(body, bytes) else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
        all_headers.setdefault("Content-Type", "application/json")
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, body=payload, headers=all_headers)
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    try:
        decoded = json.loads(raw) if raw else None
    except ValueError:
        decoded = None
    return response.status, decoded, raw


def beat_health(node: NodeHandle) -> dict:
    """The `beat` object of the node's /health (empty dict when it has none)."""
    return node.health().get("beat") or {}


def beat_leaders(nodes) -> list:
    """The nodes among `nodes` that are alive and say they lead the beat right now."""
    leaders = []
    for node in nodes:
        if not node.running():
            continue
        try:
            if beat_health(node).get("leader"):
                leaders.append(node)
        except (OSError, AssertionError):
            pass
    return leaders


def wait_migrated(node: NodeHandle, timeout: float = 10.0) -> None:
    """Waits until a node started with --database reports its schema migrated (/health beat.migrated)."""
    wait_until(lambda: node.running() and beat_health(node).get("migrated"), timeout,
               f"caraway node {node.name} to migrate its Postgres schema")


def schedule_fires(pg: PostgresServer, schedule_id: int) -> list[dict]:
    """`caraway_schedule_fires` rows of one schedule, by tick, with times as epoch seconds."""
    return pg.sql("""
        SELECT extract(epoch FROM tick)::float8 AS tick, epoch, task_id, node,
               extract(epoch FROM fired_at)::float8 AS fired_at, extract(epoch FROM enqueued_at)::float8 AS enqueued_at
          FROM caraway_schedule_fires WHERE schedule_id = %s ORDER BY tick""", (schedule_id,))
