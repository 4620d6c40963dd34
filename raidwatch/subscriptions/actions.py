"""Subscribing, confirming and leaving."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.core import signing
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from raidwatch.accounts.models import Volunteer
from raidwatch.channels.base import InvalidAddress
from raidwatch.channels.registry import SUBSCRIBER_CHANNELS, transport
from raidwatch.lib import crypto
from raidwatch.subscriptions.areas import Area
from raidwatch.subscriptions.models import Invite, Level, Subscription, SubscriptionCell, SubscriptionStatus

MANAGE_SALT = "raidwatch.subscriptions.manage"
CONFIRM_TTL = timedelta(hours=24)
MAX_CONFIRM_ATTEMPTS = 5


class SubscriptionError(ValueError):
    def __init__(self, status: int, field: str | None, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.field, self.code, self.message = status, field, code, message


@dataclass(frozen=True)
class Subscribed:
    subscription: Subscription
    manage_token: str


def manage_token(subscription_id: object) -> str:
    """A signed token naming one subscription: the key to manage or leave it."""
    return signing.dumps(str(subscription_id), salt=MANAGE_SALT)


def subscription_from_token(token: str) -> Subscription | None:
    try:
        subscription_id = signing.loads(token, salt=MANAGE_SALT)
    except signing.BadSignature:
        return None
    return Subscription.objects.filter(pk=subscription_id).first()


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def create_invite(level: str = Level.ALL, hours: int = 72) -> str:
    """A one-time invite code; only its hash is stored."""
    code = secrets.token_urlsafe(12)
    now = timezone.now()
    Invite.objects.create(
        code_hash=_hash_code(code), level=level, created_at=now, expires_at=now + timedelta(hours=hours)
    )
    return code


def _redeem_invite(code: object) -> None:
    if not isinstance(code, str) or not code:
        raise SubscriptionError(
            422, "invite", "invite_required", _("The 'all' level needs an invite code from a coordinator.")
        )
    used = Invite.objects.filter(
        code_hash=_hash_code(code), used_at__isnull=True, expires_at__gt=timezone.now(), level=Level.ALL
    ).update(used_at=timezone.now())
    if not used:
        raise SubscriptionError(
            422, "invite", "invalid_invite", _("That invite code is unknown, used or expired.")
        )


def subscribe(
    *,
    channel: str,
    area: Area,
    language: str,
    level: str,
    contact: dict[str, object],
    invite: object = None,
    volunteer: Volunteer | None = None,
) -> Subscribed:
    """A subscription; with ``volunteer``, that volunteer's paging subscription
    (level `all` without an invite: volunteers are vetted by a coordinator)."""
    if channel not in SUBSCRIBER_CHANNELS:
        raise SubscriptionError(
            422,
            "channel",
            "unknown_channel",
            _("Choose a channel: %(channels)s.") % {"channels": ", ".join(SUBSCRIBER_CHANNELS)},
        )
    if level not in Level.values:
        raise SubscriptionError(422, "level", "unknown_level", _("The level is 'verified' or 'all'."))
    sender = transport(channel)
    try:
        address = sender.normalise_address(contact)
    except InvalidAddress as exc:
        field = "address" if channel != "webpush" else "endpoint"
        raise SubscriptionError(422, field, "invalid_address", exc.message) from None
    now = timezone.now()
    code = None
    with transaction.atomic():
        if level == Level.ALL and volunteer is None:
            _redeem_invite(invite)
        subscription = Subscription(
            channel=channel,
            language=language,
            level=level,
            area_kind=area.kind,
            area_label=area.label,
            contact_sealed=crypto.seal_contact(contact),
            contact_lookup=crypto.contact_lookup(channel, address),
            created_at=now,
            volunteer=volunteer,
        )
        if sender.needs_confirmation:
            code = f"{secrets.randbelow(1_000_000):06d}"
            subscription.status = SubscriptionStatus.PENDING
            subscription.confirm_code_hash = _hash_code(code)
            subscription.confirm_expires_at = now + CONFIRM_TTL
        else:
            subscription.status = SubscriptionStatus.ACTIVE
        subscription.save()
        SubscriptionCell.objects.bulk_create(
            SubscriptionCell(cell=c, subscription=subscription) for c in area.cells
        )
        if code is not None:
            from raidwatch.alerts.tasks import send_confirmation_code

            # Same database, same transaction: the code goes out exactly when the subscription exists.
            send_confirmation_code.enqueue(str(subscription.pk), code, language)
    return Subscribed(subscription, manage_token(subscription.pk))


def confirm(subscription: Subscription, code: object) -> Subscription:
    if subscription.status == SubscriptionStatus.ACTIVE:
        return subscription
    if subscription.status != SubscriptionStatus.PENDING:
        raise SubscriptionError(409, None, "not_pending", _("This subscription is not waiting for a code."))
    # A wrong code is counted in a transaction of its own that commits: raising
    # inside the block would roll the count back, and leave the six-digit
    # code open to guessing without limit.
    with transaction.atomic():
        fresh = Subscription.objects.select_for_update().get(pk=subscription.pk)
        expired = fresh.confirm_expires_at is None or fresh.confirm_expires_at < timezone.now()
        spent = expired or fresh.confirm_attempts >= MAX_CONFIRM_ATTEMPTS
        good = (
            not spent
            and isinstance(code, str)
            and hmac.compare_digest(_hash_code(code.strip()), fresh.confirm_code_hash)
        )
        if good:
            fresh.status = SubscriptionStatus.ACTIVE
            fresh.confirm_code_hash = ""
            fresh.confirm_expires_at = None
            fresh.save(update_fields=["status", "confirm_code_hash", "confirm_expires_at"])
        elif not spent:
            Subscription.objects.filter(pk=fresh.pk).update(confirm_attempts=F("confirm_attempts") + 1)
    if spent:
        raise SubscriptionError(
            422, "code", "code_expired", _("This code has expired. Subscribe again to get a new one.")
        )
    if not good:
        raise SubscriptionError(
            422, "code", "wrong_code", _("That code is not right. Check the message we sent.")
        )
    return fresh


def unsubscribe(subscription: Subscription) -> None:
    """Leaving deletes the subscription, its cells and its sealed contact at once."""
    subscription.delete()


def disable(subscription_id: str, reason: str) -> None:
    """A permanent delivery error: the address is dead, so stop sending and forget it."""
    Subscription.objects.filter(pk=subscription_id).update(
        status=SubscriptionStatus.DISABLED, contact_sealed=b"", failures=0
    )
