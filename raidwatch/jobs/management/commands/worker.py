from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand

from raidwatch.jobs.worker import BackgroundWorker


class Command(BaseCommand):
    help = "Run background work only: queued tasks and the periodic-job scheduler."

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        worker = BackgroundWorker()
        worker.start()
        self.stdout.write("raidwatch worker running; Ctrl+C stops it.")
        stop.wait()
        self.stdout.write("Stopping after the current task…")
        worker.stop()
