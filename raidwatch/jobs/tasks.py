"""Background tasks, on Django's tasks API with the durable database backend.

Periodic jobs are listed in PERIODIC; the scheduler enqueues each when it is due.
Every retention rule (raidwatch.jobs.retention.RULES) is one of them, under the
rule's name, so what `raidwatch purge` does at once also happens on its own.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.tasks import Task, task

from raidwatch.alerts.tasks import purge_deliveries_task, send_deliveries_task
from raidwatch.incidents.actions import expire_stale_incidents
from raidwatch.jobs import retention
from raidwatch.jobs.retention import FAILURE_RETENTION, SUCCESS_RETENTION

__all__ = ["FAILURE_RETENTION", "PERIODIC", "SUCCESS_RETENTION"]


@task
def expire_stale_incidents_task() -> int:
    return expire_stale_incidents()


@task
def destroy_expired_keys_task() -> int:
    return retention.destroy_location_keys()


@task
def prune_task_results_task() -> int:
    return retention.prune_task_results()


@task
def redact_movements_task() -> int:
    return retention.redact_volunteer_movements()


@task
def purge_unconfirmed_subscriptions_task() -> int:
    return retention.purge_unconfirmed_subscriptions()


@task
def purge_photos_task() -> int:
    return retention.purge_photos()


@task
def purge_gate_records_task() -> int:
    return retention.purge_gate_records()


PERIODIC: dict[str, tuple[Task[[], Any], timedelta]] = {
    # Retries and deliveries whose worker died are picked up here.
    "send_deliveries": (send_deliveries_task, timedelta(seconds=15)),
    "purge_deliveries": (purge_deliveries_task, timedelta(hours=6)),
    "expire_stale_incidents": (expire_stale_incidents_task, timedelta(minutes=5)),
    # Every few minutes so a location key dies within minutes of its retention.
    "destroy_expired_keys": (destroy_expired_keys_task, timedelta(minutes=5)),
    "prune_task_results": (prune_task_results_task, timedelta(hours=1)),
    "redact_movements": (redact_movements_task, timedelta(hours=6)),
    "purge_unconfirmed_subscriptions": (purge_unconfirmed_subscriptions_task, timedelta(hours=1)),
    # As often as location keys die: a photo shows a place as exactly as a point.
    "purge_photos": (purge_photos_task, timedelta(minutes=5)),
    # Often enough that an hour's rate-limit key dies within minutes of the hour.
    "purge_gate_records": (purge_gate_records_task, timedelta(minutes=5)),
}
