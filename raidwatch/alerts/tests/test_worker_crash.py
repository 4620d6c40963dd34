"""SIGKILL the worker in the middle of a 2,000-recipient fan-out, then restart it.

Real processes on a real SQLite file: the worker is `raidwatch worker`, the
channel is ntfy, and the ntfy server is a local fake that counts what arrives.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

RECIPIENTS = 2000
BATCH = 200  # raidwatch.alerts.outbox.BATCH: at most one claimed batch may repeat
REPO = Path(__file__).resolve().parents[3]

SEED = f"""
import django
django.setup()
from raidwatch.accounts.models import Volunteer
from raidwatch.incidents import actions
from raidwatch.incidents.tests.factories import report
from raidwatch.subscriptions.areas import resolve_area
from raidwatch.subscriptions.actions import subscribe

area = resolve_area({{"lat": 51.5155, "lon": -0.0723, "radius_km": 1}})
for i in range({RECIPIENTS}):
    subscribe(channel="ntfy", area=area, language="en", level="verified", contact={{"address": f"t{{i}}"}})
verifier = Volunteer.objects.create_user("verifier", password="x" * 20, role="verifier")
actions.confirm(report().incident.pk, verifier)
"""


class _Ntfy(BaseHTTPRequestHandler):
    received: Counter[str]
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.lock:
            self.received[body["topic"]] += 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def ntfy() -> Iterator[tuple[str, Counter[str]]]:
    received: Counter[str] = Counter()
    handler = type("Handler", (_Ntfy,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()


def _env(data_dir: Path, ntfy_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAIDWATCH_", "DATABASE_URL", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="raidwatch.settings",
        RAIDWATCH_DATA_DIR=str(data_dir),
        RAIDWATCH_NTFY_BASE=ntfy_url,
        RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS="1",
        # Short, so the restarted worker takes over the dead one's claim within the test.
        RAIDWATCH_DELIVERY_LEASE_SECONDS="2",
    )
    return env


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "raidwatch.cli", "worker"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _statuses(database: Path) -> Counter[str]:
    with sqlite3.connect(database) as db:
        return Counter(
            dict(db.execute("SELECT status, COUNT(*) FROM alerts_delivery GROUP BY status").fetchall())
        )


def _wait(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.dbsensitive
def test_a_killed_worker_loses_nothing_and_repeats_at_most_one_batch(tmp_path: Path, ntfy) -> None:
    url, received = ntfy
    env = _env(tmp_path, url)
    run = [sys.executable, "-m", "raidwatch.cli"]
    subprocess.run([*run, "migrate", "-v", "0"], cwd=REPO, env=env, check=True)  # noqa: S603
    subprocess.run([sys.executable, "-c", SEED], cwd=REPO, env=env, check=True)  # noqa: S603
    database = tmp_path / "raidwatch.sqlite3"

    worker = _worker(env)
    try:
        assert _wait(lambda: sum(received.values()) >= RECIPIENTS // 4, 180), "the first worker sent nothing"
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    at_kill = sum(received.values())
    assert at_kill < RECIPIENTS, "the worker finished before it could be killed; the test proves nothing"

    # The second worker finds the claims of the first expired (lease) and goes on.
    restarted = _worker(env)
    try:
        assert _wait(lambda: _statuses(database).get("sent", 0) == RECIPIENTS, 300), (
            _statuses(database),
            at_kill,
        )
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(20)

    assert len(received) == RECIPIENTS  # everyone, nobody lost
    repeats = sum(count - 1 for count in received.values())
    assert repeats <= BATCH
    assert _statuses(database) == Counter({"sent": RECIPIENTS})
