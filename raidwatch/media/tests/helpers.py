"""Posting photos the way a reporter's phone does, and reading back what was stored."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from raidwatch.incidents.tests.factories import report
from raidwatch.intake.api import media_token_for
from raidwatch.intake.models import Report
from raidwatch.media import actions
from raidwatch.media.models import Photo


def new_report(**kwargs: Any) -> Report:
    return report(**kwargs).report


def post_photo(
    report_id: int,
    data: bytes,
    *,
    token: str | None = None,
    name: str = "photo.jpg",
    content_type: str = "image/jpeg",
    client: Client | None = None,
) -> Any:
    token = media_token_for(report_id) if token is None else token
    upload = SimpleUploadedFile(name, data, content_type=content_type)
    return (client or Client()).post(
        f"/api/v1/reports/{report_id}/media", {"file": upload}, headers={"Authorization": f"Bearer {token}"}
    )


def stored_jpeg(photo: Photo) -> bytes:
    photo.refresh_from_db()
    data = actions.photo_image(photo)
    assert data is not None
    return data


def exiftool(path: Path) -> dict[str, Any]:
    """Every tag exiftool finds, by group and name (Debian's libimage-exiftool-perl)."""
    if shutil.which("exiftool") is None:
        pytest.skip("exiftool is not installed (apt-get install libimage-exiftool-perl)")
    out = subprocess.run(  # noqa: S603 - a fixed tool on a file the test wrote
        ["exiftool", "-json", "-a", "-u", "-G1", str(path)],  # noqa: S607 - found on PATH above
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    tags: dict[str, Any] = json.loads(out)[0]
    return tags
