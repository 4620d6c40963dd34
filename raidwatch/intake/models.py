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
