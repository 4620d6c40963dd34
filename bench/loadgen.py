"""A small HTTP/1.1 keep-alive load generator for loopback benchmarks.

Run it as its own process, so the load it makes does not share an interpreter
(or a GIL) with the server it measures:

    python -m bench.loadgen --port 8000 --requests 5000 --concurrency 64

It opens one keep-alive connection per unit of concurrency on raw asyncio
streams (no HTTP library, so nothing new to install), POSTs report bodies
scattered over a city, times each request from the first byte written to the
last byte read, and prints one JSON summary on stdout. Every run is bounded by a
request count and a wall-clock limit, and only ever talks to a loopback address.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import math
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

REPORTS_PATH = "/api/v1/reports"
LOCKED_MARKER = b"database is locked"
TOKEN_HEADER = "X-Raidwatch-Token"  # noqa: S105 - a header name, not a secret

# Central London; the hotspots below are spread over roughly 20 x 20 km around it.
CITY_CENTRE = (51.5072, -0.1276)
CITY_HALF_SPAN_DEG = (0.09, 0.14)  # about 10 km north-south and east-west
HOTSPOTS = 16
HOTSPOT_SPREAD_DEG = 0.003  # about 300 m: witnesses of one operation stand close together
HOTSPOT_SHARE = 0.8  # the rest are scattered anywhere in the city
KIND_WEIGHTS = {"van_sighting": 6, "checkpoint": 2, "arrest": 1, "raid": 1}

# A request that takes this long is counted as an error rather than left hanging.
REQUEST_TIMEOUT_S = 30.0
ERROR_SAMPLES = 3


def require_loopback(host: str) -> None:
    """Refuse anything but a loopback address: load tests never leave the machine."""
    if host == "localhost":
        return
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise SystemExit(f"loadgen: {host!r} is not an IP address; give a loopback address.") from None
    if not address.is_loopback:
        raise SystemExit(f"loadgen: {host} is not a loopback address; load tests stay on this machine.")


def report_bodies(count: int, seed: int) -> list[bytes]:
    """JSON report bodies that cluster the way real sightings do: most near a few
    hotspots, some anywhere. The seed fixes the places, so two servers measured in
    one run get the same geography; each client_id is a fresh UUID4, as a phone's
    offline queue would make."""
    rng = random.Random(seed)
    centre_lat, centre_lon = CITY_CENTRE
    span_lat, span_lon = CITY_HALF_SPAN_DEG
    hotspots = [
        (centre_lat + rng.uniform(-span_lat, span_lat), centre_lon + rng.uniform(-span_lon, span_lon))
        for _ in range(HOTSPOTS)
    ]
    kinds = list(KIND_WEIGHTS)
    weights = list(KIND_WEIGHTS.values())
    bodies = []
    for _ in range(count):
        if rng.random() < HOTSPOT_SHARE:
            lat0, lon0 = rng.choice(hotspots)
            lat = rng.gauss(lat0, HOTSPOT_SPREAD_DEG)
            lon = rng.gauss(lon0, HOTSPOT_SPREAD_DEG)
        else:
            lat = centre_lat + rng.uniform(-span_lat, span_lat)
            lon = centre_lon + rng.uniform(-span_lon, span_lon)
        report = {
            "kind": rng.choices(kinds, weights)[0],
            "lat": round(lat, 5),
            "lon": round(lon, 5),
            "client_id": str(uuid.uuid4()),
        }
        bodies.append(json.dumps(report, separators=(",", ":")).encode())
    return bodies


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            # Skip any trailers up to the blank line that ends the message.
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """One HTTP/1.1 response: (status, body, whether the server will close)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length: int | None = None
    chunked = False
    close = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            close = b"close" in value.lower()
    if chunked:
        body = await _read_chunked(reader)
    elif length is not None:
        body = await reader.readexactly(length)
    else:
        # No length and not chunked: the body runs to the end of the connection.
        body = await reader.read()
        close = True
    return status, body, close


Request = tuple[bytes, bytes]  # (head without its closing blank line, body)


@dataclass
class Phase:
    """Results of one phase (warm-up or measured); requests are taken in order."""

    requests: list[Request]
    deadline: float
    next_index: int = 0
    latencies: list[float] = field(default_factory=list)
    status_counts: Counter[str] = field(default_factory=Counter)
    ok: int = 0
    errors: int = 0
    locked: int = 0
    error_samples: list[str] = field(default_factory=list)
    stopped_by_time: bool = False

    def take(self) -> Request | None:
        if self.next_index >= len(self.requests):
            return None
        if time.perf_counter() >= self.deadline:
            self.stopped_by_time = True
            return None
        request = self.requests[self.next_index]
        self.next_index += 1
        return request

    def record(self, status: int, body: bytes, seconds: float) -> None:
        self.latencies.append(seconds)
        self.status_counts[str(status)] += 1
        # 201 Created is the only success: a 200 (a resend) or a 429 (a future
        # proof-of-work gate) means the report was not freshly stored.
        if status == 201:
            self.ok += 1
            return
        self.errors += 1
        if LOCKED_MARKER in body:
            self.locked += 1
        self._sample(f"{status}: {body[:200].decode('utf-8', 'replace')}")

    def fail(self, reason: str) -> None:
        self.status_counts["connection_error"] += 1
        self.errors += 1
        self._sample(reason)

    def _sample(self, text: str) -> None:
        if len(self.error_samples) < ERROR_SAMPLES:
            self.error_samples.append(text)


class Connection:
    """One keep-alive connection, reopened when the server closes it or it fails."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        # A per-connection client token, so each connection counts as its own reporter.
        self.token_line = f"{TOKEN_HEADER}: {token}\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, request: bytes) -> tuple[int, bytes]:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(request)
        status, body, close = await read_response(self.reader)
        if close:
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def build_requests(bodies: Sequence[bytes], host: str, port: int, path: str) -> list[Request]:
    """Requests built before the clock starts, so the client spends its time on the
    network, not on formatting. Each connection adds its own token header."""
    head = f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n".encode()
    return [(head + b"Content-Length: %d\r\n" % len(body), body) for body in bodies]


async def _drive(connection: Connection, phase: Phase) -> None:
    while (taken := phase.take()) is not None:
        head, body = taken
        request = b"".join((head, connection.token_line, b"\r\n", body))
        started = time.perf_counter()
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                status, body = await connection.send(request)
        except (OSError, EOFError, TimeoutError, ValueError, IndexError, asyncio.LimitOverrunError) as exc:
            # IncompleteReadError is an EOFError; a garbled head raises ValueError or IndexError.
            connection.close()
            phase.fail(f"{type(exc).__name__}: {exc}")
            continue
        phase.record(status, body, time.perf_counter() - started)


async def _run_phase(connections: Sequence[Connection], requests: list[Request], limit_s: float) -> Phase:
    phase = Phase(requests=requests, deadline=time.perf_counter() + limit_s)
    await asyncio.gather(*(_drive(connection, phase) for connection in connections))
    return phase


async def run_load(
    *,
    host: str,
    port: int,
    requests: int,
    concurrency: int,
    duration_limit_s: float,
    warmup: int = 0,
    seed: int = 1,
    path: str = REPORTS_PATH,
) -> dict[str, Any]:
    """Warm up with `warmup` requests, then measure `requests` more; both phases
    share the same connections and stop at their count or the time limit."""
    require_loopback(host)
    bodies = report_bodies(warmup + requests, seed)
    templates = build_requests(bodies, host, port, path)
    connections = [Connection(host, port, uuid.uuid4().hex) for _ in range(concurrency)]
    try:
        warm = await _run_phase(connections, templates[:warmup], duration_limit_s)
        started, cpu_started = time.perf_counter(), time.process_time()
        measured = await _run_phase(connections, templates[warmup:], duration_limit_s)
        elapsed, client_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        for connection in connections:
            connection.close()
    latencies_ms = sorted(seconds * 1000.0 for seconds in measured.latencies)
    return {
        "requests": measured.next_index,
        "ok": measured.ok,
        "errors": measured.errors,
        "locked": measured.locked,
        "status_counts": dict(measured.status_counts),
        "error_samples": measured.error_samples,
        "elapsed_s": round(elapsed, 4),
        "rps": round(measured.ok / elapsed, 2) if elapsed > 0 else 0.0,
        "p50_ms": round(percentile(latencies_ms, 0.50), 3),
        "p90_ms": round(percentile(latencies_ms, 0.90), 3),
        "p99_ms": round(percentile(latencies_ms, 0.99), 3),
        "max_ms": round(latencies_ms[-1], 3) if latencies_ms else 0.0,
        "stopped_by": "duration" if measured.stopped_by_time else "count",
        "concurrency": concurrency,
        # Near elapsed_s means the client, not the server, may have been the limit.
        "client_cpu_s": round(client_cpu, 3),
        "warmup_requests": warm.next_index,
        "warmup_ok": warm.ok,
        "warmup_errors": warm.errors,
        "warmup_locked": warm.locked,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default=REPORTS_PATH)
    parser.add_argument("--requests", type=int, default=5000, help="measured requests (after warm-up)")
    parser.add_argument("--concurrency", type=int, default=64, help="keep-alive connections in flight")
    parser.add_argument("--warmup", type=int, default=0, help="requests sent first and not measured")
    parser.add_argument(
        "--duration-limit", type=float, default=60.0, help="seconds each phase may run at most"
    )
    parser.add_argument("--seed", type=int, default=1, help="fixes where the reports are")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1 or args.warmup < 0 or args.duration_limit <= 0:
        parser.error(
            "--requests and --concurrency must be at least 1, --warmup at least 0, --duration-limit positive"
        )
    require_loopback(args.host)
    run = run_load(
        host=args.host,
        port=args.port,
        path=args.path,
        requests=args.requests,
        concurrency=args.concurrency,
        duration_limit_s=args.duration_limit,
        warmup=args.warmup,
        seed=args.seed,
    )
    try:
        import uvloop
    except ImportError:
        summary = asyncio.run(run)
        loop = "asyncio"
    else:
        # The faster loop keeps the client's own overhead small on a 2-core machine,
        # where it shares the CPU with the server it measures.
        summary = asyncio.run(run, loop_factory=uvloop.new_event_loop)
        loop = "uvloop"
    summary["client_loop"] = loop
    sys.stdout.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    main()
