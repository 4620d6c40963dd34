"""`raidwatch purge`: every retention rule at once, and the same rules on the schedule."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from raidwatch.accounts.models import AuditEntry
from raidwatch.alerts import actions as alert_actions
from raidwatch.alerts import outbox
from raidwatch.alerts.models import Delivery
from raidwatch.alerts.tests.helpers import subscriber
from raidwatch.coordination import tuning
from raidwatch.incidents import actions as incident_actions
from raidwatch.incidents.models import Incident, Status
from raidwatch.incidents.tests.factories import report
from raidwatch.jobs.retention import RULES, rule_names
from raidwatch.jobs.tasks import PERIODIC
from raidwatch.lib import crypto
from raidwatch.subscriptions.models import Subscription, SubscriptionStatus
from raidwatch.testing.queue import run_queued_tasks

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.dbsensitive]


@pytest.fixture(autouse=True)
def _fresh_tunables() -> Any:
    tuning.invalidate()
    yield
    tuning.invalidate()


def purge(*args: str) -> list[str]:
    out = StringIO()
    call_command("purge", *args, stdout=out)
    return out.getvalue().splitlines()


def counts(lines: list[str]) -> dict[str, int]:
    return {line.split(":")[0]: int(line.split(":")[1].split()[0]) for line in lines}


def test_every_retention_rule_also_runs_on_the_schedule() -> None:
    assert set(rule_names()) <= set(PERIODIC), set(rule_names()) - set(PERIODIC)


def test_purge_applies_every_rule_once_and_a_second_run_finds_nothing(
    verifier: Any, responder: Any, recording_channel: Any, settings: Any
) -> None:
    settings.RAIDWATCH_LOCATION_RETENTION_HOURS = 24
    settings.RAIDWATCH_MOVEMENT_RETENTION_DAYS = 30
    settings.RAIDWATCH_DELIVERY_RETENTION_DAYS = 30
    settings.RAIDWATCH_UNVERIFIED_EXPIRY_MINUTES = 180
    precise = report(lat=51.512345, lon=-0.071234).report
    confirmed = precise.incident
    assert precise.location_sealed is not None
    sealed = bytes(precise.location_sealed)
    stale = report(lat=51.60, lon=-0.20).incident
    incident_actions.respond(confirmed.pk, responder, "on_my_way")
    incident_actions.confirm(confirmed.pk, verifier, place="Market square")
    subscriber("a@example.org")
    # One that waits for a code it is never given (as an email subscription does).
    pending = subscriber("waiting@example.org", area={"postcode": "N1"})
    Subscription.objects.filter(pk=pending.pk).update(
        status=SubscriptionStatus.PENDING, confirm_expires_at=timezone.now() + timedelta(hours=24)
    )
    alert_actions.fan_out(confirmed.alerts.order_by("-pk")[0].pk)
    outbox.send_due()
    run_queued_tasks()
    assert Delivery.objects.exists()
    assert DBTaskResult.objects.successful().exists()
    assert crypto.open_location(sealed) is not None

    # Nothing is due yet: the first run now changes nothing worth keeping.
    before = counts(purge())
    assert list(before) == rule_names()
    assert before["purge_deliveries"] == 0
    assert before["purge_unconfirmed_subscriptions"] == 0
    assert before["redact_movements"] == 0

    with time_machine.travel(timezone.now() + timedelta(days=31), tick=False):
        done = counts(purge())
        assert done["destroy_expired_keys"] >= 1
        assert done["redact_movements"] == 1
        assert done["purge_deliveries"] >= 1
        assert done["purge_unconfirmed_subscriptions"] >= 1
        assert done["expire_stale_incidents"] == 1
        assert done["prune_task_results"] >= 1

        assert crypto.open_location(sealed) is None
        assert not Delivery.objects.exists()
        assert not Subscription.objects.filter(pk=pending.pk).exists()
        assert Subscription.objects.filter(status=SubscriptionStatus.ACTIVE).count() == 1
        assert Incident.objects.get(pk=stale.pk).status == Status.EXPIRED
        movement = AuditEntry.objects.get(action="incident.respond")
        assert movement.details == {}
        assert movement.redacted_at is not None
        assert not DBTaskResult.objects.successful().exists()

        again = counts(purge())
        assert again == dict.fromkeys(rule_names(), 0)


def test_purge_reads_a_coordinators_tighter_retention(settings: Any) -> None:
    from raidwatch.coordination.models import TunableOverride

    settings.RAIDWATCH_LOCATION_RETENTION_HOURS = 24
    blob = report(lat=51.512345, lon=-0.071234).report.location_sealed
    assert blob is not None
    TunableOverride.objects.create(
        name="RAIDWATCH_LOCATION_RETENTION_HOURS", value=2, updated_at=timezone.now()
    )
    tuning.invalidate()
    with time_machine.travel(timezone.now() + timedelta(hours=4), tick=False):
        assert counts(purge("--only", "destroy_expired_keys"))["destroy_expired_keys"] >= 1
        assert crypto.open_location(bytes(blob)) is None


def test_only_runs_the_named_rules() -> None:
    assert list(counts(purge("--only", "purge_deliveries", "--only", "prune_task_results"))) == [
        "purge_deliveries",
        "prune_task_results",
    ]


def test_an_unknown_rule_is_a_clear_error_naming_the_rules() -> None:
    with pytest.raises(
        CommandError, match="Unknown retention rule photos; the rules are: destroy_expired_keys"
    ):
        purge("--only", "photos")


def test_each_rule_says_what_it_counted() -> None:
    lines = purge()
    assert len(lines) == len(RULES)
    for line, rule in zip(lines, RULES, strict=True):
        assert line.startswith(f"{rule.name}: ")
        assert line.endswith(rule.what)
