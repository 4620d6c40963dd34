"""`raidwatch bench NAME`: run a benchmark from the repository's bench/ package.

Prints one JSON object per line on stdout, with the keys
{"bench", "goal", "metric", "value", "baseline", "ratio", "pass"}, and progress on
stderr. A result that misses its goal still exits 0 (it is a measurement); a
bench that could not measure exits non-zero.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

KNOWN_BENCHES = ("ingest",)


def _plain(text: str) -> str:
    # Progress is not an error: keep Django's red error styling off stderr.
    return text


class Command(BaseCommand):
    help = "Run a benchmark (see docs/performance.md) and print one JSON object per line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help=f"the bench to run: {', '.join(KNOWN_BENCHES)}")
        parser.add_argument("--requests", type=int, default=5000, help="measured requests per server")
        parser.add_argument("--concurrency", type=int, default=64, help="connections in flight")
        parser.add_argument("--warmup", type=int, default=500, help="unmeasured requests sent first")
        parser.add_argument(
            "--duration-limit", type=float, default=60.0, help="seconds each load phase may run at most"
        )
        parser.add_argument("--seed", type=int, default=1, help="fixes the geography of the reports")
        parser.add_argument(
            "--baseline-rounds", type=int, default=3, help="baseline runs; the median rate is the baseline"
        )
        parser.add_argument(
            "--work-dir",
            type=Path,
            default=None,
            help="keep databases, logs and load summaries here (default: a temporary directory, removed)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"]
        if name not in KNOWN_BENCHES:
            raise CommandError(f"Unknown bench {name!r}. Known benches: {', '.join(KNOWN_BENCHES)}.")
        # bench/ sits at the repository root beside the raidwatch package and is not
        # installed, so make it importable however `raidwatch` was started.
        root = str(settings.BASE_DIR)
        if root not in sys.path:
            sys.path.insert(0, root)
        from bench.ingest import HarnessError, IngestOptions, run_ingest

        ingest_options = IngestOptions(
            requests=options["requests"],
            concurrency=options["concurrency"],
            duration_limit_s=options["duration_limit"],
            warmup=options["warmup"],
            seed=options["seed"],
            baseline_rounds=options["baseline_rounds"],
            work_dir=options["work_dir"],
        )
        try:
            run = run_ingest(ingest_options, progress=lambda text: self.stderr.write(text, style_func=_plain))
        except HarnessError as exc:
            raise CommandError(f"bench {name} could not measure: {exc}") from exc
        for line in run.lines:
            self.stdout.write(json.dumps(line))
