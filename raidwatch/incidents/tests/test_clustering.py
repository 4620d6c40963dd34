from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from raidwatch.incidents.models import Event, Incident, Status
from raidwatch.incidents.tests.factories import report

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]


def test_a_second_report_nearby_minutes_later_joins_the_same_incident() -> None:
    first = report("van_sighting", observed_at=timezone.now() - timedelta(minutes=8))
    # About 150 m away, eight minutes later, from another witness.
    second = report("arrest", lat=51.5165, lon=-0.0705, reporter="reporter-b")
    assert second.incident.pk == first.incident.pk
    incident = Incident.objects.get()
    assert incident.report_count == 2
    assert incident.corroborations == 2
    assert incident.kind == "arrest"  # the more serious kind wins
    assert incident.confidence == pytest.approx(0.75)


def test_the_same_reporter_twice_is_not_an_independent_corroboration() -> None:
    report(reporter="same")
    report(reporter="same")
    incident = Incident.objects.get()
    assert (incident.report_count, incident.corroborations) == (2, 1)


def test_a_report_a_few_kilometres_away_opens_its_own_incident() -> None:
    first = report(lat=51.5155, lon=-0.0723)
    second = report(lat=51.5400, lon=-0.1420)
    assert first.incident.pk != second.incident.pk


def test_a_report_more_than_an_hour_after_the_last_opens_a_new_incident() -> None:
    first = report(observed_at=timezone.now() - timedelta(minutes=75))
    second = report()
    assert first.incident.pk != second.incident.pk


def test_other_never_merges() -> None:
    first = report("other")
    second = report("other")
    third = report("van_sighting")
    assert len({first.incident.pk, second.incident.pk, third.incident.pk}) == 3


def test_a_closed_incident_gathers_no_new_reports() -> None:
    first = report()
    Incident.objects.filter(pk=first.incident.pk).update(status=Status.FALSE_ALARM)
    second = report()
    assert second.incident.pk != first.incident.pk


def test_each_report_appends_to_the_event_log_without_going_public() -> None:
    report()
    report(reporter="reporter-b")
    events = list(Event.objects.values_list("type", "public"))
    assert events == [("incident.opened", False), ("incident.report_added", False)]
