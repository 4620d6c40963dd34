"""Every alert template, in every enabled language, fits one SMS (PRODUCT.md)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.conf import settings

from raidwatch.alerts.models import Alert, CapStatus, Event
from raidwatch.alerts.text import TEMPLATES, render_text
from raidwatch.channels.sms.transport import fits_one_sms, is_gsm7
from raidwatch.incidents.models import Kind

# The longest place text a verifier can give (the field's limit is 100, but the
# desk asks for a short landmark; alerts cut it to this many characters).
LONG_PLACE = "Whitechapel Road market, east exit"


def _alert(event: str, kind: str, status: str) -> Alert:
    return Alert(
        event=event,
        kind=kind,
        status=status,
        place=LONG_PLACE,
        sent_at=datetime(2026, 11, 26, 23, 55, tzinfo=UTC),
    )


@pytest.mark.parametrize("language", [code for code, _ in settings.LANGUAGES])
@pytest.mark.parametrize("event", list(TEMPLATES))
@pytest.mark.parametrize("status", [CapStatus.ACTUAL, CapStatus.EXERCISE])
def test_every_alert_fits_one_sms(language: str, event: str, status: str) -> None:
    for kind in Kind.values:
        _, text = render_text(_alert(event, kind, status), language)
        limit = 160 if is_gsm7(text) else 70
        assert fits_one_sms(text), f"{language} {event} {kind}: {len(text)} > {limit}: {text!r}"


def test_the_exercise_label_is_in_every_exercise_message() -> None:
    _, text = render_text(_alert(Event.CONFIRMED, Kind.RAID, CapStatus.EXERCISE), "en")
    assert text.startswith("EXERCISE, NOT REAL")
