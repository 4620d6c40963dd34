"""Every alert template, in every enabled language, fits one SMS (PRODUCT.md)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.conf import settings

from raidwatch.alerts.models import Alert, CapStatus, Event
from raidwatch.alerts.sms_length import LONG_PLACE, measure, worst_case
from raidwatch.alerts.text import TEMPLATES, render_text
from raidwatch.incidents.models import Kind

# render_text looks for a coordinator's wording first (none here: the shipped texts).
pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language", [code for code, _ in settings.LANGUAGES])
@pytest.mark.parametrize("event", list(TEMPLATES))
def test_every_alert_fits_one_sms(language: str, event: str) -> None:
    worst = worst_case(event, language)
    assert worst.fits, (
        f"{language} {event}: {worst.length} > {worst.limit} ({worst.encoding}): {worst.text!r}"
    )


def test_the_worst_case_is_the_longest_rendering() -> None:
    # The raid in the long place at 11:55 p.m., as a drill, is the longest English confirmation.
    worst = worst_case(Event.CONFIRMED, "en")
    assert worst.text.startswith("EXERCISE, NOT REAL")
    assert LONG_PLACE in worst.text
    alert = Alert(
        event=Event.CONFIRMED,
        kind=Kind.RAID,
        status=CapStatus.ACTUAL,
        place="E1",
        sent_at=datetime(2026, 11, 26, 9, 5, tzinfo=UTC),
    )
    assert measure(render_text(alert, "en")[1]).length < worst.length


def test_a_template_one_character_too_long_is_caught() -> None:
    fit = worst_case(Event.TEST, "en", template="x" * 141)  # + the 20-character exercise label
    assert fit.length == 161
    assert not fit.fits
    assert worst_case(Event.TEST, "en", template="x" * 140).fits


def test_one_character_outside_gsm7_makes_the_limit_70() -> None:
    fit = measure("Raid near the market\u00a0now")  # a non-breaking space
    assert (fit.encoding, fit.limit) == ("UCS-2", 70)


def test_the_exercise_label_is_in_every_exercise_message() -> None:
    _, text = render_text(
        Alert(
            event=Event.CONFIRMED,
            kind=Kind.RAID,
            status=CapStatus.EXERCISE,
            place=LONG_PLACE,
            sent_at=datetime(2026, 11, 26, 23, 55, tzinfo=UTC),
        ),
        "en",
    )
    assert text.startswith("EXERCISE, NOT REAL")


def test_a_long_place_is_cut_short_only_when_the_sms_would_not_fit() -> None:
    alert = Alert(
        event=Event.CONFIRMED,
        kind=Kind.RAID,
        status=CapStatus.EXERCISE,
        place="Phố Hàng Bạc, gần chợ Đồng Xuân, lối vào phía đông",
        sent_at=datetime(2026, 11, 26, 23, 55, tzinfo=UTC),
    )
    text = render_text(alert, "vi")[1]  # Vietnamese: always UCS-2, 70 characters
    fit = measure(text)
    assert fit.encoding == "UCS-2"
    assert fit.fits
    assert "Phố Hàng" in text
    assert "…" in text
    assert "lối vào phía đông" not in text
    # In GSM-7 the same landmark in plain letters fits whole: nothing is cut.
    alert.place = "Hang Bac street, by Dong Xuan market, east gate"
    assert alert.place in render_text(alert, "en")[1]
