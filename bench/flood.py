"""A bounded report flood on loopback, and the rights page's latency under it (R12).

Flood reports come from rotating sentinel sources: connections bound to many
loopback addresses (127.20.N.1, each its own /24, no token) and to one shared
/24 (127.9.9.N) whose every request sends a new X-Raidwatch-Token, as a troll
inventing identities on a carrier's range would. None of them solves a
challenge. Legitimate clients on the shared range do: on a 429 they solve the
ALTCHA challenge and send the same report again.

`flood()` is used by the flood test (raidwatch/intake/tests/test_flood.py) and
by `raidwatch bench flood`, which measures GET /en/rights/ p99 first without
and then during a flood, against a `raidwatch serve` subprocess. Everything is
bounded by a request count and a wall-clock limit and stays on loopback.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import BENCH_KEYS
from bench.loadgen import percentile, require_loopback

GOAL = "R12"
SHARED_PREFIX = "127.9.9"
SPREAD_PREFIXES = 250
REQUEST_TIMEOUT_S = 15.0
LEGIT_EVERY = 50  # one legitimate report among this many flood reports


@dataclass
class FloodResult:
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    accepted: int = 0
    legit_sent: int = 0
    legit_accepted: int = 0
    legit_solve_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)


async def http(
    host: str,
    port: int,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    source: str | None = None,
) -> tuple[int, bytes]:
    """One request on its own connection (from ``source`` if given); (status, body)."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port, local_addr=(source, 0) if source else None), REQUEST_TIMEOUT_S
    )
    try:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if body:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), REQUEST_TIMEOUT_S)
    finally:
        writer.close()
    head, _, rest = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        rest = _dechunk(rest)
    return status, rest


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out


def solve(challenge: dict[str, Any]) -> str:
    """What a client does with a challenge: find the number, send it back signed as given."""
    from altcha import v1 as altcha

    solution = altcha.solve_challenge(
        challenge["challenge"], challenge["salt"], challenge["algorithm"], int(challenge["maxnumber"])
    )
    if solution is None:
        raise ValueError("the challenge has no solution in its range")
    payload = {key: challenge[key] for key in ("algorithm", "challenge", "salt", "signature")}
    payload["number"] = solution.number
    return base64.b64encode(json.dumps(payload).encode()).decode()


def _report(number: int) -> bytes:
    # Spread over central London, so the flood opens incidents in many cells.
    lat = 51.47 + (number % 97) * 0.0009
    lon = -0.20 + (number % 89) * 0.0017
    body = {
        "kind": "van_sighting",
        "lat": round(lat, 5),
        "lon": round(lon, 5),
        "client_id": str(uuid.uuid4()),
    }
    return json.dumps(body).encode()


async def _flood_one(host: str, port: int, number: int, result: FloodResult) -> None:
    if number % 2:
        source, headers = f"127.20.{number % SPREAD_PREFIXES}.1", {}
    else:
        source = f"{SHARED_PREFIX}.{2 + number % 200}"
        headers = {"X-Raidwatch-Token": secrets.token_hex(8)}
    try:
        status, _ = await http(host, port, "POST", "/api/v1/reports", _report(number), headers, source)
    except (OSError, TimeoutError, ValueError, IndexError) as exc:
        result.errors.append(f"flood {number}: {exc!r}")
        return
    result.statuses[status] += 1
    result.accepted += status == 201


async def _legit_one(host: str, port: int, number: int, result: FloodResult) -> None:
    """A real reporter on the shared range: solves when asked, and gets through."""
    body = _report(10_000 + number)
    headers = {"X-Raidwatch-Token": f"legit-{number}"}
    source = f"{SHARED_PREFIX}.250"
    result.legit_sent += 1
    try:
        for _attempt in range(3):
            status, answer = await http(host, port, "POST", "/api/v1/reports", body, headers, source)
            result.statuses[status] += 1
            if status == 201:
                result.legit_accepted += 1
                return
            challenge = json.loads(answer).get("challenge")
            if challenge is None:
                result.errors.append(f"legit {number}: {status} without a challenge")
                return
            started = time.perf_counter()
            headers = {**headers, "X-Altcha": await asyncio.to_thread(solve, challenge)}
            result.legit_solve_s.append(time.perf_counter() - started)
    except (OSError, TimeoutError, ValueError, IndexError) as exc:
        result.errors.append(f"legit {number}: {exc!r}")


async def flood(
    host: str, port: int, *, per_minute: int = 1000, duration_s: float = 120.0, limit_s: float | None = None
) -> FloodResult:
    """Send ``per_minute`` reports a minute for ``duration_s``, evenly paced; bounded."""
    require_loopback(host)
    total = int(per_minute * duration_s / 60)
    interval = 60.0 / per_minute
    deadline = time.monotonic() + (limit_s or duration_s + 30.0)
    result = FloodResult()
    tasks: set[asyncio.Task[None]] = set()
    started = time.monotonic()
    for number in range(total):
        wait = started + number * interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        if time.monotonic() > deadline:
            break
        make = _legit_one if number % LEGIT_EVERY == LEGIT_EVERY - 1 else _flood_one
        task = asyncio.create_task(make(host, port, number, result))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        result.sent += 1
    if tasks:
        await asyncio.wait(tasks, timeout=max(1.0, deadline - time.monotonic()))
    result.elapsed_s = time.monotonic() - started
    return result


async def page_latencies(
    host: str, port: int, path: str, per_second: float, duration_s: float
) -> list[float]:
    """Milliseconds for GET ``path`` at a steady pace; failed requests count as the timeout."""
    latencies: list[float] = []

    async def one() -> None:
        started = time.perf_counter()
        try:
            status, _ = await http(host, port, "GET", path)
        except (OSError, TimeoutError, ValueError, IndexError):
            status = 0
        took = (time.perf_counter() - started) * 1000
        latencies.append(took if status == 200 else REQUEST_TIMEOUT_S * 1000)

    count = int(per_second * duration_s)
    tasks = []
    started = time.monotonic()
    for number in range(count):
        wait = started + number / per_second - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    return sorted(latencies)


# --- raidwatch bench flood ---------------------------------------------------------------


@dataclass(frozen=True)
class FloodBenchOptions:
    per_minute: int = 1000
    duration_s: float = 120.0
    page_per_second: float = 5.0
    baseline_s: float = 30.0
    work_dir: Path | None = None


def _line(
    metric: str, value: float, baseline: float | None, ratio: float | None, passed: bool
) -> dict[str, Any]:
    return dict(zip(BENCH_KEYS, ("flood", GOAL, metric, value, baseline, ratio, passed), strict=True))


def _measure(options: FloodBenchOptions, work: Path, progress: Callable[[str], None]) -> list[dict[str, Any]]:
    from bench.ingest import HOST, RAIDWATCH_START_TIMEOUT_S, _raidwatch_env, _server, free_port

    port = free_port()
    data_dir = work / "raidwatch"
    data_dir.mkdir(exist_ok=True)
    env = _raidwatch_env(data_dir)
    env.pop("RAIDWATCH_REPORT_ALLOWANCE")  # the flood meets the real gate, at its default allowance
    argv = ["-m", "raidwatch.cli", "serve", "--host", HOST, "--port", str(port), "--no-worker"]
    import sys

    progress(f"flood: serving on {HOST}:{port}; baseline GET /en/rights/ for {options.baseline_s:.0f} s")
    with _server(
        "raidwatch",
        [sys.executable, *argv],
        env,
        work,
        work / "raidwatch.log",
        port,
        RAIDWATCH_START_TIMEOUT_S,
    ):
        rights = "/en/rights/"
        asyncio.run(page_latencies(HOST, port, rights, options.page_per_second, 3.0))  # warm-up
        baseline = asyncio.run(
            page_latencies(HOST, port, rights, options.page_per_second, options.baseline_s)
        )
        progress(
            f"flood: {options.per_minute} reports/min for {options.duration_s:.0f} s, measuring the page"
        )

        async def both() -> tuple[FloodResult, list[float]]:
            return await asyncio.gather(
                flood(HOST, port, per_minute=options.per_minute, duration_s=options.duration_s),
                page_latencies(HOST, port, rights, options.page_per_second, options.duration_s),
            )

        result, during = asyncio.run(both())
    base_p99, flood_p99 = percentile(baseline, 0.99), percentile(during, 0.99)
    base_p50, flood_p50 = percentile(baseline, 0.5), percentile(during, 0.5)
    progress(
        f"flood: sent {result.sent}, statuses {dict(result.statuses)}, accepted {result.accepted},"
        f" legit {result.legit_accepted}/{result.legit_sent}"
    )
    legit_ok = result.legit_accepted == result.legit_sent
    return [
        _line("rights_p99_ms", round(flood_p99, 2), round(base_p99, 2), round(flood_p99 / base_p99, 3), True),
        _line("rights_p50_ms", round(flood_p50, 2), round(base_p50, 2), round(flood_p50 / base_p50, 3), True),
        _line(
            "flood_reports_accepted",
            result.accepted,
            result.sent,
            round(result.accepted / result.sent, 4),
            True,
        ),
        _line("server_errors", result.server_errors, 0, None, result.server_errors == 0),
        _line("legit_accepted", result.legit_accepted, result.legit_sent, None, legit_ok),
    ]


def run_flood_bench(options: FloodBenchOptions, progress: Callable[[str], None]) -> list[dict[str, Any]]:
    if options.work_dir is not None:
        options.work_dir.mkdir(parents=True, exist_ok=True)
        return _measure(options, options.work_dir.resolve(), progress)
    with tempfile.TemporaryDirectory(prefix="raidwatch-flood-") as temporary:
        return _measure(options, Path(temporary), progress)
