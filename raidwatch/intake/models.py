"""Reports as they come in, from any channel."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from raidwatch.incidents.models import Incident, Kind


class Source(models.TextChoices):
    WEB = "web", _("Web form")
    API = "api", _("API")
    SMS = "sms", _("SMS")


class Report(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="reports")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Resolution-8 H3 cell; the precise point is only ever stored sealed.
    cell = models.CharField(max_length=16)
    location_sealed = models.BinaryField(null=True)
    location_expires_at = models.DateTimeField(null=True)
    # The gazetteer label the reporter gave (a postcode district or ZIP), already coarse.
    place_label = models.CharField(max_length=60, blank=True)
    observed_at = models.DateTimeField()
    received_at = models.DateTimeField()
    description = models.CharField(max_length=500, blank=True)
    language = models.CharField(max_length=10)
    source = models.CharField(max_length=10, choices=Source.choices)
    # Offline queues resend; the same client_id returns the first result.
    client_id = models.UUIDField(null=True, unique=True)
    # HMAC under a daily key destroyed on rotation; never an address (R2).
    reporter_key = models.CharField(max_length=32)

    class Meta:
        indexes = [models.Index(fields=["incident", "reporter_key"], name="report_incident_reporter")]

    def __str__(self) -> str:
        return f"report {self.pk} → incident {self.incident_id}"


# --- The abuse gate (SECURITY.md R2, R12) -----------------------------------
# Integer columns only: a seized database holds counts under 64-bit fragments of
# HMACs whose hourly keys are already destroyed, and nothing that reads as text.


class GateCount(models.Model):
    """Requests one source made in one 10-minute window.

    A table rather than Django's cache: the default cache is per process, so in
    the multi-process PostgreSQL mode each process would grant the allowance
    again and a spent solution could be replayed on the next process. One
    upsert per gated request is cheap in both engines (see intake/gate.py).
    """

    pk = models.CompositePrimaryKey("bucket", "period")
    # The first 64 bits of HMAC(hourly key, scope + token or network prefix).
    bucket = models.BigIntegerField()
    # Ten-minute windows since the epoch; rows from past windows are deleted.
    period = models.IntegerField()
    hits = models.IntegerField()

    def __str__(self) -> str:
        return f"{self.hits} in window {self.period}"


class SpentChallenge(models.Model):
    """A proof-of-work solution already used once: a replay is refused."""

    # The first 64 bits of SHA-256 of the challenge's signature.
    digest = models.BigIntegerField(primary_key=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"spent challenge until {self.expires_at:%Y-%m-%d %H:%M}"


class OpenQuestion(models.Model):
    """A question asked to a person without JavaScript, answered at most once."""

    # Random, and reaches the browser only inside a signed token.
    id = models.BigIntegerField(primary_key=True)
    answer = models.SmallIntegerField()
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"open question until {self.expires_at:%Y-%m-%d %H:%M}"
