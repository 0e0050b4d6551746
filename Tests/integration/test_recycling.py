"""Children are recycled after N tasks without losing or failing work."""

from __future__ import annotations

from carawaytest import wait_until


def test_max_tasks_per_child_five_spreads_fifty_tasks_over_at_least_ten_children(redis_server, start_node, celery_app):
    node = start_node(redis_server.url, concurrency=2, max_tasks_per_child=5)
    results = [celery_app.send_task("caraway.pid") for _ in range(50)]
    pids = [r.get(timeout=30) for r in results]
    assert all(isinstance(pid, int) and pid > 0 for pid in pids)
    assert len(set(pids)) >= 10, f"only {len(set(pids))} distinct child pids"
    counts = {pid: pids.count(pid) for pid in set(pids)}
    assert max(counts.values()) <= 5, f"a child ran more than 5 tasks: {counts}"
    wait_until(lambda: len(node.children()) >= 2, 5, "the pool to be back at full size")
    assert node.running()


def test_memory_ceiling_retires_a_child_after_its_task(redis_server, start_node, celery_app):
    # 1 KiB is below any process's RSS, so every child retires after one task.
    node = start_node(redis_server.url, concurrency=1, max_memory_per_child=1)
    pids = [celery_app.send_task("caraway.pid").get(timeout=20) for _ in range(4)]
    assert len(set(pids)) == 4, f"children were not replaced: {pids}"
    assert node.running()
