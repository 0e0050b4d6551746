"""What a node and its children map: libpq (and its ~20 dependencies) only in a node that talks to
Postgres, never in a pool child (CPQLazy; docs/performance.md)."""

from __future__ import annotations

from pathlib import Path

from carawaytest import wait_until


def maps_libpq(pid: int) -> bool:
    return "libpq.so" in Path(f"/proc/{pid}/maps").read_text()


def test_a_node_without_a_database_and_its_children_never_load_libpq(redis_server, start_node, celery_app):
    node = start_node(redis_server.url, concurrency=2)
    assert celery_app.send_task("caraway.add", args=(2, 3)).get(timeout=20) == 5
    wait_until(lambda: len(node.children()) == 2, 10, "both children")
    assert not maps_libpq(node.pid), "the node loaded libpq without --database"
    for child in node.children():
        assert not maps_libpq(child), f"child {child} loaded libpq"


def test_a_node_with_a_database_loads_libpq_but_its_children_do_not(redis_server, postgres_server, start_node, celery_app):
    node = start_node(redis_server.url, concurrency=2, database=postgres_server.url)
    assert celery_app.send_task("caraway.add", args=(20, 22)).get(timeout=20) == 42
    wait_until(lambda: node.health().get("beat", {}).get("migrated"), 20, "the schedule table migration")
    assert maps_libpq(node.pid), "the node talks to Postgres, so libpq must be loaded"
    wait_until(lambda: len(node.children()) == 2, 10, "both children")
    for child in node.children():
        assert not maps_libpq(child), f"child {child} loaded libpq"
