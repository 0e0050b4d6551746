#!/usr/bin/env python3
"""Capture real Celery 5.7 pidbox and event traffic as fixtures for the control-plane tests.

Run with the repo's venv (celery 5.7.0, kombu 5.7.0, redis-py):

    .venv/bin/python Tests/CarawayProtocolTests/Fixtures/control/capture_control.py

What it does:
  1. Starts a private redis-server (free loopback port, --save '').
  2. PSUBSCRIBEs '*' from a thread and records every pub/sub payload verbatim.
  3. Starts a real worker: ``celery -A capapp worker -E -P solo -n w1@capture``.
  4. Runs the CLI: ``celery -A capapp inspect ping``, ``celery -A capapp control revoke <id>``,
     ``celery -A capapp control terminate SIGKILL <id>``; then, in-process, a revoke cast
     (``app.control.revoke(id)``, no reply), a destination-addressed ping and a glob-pattern
     ping. For the in-process calls an extra binding with the client's own oid is added to
     ``_kombu.binding.reply.celery.pidbox`` first, so the worker's LPUSH of its reply also lands
     on ``capture.reply.celery.pidbox``, which is read back verbatim (the real worker reply).
  5. Sends ``capapp.add`` and ``capapp.fail`` so the worker emits task events (task.multi) and
     waits for a worker-heartbeat; stops the worker with SIGTERM (worker-offline).
  6. Starts a second worker ``w2@capture`` with ``-P threads -c 2`` (it answers inspect while a task
     runs) and captures its replies to ``active`` while ``capapp.sleepy(2)`` runs and to
     ``scheduled`` while it holds ``capapp.add(4, 5, z=None)`` sent with countdown=120, priority=5.
  7. Writes the chosen payloads as ``<name>.json`` (the exact bytes from Redis),
     ``manifest.json``: name -> channel (or list key) it came from, and ``decoded.json``: each
     fixture's headers, properties and body as Python decodes them (``--decode-only`` rewrites
     just this file from the fixtures on disk).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

OUT = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(OUT, "..", "..", "..", ".."))
VENV_BIN = os.path.join(REPO, ".venv", "bin")

APP = '''
from celery import Celery
import os
app = Celery("capapp", broker=os.environ["CAPTURE_BROKER"], backend=os.environ["CAPTURE_BROKER"])
app.conf.worker_hijack_root_logger = False

@app.task
def add(x, y):
    return x + y

@app.task
def fail(x):
    raise ValueError("boom %r" % (x,))

@app.task
def sleepy(seconds):
    import time
    time.sleep(seconds)
    return seconds
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    import redis

    work = tempfile.mkdtemp(prefix="caraway-capture-")
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", work],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    broker = "redis://127.0.0.1:%d/0" % port
    r = redis.Redis(port=port)
    for _ in range(200):
        try:
            r.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    with open(os.path.join(work, "capapp.py"), "w") as f:
        f.write(APP)
    env = dict(os.environ, CAPTURE_BROKER=broker, PYTHONPATH=work)

    captured = []  # (channel, bytes)
    lock = threading.Lock()
    pubsub = r.pubsub()
    pubsub.psubscribe("*")

    def listen():
        for item in pubsub.listen():
            if item["type"] == "pmessage":
                with lock:
                    captured.append((item["channel"].decode(), item["data"]))

    threading.Thread(target=listen, daemon=True).start()
    time.sleep(0.2)

    def wait_for(pred, what, seconds=30):
        deadline = time.time() + seconds
        while time.time() < deadline:
            with lock:
                for channel, data in captured:
                    if pred(channel, data):
                        return channel, data
            time.sleep(0.05)
        raise SystemExit("timed out waiting for " + what)

    celery = os.path.join(VENV_BIN, "celery")
    worker = subprocess.Popen([celery, "-A", "capapp", "worker", "-E", "-P", "solo", "-n", "w1@capture",
                               "--loglevel", "WARNING"], cwd=work, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda c, d: c.endswith("celeryev/worker.online"), "worker-online")
        time.sleep(1.5)  # mingle's hello finished

        def cli(*args):
            out = subprocess.run([celery, "-A", "capapp"] + list(args), cwd=work, env=env,
                                 capture_output=True, text=True, timeout=30)
            print("$ celery", " ".join(args), "->", out.returncode, out.stdout.strip()[:200])
            mark = len(captured)
            return mark

        cli("inspect", "ping")
        cli("control", "revoke", "11111111-1111-4111-8111-111111111111")
        cli("control", "terminate", "SIGKILL", "22222222-2222-4222-8222-222222222222")

        sys.path.insert(0, work)
        os.environ["CAPTURE_BROKER"] = broker
        import capapp
        app = capapp.app
        replies = {}
        with app.connection_for_write() as conn:
            mailbox = app.control.mailbox(conn)
            oid = mailbox.oid
            member = oid + "\x06\x16\x06\x16capture.reply.celery.pidbox"
            r.sadd("_kombu.binding.reply.celery.pidbox", member)

            def call(name, *args, **kwargs):
                r.delete("capture.reply.celery.pidbox")
                result = mailbox._broadcast(*args, reply=True, timeout=1.0, **kwargs)
                print(name, "->", result)
                items = r.lrange("capture.reply.celery.pidbox", 0, -1)
                if name:
                    replies[name] = items[-1]

            call("reply_ping", "ping", {}, None)
            call("reply_revoke", "revoke", {"task_id": "33333333-3333-4333-8333-333333333333",
                                            "terminate": False, "signal": "SIGTERM"}, None)
            call(None, "ping", {}, ["w1@capture"])
            call(None, "ping", {}, None, pattern="w1@*", matcher="glob")
        app.control.revoke("44444444-4444-4444-8444-444444444444")  # a cast: no ticket, no reply_to

        ok = app.send_task("capapp.add", (2, 3), task_id="55555555-5555-4555-8555-555555555555")
        ok.get(timeout=20)
        bad = app.send_task("capapp.fail", (7,), task_id="66666666-6666-4666-8666-666666666666")
        try:
            bad.get(timeout=20)
        except Exception:
            pass
        wait_for(lambda c, d: c.endswith("celeryev/worker.heartbeat"), "worker-heartbeat", seconds=10)
        time.sleep(1.0)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
    wait_for(lambda c, d: c.endswith("celeryev/worker.offline"), "worker-offline", seconds=5)

    # A second worker with a thread pool, so it answers inspect while a task runs.
    worker = subprocess.Popen([celery, "-A", "capapp", "worker", "-P", "threads", "-c", "2", "-n", "w2@capture",
                               "--without-mingle", "--without-gossip", "--loglevel", "WARNING"], cwd=work, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda c, d: c.endswith("celeryev/worker.online") and b"w2@capture" in d, "w2 online")
        # inspect active (a running task) and scheduled (an ETA task the worker holds).
        app.send_task("capapp.sleepy", (2,), task_id="77777777-7777-4777-8777-777777777777")
        app.send_task("capapp.add", (4, 5), {"z": None}, task_id="88888888-8888-4888-8888-888888888888",
                      countdown=120, priority=5)
        time.sleep(0.7)
        with app.connection_for_write() as conn:
            mailbox = app.control.mailbox(conn)
            r.sadd("_kombu.binding.reply.celery.pidbox",
                   mailbox.oid + "\x06\x16\x06\x16capture.reply.celery.pidbox")
            for name, method in (("reply_active", "active"), ("reply_scheduled", "scheduled")):
                r.delete("capture.reply.celery.pidbox")
                print(name, "->", mailbox._broadcast(method, {"safe": None}, None, reply=True, timeout=1.0))
                replies[name] = r.lrange("capture.reply.celery.pidbox", 0, -1)[-1]
        time.sleep(2)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
    time.sleep(0.3)
    server.terminate()
    server.wait()

    with lock:
        log = list(captured)

    def body(data):
        import base64
        envelope = json.loads(data)
        raw = envelope["body"]
        if envelope.get("properties", {}).get("body_encoding") == "base64":
            raw = base64.b64decode(raw)
        return json.loads(raw)

    chosen = {}
    manifest = {}

    def pick(name, pred):
        for channel, data in log:
            if pred(channel, data):
                chosen[name] = data
                manifest[name] = channel
                return
        raise SystemExit("nothing captured for " + name)

    pidbox = lambda c: c == "/0.celery.pidbox"
    pick("request_inspect_ping", lambda c, d: pidbox(c) and body(d)["method"] == "ping" and body(d)["destination"] is None
         and body(d)["pattern"] is None)
    pick("request_control_revoke", lambda c, d: pidbox(c) and body(d)["method"] == "revoke"
         and "ticket" in body(d) and "11111111" in json.dumps(body(d)["arguments"]))
    pick("request_control_terminate", lambda c, d: pidbox(c) and body(d)["method"] == "terminate")
    pick("request_revoke_cast", lambda c, d: pidbox(c) and body(d)["method"] == "revoke" and "ticket" not in body(d))
    pick("request_ping_destination", lambda c, d: pidbox(c) and body(d)["method"] == "ping" and body(d)["destination"])
    pick("request_ping_pattern", lambda c, d: pidbox(c) and body(d)["method"] == "ping" and body(d)["pattern"])
    pick("request_hello", lambda c, d: pidbox(c) and body(d)["method"] == "hello")
    pick("event_worker_online", lambda c, d: c == "/0.celeryev/worker.online")
    pick("event_worker_heartbeat", lambda c, d: c == "/0.celeryev/worker.heartbeat")
    pick("event_worker_offline", lambda c, d: c == "/0.celeryev/worker.offline")
    batches = [(c, d) for c, d in log if c == "/0.celeryev/task.multi"]
    print("task.multi batches:", [[(e["type"], e["uuid"][:4]) for e in body(d)] for _, d in batches])

    def pick_batch(name, uuid, last):
        """The largest batch with `uuid`'s `last` event (the worker may split a task's events)."""
        candidates = [(c, d) for c, d in batches
                      if any(e.get("uuid") == uuid and e["type"] == last for e in body(d))]
        if not candidates:
            raise SystemExit("nothing captured for " + name)
        channel, data = max(candidates, key=lambda cd: len(body(cd[1])))
        chosen[name] = data
        manifest[name] = channel

    pick_batch("event_task_multi_success", "55555555-5555-4555-8555-555555555555", "task-succeeded")
    pick_batch("event_task_multi_failure", "66666666-6666-4666-8666-666666666666", "task-failed")
    for name, data in replies.items():
        chosen[name] = data
        manifest[name] = "capture.reply.celery.pidbox (LPUSH by the worker)"

    for name, data in chosen.items():
        with open(os.path.join(OUT, name + ".json"), "wb") as f:
            f.write(data)
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    print("channels seen:", sorted({c for c, _ in log}))
    print("wrote", sorted(chosen))
    write_decoded()


def write_decoded():
    """decoded.json: each fixture as Python decodes it (kombu: base64, then json.loads), the
    oracle the Swift decoders are compared with."""
    import base64
    decoded = {}
    for name in sorted(os.listdir(OUT)):
        if not name.endswith(".json") or name in ("manifest.json", "decoded.json"):
            continue
        with open(os.path.join(OUT, name), "rb") as f:
            envelope = json.loads(f.read())
        raw = envelope["body"]
        if envelope["properties"].get("body_encoding") == "base64":
            raw = base64.b64decode(raw)
        decoded[name[:-5]] = {"headers": envelope["headers"], "properties": envelope["properties"],
                              "body": json.loads(raw)}
    with open(os.path.join(OUT, "decoded.json"), "w") as f:
        json.dump(decoded, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    if sys.argv[1:] == ["--decode-only"]:
        write_decoded()
    else:
        main()
