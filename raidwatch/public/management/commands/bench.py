"""`raidwatch bench NAME`: run a benchmark from the repository's bench/ package.

Prints one JSON object per line on stdout, with the keys
{"bench", "goal", "metric", "value", "baseline", "ratio", "pass"}, and progress on
stderr. A result that misses its goal still exits 0 (it is a measurement); a
bench that could not measure exits non-zero.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

KNOWN_BENCHES = ("ingest", "match", "fanout", "sse", "flood")
# --subscribers when not given: the sizes the goals are stated at.
DEFAULT_SUBSCRIBERS = {"match": 1_000_000, "fanout": 5_000}
DEFAULT_DURATION_LIMIT_S = {"ingest": 60.0, "fanout": 300.0, "sse": 300.0}


def _or_default[T](value: T | None, default: T) -> T:
    return default if value is None else value


def _plain(text: str) -> str:
    # Progress is not an error: keep Django's red error styling off stderr.
    return text


class Command(BaseCommand):
    help = "Run a benchmark (see docs/performance.md) and print one JSON object per line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help=f"the bench to run: {', '.join(KNOWN_BENCHES)}")
        # ingest's options first; --seed also serves match, --work-dir and
        # --duration-limit also serve fanout.
        parser.add_argument("--requests", type=int, default=5000, help="measured requests per server")
        parser.add_argument("--concurrency", type=int, default=64, help="connections in flight")
        parser.add_argument("--warmup", type=int, default=500, help="unmeasured requests sent first")
        parser.add_argument(
            "--duration-limit",
            type=float,
            default=None,
            help="seconds each load phase (ingest, default 60) or the sending (fanout, default 300) may run",
        )
        parser.add_argument("--seed", type=int, default=1, help="fixes the geography (ingest, match)")
        parser.add_argument(
            "--baseline-rounds", type=int, default=3, help="baseline runs; the median rate is the baseline"
        )
        parser.add_argument(
            "--work-dir",
            type=Path,
            default=None,
            help="keep databases, logs and load summaries here (default: a temporary directory, removed)",
        )
        parser.add_argument(
            "--subscribers",
            type=int,
            default=None,
            help="match: subscribers indexed (default 1,000,000); fanout: subscribers alerted (5,000)",
        )
        parser.add_argument("--areas", type=int, default=20_000, help="match: distinct areas computed")
        parser.add_argument("--alerts", type=int, default=2_000, help="match: alerts timed per population")
        parser.add_argument(
            "--scan-alerts", type=int, default=20, help="match: alerts also run through the brute-force scan"
        )
        parser.add_argument("--jobs", type=int, default=2, help="match: processes computing the areas")
        parser.add_argument(
            "--encrypt-seconds",
            type=float,
            default=2.0,
            help="fanout: length of each of the two encrypt-only baseline rounds",
        )
        parser.add_argument(
            "--clients", type=int, default=2_000, help="sse: streams held open (at most 20,000)"
        )
        parser.add_argument("--rounds", type=int, default=20, help="sse: incidents confirmed and timed")
        parser.add_argument(
            "--per-minute", type=int, default=1000, help="flood: reports a minute (default 1,000)"
        )
        parser.add_argument(
            "--flood-seconds", type=float, default=120.0, help="flood: how long the flood lasts (default 120)"
        )
        parser.add_argument(
            "--profile",
            action="store_true",
            help="fanout: profile the sending (slows it; the figures are then not comparable)",
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
        progress = self._progress
        if name == "match":
            lines = self._match(options, progress)
        elif name == "fanout":
            lines = self._fanout(options, progress)
        elif name == "sse":
            lines = self._sse(options, progress)
        elif name == "flood":
            lines = self._flood(options, progress)
        else:
            lines = self._ingest(options, progress)
        for line in lines:
            self.stdout.write(json.dumps(line))

    def _progress(self, text: str) -> None:
        self.stderr.write(text, style_func=_plain)

    def _ingest(self, options: dict[str, Any], progress: Callable[[str], None]) -> list[dict[str, Any]]:
        from bench.ingest import HarnessError, IngestOptions, run_ingest

        ingest_options = IngestOptions(
            requests=options["requests"],
            concurrency=options["concurrency"],
            duration_limit_s=_or_default(options["duration_limit"], DEFAULT_DURATION_LIMIT_S["ingest"]),
            warmup=options["warmup"],
            seed=options["seed"],
            baseline_rounds=options["baseline_rounds"],
            work_dir=options["work_dir"],
        )
        try:
            run = run_ingest(ingest_options, progress=progress)
        except HarnessError as exc:
            raise CommandError(f"bench ingest could not measure: {exc}") from exc
        return run.lines

    def _match(self, options: dict[str, Any], progress: Callable[[str], None]) -> list[dict[str, Any]]:
        from bench.match import HarnessError, MatchOptions, run_match

        match_options = MatchOptions(
            subscribers=_or_default(options["subscribers"], DEFAULT_SUBSCRIBERS["match"]),
            areas=options["areas"],
            alerts=options["alerts"],
            scan_alerts=options["scan_alerts"],
            seed=options["seed"],
            jobs=options["jobs"],
        )
        try:
            return run_match(match_options, progress).lines
        except HarnessError as exc:
            raise CommandError(f"bench match could not measure: {exc}") from exc

    def _fanout(self, options: dict[str, Any], progress: Callable[[str], None]) -> list[dict[str, Any]]:
        from bench.fanout import FanoutOptions, HarnessError, run_fanout

        fanout_options = FanoutOptions(
            subscribers=_or_default(options["subscribers"], DEFAULT_SUBSCRIBERS["fanout"]),
            duration_limit_s=_or_default(options["duration_limit"], DEFAULT_DURATION_LIMIT_S["fanout"]),
            encrypt_seconds=options["encrypt_seconds"],
            profile=options["profile"],
            work_dir=options["work_dir"],
        )
        try:
            return run_fanout(fanout_options, progress).lines
        except HarnessError as exc:
            raise CommandError(f"bench fanout could not measure: {exc}") from exc

    def _sse(self, options: dict[str, Any], progress: Callable[[str], None]) -> list[dict[str, Any]]:
        from bench.sse import HarnessError, SseOptions, run_sse

        sse_options = SseOptions(
            clients=options["clients"],
            rounds=options["rounds"],
            duration_limit_s=_or_default(options["duration_limit"], DEFAULT_DURATION_LIMIT_S["sse"]),
            seed=options["seed"],
            work_dir=options["work_dir"],
        )
        try:
            return run_sse(sse_options, progress).lines
        except HarnessError as exc:
            raise CommandError(f"bench sse could not measure: {exc}") from exc

    def _flood(self, options: dict[str, Any], progress: Callable[[str], None]) -> list[dict[str, Any]]:
        from bench.flood import FloodBenchOptions, run_flood_bench
        from bench.ingest import HarnessError

        flood_options = FloodBenchOptions(
            per_minute=options["per_minute"],
            duration_s=options["flood_seconds"],
            work_dir=options["work_dir"],
        )
        try:
            return run_flood_bench(flood_options, progress)
        except HarnessError as exc:
            raise CommandError(f"bench flood could not measure: {exc}") from exc
