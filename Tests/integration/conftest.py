"""Fixtures for the integration and interop tests: real servers and processes only.

- `redis_server`: a private redis-server per test (function scope: starting one takes ~10 ms).
- `postgres_server`: a private PostgreSQL per test (copied from one initdb per session, ~0.5 s),
  run as the unprivileged `postgres` OS user; `.url`, `.sql()`, `.stop()`/`.start()` (same port).
- `caraway_bin`: $CARAWAY_BIN or <repo>/.build/release/caraway.
- `start_node(redis_url, **flags)`: launches `caraway node`, waits for GET /ready == 200.
- `celery_app`: a Python Celery app used only as a producer (Caraway's tasks are not defined in
  Python, so it publishes with `send_task`/`signature`).
- `start_python_worker(queues=...)`: a stock Celery worker with Python versions of some
  `caraway.*` tasks, for checking what Caraway produces.

Every process a test starts is killed at teardown. When a test fails, the tails of the logs of
its nodes, workers and Redis are attached to the failure report.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from carawaytest import (REPO, PostgresServer, PythonWorker, RedisServer, make_celery_app,
                         make_postgres_template, start_caraway_node, tail, wait_migrated, wait_ready_200)


def pytest_report_header(config):
    return f"caraway binary: {_binary_path()}"


def _binary_path() -> Path:
    return Path(os.environ.get("CARAWAY_BIN") or REPO / ".build" / "release" / "caraway").resolve()


def _attach_log(request, label: str, path: Path) -> None:
    request.node.__dict__.setdefault("_caraway_logs", []).append((label, Path(path)))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Adds the tails of every log the test registered to the report of a failing phase."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for label, path in item.__dict__.get("_caraway_logs", []):
            report.sections.append((f"{label} ({path})", tail(path, 80)))


@pytest.fixture
def redis_server(tmp_path, request):
    """A private redis-server: `.url`, `.port`, `.client` (redis-py, bytes replies)."""
    server = RedisServer(tmp_path / "redis").start()
    _attach_log(request, "redis-server log", server.log_path)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_template():
    """One initdb per session (in /tmp, owned by the postgres OS user); tests copy it."""
    import shutil
    import tempfile
    directory = Path(tempfile.mkdtemp(prefix="caraway-pg-template-"))
    try:
        yield make_postgres_template(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def postgres_server(postgres_template, tmp_path, request):
    """A private PostgreSQL 15 on a loopback port: `.url`, `.port`, `.sql(query, params)`,
    `.scalar(...)`, `.stop()` (fast shutdown) and `.start()` (again, on the same port)."""
    server = PostgresServer(postgres_template, tmp_path / "postgres" / "postgres.log")
    _attach_log(request, "postgres log", server.log_path)
    try:
        yield server.start()
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def caraway_bin() -> Path:
    return _binary_path()


@pytest.fixture
def start_node(caraway_bin, tmp_path, request):
    """Factory: `start_node(redis_url, name=None, concurrency=2, wait_ready=True, ready_timeout=10, env=None,
    **flags)`.

    Flags become CLI options (`queues="a,b"` → `--queues a,b`, `log_format="json"`,
    `max_tasks_per_child=5`, `http_port=N` to choose the port; `database=` takes a URL or a
    PostgresServer, and then readiness also waits for /health's beat.migrated). Returns a NodeHandle.
    """
    nodes = []

    def start(redis_url: str, name: str | None = None, wait_ready: bool = True, ready_timeout: float = 10.0,
              **flags):
        name = name or f"node{len(nodes) + 1}-{uuid.uuid4().hex[:6]}"
        node_dir = tmp_path / "nodes"
        node_dir.mkdir(exist_ok=True)
        if isinstance(flags.get("database"), PostgresServer):
            flags["database"] = flags["database"].url
        node = start_caraway_node(caraway_bin, redis_url, node_dir, name, **flags)
        nodes.append(node)
        _attach_log(request, f"caraway node {name} log", node.log_path)
        if wait_ready:
            wait_ready_200(node, ready_timeout)
            if flags.get("database"):
                # /ready is about Redis and children; the store is usable once the schema is migrated.
                wait_migrated(node, ready_timeout)
        return node

    yield start
    for node in nodes:
        node.kill_group()


@pytest.fixture
def celery_app(redis_server):
    app = make_celery_app(redis_server.url)
    yield app
    app.close()


@pytest.fixture
def start_python_worker(redis_server, tmp_path, request):
    """Factory: `start_python_worker(queues="celery")` → a running PythonWorker on the test Redis."""
    workers = []

    def start(queues: str = "celery"):
        directory = tmp_path / f"pyworker{len(workers) + 1}"
        directory.mkdir()
        worker = PythonWorker(redis_server.url, directory, queues=queues)
        _attach_log(request, f"python celery worker {worker.name} log", worker.log_path)
        workers.append(worker)
        return worker.start()

    yield start
    for worker in workers:
        worker.stop()
