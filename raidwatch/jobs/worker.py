"""The background worker: runs queued tasks and the periodic-job scheduler.

It runs inside `raidwatch serve` (threads in the web process) by default, and as
`raidwatch worker` processes at scale. Both are the same code.
"""

from __future__ import annotations

import socket
import threading

from django.db import close_old_connections
from django_tasks_db.management.commands.db_worker import Worker

from raidwatch.jobs.scheduler import Scheduler


class BackgroundWorker:
    # A quarter-second poll keeps verify → first push well under G1's 500 ms budget
    # for the queue's part; an idle poll is one indexed SELECT.
    def __init__(self, poll_interval: float = 0.25, schedule_interval: float = 15.0) -> None:
        self.scheduler = Scheduler(interval=schedule_interval)
        self.tasks = Worker(
            queue_names=["*"],
            interval=poll_interval,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=f"{socket.gethostname()[:40]}-{threading.get_native_id()}",
            excluded_queue_names=[],
        )
        self.thread = threading.Thread(target=self._run_tasks, name="raidwatch-tasks", daemon=True)

    def _run_tasks(self) -> None:
        try:
            self.tasks.run()
        finally:
            close_old_connections()

    def start(self) -> None:
        self.scheduler.start()
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.scheduler.stop()
        self.tasks.running = False
        self.scheduler.join(timeout)
        self.thread.join(timeout)
