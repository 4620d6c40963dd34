"""G5: report ingest over HTTP on embedded SQLite, against a raw baseline.

One run starts two servers in turn, each in its own process on a free loopback
port, and loads each with the same separate load-generator process (same
request count, concurrency and report geography):

1. the baseline (bench.baseline_asgi): raw ASGI + sqlite3 under uvicorn;
2. raidwatch itself: `raidwatch serve --no-worker` on a fresh data directory.

raidwatch's rate is reported as a ratio of the baseline's, because absolute
figures on a 2-core shared machine swing from run to run while the ratio of two
measurements taken minutes apart mostly does not.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import BENCH_KEYS
from bench.loadgen import LOCKED_MARKER, REQUEST_TIMEOUT_S

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"

GOAL = "G5"
MIN_RATIO = 0.3
MAX_P99_MS = 100.0

BASELINE_START_TIMEOUT_S = 30.0
# `raidwatch serve` migrates a fresh database before it listens.
RAIDWATCH_START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0

Progress = Callable[[str], None]


class HarnessError(RuntimeError):
    """The bench could not measure (a server did not start, the client crashed…),
    as opposed to measuring a result that misses the goal."""


@dataclass(frozen=True)
class IngestOptions:
    requests: int = 5000
    concurrency: int = 64
    duration_limit_s: float = 60.0
    warmup: int = 500
    seed: int = 1
    # The baseline finishes a run in well under a second, so one run is at the
    # mercy of a noisy neighbour; the median of a few is steadier.
    baseline_rounds: int = 3
    # Where the servers' databases, logs and the load summaries go; a temporary
    # directory removed afterwards when not given.
    work_dir: Path | None = None


@dataclass(frozen=True)
class IngestRun:
    lines: list[dict[str, Any]]
    baseline: dict[str, Any]
    raidwatch: dict[str, Any]
    # Occurrences of "database is locked" in raidwatch's own log (tracebacks of
    # failed requests land there, not in the 500 body the client sees).
    server_log_locked: int
    work_dir: Path


def free_port() -> int:
    # Asking the kernel for port 0 gives a free one; the tiny window before the
    # server binds it is acceptable on a loopback-only bench.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds a process has used so far (Linux /proc), else None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    # Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    # The bench package lives at the repository root, which is not installed.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def _raidwatch_env(data_dir: Path) -> dict[str, str]:
    env = _child_env(
        {
            "RAIDWATCH_DATA_DIR": str(data_dir),
            "RAIDWATCH_ENV": "embedded",
            "RAIDWATCH_DEBUG": "0",  # DEBUG keeps every query in memory and would skew the result
            # Every load-generator connection posts thousands of reports; the abuse
            # gate must not answer them with 429s or proof-of-work challenges.
            "RAIDWATCH_REPORT_ALLOWANCE": "1000000000",
        }
    )
    # G5 is about embedded SQLite, whatever database the caller's shell points at.
    env.pop("DATABASE_URL", None)
    env.pop("DATABASE_URL_FILE", None)
    return env


def _log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_healthy(
    process: subprocess.Popen[bytes], port: int, log: Path, name: str, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise HarnessError(
                f"{name} exited with status {process.returncode} before answering:\n{_log_tail(log)}"
            )
        connection = http.client.HTTPConnection(HOST, port, timeout=2)
        try:
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.1)
    raise HarnessError(
        f"{name} did not answer GET /healthz with 200 within {timeout_s:.0f} s:\n{_log_tail(log)}"
    )


@contextlib.contextmanager
def _server(
    name: str,
    argv: Sequence[str],
    env: dict[str, str],
    cwd: Path,
    log: Path,
    port: int,
    start_timeout_s: float,
) -> Iterator[subprocess.Popen[bytes]]:
    """A server subprocess that answers /healthz, stopped (and reaped) on exit."""
    with log.open("wb") as log_file:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log_file, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        _wait_healthy(process, port, log, name, start_timeout_s)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()  # uvicorn shuts down cleanly on SIGTERM
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _load(
    port: int, options: IngestOptions, summary_path: Path, server: subprocess.Popen[bytes]
) -> dict[str, Any]:
    """Run the load generator in its own process and return its summary, with the
    server's CPU time per request (warm-up included) added when it can be read."""
    argv = [
        sys.executable,
        "-m",
        "bench.loadgen",
        "--host",
        HOST,
        "--port",
        str(port),
        "--requests",
        str(options.requests),
        "--concurrency",
        str(options.concurrency),
        "--warmup",
        str(options.warmup),
        "--duration-limit",
        str(options.duration_limit_s),
        "--seed",
        str(options.seed),
    ]
    # Two phases, each bounded by the limit, plus slack for one stuck request.
    timeout = 2 * options.duration_limit_s + REQUEST_TIMEOUT_S + 30
    cpu_before = process_cpu_s(server.pid)
    try:
        done = subprocess.run(  # noqa: S603
            argv, cwd=REPO_ROOT, env=_child_env({}), capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise HarnessError(f"the load generator ran past {timeout:.0f} s and was stopped") from None
    stderr = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode != 0:
        raise HarnessError(f"the load generator failed with status {done.returncode}:\n{stderr[-2000:]}")
    try:
        summary: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise HarnessError(f"the load generator printed no JSON summary:\n{stderr[-2000:]}") from None
    cpu_after = process_cpu_s(server.pid)
    sent = summary["requests"] + summary["warmup_requests"]
    if cpu_before is not None and cpu_after is not None and sent:
        summary["server_cpu_ms_per_request"] = round((cpu_after - cpu_before) * 1000 / sent, 3)
    summary_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def _describe(name: str, summary: dict[str, Any]) -> str:
    return (
        f"{name}: {summary['ok']}/{summary['requests']} reports in {summary['elapsed_s']:.2f} s"
        f" = {summary['rps']:.0f} req/s, p50 {summary['p50_ms']:.1f} ms, p99 {summary['p99_ms']:.1f} ms,"
        f" max {summary['max_ms']:.1f} ms, errors {summary['errors']}"
        f" (+{summary['warmup_errors']} in warm-up), stopped by {summary['stopped_by']},"
        f" server CPU {summary.get('server_cpu_ms_per_request', '?')} ms/request,"
        f" client CPU {summary['client_cpu_s']:.2f} s"
    )


def _run_baseline(options: IngestOptions, work: Path, progress: Progress) -> dict[str, Any]:
    port = free_port()
    progress(f"baseline: raw ASGI + sqlite3 on {HOST}:{port}, {options.baseline_rounds} round(s)")
    argv = [sys.executable, "-m", "bench.baseline_asgi", "--host", HOST, "--port", str(port)]
    argv += ["--db", str(work / "baseline.sqlite3")]
    rounds = []
    log = work / "baseline.log"
    with _server("baseline", argv, _child_env({}), work, log, port, BASELINE_START_TIMEOUT_S) as server:
        for number in range(1, options.baseline_rounds + 1):
            summary = _load(port, options, work / f"baseline-load-{number}.json", server)
            progress(_describe(f"baseline round {number}", summary))
            if summary["errors"] or summary["warmup_errors"]:
                raise HarnessError(f"the baseline itself answered with errors: {summary['error_samples']}")
            rounds.append(summary)
    # The median round by rate stands for the baseline (the upper one of two).
    chosen = sorted(rounds, key=lambda summary: summary["rps"])[len(rounds) // 2]
    (work / "baseline-load.json").write_text(json.dumps(chosen, indent=2) + "\n", encoding="utf-8")
    return chosen


def _run_raidwatch(options: IngestOptions, work: Path, progress: Progress) -> tuple[dict[str, Any], int]:
    port = free_port()
    data_dir = work / "raidwatch"
    data_dir.mkdir(exist_ok=True)
    progress(f"raidwatch: migrating a fresh database and serving on {HOST}:{port}")
    argv = [
        sys.executable,
        "-m",
        "raidwatch.cli",
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--no-worker",
    ]
    log = work / "raidwatch.log"
    with _server(
        "raidwatch", argv, _raidwatch_env(data_dir), work, log, port, RAIDWATCH_START_TIMEOUT_S
    ) as server:
        summary = _load(port, options, work / "raidwatch-load.json", server)
    locked_in_log = log.read_bytes().count(LOCKED_MARKER)
    progress(_describe("raidwatch", summary) + f", 'database is locked' in its log: {locked_in_log}")
    return summary, locked_in_log


def _line(metric: str, value: float, baseline: float, ratio: float | None, passed: bool) -> dict[str, Any]:
    values = ("ingest", GOAL, metric, value, baseline, ratio, passed)
    # Built from BENCH_KEYS so every line has exactly the contract's keys, in order.
    return dict(zip(BENCH_KEYS, values, strict=True))


def result_lines(
    raidwatch: dict[str, Any], baseline: dict[str, Any], server_log_locked: int
) -> list[dict[str, Any]]:
    """The contract lines. Errors and locks count over the whole run, warm-up included:
    a report lost while warming up is still a lost report."""
    if not baseline["rps"]:
        raise HarnessError("the baseline completed no requests, so there is nothing to compare with")
    ratio = raidwatch["rps"] / baseline["rps"]
    p99 = raidwatch["p99_ms"]
    errors = raidwatch["errors"] + raidwatch["warmup_errors"]
    locked = raidwatch["locked"] + raidwatch["warmup_locked"] + server_log_locked
    p99_ok = p99 <= MAX_P99_MS
    return [
        _line(
            "reports_per_s",
            raidwatch["rps"],
            baseline["rps"],
            round(ratio, 4),
            ratio >= MIN_RATIO and p99_ok and errors == 0 and locked == 0,
        ),
        _line("p99_ms", p99, MAX_P99_MS, round(p99 / MAX_P99_MS, 4), p99_ok),
        # The bound of these two is zero, so a ratio to it means nothing: null.
        _line("errors", errors, 0, None, errors == 0),
        _line("db_locked", locked, 0, None, locked == 0),
    ]


def _measure(options: IngestOptions, work: Path, progress: Progress) -> IngestRun:
    progress(
        f"ingest: {options.requests} requests after {options.warmup} warm-up,"
        f" concurrency {options.concurrency}, at most {options.duration_limit_s:.0f} s per phase"
    )
    baseline = _run_baseline(options, work, progress)
    raidwatch, server_log_locked = _run_raidwatch(options, work, progress)
    if raidwatch["error_samples"]:
        progress(f"raidwatch: first errors: {raidwatch['error_samples']}")
    lines = result_lines(raidwatch, baseline, server_log_locked)
    progress(f"ingest: raidwatch / baseline = {lines[0]['ratio']:.3f} (goal ≥ {MIN_RATIO})")
    return IngestRun(lines, baseline, raidwatch, server_log_locked, work)


def run_ingest(options: IngestOptions, progress: Progress) -> IngestRun:
    """Measure the baseline, then raidwatch, and return the contract lines."""
    if min(options.requests, options.concurrency, options.baseline_rounds) < 1:
        raise HarnessError("requests, concurrency and baseline rounds must be at least 1")
    if options.warmup < 0 or options.duration_limit_s <= 0:
        raise HarnessError("warm-up must be at least 0 and the duration limit positive")
    if options.work_dir is not None:
        work = options.work_dir.resolve()
        work.mkdir(parents=True, exist_ok=True)
        return _measure(options, work, progress)
    with tempfile.TemporaryDirectory(prefix="raidwatch-bench-") as temporary:
        return _measure(options, Path(temporary), progress)
