"""The desk's actions: claims, merges, moves, observations, responders, bulk
dismiss and the two-person rule."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from raidwatch.accounts.audit import verify_chain
from raidwatch.accounts.models import AuditEntry, Volunteer
from raidwatch.alerts.models import Alert
from raidwatch.alerts.tests.helpers import subscriber
from raidwatch.incidents import actions
from raidwatch.incidents.models import Event, Incident, Status
from raidwatch.incidents.tests.factories import report

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]


@pytest.fixture
def second_verifier(db: None) -> Volunteer:
    return Volunteer.objects.create_user("verifier-two", password="verifier-two-horse", role="verifier")


def test_a_claim_keeps_a_second_verifier_off_until_it_lapses(verifier, second_verifier) -> None:
    incident = report().incident
    claimed = actions.claim(incident.pk, verifier)
    assert claimed.claimed_by == verifier
    assert claimed.first_looked_at is not None
    with pytest.raises(actions.AlreadyClaimed, match="verifier"):
        actions.claim(incident.pk, second_verifier)
    actions.claim(incident.pk, verifier)  # renewing one's own claim is fine
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert actions.claim(incident.pk, second_verifier).claimed_by == second_verifier
    first_look = Incident.objects.get(pk=incident.pk).first_looked_at
    assert first_look == claimed.first_looked_at  # the first look is not overwritten
    # Claims are desk work: the public never hears of them.
    assert not Event.objects.filter(type="incident.claim", public=True).exists()


def test_confirming_records_time_to_verify_and_frees_the_claim(verifier) -> None:
    incident = report().incident
    actions.claim(incident.pk, verifier)
    confirmed = actions.confirm(incident.pk, verifier)
    assert confirmed.verified_at is not None
    assert confirmed.claimed_by is None


def test_merge_folds_an_unverified_duplicate_into_the_open_incident(verifier) -> None:
    first = report(reporter="a").incident
    second = report(lat=51.54, lon=-0.14, kind="raid", reporter="b").incident
    merged = actions.merge(first.pk, second.pk, verifier)
    assert (merged.report_count, merged.corroborations, merged.kind) == (2, 2, "raid")
    second.refresh_from_db()
    assert (second.status, second.merged_into_id) == (Status.MERGED, first.pk)
    with pytest.raises(actions.WrongState):
        actions.merge(first.pk, first.pk, verifier)
    with pytest.raises(actions.WrongState):
        actions.merge(first.pk, second.pk, verifier)  # already merged


def test_a_report_about_something_else_moves_out_to_its_own_incident(verifier) -> None:
    incident = report(reporter="a").incident
    other = report(reporter="b")
    assert other.incident.pk == incident.pk
    new = actions.move_report_out(other.report.pk, verifier)
    assert new.pk != incident.pk
    assert new.report_count == 1
    incident.refresh_from_db()
    assert (incident.report_count, incident.corroborations) == (1, 1)
    with pytest.raises(actions.WrongState):
        actions.move_report_out(other.report.pk, verifier)  # alone in its incident now


def test_observations_and_responses_are_recorded_for_volunteers_only(verifier, responder) -> None:
    incident = report().incident
    observation = actions.add_observation(
        incident.pk, responder, officer_count=6, vehicle_count=2, markings="Immigration\u202e Enforcement"
    )
    assert observation.markings == "Immigration Enforcement"
    assert actions.respond(incident.pk, responder, "on_my_way").state == "on_my_way"
    assert actions.respond(incident.pk, responder, "arrived").state == "arrived"
    with pytest.raises(actions.WrongState):
        actions.add_observation(incident.pk, responder, officer_count=9000)
    with pytest.raises(actions.WrongState):
        actions.respond(incident.pk, responder, "dancing")
    assert not Event.objects.filter(
        type__in=["incident.observation", "incident.response"], public=True
    ).exists()


def test_bulk_dismiss_skips_what_changed_meanwhile(verifier) -> None:
    incidents = [report(lat=51.50 + i * 0.05, lon=-0.1).incident for i in range(4)]
    actions.confirm(incidents[0].pk, verifier)
    result = actions.bulk_dismiss(
        [i.pk for i in incidents] + [999_999], verifier, status="false_alarm", reason="prank flood"
    )
    assert result == {"done": [i.pk for i in incidents[1:]], "skipped": [incidents[0].pk, 999_999]}
    assert set(Incident.objects.filter(reason="prank flood").values_list("status", flat=True)) == {
        "false_alarm"
    }
    expired = actions.bulk_dismiss(
        [report(lat=52.0, lon=-1.0).incident.pk], verifier, status="expired", reason="old"
    )
    assert len(expired["done"]) == 1
    with pytest.raises(actions.WrongState):
        actions.bulk_dismiss([], verifier, status="confirmed", reason="no")


def test_a_wide_alert_needs_a_second_verifier(settings, recording_channel, verifier, second_verifier) -> None:
    settings.RAIDWATCH_TWO_PERSON_THRESHOLD = 2
    for i in range(3):
        subscriber(f"s{i}@example.org")
    incident = report().incident
    with pytest.raises(actions.SignOffRequested, match="3 subscribers"):
        actions.confirm(incident.pk, verifier)
    with pytest.raises(actions.SignOffRequested, match="another verifier"):
        actions.confirm(incident.pk, verifier)
    assert Incident.objects.get(pk=incident.pk).status == Status.UNVERIFIED
    assert not Alert.objects.filter(event="confirmed").exists()
    assert actions.confirm(incident.pk, second_verifier).status == Status.CONFIRMED
    assert Alert.objects.filter(event="confirmed").count() == 1
    assert list(AuditEntry.objects.filter(target_id=str(incident.pk)).values_list("action", "actor")) == [
        ("incident.confirm_requested", "verifier"),
        ("incident.confirm", "verifier-two"),
    ]
    assert verify_chain()[0]


def test_a_coordinator_can_waive_the_rule_for_a_stated_period(
    settings, recording_channel, verifier, coordinator
) -> None:
    settings.RAIDWATCH_TWO_PERSON_THRESHOLD = 0
    subscriber("s@example.org")
    with pytest.raises(actions.NotAllowed):
        actions.waive_two_person_rule(verifier, hours=2, reason="drill")
    actions.waive_two_person_rule(coordinator, hours=2, reason="drill")
    assert actions.confirm(report().incident.pk, verifier).status == Status.CONFIRMED
    with time_machine.travel(timezone.now() + timedelta(hours=3)), pytest.raises(actions.SignOffRequested):
        actions.confirm(report().incident.pk, verifier)
