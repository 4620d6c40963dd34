"""Alerts (CAP 1.2 fields) and the Delivery outbox."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from raidwatch.incidents.models import Incident
from raidwatch.subscriptions.models import Subscription


class MsgType(models.TextChoices):
    ALERT = "Alert"
    UPDATE = "Update"
    CANCEL = "Cancel"


class CapStatus(models.TextChoices):
    ACTUAL = "Actual"
    EXERCISE = "Exercise"
    TEST = "Test"


class Certainty(models.TextChoices):
    OBSERVED = "Observed"
    POSSIBLE = "Possible"


class Scope(models.TextChoices):
    PUBLIC = "Public"
    RESTRICTED = "Restricted"


class Event(models.TextChoices):
    """What happened to the incident, which picks the message template."""

    UNVERIFIED = "unverified", _("Unverified report")
    CONFIRMED = "confirmed", _("Confirmed")
    UPDATED = "updated", _("New details")
    ENDED = "ended", _("All clear")
    FALSE_ALARM = "false_alarm", _("False alarm")
    RETRACTED = "retracted", _("Confirmed in error")
    TEST = "test", _("Test message")


class Alert(models.Model):
    identifier = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="alerts", null=True)
    event = models.CharField(max_length=20, choices=Event.choices)
    msg_type = models.CharField(max_length=10, choices=MsgType.choices)
    status = models.CharField(max_length=10, choices=CapStatus.choices, default=CapStatus.ACTUAL)
    scope = models.CharField(max_length=12, choices=Scope.choices, default=Scope.PUBLIC)
    certainty = models.CharField(max_length=10, choices=Certainty.choices)
    urgency = models.CharField(max_length=12, default="Immediate")
    severity = models.CharField(max_length=12, default="Severe")
    references = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, related_name="followed_by")
    # Public, coarse cells of the incident (resolution ≤ 8) and the verifier's place text.
    cells = models.JSONField(default=list)
    place = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=20)
    note = models.CharField(max_length=200, blank=True)
    sent_at = models.DateTimeField()
    fanned_out_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ("-id",)
        indexes = [models.Index(fields=["incident", "id"], name="alert_incident")]

    def __str__(self) -> str:
        return f"alert {self.pk} {self.msg_type} {self.event}"

    @property
    def restricted(self) -> bool:
        return self.scope == Scope.RESTRICTED


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # permanently: the subscription was disabled
    SUPPRESSED = "suppressed"  # over the hourly cap, or replaced by a newer update


class Delivery(models.Model):
    """One alert to one subscription: the durable outbox row."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=20)
    # The contact's lookup hash: the same person on the same channel gets an alert once.
    contact_lookup = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_until = models.DateTimeField(null=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True)
    last_error = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "channel", "contact_lookup"], name="delivery_once_per_contact"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["subscription", "created_at"], name="delivery_subscription_recent"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} {self.status}"


class PublicPost(models.Model):
    """One public alert posted once to one area's public channel (an ntfy topic,
    a Telegram channel): one post reaches everyone following the area (G7)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="public_posts")
    channel = models.CharField(max_length=20)
    target = models.CharField(max_length=100)
    status = models.CharField(max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True)
    last_error = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alert", "channel", "target"], name="public_post_once")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="public_post_due")]

    def __str__(self) -> str:
        return f"{self.channel} {self.target} {self.status}"
