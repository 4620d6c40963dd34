"""The schedule of periodic jobs, shared by every worker process."""

from __future__ import annotations

from django.db import models


class PeriodicJob(models.Model):
    """One row per periodic job. Workers claim a run with a conditional UPDATE on
    ``next_run_at``, so among any number of processes exactly one enqueues each run."""

    name = models.CharField(max_length=60, unique=True)
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return self.name
