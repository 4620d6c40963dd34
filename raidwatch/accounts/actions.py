"""Changes to volunteers: role changes and offboarding, each audited (R10, R11).

Callers check permission through the role table (``volunteer.manage``) and ask
for a recent sign-in (``require_action(..., reauthenticate=True)``); these
functions check the permission again so a future caller cannot skip it.
``by=None`` is the server operator at the console (a CLI command), recorded
as "operator".
"""

from __future__ import annotations

from dataclasses import dataclass

from allauth.account.internal.flows.login import (
    _AUTHENTICATION_METHODS_USER_SESSION_KEY as AUTHENTICATED_USER_KEY,
)
from allauth.account.internal.stagekit import LOGIN_SESSION_KEY
from allauth.mfa.models import Authenticator
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied
from django.db import transaction

from raidwatch.accounts import audit
from raidwatch.accounts.models import Role, Volunteer
from raidwatch.accounts.roles import may

OPERATOR = "operator"


@dataclass(frozen=True)
class Offboarded:
    sessions_ended: int
    authenticators_removed: int


def _actor(by: Volunteer | None) -> str:
    if by is None:
        return OPERATOR
    if not may(by, "volunteer.manage"):
        raise PermissionDenied("this volunteer may not manage volunteers")
    return by.username


def _belongs_to(data: dict[str, object], user_id: str) -> bool:
    """Whether a decoded session is signed in as, or half-way through signing
    in as, the volunteer: the password step of a sign-in lives in the session
    before Django's own user key does."""
    pending = data.get(LOGIN_SESSION_KEY)
    pending_user = pending.get("user_pk") if isinstance(pending, dict) else None
    return user_id in (data.get(SESSION_KEY), data.get(AUTHENTICATED_USER_KEY), pending_user)


def end_sessions(volunteer: Volunteer) -> int:
    """Delete every stored session of the volunteer; returns how many.

    Sessions are not indexed by user, so each is decoded. There are only as
    many as volunteers signed in during the last 30 minutes (the public site
    keeps none), so this stays cheap.
    """
    user_id = str(volunteer.pk)
    doomed = [
        session.pk
        for session in Session.objects.all().iterator(chunk_size=500)
        if _belongs_to(session.get_decoded(), user_id)
    ]
    Session.objects.filter(pk__in=doomed).delete()
    return len(doomed)


def offboard(volunteer: Volunteer, by: Volunteer | None) -> Offboarded:
    """Take a volunteer out at once: no sign-in, no session, no second factor.

    The password is made unusable too, which changes the session hash, so even
    a session saved by a request already in flight no longer signs anyone in.
    """
    actor = _actor(by)
    with transaction.atomic():
        locked = Volunteer.objects.select_for_update().get(pk=volunteer.pk)
        locked.is_active = False
        locked.set_unusable_password()
        locked.save(update_fields=["is_active", "password"])
        removed, _by_model = Authenticator.objects.filter(user_id=locked.pk).delete()
        ended = end_sessions(locked)
        audit.record(
            actor,
            "volunteer.offboard",
            "volunteer",
            locked.pk,
            username=locked.username,
            sessions_ended=ended,
            authenticators_removed=removed,
        )
    volunteer.refresh_from_db()
    return Offboarded(sessions_ended=ended, authenticators_removed=removed)


def set_role(volunteer: Volunteer, role: str, by: Volunteer | None) -> Volunteer:
    """Give a volunteer another role (audited). A volunteer may not change
    their own role, so one hijacked account cannot promote itself."""
    actor = _actor(by)
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}")
    if by is not None and by.pk == volunteer.pk:
        raise PermissionDenied("volunteers may not change their own role")
    with transaction.atomic():
        locked = Volunteer.objects.select_for_update().get(pk=volunteer.pk)
        previous = locked.role
        if previous != role:
            locked.role = role
            locked.save(update_fields=["role"])
            audit.record(
                actor,
                "volunteer.set_role",
                "volunteer",
                locked.pk,
                username=locked.username,
                previous=previous,
                role=role,
            )
    volunteer.refresh_from_db()
    return volunteer
