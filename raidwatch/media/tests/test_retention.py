"""Photos expire with precise locations: `raidwatch purge` and the schedule delete them and their keys."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from raidwatch.coordination import tuning
from raidwatch.jobs.retention import rule_names
from raidwatch.jobs.tasks import PERIODIC
from raidwatch.media.models import Photo
from raidwatch.media.tests import images
from raidwatch.media.tests.helpers import new_report, post_photo

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.dbsensitive]


@pytest.fixture(autouse=True)
def _fresh_tunables() -> Any:
    tuning.invalidate()
    yield
    tuning.invalidate()


def purge_photos() -> int:
    out = StringIO()
    call_command("purge", "--only", "purge_photos", stdout=out)
    line = out.getvalue().strip()
    assert line.endswith("expired photos deleted with their keys")
    return int(line.split(":")[1].split()[0])


def test_the_rule_runs_in_purge_and_on_the_schedule() -> None:
    assert "purge_photos" in rule_names()
    assert "purge_photos" in PERIODIC


def test_photos_are_deleted_with_their_keys_after_the_location_retention(settings: Any) -> None:
    settings.RAIDWATCH_LOCATION_RETENTION_HOURS = 24
    post_photo(new_report().pk, images.plain_jpeg())
    photo = Photo.objects.get()
    key_file = Path(settings.KEY_DIR) / "photos" / f"{photo.key_id.hex}.key"
    assert purge_photos() == 0
    with time_machine.travel(timezone.now() + timedelta(hours=23), tick=False):
        assert purge_photos() == 0
    with time_machine.travel(timezone.now() + timedelta(hours=25), tick=False):
        assert purge_photos() == 1
        assert purge_photos() == 0
    assert not Photo.objects.exists()
    assert not key_file.exists()


def test_a_coordinators_tighter_retention_applies_to_stored_photos(settings: Any) -> None:
    from raidwatch.coordination.models import TunableOverride

    settings.RAIDWATCH_LOCATION_RETENTION_HOURS = 24
    post_photo(new_report().pk, images.plain_jpeg())
    TunableOverride.objects.create(
        name="RAIDWATCH_LOCATION_RETENTION_HOURS", value=2, updated_at=timezone.now()
    )
    tuning.invalidate()
    with time_machine.travel(timezone.now() + timedelta(hours=3), tick=False):
        assert purge_photos() == 1


def test_a_key_file_left_by_a_failed_upload_is_destroyed(settings: Any) -> None:
    post_photo(new_report().pk, images.plain_jpeg())
    kept = Path(settings.KEY_DIR) / "photos" / f"{Photo.objects.get().key_id.hex}.key"
    orphan = Path(settings.KEY_DIR) / "photos" / ("ab" * 16 + ".key")
    orphan.write_text("00" * 32)
    recent = Path(settings.KEY_DIR) / "photos" / ("cd" * 16 + ".key")
    recent.write_text("00" * 32)
    old = time.time() - 3600
    os.utime(orphan, (old, old))
    os.utime(kept, (old, old))
    purge_photos()
    assert not orphan.exists()
    assert kept.exists()
    # An upload in progress makes its key a moment before its row: a fresh file stays.
    assert recent.exists()
