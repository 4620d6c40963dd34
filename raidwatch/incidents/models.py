"""Incidents: what several reports of the same thing add up to, and the event log."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from raidwatch.lib import geo


class Kind(models.TextChoices):
    VAN_SIGHTING = "van_sighting", _("Enforcement vans seen")
    RAID = "raid", _("Raid")
    ARREST = "arrest", _("Arrest")
    CHECKPOINT = "checkpoint", _("Checkpoint")
    OTHER = "other", _("Something else")


class Status(models.TextChoices):
    UNVERIFIED = "unverified", _("Unverified")
    CONFIRMED = "confirmed", _("Confirmed")
    ENDED = "ended", _("Ended (all clear)")
    FALSE_ALARM = "false_alarm", _("False alarm")
    EXPIRED = "expired", _("Expired")
    RETRACTED = "retracted", _("Retracted (confirmed in error)")
    MERGED = "merged", _("Merged into another incident")


# Open incidents still gather reports; public ones appear in the API and feeds.
OPEN_STATUSES = (Status.UNVERIFIED, Status.CONFIRMED)
PUBLIC_STATUSES = (Status.CONFIRMED, Status.ENDED, Status.FALSE_ALARM)


def round_down_ten_minutes(moment: datetime) -> datetime:
    """Public times are rounded down to 10 minutes (SECURITY.md R4)."""
    return moment.replace(minute=moment.minute - moment.minute % 10, second=0, microsecond=0)


class Incident(models.Model):
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.UNVERIFIED)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # The first report's resolution-8 cell; reports in it or its ring join.
    cell = models.CharField(max_length=16)
    # The verifier's short description of where, e.g. "East St market"; public once confirmed.
    place = models.CharField(max_length=100, blank=True)
    # A debunk's or retraction's short reason; public for false alarms.
    reason = models.CharField(max_length=200, blank=True)
    opened_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    last_report_at = models.DateTimeField()
    report_count = models.PositiveIntegerField(default=0)
    # Distinct reporter keys: independent corroborations.
    corroborations = models.PositiveIntegerField(default=0)
    confidence = models.FloatField(default=0.0)
    is_exercise = models.BooleanField(default=False)
    # The desk: one verifier works an incident at a time (a claim with a lease).
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="claimed_incidents"
    )
    claimed_until = models.DateTimeField(null=True)
    # Two-person rule: the verifier who asked to confirm a wide alert.
    signoff_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    merged_into = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, related_name="merged")
    # Timing shown on the desk: first claim, and the verdict (confirm or debunk).
    first_looked_at = models.DateTimeField(null=True)
    verified_at = models.DateTimeField(null=True)

    class Meta:
        indexes = [
            # Clustering looks up open incidents by cell and recency on every report.
            models.Index(fields=["status", "cell", "last_report_at"], name="incident_open_cell"),
            models.Index(fields=["status", "updated_at"], name="incident_status_updated"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.status}"

    @property
    def is_public(self) -> bool:
        # A drill is practice for the network, never news for the public.
        return self.status in PUBLIC_STATUSES and not self.is_exercise

    def public_cell(self) -> str:
        return geo.coarsen_cell(self.cell)

    def public_dict(self) -> dict[str, object]:
        """The coarse, deterministic public shape of the contract's incident item."""
        cell = self.public_cell()
        lat, lon = geo.cell_centre(cell)
        return {
            "id": self.pk,
            "status": self.status,
            "kind": self.kind,
            "cell": cell,
            "centre": {"lat": lat, "lon": lon},
            "place": self.place,
            "report_count": self.report_count,
            "opened_at": round_down_ten_minutes(self.opened_at),
            "updated_at": round_down_ten_minutes(self.updated_at),
        }

    def stale_after(self, minutes: int) -> datetime:
        return self.last_report_at + timedelta(minutes=minutes)


class Event(models.Model):
    """The durable event log: every state change appends a row.

    Live streams (SSE) read from here, so a change made by any process reaches
    every stream, and a reconnecting client can replay from Last-Event-ID.
    ``public`` rows carry only coarse data and may go to anyone.
    """

    at = models.DateTimeField()
    type = models.CharField(max_length=40)
    public = models.BooleanField(default=False)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events", null=True)
    payload = models.JSONField(default=dict)

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return f"{self.pk} {self.type}"


class Observation(models.Model):
    """What a responder saw at the scene: counts and markings, never a person."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="observations")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField()
    observed_at = models.DateTimeField()
    officer_count = models.PositiveSmallIntegerField(null=True)
    vehicle_count = models.PositiveSmallIntegerField(null=True)
    # Agency markings on vehicles or clothing ("ICE", "Immigration Enforcement").
    markings = models.CharField(max_length=100, blank=True)

    def __str__(self) -> str:
        return f"observation {self.pk} on {self.incident_id}"


class ResponderState(models.TextChoices):
    ON_MY_WAY = "on_my_way", _("On my way")
    ARRIVED = "arrived", _("Arrived")
    LEFT = "left", _("Left the scene")


class Response(models.Model):
    """A responder's progress to an incident; volunteers only ever see it."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="responses")
    volunteer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=12, choices=ResponderState.choices)
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["incident", "volunteer"], name="response_once")]

    def __str__(self) -> str:
        return f"{self.volunteer_id} {self.state} {self.incident_id}"


class TwoPersonWaiver(models.Model):
    """A coordinator's stated period without the two-person rule (e.g. a drill)."""

    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    until = models.DateTimeField()

    def __str__(self) -> str:
        return f"waiver until {self.until:%Y-%m-%d %H:%M}"
