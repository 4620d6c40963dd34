"""G1 and G6: the live event stream (SSE) with many clients connected.

One run:

1. starts `raidwatch serve --no-worker` on a fresh data directory and a free
   loopback port, runs `raidwatch demo` for the volunteers, and posts one
   report per round through the API (each an unverified incident to confirm);
2. starts a client process (`python -m bench.sse client`) that opens one
   warm-up stream, then N streams to `GET /events` on raw asyncio connections;
   the server's resident memory is read from /proc before and after the N;
3. starts a confirming process (`python -m bench.sse confirmer`): Django set
   up on the same data directory, running the `incident confirm` management
   command, the code behind `raidwatch incident confirm ID --by verifier`;
4. each round (at a random moment, so rounds fall anywhere in the hub's poll
   interval) posts a new report (an unverified incident that public streams
   must not see) and confirms one of the prepared incidents. The confirmer
   notes the monotonic clock when the command returns, after its commit; the
   client notes the clock as each stream's frame arrives. CLOCK_MONOTONIC is
   one clock for the whole machine, so the two compare directly.

Why a warm process rather than `raidwatch incident confirm` itself: that
process spends about a second starting Django and commits before it exits, so
a frame can arrive before the command has "finished" and the figure would say
more about process exit than about the stream.

Latencies include the client's own time to read 2,000 to 20,000 sockets in one
Python process on the same two cores as the server, so they are upper bounds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import io
import json
import math
import os
import queue
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from bench import BENCH_KEYS
from bench.ingest import (
    HOST,
    RAIDWATCH_START_TIMEOUT_S,
    REPO_ROOT,
    HarnessError,
    _raidwatch_env,
    _server,
    free_port,
    process_cpu_s,
)
from bench.loadgen import percentile, require_loopback

__all__ = ["HarnessError", "SseOptions", "SseRun", "result_lines", "run_sse"]

FIRST_FRAME_P99_MS = 250.0  # G1
BROADCAST_P99_MS = 1000.0  # G6
MAX_KIB_PER_CLIENT = 32.0  # G6
MAX_CLIENTS = 20_000

# Connections being opened at once: below uvicorn's listen backlog (2,048).
CONNECT_CONCURRENCY = 200
# How long one round waits for its frame to reach every client.
ROUND_TIMEOUT_S = 10.0
# Rounds start at a random moment in this range after the previous one ends.
ROUND_GAP_S = (0.2, 0.5)
# Memory settles (the last responses flushed, buffers trimmed) before it is read.
SETTLE_S = 1.0
HELPER_START_TIMEOUT_S = 60.0
REPLY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
# Descriptors each process needs beside its connections (the listening socket,
# the database and its WAL for two connections, logs, pipes, the event loop's own).
SPARE_FILES = 100

PUBLIC_EVENT = b"incident.confirm"
# Reports for the rounds: a grid over London, about 5.5 km between points,
# so that no two reports join one incident.
GRID_ORIGIN = (51.30, -0.45)
GRID_STEP_DEG = (0.05, 0.08)
GRID_COLUMNS = 10

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SseOptions:
    clients: int = 2_000
    rounds: int = 20
    duration_limit_s: float = 300.0
    seed: int = 1
    # Where the server's database and logs go; a temporary directory removed
    # afterwards when not given.
    work_dir: Path | None = None


@dataclass(frozen=True)
class SseRun:
    lines: list[dict[str, Any]]
    summary: dict[str, Any]
    work_dir: Path


def nearest_rank(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of unsorted values; NaN when there are none
    (with 20 rounds, p99 is the slowest round)."""
    return percentile(sorted(values), share) if values else math.nan


def rss_kib(pid: int) -> int | None:
    """A process's resident set size in KiB (Linux /proc), else None."""
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def raise_open_files_limit(needed: int) -> None:
    """Let this process and its children hold ``needed`` descriptors, raising
    the hard limit too where allowed (root); HarnessError if that cannot be."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, needed))
            return
        except (ValueError, OSError):
            raise HarnessError(
                f"{needed} open files are needed and the limit is {hard}, so at most"
                f" {hard - SPARE_FILES} clients here; raise it (ulimit -Hn) for more"
            ) from None
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


# --- The parent: server, helpers, rounds


class Helper:
    """A child process spoken to in JSON lines over its stdin and stdout."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        with log.open("wb") as log_file:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                argv,
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log_file,
                text=True,
            )
        self._lines: queue.Queue[str | None] = queue.Queue()
        # A thread reads stdout, so that a wait for a reply can time out.
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None  # noqa: S101 - opened above
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None  # noqa: S101 - opened above
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            raise HarnessError(f"the {self.name} exited early:\n{self._tail()}") from None

    def receive(self, timeout_s: float) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout_s)
        except queue.Empty:
            raise HarnessError(f"the {self.name} did not answer within {timeout_s:.0f} s") from None
        if line is None:
            raise HarnessError(f"the {self.name} exited early:\n{self._tail()}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def _tail(self) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-20:])

    def stop(self) -> None:
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def _helper(name: str, argv: Sequence[str], env: dict[str, str], log: Path) -> Iterator[Helper]:
    helper = Helper(name, argv, env, log)
    try:
        yield helper
    finally:
        helper.stop()


def _post_report(port: int, index: int) -> int:
    """One report through the API at grid point ``index``; its incident's id."""
    row, column = divmod(index, GRID_COLUMNS)
    body = {
        "kind": "raid",
        "lat": round(GRID_ORIGIN[0] + row * GRID_STEP_DEG[0], 5),
        "lon": round(GRID_ORIGIN[1] + column * GRID_STEP_DEG[1], 5),
    }
    connection = http.client.HTTPConnection(HOST, port, timeout=REPLY_TIMEOUT_S)
    try:
        connection.request("POST", "/api/v1/reports", json.dumps(body), {"Content-Type": "application/json"})
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    if response.status != 201:
        raise HarnessError(f"a report was answered {response.status}: {payload[:300]!r}")
    incident_id: int = json.loads(payload)["incident"]["id"]
    return incident_id


def _run_cli(argv: Sequence[str], env: dict[str, str], work: Path, name: str) -> None:
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "raidwatch.cli", *argv],
        cwd=work,
        env=env,
        capture_output=True,
        timeout=HELPER_START_TIMEOUT_S,
        check=False,
    )
    (work / f"{name}.log").write_bytes(done.stdout + done.stderr)
    if done.returncode != 0:
        raise HarnessError(f"`raidwatch {' '.join(argv)}` failed:\n{done.stderr.decode()[-2000:]}")


def _line(goal: str, metric: str, value: float, baseline: float, passed: bool) -> dict[str, Any]:
    ratio = round(value / baseline, 4) if baseline else None
    values = ("sse", goal, metric, value, baseline, ratio, passed)
    return dict(zip(BENCH_KEYS, values, strict=True))


def result_lines(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The contract lines from a run's summary."""
    first = summary["first_frame_p99_ms"]
    broadcast = summary["broadcast_p99_ms"]
    per_client = summary["kib_per_client"]
    connected, requested = summary["connected"], summary["clients"]
    missed, leaked = summary["frames_missed"], summary["non_public_frames"]
    return [
        _line("G1", "first_frame_p99_ms", first, FIRST_FRAME_P99_MS, first <= FIRST_FRAME_P99_MS),
        _line(
            "G6",
            "broadcast_p99_ms",
            broadcast,
            BROADCAST_P99_MS,
            broadcast <= BROADCAST_P99_MS and not missed,
        ),
        _line("G6", "kib_per_client", per_client, MAX_KIB_PER_CLIENT, per_client <= MAX_KIB_PER_CLIENT),
        _line("G6", "clients_connected", connected, requested, connected == requested),
        # Bounds of zero: a ratio to them means nothing, so it is null.
        _line("G6", "frames_missed", missed, 0, missed == 0),
        # Nothing reaches the public without a verifier (SECURITY.md R12).
        _line("R12", "non_public_frames", leaked, 0, leaked == 0),
    ]


def _rounds(
    options: SseOptions,
    port: int,
    prepared: list[int],
    client: Helper,
    confirmer: Helper,
    deadline: float,
    progress: Progress,
) -> list[dict[str, Any]]:
    rng = random.Random(options.seed)
    results = []
    for number, incident_id in enumerate(prepared, start=1):
        if time.monotonic() > deadline:
            progress(f"sse: stopped after {number - 1} rounds at the duration limit")
            break
        time.sleep(rng.uniform(*ROUND_GAP_S))
        # An unverified incident while the streams listen: public streams must not see it.
        _post_report(port, len(prepared) + number)
        confirmer.send({"confirm": incident_id})
        confirmed = confirmer.receive(REPLY_TIMEOUT_S)
        client.send({"expect": confirmed["event"], "done": confirmed["done"]})
        result = client.receive(ROUND_TIMEOUT_S + REPLY_TIMEOUT_S)
        result["done"] = confirmed["done"]
        results.append(result)
        progress(
            f"sse: round {number}: first frame {result['first_ms']:.1f} ms, all {result['received']}"
            f" clients {result['last_ms']:.1f} ms"
        )
    return results


def _measure(options: SseOptions, work: Path, progress: Progress) -> SseRun:
    started = time.monotonic()
    deadline = started + options.duration_limit_s
    raise_open_files_limit(options.clients + SPARE_FILES)
    port = free_port()
    data_dir = work / "raidwatch"
    data_dir.mkdir(exist_ok=True)
    env = _raidwatch_env(data_dir)
    progress(f"sse: migrating a fresh database and serving on {HOST}:{port}")
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
    with _server("raidwatch", argv, env, work, log, port, RAIDWATCH_START_TIMEOUT_S) as server:
        _run_cli(["demo"], env, work, "demo")
        prepared = [_post_report(port, index) for index in range(options.rounds)]
        module = [sys.executable, "-m", "bench.sse"]
        with (
            _helper("confirmer", [*module, "confirmer"], env, work / "confirmer.log") as confirmer,
            _helper(
                "client",
                [*module, "client", "--port", str(port), "--clients", str(options.clients)],
                env,
                work / "client.log",
            ) as client,
        ):
            confirmer.receive(HELPER_START_TIMEOUT_S)  # Django is set up
            client.receive(HELPER_START_TIMEOUT_S)  # the warm-up stream is open
            time.sleep(SETTLE_S)
            rss_before = rss_kib(server.pid)
            cpu_before = process_cpu_s(server.pid)
            progress(f"sse: server RSS {rss_before} KiB with one stream; opening {options.clients}")
            client.send({"connect": max(1.0, deadline - time.monotonic())})
            connected = client.receive(options.duration_limit_s + REPLY_TIMEOUT_S)
            time.sleep(SETTLE_S)
            rss_after = rss_kib(server.pid)
            cpu_after = process_cpu_s(server.pid)
            cpu = "?" if cpu_after is None or cpu_before is None else f"{cpu_after - cpu_before:.1f}"
            progress(
                f"sse: {connected['connected']} connected ({connected['failed']} failed) in"
                f" {connected['connect_s']:.1f} s; server RSS {rss_after} KiB, server CPU {cpu} s"
            )
            rounds = _rounds(options, port, prepared, client, confirmer, deadline, progress)
            client.send({"finish": True})
            final = client.receive(REPLY_TIMEOUT_S)
    summary = _summarise(options, connected, rounds, final, rss_before, rss_after)
    (work / "sse-summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    lines = result_lines(summary)
    progress(f"sse: done in {time.monotonic() - started:.0f} s")
    return SseRun(lines, summary, work)


def _summarise(
    options: SseOptions,
    connected: dict[str, Any],
    rounds: list[dict[str, Any]],
    final: dict[str, Any],
    rss_before: int | None,
    rss_after: int | None,
) -> dict[str, Any]:
    if not rounds:
        raise HarnessError("no round completed within the duration limit")
    if rss_before is None or rss_after is None:
        raise HarnessError("the server's memory could not be read from /proc")
    count = connected["connected"]
    return {
        "clients": options.clients,
        "connected": count,
        "failed": connected["failed"],
        "connect_s": connected["connect_s"],
        "rounds": len(rounds),
        "first_frame_p99_ms": round(nearest_rank([r["first_ms"] for r in rounds], 0.99), 1),
        "first_frame_p50_ms": round(nearest_rank([r["first_ms"] for r in rounds], 0.5), 1),
        "all_clients_p99_ms": round(nearest_rank([r["last_ms"] for r in rounds], 0.99), 1),
        "broadcast_p99_ms": round(final["p99_ms"], 1),
        "broadcast_p50_ms": round(final["p50_ms"], 1),
        "frames_missed": sum(count - r["received"] for r in rounds),
        "connections_lost": final["lost"],
        "non_public_frames": final["unexpected"],
        "rss_before_kib": rss_before,
        "rss_after_kib": rss_after,
        "kib_per_client": round((rss_after - rss_before) / max(count, 1), 2),
        "per_round": rounds,
    }


def run_sse(options: SseOptions, progress: Progress) -> SseRun:
    """Run the bench and return the contract lines."""
    if not 1 <= options.clients <= MAX_CLIENTS:
        raise HarnessError(f"clients must be from 1 to {MAX_CLIENTS}")
    if options.rounds < 1 or options.duration_limit_s <= 0:
        raise HarnessError("rounds must be at least 1 and the duration limit positive")
    progress(
        f"sse: {options.clients} clients, {options.rounds} rounds, at most {options.duration_limit_s:.0f} s"
    )
    if options.work_dir is not None:
        work = options.work_dir.resolve()
        work.mkdir(parents=True, exist_ok=True)
        return _measure(options, work, progress)
    with tempfile.TemporaryDirectory(prefix="raidwatch-bench-") as temporary:
        return _measure(options, Path(temporary), progress)


# --- The confirmer process


def confirmer_main() -> None:
    """Confirm incidents on request: {"confirm": ID} in, {"event", "done"} out."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "raidwatch.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from raidwatch.incidents.models import Event

    _reply({"ready": True})
    for line in sys.stdin:
        incident_id = json.loads(line)["confirm"]
        call_command("incident", "confirm", str(incident_id), "--by", "verifier", stdout=io.StringIO())
        done = time.monotonic()  # committed: the command has returned
        event = (
            Event.objects.filter(incident_id=incident_id, type="incident.confirm")
            .order_by("-id")
            .values_list("id", flat=True)
            .first()
        )
        _reply({"event": event, "done": done})


def _reply(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


# --- The client process


REQUEST = b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"


class Listener(asyncio.Protocol):
    """One SSE client, as lean as can be: notes the arrival time of each frame id.

    Lines are parsed straight off the socket. The chunked transfer coding's
    size lines never start with "id: " or "event: ", and the server writes
    each frame within one chunk, so they can be ignored.
    """

    def __init__(self, crowd: Crowd, *, measured: bool) -> None:
        self.crowd = crowd
        self.measured = measured
        self.head = b""
        self.tail = b""
        self.in_body = False
        self.subscribed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        cast("asyncio.WriteTransport", transport).write(REQUEST)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        if not self.in_body:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            status = self.head.split(b" ", 2)[1]
            data, self.head, self.in_body = self.head[end + 4 :], b"", True
            if status != b"200" and not self.subscribed.done():
                self.subscribed.set_exception(ConnectionError(f"status {status.decode()}"))
                return
        lines = (self.tail + data).split(b"\n")
        self.tail = lines.pop()
        for line in lines:
            if line.startswith(b"id: "):
                if self.measured:
                    self.crowd.arrived(int(line[4:]), now)
            elif line.startswith(b"event: ") and line[7:] != PUBLIC_EVENT:
                self.crowd.unexpected += 1
            elif line.startswith(b"retry: ") and not self.subscribed.done():
                self.subscribed.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.subscribed.done():
            self.subscribed.set_exception(ConnectionError("closed before subscribing"))
        elif not self.subscribed.cancelled() and self.subscribed.exception() is None:
            self.crowd.lost += 1


class Crowd:
    """Every client's arrivals, by event id."""

    def __init__(self) -> None:
        self.arrivals: dict[int, list[float]] = {}
        self.unexpected = 0
        self.lost = 0
        self.listeners: list[Listener] = []
        self.transports: list[asyncio.BaseTransport] = []

    def arrived(self, event_id: int, at: float) -> None:
        self.arrivals.setdefault(event_id, []).append(at)

    async def open(self, host: str, port: int, timeout_s: float, *, measured: bool = True) -> bool:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout_s):
                transport, listener = await loop.create_connection(
                    lambda: Listener(self, measured=measured), host, port
                )
                self.transports.append(transport)
                await listener.subscribed
        except (OSError, TimeoutError):  # ConnectionError is an OSError
            return False
        self.listeners.append(listener)
        return True


async def _client(host: str, port: int, clients: int) -> None:
    require_loopback(host)
    crowd = Crowd()
    # Opened first, and not measured: it starts the server's hub and loads
    # the code that any stream needs, so that the memory read next counts
    # what each further stream adds.
    if not await crowd.open(host, port, REPLY_TIMEOUT_S, measured=False):
        raise SystemExit("the warm-up stream did not open")
    _reply({"warm": True})
    command = json.loads(await asyncio.to_thread(sys.stdin.readline))
    limit_s = float(command["connect"])
    started = time.monotonic()
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one() -> bool:
        async with gate:
            return await crowd.open(host, port, max(0.1, started + limit_s - time.monotonic()))

    opened = await asyncio.gather(*(one() for _ in range(clients)))
    _reply(
        {"connected": sum(opened), "failed": clients - sum(opened), "connect_s": time.monotonic() - started}
    )
    count = sum(opened)
    latencies: list[float] = []
    while line := await asyncio.to_thread(sys.stdin.readline):
        command = json.loads(line)
        if "finish" in command:
            break
        event_id, done = command["expect"], command["done"]
        deadline = time.monotonic() + ROUND_TIMEOUT_S
        while len(crowd.arrivals.get(event_id, ())) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        times = [(at - done) * 1000 for at in crowd.arrivals.get(event_id, ())]
        latencies.extend(times)
        _reply(
            {
                "event": event_id,
                "received": len(times),
                "first_ms": min(times, default=math.nan),
                "last_ms": max(times, default=math.nan),
            }
        )
    _reply(
        {
            "p50_ms": nearest_rank(latencies, 0.5),
            "p99_ms": nearest_rank(latencies, 0.99),
            "unexpected": crowd.unexpected,
            "lost": crowd.lost,
        }
    )
    for transport in crowd.transports:
        transport.close()


def client_main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sse client")
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--clients", type=int, required=True)
    options = parser.parse_args(argv)
    raise_open_files_limit(options.clients + SPARE_FILES)
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    runner(_client(options.host, options.port, options.clients))


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["client"]:
        client_main(args[1:])
    elif args[:1] == ["confirmer"]:
        confirmer_main()
    else:
        raise SystemExit(
            "usage: python -m bench.sse client|confirmer …  (run the bench with `raidwatch bench sse`)"
        )


if __name__ == "__main__":
    main()
