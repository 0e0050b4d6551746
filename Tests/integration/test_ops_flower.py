"""Flower 2.x against Caraway nodes: its inspect-based worker list (GET /api/workers), its
event-based worker list (GET /workers?json=1) and its task list (GET /api/tasks, from task events).
Flower runs with FLOWER_UNAUTHENTICATED_API=true, without which /api/* answers 401.
"""

from __future__ import annotations

import uuid

from carawaytest import polled_result, wait_until
from opstest import flower_event_workers, flower_tasks, flower_worker_names
from opstest import celery_cli, producer, start_flower  # noqa: F401 (pytest fixtures)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def test_flower_lists_caraway_nodes_and_their_tasks(redis_server, start_node, start_flower, producer):
    nodes = {n.name: n for n in (start_node(redis_server.url, name=unique(f"fl{i}"), concurrency=1, task_events=True)
                                 for i in range(2))}
    flower = start_flower()

    wait_until(lambda: set(nodes) <= flower_worker_names(flower), 15, "Flower's /api/workers to list both nodes",
               interval=0.3)
    workers = flower.get_json("/api/workers")
    for name, node in nodes.items():
        assert workers[name]["stats"]["pid"] == node.pid, workers[name].get("stats")
        assert "caraway.add" in workers[name]["registered"], workers[name].get("registered")
        assert [q["name"] for q in workers[name]["active_queues"]] == ["celery"], workers[name].get("active_queues")
    wait_until(lambda: all(flower_event_workers(flower).get(name, {}).get("status") is True for name in nodes), 10,
               "Flower's /workers?json=1 to show both nodes online (heartbeats)", interval=0.3)

    results = [producer.send_task("caraway.add", args=[i, 10]) for i in range(4)]
    assert [polled_result(r, 10) for r in results] == [10, 11, 12, 13]
    failed = producer.send_task("caraway.fail", args=["flower sees this"])
    wait_until(failed.ready, 10, "the failing task")

    def all_listed():
        tasks = flower_tasks(flower)
        done = all(tasks.get(r.id, {}).get("state") == "SUCCESS" for r in results)
        return done and tasks.get(failed.id, {}).get("state") == "FAILURE" and tasks
    tasks = wait_until(all_listed, 15, "Flower's /api/tasks to show the finished tasks", interval=0.3)
    for r, expected in zip(results, ("10", "11", "12", "13")):
        task = tasks[r.id]
        assert task["name"] == "caraway.add" and task["worker"] in nodes, task
        assert task["result"] == expected and task["received"] and task["started"] and task["succeeded"], task
    assert "flower sees this" in tasks[failed.id]["exception"], tasks[failed.id]
