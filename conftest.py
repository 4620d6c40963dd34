"""Shared test set-up: personas, isolated key files, and the CI rule on skips."""

from __future__ import annotations

import os
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

REQUIRE_ALL = os.environ.get("RAIDWATCH_REQUIRE_ALL") == "1"

# Browser fixtures (Playwright on Debian's Chromium) live in a plugin module.
pytest_plugins = [
    "raidwatch.testing.browser",
    "raidwatch.testing.recording",
    "raidwatch.testing.fake_push",
    "raidwatch.testing.fake_messaging",
    "raidwatch.testing.fake_smtp",
    "raidwatch.testing.fake_sms",
    "raidwatch.testing.fake_social",
]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[Any]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    # In CI every tool a test needs must be present: a skip is a failure there.
    if REQUIRE_ALL and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped, but RAIDWATCH_REQUIRE_ALL=1 forbids skips: {report.longrepr}"
    return report


@pytest.fixture(scope="session", autouse=True)
def _close_background_connections(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Before the test database is dropped, close the connections that
    background threads (the event hub's reader) keep open, so PostgreSQL does
    not refuse to drop a database that is "being accessed by other users"."""
    yield
    from django.db import connection

    from raidwatch.lib.events import retire_hub

    retire_hub()
    if connection.vendor != "postgresql":
        return
    # A connection closed by a thread or a killed process a moment ago can
    # still be listed while its server process exits: give it a few seconds.
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] == 0:
                break
            time.sleep(0.1)


@pytest.fixture(autouse=True)
def _isolated_keys(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """Each test gets its own key directory, so destroying keys in one test
    cannot touch another's, nor the demo's."""
    from raidwatch.lib import crypto

    settings.KEY_DIR = tmp_path / "keys"
    crypto._current.clear()
    yield settings.KEY_DIR
    crypto._current.clear()


@pytest.fixture(autouse=True)
def _generous_report_allowance(settings: Any) -> None:
    """Many tests post several reports or subscriptions from one test client; the
    abuse gate (intake/gate.py) would rightly ask them for proof-of-work. The
    gate's own tests and the flood test set the small allowance back."""
    settings.RAIDWATCH_REPORT_ALLOWANCE = 1_000_000


def _volunteer(username: str, role: str) -> Any:
    from raidwatch.accounts.models import Volunteer

    return Volunteer.objects.create_user(username, password=f"{username}-correct-horse", role=role)


@pytest.fixture
def verifier(db: None) -> Any:
    return _volunteer("verifier", "verifier")


@pytest.fixture
def coordinator(db: None) -> Any:
    return _volunteer("coordinator", "coordinator")


@pytest.fixture
def responder(db: None) -> Any:
    return _volunteer("responder", "responder")
