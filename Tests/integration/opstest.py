"""Helpers for the operations tests (test_ops_*.py): Celery's own CLI, Flower, Celery's event
receiver and a stock Python Celery prefork worker as the reference, plus readers for what the
`caraway inspect|purge|revoke|events` commands and a node's /metrics print.

Every reader of Celery's, Flower's or prometheus_client's output here (and the shape checks of
Celery's replies) is exercised against a real Python Celery 5.7 worker and Flower 2.x by
test_ops_celery_reference.py, so an assertion that uses one on a Caraway node asserts what stock
Celery really prints, not what we guessed it prints.

Fixtures (import them into a test module to use them, as pytest only finds fixtures in conftest.py
or in the module's namespace):
- `producer`: a Celery app that sends tasks to the test's Redis (results are polled, see below).
- `celery_cli`: a `CeleryCLI` for the test's Redis (`celery -A opsapp ...` in a private workdir).
- `start_flower`: factory → a running `Flower` on a free loopback port (needs `celery_cli` too).
- `start_reference_worker`: factory → a running stock `celery worker -P prefork` (`ReferenceWorker`).
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from carawaytest import clean_environment, die_with_parent, free_port, make_celery_app, run_caraway, tail, wait_until

VENV_BIN = Path(sys.executable).parent
CELERY = VENV_BIN / "celery"
ANSI = re.compile(r"\x1b\[[0-9;]*m")

# Caraway's built-in tasks (README "Built-in tasks"): `inspect registered` must list at least these.
BUILTIN_TASKS = ("caraway.add", "caraway.echo", "caraway.fail", "caraway.mul", "caraway.noop", "caraway.pid",
                 "caraway.sleep")


# ---- processes -----------------------------------------------------------------------------------

def pid_alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie (a killed child its parent has not reaped yet
    counts as dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[0] != "Z"


def ensure_continued(*pids: int) -> None:
    """SIGCONT to every pid that still exists (for `finally` blocks after a SIGSTOP)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass


# ---- Celery's CLI ---------------------------------------------------------------------------------

CLI_APP_MODULE = textwrap.dedent('''
    from celery import Celery

    app = Celery("opsapp", broker={url!r}, backend={url!r})
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        result_accept_content=["json"],
        broker_connection_retry_on_startup=True,
    )
''')

NODE_LINE = re.compile(r"^->\s+(?P<name>\S.*?): (?P<status>OK|ERROR)\s*$")
ONLINE_LINE = re.compile(r"^(?P<count>\d+) nodes? online\.$")
PURGED_LINE = re.compile(r"^Purged (?P<count>\d+) messages? from (?P<queues>\d+) known task queues?\.$")
NOTHING_PURGED_LINE = re.compile(r"^No messages purged from (?P<queues>\d+) queues?\.$")


class CeleryCLI:
    """Runs the stock `celery` program of the venv against one Redis, with a module `opsapp`
    (broker and backend = that Redis) written to a private working directory."""

    def __init__(self, redis_url: str, directory: Path):
        self.redis_url = redis_url
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "opsapp.py").write_text(CLI_APP_MODULE.format(url=redis_url))

    def env(self, extra: dict | None = None) -> dict:
        env = clean_environment(extra)
        env["PYTHONPATH"] = str(self.directory)
        return env

    def argv(self, *arguments: str) -> list[str]:
        return [str(CELERY), "--no-color", "-A", "opsapp", "--workdir", str(self.directory), *arguments]

    def run(self, *arguments: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
        """`celery --no-color -A opsapp ARGUMENTS...` to completion; text stdout/stderr, ANSI removed."""
        result = subprocess.run(self.argv(*arguments), capture_output=True, text=True, timeout=timeout,
                                env=self.env(), cwd=self.directory, stdin=subprocess.DEVNULL)
        result.stdout = ANSI.sub("", result.stdout)
        result.stderr = ANSI.sub("", result.stderr)
        return result

    def remote(self, kind: str, command: str, *arguments: str, destination=None, timeout: float = 1.0,
               as_json: bool = False) -> subprocess.CompletedProcess:
        """`celery inspect|control COMMAND ARGUMENTS [-d a,b] [-t T] [--json]`. With a destination,
        Celery stops collecting as soon as every named node answered (spec §5.5)."""
        argv = [kind, command, *arguments, "--timeout", str(timeout)]
        if destination:
            argv += ["--destination", ",".join(destination)]
        if as_json:
            argv.append("--json")
        return self.run(*argv)

    def inspect_json(self, command: str, *arguments: str, destination=None, timeout: float = 1.0) -> dict:
        """`celery inspect COMMAND --json`: the flattened replies, {node name: payload}."""
        result = self.remote("inspect", command, *arguments, destination=destination, timeout=timeout, as_json=True)
        assert result.returncode == 0, describe(result)
        replies = json.loads(result.stdout)
        assert isinstance(replies, dict), describe(result)
        return replies

    def ping(self, destination=None, timeout: float = 1.0) -> dict:
        """`celery inspect ping --json`: {node: {"ok": "pong"}}, or {} when nobody answered (exit 69)."""
        result = self.remote("inspect", "ping", destination=destination, timeout=timeout, as_json=True)
        if result.returncode == 69:
            return {}
        assert result.returncode == 0, describe(result)
        return json.loads(result.stdout)

    def wait_nodes(self, names, timeout: float = 10.0) -> None:
        """Waits until every node in `names` answers Celery's ping (its pidbox listener is up)."""
        names = list(names)
        wait_until(lambda: set(self.ping(destination=names)) == set(names), timeout,
                   f"{names} to answer `celery inspect ping`")

    def control_json(self, command: str, *arguments: str, destination=None, timeout: float = 1.0) -> dict:
        """`celery control COMMAND --json`: Celery prints a LIST of {node: reply} objects here (not
        the merged object `inspect --json` prints); returned merged as {node: reply}."""
        result = self.remote("control", command, *arguments, destination=destination, timeout=timeout, as_json=True)
        assert result.returncode == 0, describe(result)
        replies = json.loads(result.stdout)
        assert isinstance(replies, list) and all(isinstance(r, dict) and len(r) == 1 for r in replies), describe(result)
        merged: dict = {}
        for reply in replies:
            merged.update(reply)
        return merged


def describe(result: subprocess.CompletedProcess) -> str:
    """A failed command, for assertion messages."""
    argv = result.args if isinstance(result.args, str) else " ".join(str(a) for a in result.args)
    return f"$ {argv}\nexit {result.returncode}\nstdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"


def parse_celery_replies(stdout: str) -> tuple[dict[str, dict], int | None]:
    """Parses the human output of `celery inspect|control|status` (celery/bin/control.py):

        ->  NODE: OK            (or ERROR)
            <body, indented; lists as "* item" lines, "- empty -" when empty>
        (blank line)
        N nodes online.          (inspect and status only)

    Returns ({node: {"status": "OK"|"ERROR", "body": [stripped non-empty body lines],
    "items": [list items, evaluated with ast.literal_eval when they are Python literals]}},
    node count from the last line or None)."""
    nodes: dict[str, dict] = {}
    current = None
    count = None
    for raw in ANSI.sub("", stdout).splitlines():
        line = raw.rstrip()
        match = NODE_LINE.match(line)
        if match:
            current = nodes.setdefault(match["name"], {"status": match["status"], "body": [], "items": []})
            continue
        online = ONLINE_LINE.match(line.strip())
        if online:
            count = int(online["count"])
            current = None
            continue
        if current is None or not line.strip():
            continue
        text = line.strip()
        current["body"].append(text)
        if text.startswith("* "):
            item = text[2:]
            try:
                current["items"].append(ast.literal_eval(item))
            except (ValueError, SyntaxError):
                current["items"].append(item)
    return nodes, count


def parse_purge_output(stdout: str) -> tuple[int, int]:
    """(messages purged, queues) from `celery purge -f`: "Purged N message(s) from Q known task
    queue(s)." or "No messages purged from Q queue(s)." (celery/bin/purge.py)."""
    for line in stdout.splitlines():
        match = PURGED_LINE.match(line.strip())
        if match:
            return int(match["count"]), int(match["queues"])
        match = NOTHING_PURGED_LINE.match(line.strip())
        if match:
            return 0, int(match["queues"])
    raise AssertionError(f"no purge summary line in {stdout!r}")


# ---- shapes of Celery's inspect replies (spec §5.6) --------------------------------------------

def check_request_info(entry: dict, *, hostname: str, name: str, args=None, started: bool,
                       queue: str = "celery") -> None:
    """One entry of an `active` (started=True) or `reserved` (started=False) reply, shaped as
    Celery's Request.info(): every field Celery sends, with the right types."""
    expected_keys = {"id", "name", "args", "kwargs", "type", "hostname", "time_start", "acknowledged",
                     "delivery_info", "worker_pid"}
    missing = expected_keys - set(entry)
    assert not missing, f"request info lacks {sorted(missing)}: {entry}"
    assert isinstance(entry["id"], str) and len(entry["id"]) == 36, entry
    assert entry["name"] == name and entry["type"] == name, entry
    if args is not None:
        assert entry["args"] == args, entry
    assert isinstance(entry["kwargs"], dict), entry
    assert entry["hostname"] == hostname, entry
    assert isinstance(entry["acknowledged"], bool), entry
    info = entry["delivery_info"]
    assert {"exchange", "routing_key", "priority", "redelivered"} <= set(info), entry
    assert info["routing_key"] == queue, entry
    assert isinstance(info["redelivered"], bool), entry
    if started:
        assert isinstance(entry["time_start"], (int, float)), entry
        assert abs(entry["time_start"] - time.time()) < 120, f"time_start is not epoch seconds: {entry}"
        assert isinstance(entry["worker_pid"], int) and entry["worker_pid"] > 0, entry
    else:
        assert entry["time_start"] is None and entry["worker_pid"] is None, entry


def check_celery_stats(stats: dict, *, pid: int | None = None, concurrency: int | None = None,
                       redis_port: int | None = None) -> None:
    """The part of a `stats` reply that Celery's tools read (spec §5.6), with the right types."""
    for key in ("total", "pid", "clock", "uptime", "pool", "broker", "prefetch_count", "rusage"):
        assert key in stats, f"stats lack {key!r}: {sorted(stats)}"
    assert isinstance(stats["total"], dict), stats["total"]
    assert all(isinstance(v, int) for v in stats["total"].values()), stats["total"]
    assert isinstance(stats["clock"], str) and stats["clock"].isdigit(), f"clock: {stats['clock']!r} (a digit string)"
    assert isinstance(stats["uptime"], (int, float)) and stats["uptime"] >= 0, stats["uptime"]
    pool = stats["pool"]
    assert isinstance(pool.get("implementation"), str), pool
    assert isinstance(pool.get("max-concurrency"), int), pool
    assert isinstance(pool.get("processes"), list) and all(isinstance(p, int) for p in pool["processes"]), pool
    assert "max-tasks-per-child" in pool, pool
    broker = stats["broker"]
    assert broker.get("transport") == "redis", broker
    assert isinstance(broker.get("hostname"), str), broker
    assert isinstance(stats["rusage"], dict), stats["rusage"]
    if pid is not None:
        assert stats["pid"] == pid, (stats["pid"], pid)
    if concurrency is not None:
        assert pool["max-concurrency"] == concurrency, pool
        assert len(pool["processes"]) == concurrency, pool
    if redis_port is not None:
        assert broker.get("port") == redis_port, broker


# ---- the caraway CLI ----------------------------------------------------------------------------

def caraway_json(binary: Path, *arguments: str, timeout: float = 30.0, ok_codes=(0,)):
    """Runs `caraway ARGUMENTS...` (which must include --json) and returns (exit code, decoded
    stdout, CompletedProcess); fails unless the exit code is in `ok_codes` and stdout is one JSON
    document."""
    result = run_caraway(binary, *arguments, timeout=timeout)
    assert result.returncode in ok_codes, describe(result)
    try:
        document = json.loads(result.stdout)
    except ValueError:
        raise AssertionError(f"stdout is not one JSON document:\n{describe(result)}") from None
    return result.returncode, document, result


def caraway_inspect(binary: Path, redis_url: str, what: str, *extra: str, ok_codes=(0,), timeout: float = 30.0):
    """`caraway inspect WHAT --redis URL --json EXTRA...` → (exit code, report, CompletedProcess),
    with the report's documented shape checked."""
    code, report, result = caraway_json(binary, "inspect", what, "--redis", redis_url, "--json", *extra,
                                        ok_codes=ok_codes, timeout=timeout)
    check_inspect_report(report, what)
    return code, report, result


def check_inspect_report(report: dict, what: str) -> None:
    """The envelope of `caraway inspect --json` (and GET /api/v1/cluster/inspect/{what})."""
    assert report.get("what") == what, report
    assert isinstance(report.get("nodes"), list), report
    assert isinstance(report.get("took_ms"), (int, float)) and report["took_ms"] >= 0, report
    counts = {"ok": 0, "stale": 0, "missing": 0}
    for node in report["nodes"]:
        assert {"name", "node_id", "status", "age_s", "reply"} <= set(node), node
        assert node["status"] in counts, node
        counts[node["status"]] += 1
        if node["status"] == "missing":
            assert node["reply"] is None, node
        else:
            assert isinstance(node["age_s"], (int, float)) and node["age_s"] >= 0, node
    assert report.get("summary") == counts, f"summary {report.get('summary')} does not count the nodes {counts}"


def wait_all_ok(binary: Path, redis_url: str, names, timeout: float = 10.0) -> dict:
    """Waits until `caraway inspect ping` exits 0 with exactly the nodes `names`, all ok (a node
    that just became ready may not have written its first snapshot yet); returns that report."""
    def check():
        code, report, _ = caraway_inspect(binary, redis_url, "ping", ok_codes=(0, 1, 69))
        ok = {n["name"] for n in report["nodes"] if n["status"] == "ok"}
        return code == 0 and ok == set(names) and len(report["nodes"]) == len(ok) and report
    return wait_until(check, timeout, f"every node of {sorted(names)} to be ok in `caraway inspect ping`", interval=0.1)


def nodes_by_name(report: dict) -> dict[str, dict]:
    return {node["name"]: node for node in report["nodes"]}


def p99(values) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


HUMAN_NODE_LINE = re.compile(
    r"^-> (?P<name>\S+): (?P<status>OK|STALE|MISSING)(?: \((?P<age>\d+(?:\.\d+)?) s old\))?\s*$")


def parse_caraway_inspect_human(stdout: str) -> dict[str, dict]:
    """The human form of `caraway inspect`: `-> NAME: OK|STALE (x.x s old)|MISSING` per node, each
    followed by its payload. Returns {name: {"status", "age" (float or None), "body" (text)}}."""
    nodes: dict[str, dict] = {}
    current = None
    for line in stdout.splitlines():
        match = HUMAN_NODE_LINE.match(line.strip())
        if not match and line.startswith("-> "):
            raise AssertionError(f"node line {line!r} is not '-> NAME: OK|STALE (x.x s old)|MISSING'; "
                                 f"output:\n{stdout}")
        if match:
            current = nodes[match["name"]] = {"status": match["status"],
                                              "age": float(match["age"]) if match["age"] else None, "body": ""}
            continue
        if current is not None:
            current["body"] += line + "\n"
    return nodes


# ---- raw HTTP -----------------------------------------------------------------------------------

def raw_request(port: int, request: bytes, timeout: float = 5.0) -> tuple[int | None, bytes]:
    """Sends `request` bytes as-is and reads ONE response (status line, headers, Content-Length
    body) → (status, body); (None, b"") when the server closed or reset the connection without
    answering. A server may answer and close before it has read everything: a failed send is not
    an error here."""
    import http.client
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass
        response = http.client.HTTPResponse(sock)
        try:
            response.begin()
            return response.status, response.read()
        except (http.client.RemoteDisconnected, ConnectionResetError, http.client.BadStatusLine):
            return None, b""


def http_get(port: int, path: str, headers: dict | None = None, timeout: float = 5.0):
    """GET over urllib → (status, content-type, body bytes) without raising on 4xx/5xx."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


# ---- Prometheus text -----------------------------------------------------------------------------

def parse_metrics(text: str) -> dict[str, list[tuple[dict, float]]]:
    """Parses Prometheus text exposition 0.0.4 with prometheus_client's parser (it raises on a
    malformed line) and returns {sample name: [(labels, value), ...]}. Also checks that every
    sample belongs to a family announced by a `# TYPE` line."""
    from prometheus_client.parser import text_string_to_metric_families

    samples: dict[str, list[tuple[dict, float]]] = {}
    typed = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            parts = line.split()
            assert len(parts) == 4, f"bad TYPE line {line!r}"
            typed[parts[2]] = parts[3]
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    for name in samples:
        base = re.sub(r"_(bucket|sum|count|total|created)$", "", name)
        assert name in typed or base in typed, f"sample {name} has no # TYPE line"
    return samples


def metric_value(samples: dict, name: str, **labels) -> float | None:
    """The value of the sample `name` whose labels include `labels`; None if there is none."""
    for sample_labels, value in samples.get(name, []):
        if all(sample_labels.get(k) == v for k, v in labels.items()):
            return value
    return None


# ---- redis pub/sub readiness -----------------------------------------------------------------------

def subscribers(client) -> int:
    """Connections with at least one channel or pattern subscription (CLIENT LIST sub/psub)."""
    return sum(1 for c in client.client_list() if int(c.get("sub", 0)) + int(c.get("psub", 0)) > 0)


def wait_new_subscriber(client, baseline: int, timeout: float = 10.0, what: str = "a subscriber") -> None:
    """Waits until Redis has more subscribed connections than `baseline`: a receiver started
    after the baseline was taken has (P)SUBSCRIBEd and sees what is published from now on."""
    wait_until(lambda: subscribers(client) > baseline, timeout, f"{what} to subscribe")


# ---- `caraway events` ---------------------------------------------------------------------------

class EventTail:
    """`caraway events --redis URL --json ...` in the background; each stdout line is parsed as
    JSON as it arrives (non-JSON lines are kept in `bad_lines`)."""

    def __init__(self, binary: Path, redis_url: str, *extra: str):
        self.argv = [str(binary), "events", "--redis", redis_url, "--json", *extra]
        self.events: list[dict] = []
        self.bad_lines: list[str] = []
        self.lock = threading.Lock()
        self.process = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, env=clean_environment(), start_new_session=True,
                                        preexec_fn=die_with_parent)
        self.stderr = b""
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.err_reader = threading.Thread(target=self._read_err, daemon=True)
        self.err_reader.start()

    def _read(self) -> None:
        for raw in self.process.stdout:
            line = raw.decode(errors="replace").strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                with self.lock:
                    self.bad_lines.append(line)
                continue
            with self.lock:
                self.events.append(event)

    def _read_err(self) -> None:
        self.stderr = self.process.stderr.read()

    def snapshot(self) -> list[dict]:
        with self.lock:
            return list(self.events)

    def wait_subscribed(self, client, baseline: int, timeout: float = 10.0) -> None:
        """Waits until the tail has subscribed (see `wait_new_subscriber`); fails at once if it exited."""
        def check():
            if self.process.poll() is not None:
                self.err_reader.join(2)
                raise AssertionError(f"caraway events exited with {self.process.returncode} before subscribing; "
                                     f"stderr {self.stderr[-2000:]!r}")
            return subscribers(client) > baseline
        wait_until(check, timeout, "caraway events to subscribe")

    def wait_for(self, predicate, timeout: float, what: str):
        """Waits until `predicate(events so far)` is truthy (or the process exits and it is still
        falsy) and returns its value."""
        def check():
            value = predicate(self.snapshot())
            if value:
                return value
            if self.process.poll() is not None:
                self.reader.join(2)
                value = predicate(self.snapshot())
                if not value:
                    raise AssertionError(f"caraway events exited with {self.process.returncode} before {what}; "
                                         f"stderr {self.stderr[-2000:]!r}; events {self.snapshot()[-20:]}")
                return value
            return None
        return wait_until(check, timeout, what)

    def wait_exit(self, timeout: float) -> int:
        code = self.process.wait(timeout=timeout)
        self.reader.join(5)
        self.err_reader.join(5)
        return code

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(10)
        self.reader.join(5)


def events_of(events: list[dict], kind: str, **fields) -> list[dict]:
    return [e for e in events if e.get("type") == kind and all(e.get(k) == v for k, v in fields.items())]


# ---- Celery's own event receiver (what Flower and `celery events` use) ---------------------------

class CeleryEventCapture:
    """celery.events.EventReceiver over the test Redis in a thread (routing key '#', the binding
    Flower uses), collecting every event as the dict Celery's State would see."""

    def __init__(self, app):
        self.app = app
        self.events: list[dict] = []
        self.lock = threading.Lock()
        self.receiver = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self, redis_client) -> "CeleryEventCapture":
        baseline = subscribers(redis_client)
        self.thread.start()
        wait_new_subscriber(redis_client, baseline, what="Celery's event receiver")
        return self

    def _on_event(self, event: dict) -> None:
        with self.lock:
            self.events.append(dict(event))

    def _run(self) -> None:
        try:
            with self.app.connection_for_read() as connection:
                self.receiver = self.app.events.Receiver(connection, handlers={"*": self._on_event})
                self.receiver.capture(limit=None, timeout=None, wakeup=False)
        except BaseException as error:  # reported by wait_for
            self.error = error

    def snapshot(self) -> list[dict]:
        with self.lock:
            return list(self.events)

    def wait_for(self, predicate, timeout: float, what: str):
        def check():
            if self.error is not None:
                raise AssertionError(f"Celery's event receiver failed: {self.error!r}")
            return predicate(self.snapshot())
        return wait_until(check, timeout, what)

    def stop(self) -> None:
        if self.receiver is not None:
            self.receiver.should_stop = True
        self.thread.join(5)


# ---- Flower --------------------------------------------------------------------------------------

class Flower:
    """`celery -A opsapp flower --port=P --address=127.0.0.1` with FLOWER_UNAUTHENTICATED_API=true
    (Flower 2.x answers its /api/* routes with 401 without that variable or an auth option)."""

    def __init__(self, cli: CeleryCLI, directory: Path):
        self.cli = cli
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.log_path = self.directory / "flower.log"
        self.port = 0
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> "Flower":
        for _ in range(3):
            self.port = free_port()
            argv = self.cli.argv("flower", f"--port={self.port}", "--address=127.0.0.1")
            with open(self.log_path, "ab") as log:
                log.write(("$ " + " ".join(argv) + "\n").encode())
                log.flush()
                self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                                env=self.cli.env({"FLOWER_UNAUTHENTICATED_API": "true"}),
                                                cwd=self.directory, start_new_session=True, preexec_fn=die_with_parent)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    status, _, _ = http_get(self.port, "/healthcheck", timeout=1)
                    if status == 200:
                        return self
                except OSError:
                    pass
                time.sleep(0.1)
            self.stop()
        raise AssertionError(f"flower did not start; log:\n{tail(self.log_path)}")

    def get_json(self, path: str, timeout: float = 10.0):
        status, content_type, body = http_get(self.port, path, timeout=timeout)
        assert status == 200, f"flower GET {path}: {status} {body[:300]!r}"
        return json.loads(body)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(10)


def flower_worker_names(flower: Flower, refresh: bool = True) -> set[str]:
    """Names in Flower's GET /api/workers (filled from inspect replies: stats, active_queues,
    registered, conf, ...); `refresh=1` makes Flower inspect again before answering."""
    return set(flower.get_json("/api/workers?refresh=1" if refresh else "/api/workers"))


def flower_event_workers(flower: Flower) -> dict[str, dict]:
    """Flower's /workers?json=1 (built from worker events): {hostname: info with `status` = alive}."""
    return {w["hostname"]: w for w in flower.get_json("/workers?json=1")["data"]}


def flower_tasks(flower: Flower) -> dict[str, dict]:
    """Flower's GET /api/tasks (built from task events): {uuid: {state, name, worker, result, ...}}."""
    return flower.get_json("/api/tasks")


# ---- a stock Python Celery worker (prefork) as the reference --------------------------------------

REFERENCE_WORKER_MODULE = textwrap.dedent('''
    import os
    import time

    from celery import Celery

    app = Celery("refworker", broker=os.environ["REFWORKER_REDIS_URL"], backend=os.environ["REFWORKER_REDIS_URL"])
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_prefetch_multiplier=1,
    )


    @app.task(name="caraway.add")
    def add(a, b):
        return a + b


    @app.task(name="caraway.noop")
    def noop():
        return None


    @app.task(name="caraway.pid")
    def pid():
        return os.getpid()


    @app.task(name="caraway.sleep")
    def sleep(seconds):
        time.sleep(seconds)
        return seconds


    @app.task(name="caraway.fail")
    def fail(message="failed on purpose"):
        raise ValueError(message)
''')


class ReferenceWorker:
    """`celery -A refworker worker -P prefork -c N -n NAME` (optionally -E) on the test Redis."""

    def __init__(self, redis_url: str, directory: Path, concurrency: int = 2, events: bool = False,
                 queues: str = "celery"):
        self.redis_url = redis_url
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.concurrency = concurrency
        self.events = events
        self.queues = queues
        self.name = f"ref-{uuid.uuid4().hex[:8]}@localhost"
        self.log_path = self.directory / "refworker.log"
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def start(self, timeout: float = 30.0) -> "ReferenceWorker":
        (self.directory / "refworker.py").write_text(REFERENCE_WORKER_MODULE)
        env = clean_environment({"REFWORKER_REDIS_URL": self.redis_url, "PYTHONPATH": str(self.directory),
                                 "PYTHONUNBUFFERED": "1"})
        argv = [str(CELERY), "-A", "refworker", "worker", "-P", "prefork", "-c", str(self.concurrency),
                "--without-gossip", "--without-mingle", "-Q", self.queues, "-n", self.name, "-l", "INFO"]
        if self.events:
            argv.append("-E")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                            env=env, cwd=self.directory, start_new_session=True,
                                            preexec_fn=die_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"reference worker exited with {self.process.returncode}; log:\n"
                                     f"{tail(self.log_path)}")
            if " ready." in self.log_path.read_text(errors="replace"):
                return self
            time.sleep(0.1)
        raise AssertionError(f"reference worker not ready within {timeout}s; log:\n{tail(self.log_path)}")

    def children(self) -> list[int]:
        from carawaytest import child_pids
        return child_pids(self.pid)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)


# ---- fixtures ------------------------------------------------------------------------------------

@pytest.fixture
def producer(redis_server):
    """Like conftest's `celery_app` (a JSON-only producer on the test Redis), but `send_task` does
    not SUBSCRIBE to the result channel (Celery's RedisBackend.on_task_call does): results are read
    by polling (`polled_result`, `.state`, `.ready()`). Otherwise every AsyncResult's __del__
    UNSUBSCRIBEs, and one collected after its test stopped Redis raises inside the garbage
    collector; when that happens while pytest ast-parses a failure report, CPython 3.11 aborts the
    whole session ("SystemError: AST constructor recursion depth mismatch")."""
    app = make_celery_app(redis_server.url)
    app.backend.on_task_call = lambda producer, task_id: None
    yield app
    app.close()


@pytest.fixture
def celery_cli(redis_server, tmp_path) -> CeleryCLI:
    return CeleryCLI(redis_server.url, tmp_path / "celery-cli")


@pytest.fixture
def start_flower(celery_cli, tmp_path, request):
    """Factory: `start_flower()` → a running Flower on the test Redis (killed at teardown)."""
    flowers = []

    def start() -> Flower:
        flower = Flower(celery_cli, tmp_path / f"flower{len(flowers) + 1}")
        flowers.append(flower)
        request.node.__dict__.setdefault("_caraway_logs", []).append(("flower log", flower.log_path))
        return flower.start()

    yield start
    for flower in flowers:
        flower.stop()


@pytest.fixture
def start_reference_worker(redis_server, tmp_path, request):
    """Factory: `start_reference_worker(concurrency=2, events=False)` → a running stock Celery
    prefork worker on the test Redis (killed at teardown)."""
    workers = []

    def start(**options) -> ReferenceWorker:
        worker = ReferenceWorker(redis_server.url, tmp_path / f"refworker{len(workers) + 1}", **options)
        workers.append(worker)
        request.node.__dict__.setdefault("_caraway_logs", []).append((f"reference worker {worker.name} log",
                                                                      worker.log_path))
        return worker.start()

    yield start
    for worker in workers:
        worker.stop()
