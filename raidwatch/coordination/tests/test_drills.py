"""Drills: an exercise incident practises the whole flow, labelled everywhere, and
never mixes with real reports."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from raidwatch.accounts.models import AuditEntry
from raidwatch.alerts import outbox
from raidwatch.alerts.models import Alert, CapStatus, Event, PublicPost
from raidwatch.alerts.tests.test_dispatch_paging import fan_out_all, pager
from raidwatch.incidents import actions as incident_actions
from raidwatch.incidents import clustering
from raidwatch.incidents.models import Event as LogEvent
from raidwatch.incidents.models import Incident, Status
from raidwatch.incidents.tests.factories import report
from raidwatch.lib import geo
from raidwatch.subscriptions.areas import resolve_area
from raidwatch.subscriptions.models import NamedArea

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]

URL = "/en/volunteer/network/drills/"


@pytest.fixture
def whitechapel() -> NamedArea:
    return NamedArea.objects.create(name="Whitechapel", cells=sorted(resolve_area({"postcode": "E1"}).cells))


def _start(client, **data: str) -> Incident:
    response = client.post(URL, {"kind": "raid", **data})
    assert response.status_code == 302, response.content.decode()[-2000:]
    return Incident.objects.get(is_exercise=True, status=Status.UNVERIFIED)


def test_a_drill_in_a_named_area_opens_an_exercise_incident_on_the_desk(
    coordinator_client, whitechapel
) -> None:
    incident = _start(coordinator_client, named="Whitechapel")
    assert incident.kind == "raid"
    assert incident.reports.get().description.startswith("EXERCISE, NOT REAL")
    assert incident.reports.get().location_sealed is None
    alert = Alert.objects.get(incident=incident)
    assert (alert.event, alert.status) == (Event.UNVERIFIED, CapStatus.EXERCISE)
    entry = AuditEntry.objects.get(action="network.drill_start")
    assert (entry.target_id, entry.details["area"]) == (str(incident.pk), "Whitechapel")
    assert f"#{incident.pk}".encode() in coordinator_client.get("/en/volunteer/desk/").content
    assert f"#{incident.pk}".encode() in coordinator_client.get(URL).content


def test_volunteers_on_duty_are_paged_with_the_exercise_label(
    coordinator_client, recording_channel, responder
) -> None:
    responder.on_duty = True
    responder.save(update_fields=["on_duty"])
    pager(responder, "responder@example.org")
    _start(coordinator_client, place="E1")
    fan_out_all()
    outbox.send_due()
    [(address, message)] = recording_channel.sent
    assert address == "responder@example.org"
    assert message.text.startswith("EXERCISE, NOT REAL: UNVERIFIED")


def test_the_whole_flow_stays_an_exercise_and_ending_it_sends_an_exercise_all_clear(
    coordinator_client, coordinator, verifier
) -> None:
    incident = _start(coordinator_client, place="E1")
    incident_actions.confirm(incident.pk, verifier, place="East St market")
    response = coordinator_client.post(f"{URL}{incident.pk}/end")
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == Status.ENDED
    events = list(Alert.objects.filter(incident=incident).order_by("id").values_list("event", "status"))
    assert events == [
        (Event.UNVERIFIED, CapStatus.EXERCISE),
        (Event.CONFIRMED, CapStatus.EXERCISE),
        (Event.ENDED, CapStatus.EXERCISE),
    ]
    assert AuditEntry.objects.filter(action="network.drill_end", target_id=str(incident.pk)).exists()
    # Practice never reaches the public: not the API, the home page, the public
    # event stream or the public channels.
    public = Client()
    assert public.get(f"/api/v1/incidents/{incident.pk}").status_code == 404
    assert incident.pk not in [item["id"] for item in public.get("/api/v1/incidents").json()["items"]]
    assert not incident.is_public
    assert not LogEvent.objects.filter(incident=incident, public=True).exists()
    assert not PublicPost.objects.filter(alert__incident=incident).exists()


def test_ending_an_unverified_drill_expires_it_quietly(coordinator_client) -> None:
    incident = _start(coordinator_client, place="E1")
    coordinator_client.post(f"{URL}{incident.pk}/end")
    incident.refresh_from_db()
    assert incident.status == Status.EXPIRED
    assert Alert.objects.filter(incident=incident).count() == 1


def test_a_real_incident_cannot_be_ended_as_a_drill(coordinator_client) -> None:
    real = report().incident
    response = coordinator_client.post(f"{URL}{real.pk}/end", follow=True)
    assert b"no such drill" in response.content
    assert Incident.objects.get(pk=real.pk).status == Status.UNVERIFIED
    assert not AuditEntry.objects.filter(action="network.drill_end").exists()


def test_a_drill_next_to_a_real_incident_does_not_join_it(coordinator_client) -> None:
    real = report(place="E1").incident
    drill = _start(coordinator_client, place="E1")
    assert drill.pk != real.pk
    real.refresh_from_db()
    assert (real.report_count, real.is_exercise) == (1, False)


def test_the_rule_keeps_drills_and_real_reports_apart_both_ways() -> None:
    now = timezone.now()
    cell = geo.point_to_cell(51.5155, -0.0723)

    def joins(incident_is_exercise: bool, report_is_exercise: bool) -> bool:
        return clustering.can_join(
            incident_kind="raid",
            incident_cell=cell,
            incident_last_report_at=now,
            report_kind="raid",
            report_cell=cell,
            report_observed_at=now + timedelta(minutes=1),
            incident_is_exercise=incident_is_exercise,
            report_is_exercise=report_is_exercise,
        )

    assert joins(False, False)
    assert joins(True, True)
    assert not joins(True, False)
    assert not joins(False, True)


def test_a_real_report_next_to_a_drill_opens_its_own_incident(coordinator_client) -> None:
    drill = _start(coordinator_client, place="E1")
    real = report(place="E1").incident
    assert real.pk != drill.pk
    assert not real.is_exercise


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"place": "QQ99"}, "QQ99"),
        ({}, "Choose a named area"),
        ({"named": "Atlantis"}, "valid choice"),
        ({"place": "E1", "kind": "parade"}, "valid choice"),
    ],
)
def test_bad_input_starts_nothing(coordinator_client, data, message) -> None:
    response = coordinator_client.post(URL, {"kind": "raid", **data})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Incident.objects.exists()
    assert not AuditEntry.objects.exists()
