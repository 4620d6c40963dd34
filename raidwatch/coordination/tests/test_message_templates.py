"""Coordinators' own alert and paging texts: checked, previewed, used, reset, audited."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from raidwatch.accounts.models import AuditEntry
from raidwatch.alerts import outbox
from raidwatch.alerts.models import Alert, CapStatus, Event
from raidwatch.alerts.tests.test_dispatch_paging import fan_out_all, pager
from raidwatch.alerts.text import render_text
from raidwatch.coordination.models import TemplateOverride
from raidwatch.incidents.tests.factories import report

pytestmark = pytest.mark.django_db

URL = "/en/volunteer/network/templates/{event}/en"
OWN = "RAID CONFIRMED: %(kind)s at %(place)s, %(time)s. Stay inside, know your rights."


def _alert(event: str = Event.CONFIRMED, status: str = CapStatus.ACTUAL) -> Alert:
    return Alert(
        event=event,
        kind="raid",
        status=status,
        place="East St",
        sent_at=datetime(2026, 1, 5, 9, 5, tzinfo=UTC),
    )


def test_a_saved_text_is_used_for_that_event_and_language(coordinator_client) -> None:
    response = coordinator_client.post(URL.format(event="confirmed"), {"text": OWN, "step": "save"})
    assert response.status_code == 302
    assert (
        render_text(_alert(), "en")[1]
        == "RAID CONFIRMED: raid at East St, 9:05 a.m.. Stay inside, know your rights."
    )
    # Drills still carry their label in front of the coordinator's words.
    assert render_text(_alert(status=CapStatus.EXERCISE), "en")[1].startswith(
        "EXERCISE, NOT REAL: RAID CONFIRMED"
    )
    # Other events keep the default.
    assert render_text(_alert(Event.ENDED), "en")[1].startswith("ALL CLEAR")
    entry = AuditEntry.objects.get(action="network.template_save")
    assert (entry.actor, entry.target_id, entry.details["text"]) == ("coordinator", "confirmed:en", OWN)


def test_preview_shows_a_sample_and_the_worst_case_length_without_saving(coordinator_client) -> None:
    response = coordinator_client.post(URL.format(event="confirmed"), {"text": OWN, "step": "preview"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "RAID CONFIRMED: raid at East St market" in body
    assert (
        "EXERCISE, NOT REAL: RAID CONFIRMED: enforcement vans seen at Whitechapel Road market, east exit"
        in body
    )
    assert "of 160 characters (GSM-7)" in body
    assert not TemplateOverride.objects.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("CONFIRMED: %(kind)s near %(place)s at %(time)s, %(street)s.", "Unknown placeholder: %(street)s"),
        ("CONFIRMED: %(kind)s near %(place)s.", "Missing placeholder: %(time)s"),
        ("CONFIRMED: %(kind)s near %(place)s at %(time)s, 100% sure.", "is not a placeholder"),
        ("CONFIRMED: %(kind)s near %(place)s at %(time)d.", "is not a placeholder"),
        ("CONFIRMED: %(kind)s near %(place)s at %(time)s. " + "Stay calm and safe. " * 5, "Shorten it"),
        ("CONFIRMED: %(kind)s near %(place)s at %(time)s.\u202e", "direction override"),
        ("", "required"),
    ],
)
def test_a_text_that_would_break_or_split_is_refused(coordinator_client, text, message) -> None:
    response = coordinator_client.post(URL.format(event="confirmed"), {"text": text, "step": "save"})
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')
    assert not TemplateOverride.objects.exists()
    assert not AuditEntry.objects.exists()


def test_the_test_message_may_have_no_placeholders_at_all(coordinator_client) -> None:
    refused = coordinator_client.post(
        URL.format(event="test"), {"text": "Test for %(place)s", "step": "save"}
    )
    assert refused.status_code == 400
    saved = coordinator_client.post(
        URL.format(event="test"), {"text": "raidwatch test: all good.", "step": "save"}
    )
    assert saved.status_code == 302


def test_a_non_breaking_space_is_named_in_the_preview(coordinator_client) -> None:
    text = "CONFIRMED:\u00a0%(kind)s near %(place)s at %(time)s."
    body = coordinator_client.post(URL.format(event="confirmed"), {"text": text, "step": "preview"}).content
    assert b"U+00A0 NO-BREAK SPACE" in body
    assert b"UCS-2" in body


def test_reset_goes_back_to_the_default_and_is_audited(coordinator_client) -> None:
    coordinator_client.post(URL.format(event="confirmed"), {"text": OWN, "step": "save"})
    assert coordinator_client.post(URL.format(event="confirmed"), {"step": "reset"}).status_code == 302
    assert render_text(_alert(), "en")[1].startswith("CONFIRMED: raid near East St")
    assert AuditEntry.objects.filter(action="network.template_reset", target_id="confirmed:en").exists()
    page = coordinator_client.get(URL.format(event="confirmed")).content.decode()
    assert "The default text" in page


def test_unknown_events_and_languages_are_404(coordinator_client) -> None:
    assert coordinator_client.get("/en/volunteer/network/templates/party/en").status_code == 404
    assert coordinator_client.get("/en/volunteer/network/templates/confirmed/xx").status_code == 404


@pytest.mark.dbsensitive
def test_volunteers_on_duty_are_paged_with_the_coordinators_unverified_text(
    coordinator_client, recording_channel, responder
) -> None:
    own = "NEW REPORT, unchecked: %(kind)s near %(place)s (%(time)s). Can you look?"
    coordinator_client.post(URL.format(event="unverified"), {"text": own, "step": "save"})
    responder.on_duty = True
    responder.save(update_fields=["on_duty"])
    pager(responder, "responder@example.org")
    report()
    fan_out_all()
    outbox.send_due()
    [(address, message)] = recording_channel.sent
    assert address == "responder@example.org"
    assert message.text.startswith("NEW REPORT, unchecked: enforcement vans seen near your area (")
