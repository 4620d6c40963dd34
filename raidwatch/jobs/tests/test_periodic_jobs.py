from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from raidwatch.incidents.models import Event, Incident, Status
from raidwatch.incidents.tests.factories import report
from raidwatch.jobs.models import PeriodicJob
from raidwatch.jobs.scheduler import enqueue_due_jobs
from raidwatch.jobs.tasks import PERIODIC
from raidwatch.testing.queue import run_queued_tasks

# The worker closes "old" connections between tasks, as in production; inside a
# test transaction that would close the test's own connection, so use real commits.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.dbsensitive]


def test_each_periodic_job_is_enqueued_once_per_interval() -> None:
    now = timezone.now()
    assert sorted(enqueue_due_jobs(now)) == sorted(PERIODIC)
    # A second scheduler (another process) looking at the same moment gets nothing.
    assert enqueue_due_jobs(now) == []
    assert DBTaskResult.objects.count() == len(PERIODIC)
    later = now + max(interval for _, interval in PERIODIC.values())
    assert sorted(enqueue_due_jobs(later)) == sorted(PERIODIC)


def test_a_stale_unverified_incident_expires_through_the_worker(settings) -> None:
    settings.RAIDWATCH_UNVERIFIED_EXPIRY_MINUTES = 180
    stale = report(lat=51.50, lon=-0.10).incident
    with time_machine.travel(timezone.now() + timedelta(minutes=120), tick=False):
        fresh = report(lat=51.60, lon=-0.20).incident
    with time_machine.travel(timezone.now() + timedelta(minutes=200), tick=False):
        enqueue_due_jobs()
        run_queued_tasks()
    assert Incident.objects.get(pk=stale.pk).status == Status.EXPIRED
    assert Incident.objects.get(pk=fresh.pk).status == Status.UNVERIFIED
    assert Event.objects.filter(incident=stale, type="incident.expire").count() == 1
    assert DBTaskResult.objects.failed().count() == 0


def test_a_failing_task_is_kept_as_failed_not_lost(monkeypatch) -> None:
    def broken() -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr("raidwatch.jobs.tasks.expire_stale_incidents", broken)
    enqueue_due_jobs()
    run_queued_tasks()
    failed = DBTaskResult.objects.failed().get()
    assert failed.task_path.endswith("expire_stale_incidents_task")
    assert PeriodicJob.objects.count() == len(PERIODIC)
