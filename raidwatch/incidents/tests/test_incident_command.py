"""`raidwatch incident …`, run as an operator would, with its exit codes."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from raidwatch.accounts.models import AuditEntry
from raidwatch.incidents.models import Incident, Status
from raidwatch.incidents.tests.factories import report

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]


def run(*args: str) -> str:
    out = StringIO()
    call_command("incident", *args, stdout=out)
    return out.getvalue()


def exit_code(*args: str) -> int:
    with pytest.raises(CommandError) as raised:
        run(*args)
    return raised.value.returncode


def test_confirm_by_a_verifier_with_a_place(verifier) -> None:
    incident = report().incident
    assert f"Incident {incident.pk} is now confirmed" in run(
        "confirm", str(incident.pk), "--by", "verifier", "--place", "East St market"
    )
    incident.refresh_from_db()
    assert (incident.status, incident.place) == (Status.CONFIRMED, "East St market")
    assert AuditEntry.objects.get().actor == "verifier"


def test_the_whole_group_of_actions(verifier) -> None:
    first, second = report().incident, report(lat=40.75, lon=-73.99).incident
    run("confirm", str(first.pk), "--by", "verifier")
    run("end", str(first.pk), "--by", "verifier")
    run("retract", str(first.pk), "--by", "verifier", "--reason", "wrong street")
    run("false-alarm", str(second.pk), "--by", "verifier", "--reason", "police, not immigration")
    assert Incident.objects.get(pk=first.pk).reason == "wrong street"
    assert Incident.objects.get(pk=second.pk).status == Status.FALSE_ALARM


def test_exit_codes_say_not_found_wrong_state_and_not_allowed(verifier, responder) -> None:
    incident = report().incident
    assert exit_code("confirm", "424242", "--by", "verifier") == 2
    assert exit_code("show", "424242") == 2
    assert exit_code("end", str(incident.pk), "--by", "verifier") == 3
    assert exit_code("confirm", str(incident.pk), "--by", "responder") == 4
    assert exit_code("confirm", str(incident.pk), "--by", "nobody") == 4
    assert Incident.objects.get(pk=incident.pk).status == Status.UNVERIFIED


def test_list_and_show_as_json_include_unverified_for_operators(verifier) -> None:
    incident = report().incident
    rows = json.loads(run("list", "--json"))
    assert [row["id"] for row in rows] == [incident.pk]
    assert rows[0]["status"] == "unverified"
    shown = json.loads(run("show", str(incident.pk), "--json"))
    assert shown["report_count"] == 1
    assert "lat" not in shown
    assert "location" not in json.dumps(shown)


def test_list_in_text_shows_one_line_per_incident(verifier) -> None:
    report()
    report(lat=40.75, lon=-73.99)
    assert len(run("list").strip().splitlines()) == 2
