"""POST /api/v1/subscriptions, confirm and delete; the VAPID public key."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from raidwatch.intake import gate
from raidwatch.intake.api import SOLUTION_PARAMETER, ChallengeOut, ErrorOut
from raidwatch.intake.validation import ReportInvalid, clean_language
from raidwatch.lib.api import ApiError, read_json_object
from raidwatch.subscriptions import actions
from raidwatch.subscriptions.areas import InvalidArea, resolve_area
from raidwatch.subscriptions.models import Subscription

router = Router(tags=["subscriptions"])


class PushKeys(Schema):
    p256dh: str
    auth: str


class SubscriptionIn(Schema):
    channel: str
    area: dict[str, Any]
    language: str | None = None
    level: str = "verified"
    invite: str | None = None
    address: str | None = None
    endpoint: str | None = None
    keys: PushKeys | None = None


class SubscriptionCreated(Schema):
    id: str
    status: str
    manage_token: str


class ConfirmIn(Schema):
    code: str


class ConfirmedOut(Schema):
    id: str
    status: str


class VapidKeyOut(Schema):
    key: str


def _contact(data: dict[str, Any]) -> dict[str, object]:
    if data.get("channel") == "webpush":
        keys = data.get("keys")
        if not isinstance(data.get("endpoint"), str) or not isinstance(keys, dict):
            raise ApiError(
                422, "invalid_address", _("Web Push needs the browser's endpoint and keys."), "endpoint"
            )
        return {
            "endpoint": data["endpoint"],
            "keys": {"p256dh": keys.get("p256dh"), "auth": keys.get("auth")},
        }
    if not isinstance(data.get("address"), str) or not data["address"].strip():
        raise ApiError(422, "invalid_address", _("Give the address alerts should go to."), "address")
    return {"address": data["address"].strip()}


def _authorised(request: HttpRequest, subscription_id: str) -> Subscription:
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    subscription = actions.subscription_from_token(token) if token else None
    if subscription is None or str(subscription.pk) != subscription_id:
        # The same answer for a wrong token and an unknown id: no probing.
        raise ApiError(404, "not_found", _("No such subscription for this token."))
    return subscription


@router.post(
    "/subscriptions",
    response={201: SubscriptionCreated, 400: ChallengeOut | ErrorOut, 429: ChallengeOut},
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"schema": SubscriptionIn.json_schema()}},
            "required": True,
        },
        "parameters": [SOLUTION_PARAMETER],
    },
    summary="Subscribe to alerts for an area",
)
def create_subscription(request: HttpRequest) -> Status[dict[str, object]] | HttpResponse:
    data = read_json_object(request)
    # Gated like reports, with its own counts: each subscription sends a
    # confirmation code to an address, so a flood here would bomb strangers'
    # phones and mailboxes (and cost money per SMS).
    refusal = gate.check_api(request, gate.Scope.SUBSCRIPTIONS)
    if refusal is not None:
        return refusal
    language = translation.get_language() or "en"
    try:
        language = clean_language(data.get("language"), language)
    except ReportInvalid as exc:
        raise ApiError(422, exc.code, exc.message, exc.field) from None
    with translation.override(language):
        try:
            area = resolve_area(data.get("area"))
            subscribed = actions.subscribe(
                channel=str(data.get("channel")),
                area=area,
                language=language,
                level=str(data.get("level") or "verified"),
                contact=_contact(data),
                invite=data.get("invite"),
            )
        except InvalidArea as exc:
            raise ApiError(422, exc.code, exc.message, exc.field) from None
        except actions.SubscriptionError as exc:
            raise ApiError(exc.status, exc.code, exc.message, exc.field) from None
    subscription = subscribed.subscription
    return Status(
        201,
        {"id": str(subscription.pk), "status": subscription.status, "manage_token": subscribed.manage_token},
    )


@router.post(
    "/subscriptions/{subscription_id}/confirm", response={200: ConfirmedOut}, summary="Confirm with a code"
)
def confirm_subscription(request: HttpRequest, subscription_id: str) -> dict[str, object]:
    data = read_json_object(request)
    subscription = Subscription.objects.filter(pk=_uuid_or_404(subscription_id)).first()
    if subscription is None:
        raise ApiError(404, "not_found", _("No such subscription."))
    with translation.override(subscription.language):
        try:
            confirmed = actions.confirm(subscription, data.get("code"))
        except actions.SubscriptionError as exc:
            raise ApiError(exc.status, exc.code, exc.message, exc.field) from None
    return {"id": str(confirmed.pk), "status": confirmed.status}


@router.delete(
    "/subscriptions/{subscription_id}", response={204: None}, summary="Leave: deletes the sealed contact"
)
def delete_subscription(request: HttpRequest, subscription_id: str) -> HttpResponse:
    actions.unsubscribe(_authorised(request, subscription_id))
    return HttpResponse(status=204)


@router.get(
    "/push/vapid-public-key", response=VapidKeyOut, summary="The key browsers subscribe to Web Push with"
)
def vapid_public_key(request: HttpRequest) -> dict[str, str]:
    from raidwatch.channels.webpush.vapid import public_key_b64url

    return {"key": public_key_b64url()}


def _uuid_or_404(value: str) -> str:
    import uuid

    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ApiError(404, "not_found", _("No such subscription.")) from None
