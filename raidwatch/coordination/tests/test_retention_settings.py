"""Retention and limits: overrides within bounds, read cheaply, audited, behind
re-authentication, and really in force where the values are used."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from raidwatch.accounts.models import AuditEntry
from raidwatch.coordination import actions, tuning
from raidwatch.coordination.models import TunableOverride
from raidwatch.coordination.tests.conftest import stale_client
from raidwatch.lib import crypto

pytestmark = pytest.mark.django_db

SAVE = "/en/volunteer/network/retention/save"
T = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)


def test_without_overrides_every_tunable_is_the_environments(settings) -> None:
    settings.RAIDWATCH_CLAIM_MINUTES = 7
    assert tuning.claim_minutes() == 7
    for name in tuning.TUNABLES:
        assert tuning.effective(name) == getattr(settings, name)


@pytest.mark.dbsensitive
def test_a_coordinator_shortens_location_retention_and_it_is_audited(coordinator_client) -> None:
    response = coordinator_client.post(SAVE, {"RAIDWATCH_LOCATION_RETENTION_HOURS": "2"})
    assert response.status_code == 302
    assert tuning.location_retention_hours() == 2
    entry = AuditEntry.objects.get(action="network.retention_change")
    assert entry.details == {"changes": {"RAIDWATCH_LOCATION_RETENTION_HOURS": [None, 2]}}
    page = coordinator_client.get("/en/volunteer/network/retention/").content.decode()
    assert "In force: 2." in page


@pytest.mark.dbsensitive
def test_shortening_location_retention_destroys_keys_sooner(coordinator, settings) -> None:
    settings.RAIDWATCH_LOCATION_RETENTION_HOURS = 24
    blob = crypto.seal_location(51.5155, -0.0723, now=T)
    crypto.destroy_expired_keys(now=T + timedelta(hours=3))
    assert crypto.open_location(blob) is not None  # 24 h: still there after 3 h
    actions.set_tunables(coordinator, {"RAIDWATCH_LOCATION_RETENTION_HOURS": 2})
    assert crypto.location_expires_at(now=T) == datetime(2026, 3, 1, 14, 0, tzinfo=UTC)
    crypto.destroy_expired_keys(now=T + timedelta(hours=3))
    assert crypto.open_location(blob) is None


@pytest.mark.parametrize("value", ["0", "25", "168", "-1", "two", "1.5", "99999999999999999999"])
def test_values_outside_the_bounds_are_refused_and_change_nothing(coordinator_client, value) -> None:
    response = coordinator_client.post(SAVE, {"RAIDWATCH_LOCATION_RETENTION_HOURS": value})
    assert response.status_code == 400
    assert not TunableOverride.objects.exists()
    assert not AuditEntry.objects.exists()


def test_the_action_refuses_out_of_bounds_values_too(coordinator) -> None:
    with pytest.raises(actions.CoordinationError):
        actions.set_tunables(coordinator, {"RAIDWATCH_ALERTS_PER_HOUR": 1000})
    with pytest.raises(actions.CoordinationError):
        actions.set_tunables(coordinator, {"RAIDWATCH_SECRET_KEY": 1})
    assert not TunableOverride.objects.exists()


def test_safety_rules_can_only_be_tightened(coordinator, settings) -> None:
    settings.RAIDWATCH_TWO_PERSON_THRESHOLD = 20000
    # Raising the two-person threshold above the environment's would let one
    # account publish to ever larger audiences alone.
    with pytest.raises(actions.CoordinationError):
        actions.set_tunables(coordinator, {"RAIDWATCH_TWO_PERSON_THRESHOLD": 50000})
    actions.set_tunables(coordinator, {"RAIDWATCH_TWO_PERSON_THRESHOLD": 5000})
    assert tuning.two_person_threshold() == 5000
    # Too few alerts an hour would hold back a second real raid.
    with pytest.raises(actions.CoordinationError):
        actions.set_tunables(coordinator, {"RAIDWATCH_ALERTS_PER_HOUR": 1})
    # A row raised in the database past the environment is clamped when read.
    TunableOverride.objects.filter(name="RAIDWATCH_TWO_PERSON_THRESHOLD").update(value=90000)
    tuning.invalidate()
    assert tuning.two_person_threshold() == 20000


def test_a_row_edited_past_the_bounds_in_the_database_is_clamped_when_read() -> None:
    TunableOverride.objects.create(name="RAIDWATCH_LOCATION_RETENTION_HOURS", value=24 * 365, updated_at=T)
    assert tuning.location_retention_hours() == 24


def test_an_empty_box_goes_back_to_the_environments_value(coordinator_client, coordinator, settings) -> None:
    actions.set_tunables(coordinator, {"RAIDWATCH_ALERTS_PER_HOUR": 6})
    assert tuning.alerts_per_hour() == 6
    coordinator_client.post(SAVE, {"RAIDWATCH_ALERTS_PER_HOUR": ""})
    assert tuning.alerts_per_hour() == settings.RAIDWATCH_ALERTS_PER_HOUR
    assert not TunableOverride.objects.exists()


def test_saving_needs_a_fresh_sign_in(coordinator) -> None:
    client = stale_client(coordinator)
    response = client.post(SAVE, {"RAIDWATCH_LOCATION_RETENTION_HOURS": "2"})
    assert response.status_code == 302
    assert "reauthenticate" in response["Location"]
    assert not TunableOverride.objects.exists()
    # Looking needs no re-authentication.
    assert client.get("/en/volunteer/network/retention/").status_code == 200


@pytest.mark.dbsensitive
def test_overrides_are_read_once_per_cache_period(coordinator, django_assert_max_num_queries) -> None:
    actions.set_tunables(coordinator, {"RAIDWATCH_CLAIM_MINUTES": 20})
    # One SELECT (inside a savepoint here, as the test runs in a transaction).
    with django_assert_max_num_queries(3):
        for _ in range(100):
            assert tuning.claim_minutes() == 20
            tuning.alerts_per_hour()


@pytest.mark.dbsensitive
def test_a_claim_lasts_as_long_as_the_override_says(coordinator, verifier) -> None:
    from django.utils import timezone

    from raidwatch.incidents import actions as incident_actions
    from raidwatch.incidents.tests.factories import report

    actions.set_tunables(coordinator, {"RAIDWATCH_CLAIM_MINUTES": 3})
    incident = incident_actions.claim(report().incident.pk, verifier)
    assert incident.claimed_until is not None
    assert incident.claimed_until - timezone.now() <= timedelta(minutes=3)
