#!/usr/bin/env python3
"""Capture real Celery wire traffic as test fixtures for CarawayProtocol.

Why: the Swift decoder must accept exactly what Python Celery puts on Redis,
so the fixtures are produced by the real client (celery/kombu from PyPI), not
written by hand.

What it does:
  1. Makes (or reuses) a venv at /tmp/caraway-fixture-venv with
     ``celery[redis]==5.*`` and re-executes itself inside it.
  2. Starts a private ``redis-server`` on a free loopback port in a temp dir.
  3. Publishes tasks with ``send_task`` / canvas primitives, pops every list
     element the publish produced and writes it verbatim to
     ``Tests/CarawayProtocolTests/Fixtures/<name>.json``.
  4. Stores result records through Celery's backend API and saves the raw
     ``celery-task-meta-*`` values as ``result_<name>.json``.
  5. Writes ``manifest.json``: fixture name -> Redis key it was read from
     (the priority fixture proves the ``celery\\x06\\x163`` sub-list).
  6. Kills redis.

Optional: ``--verify-envelopes DIR`` pushes every ``*.json`` envelope found in
DIR (written by the Swift tests when CARAWAY_ENVELOPE_DIR is set) to a private
Redis, runs a real Celery worker (solo pool) over it and checks that every
task ran and stored SUCCESS. This proves Python accepts envelopes produced by
the Swift encoder.

Usage:
  python3 scripts/capture-fixtures.py [--out DIR] [--verify-envelopes DIR]
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

VENV = "/tmp/caraway-fixture-venv"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "Tests", "CarawayProtocolTests", "Fixtures")


def ensure_venv():
    """Re-exec inside the fixture venv so the real celery is imported."""
    py = os.path.join(VENV, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    try:
        subprocess.check_call([py, "-c", "import celery, redis"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except subprocess.CalledProcessError:
        subprocess.check_call([py, "-m", "pip", "install", "-q", "celery[redis]==5.*"])
    os.execv(py, [py, os.path.abspath(__file__)] + sys.argv[1:])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """A throwaway redis-server: no persistence, loopback only."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="caraway-redis-")
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["/usr/bin/redis-server", "--save", "", "--appendonly", "no",
             "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis
        self.client = redis.Redis(port=self.port)
        deadline = time.time() + 10
        while True:
            try:
                self.client.ping()
                break
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def make_app(url):
    from celery import Celery
    app = Celery("caraway_fixtures", broker=url, backend=url)
    app.conf.broker_connection_retry_on_startup = True
    return app


def pop_all(r):
    """Every list element now in Redis, oldest first, as (key, raw bytes)."""
    out = []
    for key in sorted(r.keys("*")):
        if r.type(key) != b"list":
            continue
        while True:
            raw = r.rpop(key)  # LPUSH producers: RPOP yields publish order
            if raw is None:
                break
            out.append((key, raw))
    return out


def capture(out_dir):
    from datetime import date, datetime, timezone
    from decimal import Decimal
    import uuid

    from celery import chain, chord, group, signature
    from celery.app.task import Context
    from celery.result import AsyncResult, GroupResult

    os.makedirs(out_dir, exist_ok=True)
    srv = PrivateRedis()
    manifest = {}
    try:
        app = make_app(srv.url)
        r = srv.client

        def sig(name, args=(), **kw):
            return signature(name, args=args, app=app, **kw)

        def save(name, publish):
            r.flushdb()
            publish()
            items = pop_all(r)
            if not items:
                raise SystemExit(f"{name}: nothing was published")
            for i, (key, raw) in enumerate(items):
                fname = name if len(items) == 1 else f"{name}_{i}"
                with open(os.path.join(out_dir, fname + ".json"), "wb") as f:
                    f.write(raw)
                manifest[fname] = key.decode("latin-1")
                print(f"captured {fname} from {key!r} ({len(raw)} bytes)")

        save("plain_add", lambda: app.send_task(
            "caraway.add", args=[2, 3], task_id="11111111-1111-4111-8111-111111111111"))
        save("unicode_kwargs", lambda: app.send_task(
            "caraway.echo",
            args=["héllo wörld ✓", "emoji 😀 and quote ' \" \\ and\nnewline\ttab"],
            kwargs={"nested": {"list": [1, 2.5, None, True, False, 1e100],
                               "obj": {"k": "v", "ключ": "значение"}},
                    "big": 123456789012345678901234567890, "float": 1.0,
                    "neg": -0.5, "tiny": 1e-07, "control": "\x01\x1f"},
            task_id="22222222-2222-4222-8222-222222222222"))
        save("countdown_expires", lambda: app.send_task(
            "caraway.add", args=[1, 2], countdown=60, expires=3600,
            task_id="33333333-3333-4333-8333-333333333333"))
        save("eta_datetime", lambda: app.send_task(
            "caraway.add", args=[1, 2],
            eta=datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc),
            expires=datetime(2030, 1, 3, 0, 0, 0, tzinfo=timezone.utc),
            task_id="44444444-4444-4444-8444-444444444444"))
        save("priority5", lambda: app.send_task(
            "caraway.add", args=[5, 5], priority=5,
            task_id="55555555-5555-4555-8555-555555555555"))
        save("chain", lambda: chain(
            sig("caraway.add", (2, 3)), sig("caraway.mul", (4,))).apply_async())
        save("chain3", lambda: chain(
            sig("caraway.add", (2, 3)), sig("caraway.mul", (4,)),
            sig("caraway.sub", (1,), immutable=True)).apply_async())
        save("link", lambda: app.send_task(
            "caraway.add", args=[2, 2],
            link=sig("caraway.log_result", ("tag",)),
            link_error=sig("caraway.on_error"),
            task_id="66666666-6666-4666-8666-666666666666"))
        save("group", lambda: group(
            sig("caraway.add", (1, 1)), sig("caraway.add", (2, 2))).apply_async())
        save("chord", lambda: chord(
            [sig("caraway.add", (1, 1)), sig("caraway.add", (2, 2))],
            sig("caraway.tsum")).apply_async())
        save("timelimit", lambda: app.send_task(
            "caraway.sleep", args=[10], time_limit=30, soft_time_limit=20.5,
            task_id="77777777-7777-4777-8777-777777777777"))
        save("ignore_result", lambda: app.send_task(
            "caraway.add", args=[2, 3], ignore_result=True,
            task_id="88888888-8888-4888-8888-888888888888"))
        save("datetime_kwarg", lambda: app.send_task(
            "caraway.echo", args=[],
            kwargs={"when": datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
                    "day": date(2024, 1, 2),
                    "amount": Decimal("12.50"),
                    "ident": uuid.UUID("12345678-1234-5678-1234-567812345678"),
                    "blob": b"\xff\x00raw"},
            task_id="99999999-9999-4999-8999-999999999999"))
        save("custom_headers", lambda: app.send_task(
            "caraway.add", args=[1, 1], headers={"x_tenant": "acme", "x_attempt": 3},
            shadow="add-shadow", queue="other",
            task_id="aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"))

        # Result records, written through Celery's own backend API.
        def save_result(name, task_id, write):
            r.flushdb()
            write()
            raw = r.get(f"celery-task-meta-{task_id}")
            if raw is None:
                raise SystemExit(f"result_{name}: nothing stored")
            with open(os.path.join(out_dir, f"result_{name}.json"), "wb") as f:
                f.write(raw)
            print(f"captured result_{name} ({len(raw)} bytes)")

        be = app.backend
        save_result("success", "r-success", lambda: be.store_result("r-success", 5, "SUCCESS"))
        save_result("failure", "r-failure", lambda: be.store_result(
            "r-failure", ValueError("boom"), "FAILURE",
            traceback='Traceback (most recent call last):\n  File "t.py", line 1\nValueError: boom\n'))
        save_result("revoked", "r-revoked", lambda: be.mark_as_revoked("r-revoked", reason="revoked"))
        save_result("started", "r-started", lambda: be.store_result(
            "r-started", {"pid": 4242, "hostname": "celery@host"}, "STARTED"))
        save_result("retry", "r-retry", lambda: be.store_result("r-retry", None, "RETRY"))
        # `children` is a read-only property on Context, so fill the list in place.
        ctx = Context(id="r-children", group="g-1", parent_id="p-1")
        ctx.children.append(AsyncResult("child-1", app=app))
        ctx.children.append(GroupResult("g-child", [AsyncResult("gm-1", app=app),
                                                    AsyncResult("gm-2", app=app)], app=app))
        save_result("children", "r-children", lambda: be.store_result(
            "r-children", {"answer": [1, 2]}, "SUCCESS", request=ctx))

        capture_saferepr_cases(out_dir)

        with open(os.path.join(out_dir, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=2, sort_keys=True)
            f.write("\n")
    finally:
        srv.stop()


def capture_saferepr_cases(out_dir):
    """argsrepr/kwargsrepr as Celery renders them, for PythonRepr's tests.

    Each case is JSON text decoded the way a Python worker would decode it, then
    rendered by celery.utils.saferepr with Celery's limits (1024 chars, 3 levels)
    or a small limit that forces truncation.
    """
    from celery.utils.saferepr import saferepr

    long_words = " ".join(f"word{i}" for i in range(400))
    cases = [
        ("[2, 3]", True, 1024), ("[4]", True, 1024), ("[]", True, 1024), ("{}", False, 1024),
        ('[null, true, false, 1.0, -0.5, 1e-07, 1e+16, 1e400, 123456789012345678901234567890, -0]', True, 1024),
        (json.dumps({"a": 1, "b": [1, {"c": "d"}], "e": "it's \\ \"q\"", "f": "line\nbreak\ttab"}),
         False, 1024),
        (json.dumps({"ключ": "значение", "emoji": "😀"}), False, 1024),
        ("[[[[1]]], [[2]], {\"x\": {\"y\": {\"z\": 1}}}]", True, 1024),
        ("[[[[1]]]]", False, 1024),
        (json.dumps(list(range(600))), True, 1024),
        (json.dumps([long_words]), True, 1024),
        (json.dumps({"k": long_words, "after": 1}), False, 1024),
        (json.dumps([[1, 2, 3], [4, 5, 6], "abc def ghi"]), True, 12),
        (json.dumps([[1, 2, 3], [4, 5, 6]]), True, 5),
        (json.dumps({"alpha": [1, 2], "beta": {"g": 1}}), False, 9),
        (json.dumps(["x" * 50, 1]), True, 20),
        (json.dumps([123456789, 2]), True, 4),
        (json.dumps([1, 2, 3]), True, 7),
    ]
    out = []
    for text, as_tuple, maxlen in cases:
        value = json.loads(text)
        obj = tuple(value) if as_tuple else value
        out.append({"json": text, "tuple": as_tuple, "maxlen": maxlen,
                    "repr": saferepr(obj, maxlen, maxlevels=3)})
    with open(os.path.join(out_dir, "saferepr_cases.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"captured saferepr_cases ({len(out)} cases)")


WORKER_MODULE = '''
import os
from celery import Celery
app = Celery("caraway_verify", broker=os.environ["VERIFY_URL"], backend=os.environ["VERIFY_URL"])
app.conf.broker_connection_retry_on_startup = True

@app.task(name="caraway.add")
def add(x, y):
    return x + y

@app.task(name="caraway.echo")
def echo(*args, **kwargs):
    return [list(args), sorted(kwargs)]

@app.task(name="caraway.mul")
def mul(x, y):
    return x * y
'''


def verify(env_dir):
    """Run a real Celery worker over envelopes the Swift encoder produced."""
    files = sorted(f for f in os.listdir(env_dir) if f.endswith(".json"))
    if not files:
        raise SystemExit(f"no envelopes in {env_dir}")
    srv = PrivateRedis()
    work = tempfile.mkdtemp(prefix="caraway-verify-")
    worker = None
    try:
        with open(os.path.join(work, "verifyapp.py"), "w") as f:
            f.write(WORKER_MODULE)
        r = srv.client
        ids = []
        for name in files:
            raw = open(os.path.join(env_dir, name), "rb").read()
            env = json.loads(raw)
            queue = env["properties"]["delivery_info"]["routing_key"]
            prio = env["properties"].get("priority") or 0
            step = max(s for s in (0, 3, 6, 9) if s <= prio)
            key = queue if step == 0 else f"{queue}\x06\x16{step}"
            r.lpush(key, raw)
            ids.append((name, env["headers"]["id"]))
            # Chain steps the Swift encoder put in embed must run too.
            import base64
            _, _, embed = json.loads(base64.b64decode(env["body"]))
            for step in (embed or {}).get("chain") or []:
                step_id = (step.get("options") or {}).get("task_id")
                if step_id:
                    ids.append((f"{name} chain step {step['task']}", step_id))
        env = dict(os.environ, VERIFY_URL=srv.url, PYTHONPATH=work)
        worker = subprocess.Popen(
            [os.path.join(VENV, "bin", "celery"), "-A", "verifyapp", "worker",
             "--pool=solo", "--loglevel=INFO", "-Q", "celery,other"],
            cwd=work, env=env)
        deadline = time.time() + 60
        pending = dict(ids)
        results = {}
        while pending and time.time() < deadline:
            for name, tid in list(pending.items()):
                raw = r.get(f"celery-task-meta-{tid}")
                if raw is not None:
                    results[name] = json.loads(raw)
                    del pending[name]
            time.sleep(0.2)
        ok = True
        for name, tid in ids:
            res = results.get(name)
            status = res and res["status"]
            print(f"{name}: {tid} -> {status} {res and res.get('result')!r}")
            ok = ok and status == "SUCCESS"
        if not ok:
            raise SystemExit("some Swift envelopes were not accepted by Python")
        print("all Swift envelopes accepted by a real Celery worker")
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)


def main():
    ensure_venv()
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=DEFAULT_OUT)
    p.add_argument("--verify-envelopes", metavar="DIR")
    a = p.parse_args()
    try:
        if a.verify_envelopes:
            verify(a.verify_envelopes)
        else:
            capture(a.out)
    except BaseException:
        import traceback
        traceback.print_exc()
        sys.stdout.flush()
        os._exit(1)
    # Skip interpreter teardown: Celery's result consumer tries to reconnect to
    # the (now stopped) private Redis from AsyncResult.__del__ and prints noise.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
