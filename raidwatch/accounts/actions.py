"""Changes to volunteers: invitations, role changes, offboarding, the on-duty
switch and paging areas, each in one transaction and audited (R10, R11).

Callers check permission through the role table (``volunteer.manage``) and ask
for a recent sign-in (``require_action(..., reauthenticate=True)``); these
functions check the permission again so a future caller cannot skip it.
``by=None`` is the server operator at the console (a CLI command), recorded
as "operator".

Who may act on whom: only an admin grants the admin role (by invitation or by
a role change), and only an admin changes an admin's role or offboards an
admin. A coordinator runs the volunteers of a network but cannot promote
anyone above themselves, nor remove the admins who could undo a hijacked
coordinator account. Nobody changes their own role or offboards themselves:
one hijacked account cannot promote itself or lock the others out by going
first.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from allauth.account.internal.flows.login import (
    _AUTHENTICATION_METHODS_USER_SESSION_KEY as AUTHENTICATED_USER_KEY,
)
from allauth.account.internal.stagekit import LOGIN_SESSION_KEY
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from raidwatch.accounts import audit
from raidwatch.accounts.models import Role, Volunteer, VolunteerInvitation
from raidwatch.accounts.roles import may
from raidwatch.subscriptions import actions as subscription_actions
from raidwatch.subscriptions.areas import Area
from raidwatch.subscriptions.models import Level, Subscription

OPERATOR = "operator"
# An invitation is a key to the volunteer area lying in someone's messages:
# it should not outlive the week it takes to pass it on.
INVITATION_MIN_HOURS = 1
INVITATION_MAX_HOURS = 7 * 24
USERNAME_MAX_LENGTH = 40
# Letters (any script), digits and . _ - : a handle, not a sentence. Spaces are
# refused, which also discourages "First Last".
_USERNAME = re.compile(r"[\w.-]+")


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


def may_grant(by: Volunteer | None, role: str) -> bool:
    """Whether ``by`` may give someone ``role`` (by invitation or role change):
    the admin role only from an admin, or from the operator at the console."""
    return by is None or role != Role.ADMIN or by.role == Role.ADMIN


def may_act_on(by: Volunteer | None, volunteer: Volunteer) -> bool:
    """Whether ``by`` may change the role of, or offboard, ``volunteer``:
    never themselves, and an admin only if ``by`` is an admin too."""
    if by is None:
        return True
    if by.pk == volunteer.pk:
        return False
    return volunteer.role != Role.ADMIN or by.role == Role.ADMIN


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
    if by is not None and by.pk == volunteer.pk:
        raise PermissionDenied("volunteers may not offboard themselves")
    with transaction.atomic():
        locked = Volunteer.objects.select_for_update().get(pk=volunteer.pk)
        # Checked on the locked row: the role may have changed since the page was drawn.
        if not may_act_on(by, locked):
            raise PermissionDenied("only an admin may offboard an admin")
        locked.is_active = False
        locked.set_unusable_password()
        locked.save(update_fields=["is_active", "password"])
        removed, _by_model = Authenticator.objects.filter(user_id=locked.pk).delete()
        ended = end_sessions(locked)
        # Nothing of theirs keeps working: no pages about unverified reports
        # (their sealed contacts and home-area cells go too), and no invitation
        # they made can bring anyone back in after them.
        Volunteer.objects.filter(pk=locked.pk).update(on_duty=False)
        paging, _by_model = Subscription.objects.filter(volunteer_id=locked.pk).delete()
        invitations, _by_model = VolunteerInvitation.objects.filter(
            created_by=locked.username, used_at__isnull=True
        ).delete()
        audit.record(
            actor,
            "volunteer.offboard",
            "volunteer",
            locked.pk,
            username=locked.username,
            sessions_ended=ended,
            authenticators_removed=removed,
            paging_areas_removed=paging,
            invitations_withdrawn=invitations,
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
    if not may_grant(by, role):
        raise PermissionDenied("only an admin may make someone an admin")
    with transaction.atomic():
        locked = Volunteer.objects.select_for_update().get(pk=volunteer.pk)
        if not may_act_on(by, locked):
            raise PermissionDenied("only an admin may change an admin's role")
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


# --- Invitations


class InvitationError(ValueError):
    """Why an invitation could not be accepted; ``field`` is the form field it
    belongs beside (None for the link itself), ``message`` is for the invitee."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: VolunteerInvitation
    token: str  # shown once; only its hash is stored


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def invalid_invitation_message() -> str:
    # One message for unknown, expired, used and revoked links: whoever holds a
    # link learns nothing about which it was, nor whether it ever existed.
    return _(
        "This invitation link does not work: it may have expired or been used already. "
        "Ask the coordinator who sent it for a new one."
    )


def join_path(token: str, language: str | None = None) -> str:
    with translation.override(language or settings.LANGUAGE_CODE):
        return reverse("volunteer_join", kwargs={"token": token})


def join_link(token: str, language: str | None = None) -> str:
    """The full link for an invitation: the configured public address, never
    the Host header of whichever request made it."""
    return str(settings.RAIDWATCH_BASE_URL) + join_path(token, language)


def invite_volunteer(role: str, hours: int, by: Volunteer | None) -> IssuedInvitation:
    """A one-time invitation to join with ``role``, valid for ``hours``."""
    actor = _actor(by)
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}")
    if not INVITATION_MIN_HOURS <= hours <= INVITATION_MAX_HOURS:
        raise ValueError(f"hours must be between {INVITATION_MIN_HOURS} and {INVITATION_MAX_HOURS}")
    if not may_grant(by, role):
        raise PermissionDenied("only an admin may invite an admin")
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        invitation = VolunteerInvitation.objects.create(
            token_hash=_token_hash(token),
            role=role,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
            created_by=actor,
        )
        audit.record(actor, "volunteer.invite", "invitation", invitation.pk, role=role, hours=hours)
    return IssuedInvitation(invitation, token)


def pending_invitations() -> list[VolunteerInvitation]:
    return list(
        VolunteerInvitation.objects.filter(used_at__isnull=True, expires_at__gt=timezone.now()).order_by(
            "expires_at"
        )
    )


def revoke_invitation(invitation_id: int, by: Volunteer | None) -> bool:
    """Delete an unused invitation so its link stops working; False if there
    was none (already used, expired and gone, or revoked by someone else)."""
    actor = _actor(by)
    with transaction.atomic():
        deleted, _by_model = VolunteerInvitation.objects.filter(
            pk=invitation_id, used_at__isnull=True
        ).delete()
        if deleted:
            audit.record(actor, "volunteer.revoke_invitation", "invitation", invitation_id)
    return bool(deleted)


def usable_invitation(token: str) -> VolunteerInvitation | None:
    """The invitation behind a link if it can still be used, else None."""
    if not isinstance(token, str) or not token:
        return None
    return VolunteerInvitation.objects.filter(
        token_hash=_token_hash(token), used_at__isnull=True, expires_at__gt=timezone.now()
    ).first()


def _scripts(text: str) -> set[str]:
    """The writing systems of the letters in ``text`` ("LATIN", "CYRILLIC", …)."""
    return {unicodedata.name(ch, "?").split(" ")[0] for ch in text if ch.isalpha()}


def clean_username(username: object) -> str:
    """A free, well-formed username, or InvitationError for the username field."""
    text = username.strip() if isinstance(username, str) else ""
    if not text:
        raise InvitationError("username", _("Choose a username."))
    if len(text) > USERNAME_MAX_LENGTH:
        raise InvitationError(
            "username",
            _("A username has at most %(max)d characters.") % {"max": USERNAME_MAX_LENGTH},
        )
    if not _USERNAME.fullmatch(text):
        raise InvitationError(
            "username", _("Use letters, digits, dots, dashes and underscores only, no spaces.")
        )
    if len(_scripts(text)) > 1:
        # "admin" spelt with a Cyrillic first letter would pass for the real one on the team page.
        raise InvitationError("username", _("Write a username in one alphabet, not a mix of alphabets."))
    # Sign-in finds usernames regardless of case, so "Ana" and "ana" would collide.
    if Volunteer.objects.filter(username__iexact=text).exists():
        raise InvitationError("username", _("That username is taken. Choose another."))
    return text


def accept_invitation(token: str, username: str, password: str) -> Volunteer:
    """Create the volunteer an invitation is for, and spend the invitation.

    The invitation is spent with a conditional UPDATE in the same transaction
    that creates the volunteer: when two people race with one link, exactly
    one UPDATE matches, and the other gets the invalid-link message.
    """
    invitation = usable_invitation(token)
    if invitation is None:
        raise InvitationError(None, invalid_invitation_message())
    name = clean_username(username)
    try:
        validate_password(password, user=Volunteer(username=name, role=invitation.role))
    except ValidationError as exc:
        raise InvitationError("password", " ".join(exc.messages)) from None
    now = timezone.now()
    try:
        with transaction.atomic():
            spent = VolunteerInvitation.objects.filter(
                pk=invitation.pk, used_at__isnull=True, expires_at__gt=now
            ).update(used_at=now)
            if not spent:
                raise InvitationError(None, invalid_invitation_message())
            volunteer = Volunteer.objects.create_user(name, password=password, role=invitation.role)
            audit.record(
                name,
                "volunteer.join",
                "volunteer",
                volunteer.pk,
                invitation=invitation.pk,
                role=invitation.role,
                invited_by=invitation.created_by,
            )
    except IntegrityError:
        # Someone took the same username between the check and the insert; the
        # invitation is unspent again, because the whole transaction rolled back.
        raise InvitationError("username", _("That username is taken. Choose another.")) from None
    return volunteer


# --- Duty and paging areas


class PagingAreaNotFound(LookupError):
    """No paging area with that id belongs to this volunteer."""


def _own(volunteer: Volunteer) -> str:
    if not may(volunteer, "duty.manage_own"):
        raise PermissionDenied("this volunteer may not manage duty")
    return volunteer.username


def set_on_duty(volunteer: Volunteer, on: bool) -> Volunteer:
    """Go on or off duty: on duty, the volunteer's paging areas hear every new
    report (matching checks the switch at send time)."""
    actor = _own(volunteer)
    with transaction.atomic():
        changed = Volunteer.objects.filter(pk=volunteer.pk).exclude(on_duty=on).update(on_duty=on)
        if changed:
            audit.record(
                actor, "volunteer.on_duty" if on else "volunteer.off_duty", "volunteer", volunteer.pk
            )
    volunteer.refresh_from_db(fields=["on_duty"])
    return volunteer


def paging_areas(volunteer: Volunteer) -> list[Subscription]:
    return list(Subscription.objects.filter(volunteer=volunteer).order_by("created_at"))


def add_paging_area(
    volunteer: Volunteer, *, channel: str, area: Area, address: str, language: str
) -> Subscription:
    """A paging subscription (level `all`) for the volunteer; SubscriptionError
    for a bad channel or address. Email and SMS wait for their code as any
    subscription does. The audit entry names the channel and the kind of area,
    not the area: a volunteer's area is often where they live."""
    actor = _own(volunteer)
    with transaction.atomic():
        subscribed = subscription_actions.subscribe(
            channel=channel,
            area=area,
            language=language,
            level=Level.ALL,
            contact={"address": address},
            volunteer=volunteer,
        )
        subscription = subscribed.subscription
        audit.record(
            actor,
            "volunteer.add_paging_area",
            "subscription",
            subscription.pk,
            channel=channel,
            area_kind=area.kind,
        )
    return subscription


def _owned_area(volunteer: Volunteer, subscription_id: UUID | str) -> Subscription:
    try:
        subscription = Subscription.objects.filter(pk=subscription_id, volunteer=volunteer).first()
    except (ValidationError, ValueError):
        subscription = None  # not a UUID at all
    if subscription is None:
        raise PagingAreaNotFound(str(subscription_id))
    return subscription


def confirm_paging_area(volunteer: Volunteer, subscription_id: UUID | str, code: str) -> Subscription:
    """Confirm an email or SMS paging area with the code sent to it (the same
    check as any subscription); SubscriptionError when the code is wrong."""
    actor = _own(volunteer)
    subscription = _owned_area(volunteer, subscription_id)
    # Not inside an outer transaction: confirm() must commit its count of a
    # wrong code even as it raises, or the code could be guessed without limit.
    confirmed = subscription_actions.confirm(subscription, code)
    with transaction.atomic():
        audit.record(actor, "volunteer.confirm_paging_area", "subscription", subscription.pk)
    return confirmed


def remove_paging_area(volunteer: Volunteer, subscription_id: UUID | str) -> None:
    """Delete one of the volunteer's paging areas, its cells and its sealed contact."""
    actor = _own(volunteer)
    subscription = _owned_area(volunteer, subscription_id)
    with transaction.atomic():
        pk = subscription.pk
        subscription_actions.unsubscribe(subscription)
        audit.record(actor, "volunteer.remove_paging_area", "subscription", pk)
