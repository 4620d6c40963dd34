from __future__ import annotations

import gc
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from raidwatch.jobs.worker import BackgroundWorker
from raidwatch.lib import geo


class Command(BaseCommand):
    help = "Migrate, then serve the web app (uvicorn, no access log) with the background worker inside."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Do not run background work in this process (run `raidwatch worker` elsewhere).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        import uvicorn

        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        # Build the place lookup tables now, not on the first report of the day.
        geo.load_gazetteers()
        worker = None
        if settings.RAIDWATCH_EMBEDDED_WORKER and not options["no_worker"]:
            worker = BackgroundWorker()
            worker.start()
            self.stdout.write("Background worker running inside this process.")
        self.stdout.write(f"Serving raidwatch at http://{options['host']}:{options['port']}/")
        # Thousands of open event streams each hold objects the garbage
        # collector tracks; its full passes then pause the whole server for
        # hundreds of milliseconds (measured: 336 ms at 2,000 streams). Freeze
        # what start-up made and collect young objects less often.
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 10)
        try:
            # access_log=False: uvicorn's access log would write every client's IP address (R1).
            uvicorn.run(
                "raidwatch.asgi:application",
                host=options["host"],
                port=options["port"],
                access_log=False,
                log_level="warning",
                # Forwarding headers are believed only from the operator's own
                # proxies (RAIDWATCH_TRUSTED_PROXIES); uvicorn would otherwise
                # trust them from 127.0.0.1, and a same-host front end that does
                # not set them (an onion service, a TCP proxy) would let every
                # request choose its own address and so its own rate-limit bucket.
                proxy_headers=bool(settings.RAIDWATCH_TRUSTED_PROXIES),
                forwarded_allow_ips=",".join(settings.RAIDWATCH_TRUSTED_PROXIES) or None,
                # No logging config of uvicorn's own: its loggers then reach the
                # root handler, whose filter blanks addresses (R1).
                log_config=None,
                server_header=False,
                lifespan="off",
                # Open event streams never finish by themselves; without this a
                # SIGTERM would wait for them forever. Clients reconnect.
                timeout_graceful_shutdown=5,
            )
        finally:
            if worker is not None:
                worker.stop()
