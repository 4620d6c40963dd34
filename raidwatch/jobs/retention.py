"""The retention rules: what is destroyed or redacted, and after how long.

One list, used twice: `raidwatch purge` applies every rule at once, and the
scheduler runs each as a periodic job (``raidwatch.jobs.tasks.PERIODIC``; a test
checks the two sets are the same). Each rule calls the function that owns the
data (crypto, the outbox, the audit log, the incidents); nothing is duplicated
here. The periods come from ``raidwatch.coordination.tuning``, so a
coordinator's tighter setting applies to both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from raidwatch.accounts.audit import redact_movements
from raidwatch.alerts.outbox import purge_old_deliveries
from raidwatch.coordination import tuning
from raidwatch.incidents.actions import expire_stale_incidents
from raidwatch.lib import crypto

# Finished task rows are kept this long for inspection, then pruned; failures
# are kept longer so an operator can see what went wrong. A task's arguments
# are in its row (a confirmation code, for one), so they must not stay for ever.
SUCCESS_RETENTION = timedelta(days=1)
FAILURE_RETENTION = timedelta(days=14)


@dataclass(frozen=True)
class RetentionRule:
    name: str  # also the periodic job's name
    what: str  # how the count it returns reads, for `raidwatch purge`
    apply: Callable[[], int]


def destroy_location_keys() -> int:
    return crypto.destroy_expired_keys()


def redact_volunteer_movements() -> int:
    return redact_movements(timedelta(days=tuning.movement_retention_days()))


def purge_unconfirmed_subscriptions() -> int:
    """Delete subscriptions still waiting for a code that has expired.

    Someone who never confirmed never agreed to alerts, so their sealed contact
    and area must not outlive the code sent to them.
    """
    from raidwatch.subscriptions.models import Subscription, SubscriptionStatus

    deleted, _ = Subscription.objects.filter(
        status=SubscriptionStatus.PENDING, confirm_expires_at__lt=timezone.now()
    ).delete()
    return deleted


def purge_photos() -> int:
    """Processed photos live as long as precise locations (originals are never kept)."""
    from raidwatch.media.actions import purge_expired_photos

    return purge_expired_photos()


def purge_gate_records() -> int:
    """The abuse gate's past-hour keys, past-window counts and expired challenges."""
    from raidwatch.intake.gate import purge

    return purge()


def prune_task_results() -> int:
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    done, _ = DBTaskResult.objects.successful().filter(finished_at__lt=now - SUCCESS_RETENTION).delete()
    failed, _ = DBTaskResult.objects.failed().filter(finished_at__lt=now - FAILURE_RETENTION).delete()
    return done + failed


RULES: tuple[RetentionRule, ...] = (
    RetentionRule(
        "destroy_expired_keys",
        "expired key files destroyed (locations, reporter keys)",
        destroy_location_keys,
    ),
    RetentionRule(
        "redact_movements", "volunteer movement entries redacted in the audit log", redact_volunteer_movements
    ),
    RetentionRule("purge_deliveries", "delivery records deleted", purge_old_deliveries),
    RetentionRule(
        "purge_unconfirmed_subscriptions",
        "unconfirmed subscriptions with an expired code deleted (rows, counting their cells)",
        purge_unconfirmed_subscriptions,
    ),
    RetentionRule("expire_stale_incidents", "stale unverified incidents expired", expire_stale_incidents),
    RetentionRule("prune_task_results", "finished background task records deleted", prune_task_results),
    RetentionRule("purge_photos", "expired photos deleted with their keys", purge_photos),
    RetentionRule(
        "purge_gate_records",
        "rate-limit keys, counts and challenge records past their hour or window destroyed",
        purge_gate_records,
    ),
)


def rule_names() -> list[str]:
    return [rule.name for rule in RULES]
