"""Background tasks, on Django's tasks API with the durable database backend.

Periodic jobs are listed in PERIODIC; the scheduler enqueues each when it is due.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.tasks import Task, task
from django.utils import timezone

from raidwatch.alerts.tasks import purge_deliveries_task, send_deliveries_task
from raidwatch.coordination import tuning
from raidwatch.incidents.actions import expire_stale_incidents
from raidwatch.lib import crypto

# Finished task rows are kept this long for inspection, then pruned; failures
# are kept longer so an operator can see what went wrong.
SUCCESS_RETENTION = timedelta(days=1)
FAILURE_RETENTION = timedelta(days=14)


@task
def expire_stale_incidents_task() -> int:
    return expire_stale_incidents()


@task
def destroy_expired_keys_task() -> int:
    return crypto.destroy_expired_keys()


@task
def prune_task_results_task() -> int:
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    done, _ = DBTaskResult.objects.successful().filter(finished_at__lt=now - SUCCESS_RETENTION).delete()
    failed, _ = DBTaskResult.objects.failed().filter(finished_at__lt=now - FAILURE_RETENTION).delete()
    return done + failed


@task
def redact_movements_task() -> int:
    from raidwatch.accounts.audit import redact_movements

    return redact_movements(timedelta(days=tuning.movement_retention_days()))


PERIODIC: dict[str, tuple[Task[[], Any], timedelta]] = {
    # Retries and deliveries whose worker died are picked up here.
    "send_deliveries": (send_deliveries_task, timedelta(seconds=15)),
    "purge_deliveries": (purge_deliveries_task, timedelta(hours=6)),
    "expire_stale_incidents": (expire_stale_incidents_task, timedelta(minutes=5)),
    # Every few minutes so a location key dies within minutes of its retention.
    "destroy_expired_keys": (destroy_expired_keys_task, timedelta(minutes=5)),
    "prune_task_results": (prune_task_results_task, timedelta(hours=1)),
    "redact_movements": (redact_movements_task, timedelta(hours=6)),
}
