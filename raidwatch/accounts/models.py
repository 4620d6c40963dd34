"""Volunteers and the audit log.

Volunteers are deliberately thin: a username, a password hash and one role. No
name, email or phone column exists, so a seized database lists pseudonyms only
(SECURITY.md R6). Volunteers join through a coordinator's one-time invitation
link; there is no public sign-up.
"""

from __future__ import annotations

from typing import ClassVar

from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin, UserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    COORDINATOR = "coordinator", _("Coordinator")
    VERIFIER = "verifier", _("Verifier")
    RESPONDER = "responder", _("Responder")


class VolunteerManager(UserManager["Volunteer"]):
    def create_user(  # type: ignore[override]
        self, username: str, password: str | None = None, **extra: object
    ) -> Volunteer:
        volunteer = self.model(username=username, **extra)
        volunteer.set_password(password)
        volunteer.save(using=self._db)
        return volunteer

    def create_superuser(  # type: ignore[override]
        self, username: str, password: str | None = None, **extra: object
    ) -> Volunteer:
        extra.setdefault("role", Role.COORDINATOR)
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(username, password, **extra)


class Volunteer(AbstractBaseUser, PermissionsMixin):
    username = models.CharField(_("username"), max_length=40, unique=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    # On duty, a volunteer is paged for new incidents in their areas (their
    # paging subscriptions); off duty, those subscriptions stay silent.
    on_duty = models.BooleanField(default=False)
    joined_at = models.DateTimeField(auto_now_add=True)

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["role"]

    objects = VolunteerManager()

    class Meta:
        verbose_name = _("volunteer")
        constraints = [
            # Sign-in finds usernames regardless of case, so "Ana" and "ana"
            # must never both exist, even when two people join at once.
            models.UniqueConstraint(Lower("username"), name="volunteer_username_any_case_unique"),
        ]

    def __str__(self) -> str:
        return self.username


class AuditEntry(models.Model):
    """One volunteer or operator action, hash-chained (SECURITY.md R11).

    ``entry_hash`` = SHA-256 over the previous entry's hash and this entry's
    canonical JSON, so editing, deleting or reordering a row breaks the chain.
    No IP address or user agent is ever recorded.
    """

    at = models.DateTimeField()
    actor = models.CharField(max_length=40)
    action = models.CharField(max_length=60)
    target_type = models.CharField(max_length=40)
    target_id = models.CharField(max_length=40)
    details = models.JSONField(default=dict)
    # SHA-256 of the details as recorded; the chain covers this, not the details,
    # so movements can be redacted after retention and the chain still verify.
    details_digest = models.CharField(max_length=64)
    redacted_at = models.DateTimeField(null=True)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ("id",)
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.target_type}:{self.target_id}"


class VolunteerInvitation(models.Model):
    """A one-time link that lets one person join with one role.

    Only a SHA-256 of the token is kept, so the database cannot be used to join,
    and nothing about the invitee (no name, email or phone): the link travels
    by whatever channel the coordinator and invitee already share.
    """

    token_hash = models.CharField(max_length=64, unique=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True)
    # The username of whoever invited, or "operator" for the console: a string
    # rather than a foreign key, so offboarding the inviter keeps the record.
    created_by = models.CharField(max_length=40)

    class Meta:
        verbose_name = _("volunteer invitation")

    def __str__(self) -> str:
        return f"invitation {self.pk} ({self.role})"
