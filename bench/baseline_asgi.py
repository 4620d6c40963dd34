"""The G5 baseline: the least an HTTP report-ingest endpoint can do on this stack.

A raw ASGI callable (no framework, no middleware, no ORM) served by the same
uvicorn, httptools and uvloop as `raidwatch serve`. It reads the JSON body,
checks the few fields it needs, inserts one row with the standard library's
sqlite3 (WAL, one connection, one commit per row) into a table about as wide as
raidwatch's report table, and answers 201 with a small JSON body. raidwatch is
measured as a fraction of this rate, taken in the same run on the same machine.

    python -m bench.baseline_asgi --port 8001 --db baseline.sqlite3
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

KINDS = frozenset({"van_sighting", "raid", "arrest", "checkpoint", "other"})

# Columns mirror raidwatch's intake report (incident link, cell, sealed point,
# timestamps, text, language, source, unique client id, reporter key), so the
# database does comparable work per row, including the unique index.
SCHEMA = """
CREATE TABLE IF NOT EXISTS report (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER,
    kind TEXT NOT NULL,
    cell TEXT NOT NULL,
    location BLOB,
    location_expires_at REAL,
    place_label TEXT NOT NULL DEFAULT '',
    observed_at REAL NOT NULL,
    received_at REAL NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL,
    source TEXT NOT NULL,
    client_id TEXT UNIQUE,
    reporter_key TEXT NOT NULL
);
"""
INSERT = (
    "INSERT INTO report (kind, cell, location, location_expires_at, observed_at, received_at,"
    " language, source, client_id, reporter_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
LOCATION_RETENTION_S = 24 * 3600


def open_database(path: str) -> sqlite3.Connection:
    # Autocommit (isolation_level=None): each INSERT is its own transaction and
    # commit, as each raidwatch report is. The pragmas match raidwatch's settings.
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.executescript(SCHEMA)
    return connection


async def _respond(send: Send, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _valid(data: object) -> dict[str, Any] | None:
    if not isinstance(data, dict) or data.get("kind") not in KINDS:
        return None
    lat, lon = data.get("lat"), data.get("lon")
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return None
    if not -90 <= lat <= 90 or not -180 <= lon <= 180:
        return None
    return data


class BaselineApp:
    """The ASGI application; one sqlite3 connection used from the event loop only."""

    def __init__(self, db_path: str) -> None:
        self.db = open_database(db_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if method == "GET" and path == "/healthz":
            await _respond(send, 200, {"status": "ok"})
            return
        if method != "POST" or path != "/api/v1/reports":
            await _respond(send, 404, {"error": {"code": "not_found"}})
            return
        try:
            data = _valid(json.loads(await _read_body(receive)))
        except ValueError:
            data = None
        if data is None:
            await _respond(send, 422, {"error": {"code": "invalid"}})
            return
        now = time.time()
        lat, lon = float(data["lat"]), float(data["lon"])
        # A coarse grid label stands in for the H3 cell, and the packed point for
        # the sealed one: the row's shape matters here, not the application's work.
        cell = f"{lat:.2f}:{lon:.2f}"
        location = f"{lat:.6f},{lon:.6f}".encode()
        try:
            # Synchronous on purpose: with one connection on one loop there is never
            # a second writer, so SQLite's lock is never contended.
            cursor = self.db.execute(
                INSERT,
                (
                    data["kind"],
                    cell,
                    location,
                    now + LOCATION_RETENTION_S,
                    now,
                    now,
                    "en",
                    "api",
                    str(data.get("client_id") or "") or None,
                    "baseline",
                ),
            )
        except sqlite3.Error as exc:
            # Surfaced in the body so the load generator can count "database is locked".
            await _respond(send, 500, {"error": {"code": "database", "message": str(exc)}})
            return
        await _respond(send, 201, {"id": cursor.lastrowid})


def main(argv: Sequence[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(
        prog="python -m bench.baseline_asgi", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True, help="SQLite file to create or append to")
    args = parser.parse_args(argv)
    # The same server options as `raidwatch serve`: no access log, no lifespan, and
    # uvicorn's automatic choice of httptools and uvloop.
    uvicorn.run(
        BaselineApp(args.db),
        host=args.host,
        port=args.port,
        access_log=False,
        log_level="warning",
        server_header=False,
        lifespan="off",
    )


if __name__ == "__main__":
    main()
