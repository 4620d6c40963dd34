"""What coordinators change about how the network runs: message texts and tunables.

Neither holds anything about a person: a template is the network's own wording,
a tunable a number. Channel credentials are deliberately not here (they stay in
the environment, so a seized database holds none).
"""

from __future__ import annotations

from django.db import models

from raidwatch.alerts.models import Event


class TemplateOverride(models.Model):
    """A coordinator's wording of one event's alert text in one language.

    One row per (event, language), as translations are kept elsewhere: without a
    row the shipped, translated template applies. Checked when saved: the same
    placeholders as the shipped template, and one SMS at worst.
    """

    event = models.CharField(max_length=20, choices=Event.choices)
    language = models.CharField(max_length=10)
    text = models.CharField(max_length=320)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "language"], name="template_override_once"),
        ]

    def __str__(self) -> str:
        return f"{self.event} [{self.language}]"


class TunableOverride(models.Model):
    """A coordinator's value for one of the tunables in ``tuning.TUNABLES``; without
    a row the environment's setting applies. Bounds are checked when saved and
    again when read, so a row edited in the database cannot go past them."""

    name = models.CharField(max_length=60, unique=True)
    value = models.IntegerField()
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
