"""Draining the durable task queue in tests, the way `raidwatch worker` does."""

from __future__ import annotations

from django_tasks_db.management.commands.db_worker import Worker


def run_queued_tasks() -> None:
    """Run every queued task, then return (the worker's batch mode)."""
    Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test",
        excluded_queue_names=[],
    ).run()
