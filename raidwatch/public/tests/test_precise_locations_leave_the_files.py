"""R3, byte by byte: once their retention has passed, precise points are gone
from the SQLite file and its -wal and -shm files, in every form, and the
sealed copies cannot be opened any more.

SQLite only: the proof reads the database's own files, which PostgreSQL keeps
on the server's disk out of the test's reach (its equivalent is the key
destruction, proven on both engines in test_purge_command.py).
"""

from __future__ import annotations

import struct
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from raidwatch.coordination import tuning
from raidwatch.intake.models import Report
from raidwatch.lib import crypto

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3",
        reason="reads the SQLite file and its -wal/-shm files; PostgreSQL keeps its files on the server",
    ),
]

# Distinctive points, unlike any coordinate another test or the gazetteers use.
POINTS = [(51.512345, -0.071234), (51.498765, -0.123987)]


def forms_of(value: float) -> dict[str, bytes]:
    """Every way a coordinate could sit in a file: text at several precisions, and IEEE-754 doubles."""
    text = f"{value:.6f}"
    forms = {
        f"text {text}": text.encode(),
        f"text {value:.4f}": f"{value:.4f}".encode(),
        f"text {abs(value):.6f}": f"{abs(value):.6f}".encode(),
        f"double LE {text}": struct.pack("<d", value),
        f"double BE {text}": struct.pack(">d", value),
    }
    return forms


def needles() -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for lat, lon in POINTS:
        found |= forms_of(lat) | forms_of(lon)
    return found


def database_files() -> dict[str, bytes]:
    name = Path(connection.settings_dict["NAME"])
    return {
        path.name: path.read_bytes()
        for path in (name, Path(f"{name}-wal"), Path(f"{name}-shm"))
        if path.exists()
    }


def hits() -> list[str]:
    files = database_files()
    assert files, "the test database should be a file"
    return [
        f"{what} in {file}"
        for file, data in files.items()
        for what, needle in needles().items()
        if needle in data
    ]


def checkpoint() -> None:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def submit_precise_reports() -> list[bytes]:
    client = Client()
    for lat, lon in POINTS:
        response = client.post(
            "/api/v1/reports",
            {"kind": "van_sighting", "lat": lat, "lon": lon},
            content_type="application/json",
        )
        assert response.status_code == 201, response.content
    sealed = [
        bytes(blob)
        for blob in Report.objects.order_by("pk").values_list("location_sealed", flat=True)
        if blob
    ]
    assert len(sealed) == len(POINTS)
    return sealed


@pytest.fixture(autouse=True)
def _environment_retention(settings: Any) -> Any:
    settings.RAIDWATCH_LOCATION_RETENTION_HOURS = 24
    tuning.invalidate()
    yield
    tuning.invalidate()


def test_after_retention_no_file_holds_a_precise_point_and_no_seal_opens() -> None:
    sealed = submit_precise_reports()
    assert [crypto.open_location(blob) for blob in sealed] == POINTS

    with time_machine.travel(timezone.now() + timedelta(hours=25), tick=False):
        call_command("purge", stdout=StringIO())
    checkpoint()

    assert [crypto.open_location(blob) for blob in sealed] == [None] * len(POINTS)
    assert not list((Path(settings.KEY_DIR) / "location").glob("*.key"))
    assert hits() == []


def test_before_retention_the_seal_still_opens_and_the_files_hold_no_plain_point() -> None:
    # The points were never stored in the clear, only sealed: before expiry the
    # file holds ciphertext, and the key file (outside the database) opens it.
    sealed = submit_precise_reports()
    with time_machine.travel(timezone.now() + timedelta(hours=23), tick=False):
        call_command("purge", stdout=StringIO())
    checkpoint()
    assert [crypto.open_location(blob) for blob in sealed] == POINTS
    assert hits() == []


# The search must be able to fail: a point stored in the clear is found in each form.


@pytest.mark.parametrize("form", ["text", "double"])
def test_the_search_finds_a_point_stored_in_the_clear(form: str) -> None:
    lat, lon = POINTS[0]
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE canary_points (lat text, lon blob)")
        if form == "text":
            cursor.execute("INSERT INTO canary_points VALUES (%s, %s)", [f"{lat:.6f}", b""])
        else:
            cursor.execute("INSERT INTO canary_points VALUES (%s, %s)", ["", struct.pack("<d", lon)])
    try:
        checkpoint()
        found = hits()
        expected = f"text {lat:.6f}" if form == "text" else f"double LE {lon:.6f}"
        assert any(hit.startswith(expected) for hit in found), found
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE canary_points")
