"""Subscriptions: an area (as H3 cells), a language, a level and a sealed contact.

Nothing here says where a subscriber lives: a radius subscription keeps only its
covering cells, never the centre, and the contact is sealed to the worker's key
with a keyed lookup hash beside it (SECURITY.md R5).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    VERIFIED = "verified", _("Verified alerts only")
    ALL = "all", _("Everything, unverified reports included")


class SubscriptionStatus(models.TextChoices):
    PENDING = "pending_confirmation", _("Waiting for confirmation")
    ACTIVE = "active", _("Active")
    DISABLED = "disabled", _("Disabled (the address stopped working)")


class AreaKind(models.TextChoices):
    RADIUS = "radius", _("Around a point")
    POSTCODE = "postcode", _("Postcode district")
    ZIP = "zip", _("ZIP code")
    NAMED = "named", _("Named area")


class Subscription(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    channel = models.CharField(max_length=20)
    language = models.CharField(max_length=10)
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.VERIFIED)
    status = models.CharField(max_length=24, choices=SubscriptionStatus.choices)
    area_kind = models.CharField(max_length=10, choices=AreaKind.choices)
    # Coarse by construction: "E1", "10001", "3 km", or a named area's name.
    area_label = models.CharField(max_length=60)
    contact_sealed = models.BinaryField()
    contact_lookup = models.CharField(max_length=64, db_index=True)
    confirm_code_hash = models.CharField(max_length=64, blank=True)
    confirm_expires_at = models.DateTimeField(null=True)
    confirm_attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    failures = models.PositiveIntegerField(default=0)
    # A volunteer's paging subscription: their areas, their chosen channel; it
    # hears unverified reports (level all) only while they are on duty.
    volunteer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="paging_subscriptions"
    )

    class Meta:
        indexes = [models.Index(fields=["status", "level"], name="subscription_status_level")]

    def __str__(self) -> str:
        return f"{self.channel} {self.area_label} {self.status}"


class SubscriptionCell(models.Model):
    """The source of truth for matching: one row per (compacted H3 cell, subscription).

    Cells are compacted (mixed resolutions, none finer than 8), so a large area
    is a few coarse cells rather than thousands of fine ones.
    """

    cell = models.CharField(max_length=16)
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="cells")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cell", "subscription"], name="subscription_cell_unique")
        ]
        indexes = [models.Index(fields=["cell"], name="subscription_cell_cell")]

    def __str__(self) -> str:
        return self.cell


class Invite(models.Model):
    """A coordinator's one-time code for the `all` level; only its hash is kept."""

    code_hash = models.CharField(max_length=64, unique=True)
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.ALL)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"invite {self.pk} ({self.level})"


class NamedArea(models.Model):
    """An area a coordinator has named ("Whitechapel", "North depot"): cells, no
    centre point. Subscriptions and volunteers' paging areas can use it by name
    (``{"named": "Whitechapel"}``); the cells are copied at that moment, so
    editing a named area later does not silently move anyone's alerts."""

    name = models.CharField(_("name"), max_length=60, unique=True)
    cells = models.JSONField(default=list)  # compacted H3 cells, none finer than resolution 8
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name
