"""Enqueuing periodic jobs, once per run, however many workers are running."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from django.db import close_old_connections
from django.db.utils import OperationalError
from django.utils import timezone

from raidwatch.jobs.models import PeriodicJob
from raidwatch.jobs.tasks import PERIODIC

logger = logging.getLogger(__name__)


def enqueue_due_jobs(now: datetime | None = None) -> list[str]:
    """Enqueue every periodic job that is due; returns the names enqueued.

    The conditional UPDATE on ``next_run_at`` is the lease: among processes that
    all see a job due, exactly one moves its time on and so enqueues it.
    """
    now = now or timezone.now()
    enqueued = []
    for name, (job_task, interval) in PERIODIC.items():
        job, _ = PeriodicJob.objects.get_or_create(name=name, defaults={"next_run_at": now})
        if job.next_run_at > now:
            continue
        won = PeriodicJob.objects.filter(pk=job.pk, next_run_at=job.next_run_at).update(
            next_run_at=now + interval, last_run_at=now
        )
        if won:
            job_task.enqueue()
            enqueued.append(name)
    return enqueued


class Scheduler(threading.Thread):
    def __init__(self, interval: float = 15.0) -> None:
        super().__init__(name="raidwatch-scheduler", daemon=True)
        self.interval = interval
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            close_old_connections()
            try:
                enqueue_due_jobs()
            except OperationalError:
                # The database being briefly busy or away is not fatal; try next tick.
                logger.warning("scheduler could not reach the database; retrying", exc_info=True)
            close_old_connections()
            self.stopping.wait(self.interval)

    def stop(self) -> None:
        self.stopping.set()
