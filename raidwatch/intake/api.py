"""POST /api/v1/reports."""

from __future__ import annotations

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from ninja import Router, Schema, Status

from raidwatch.intake import gate
from raidwatch.intake.actions import submit_report
from raidwatch.intake.models import Source
from raidwatch.intake.sources import reporter_key_for
from raidwatch.intake.validation import ReportInvalid, clean_report
from raidwatch.lib.api import ApiError, read_json_object

router = Router(tags=["reports"])

MEDIA_TOKEN_SALT = "raidwatch.intake.media"  # noqa: S105 - a signing namespace, not a secret


class ReportIn(Schema):
    kind: str
    lat: float | None = None
    lon: float | None = None
    place: str | None = None
    observed_at: str | None = None
    description: str | None = None
    language: str | None = None
    client_id: str | None = None


class IncidentRef(Schema):
    id: int
    status: str


class ReportCreated(Schema):
    id: int
    incident: IncidentRef
    media_token: str


class ErrorDetail(Schema):
    code: str
    message: str
    field: str | None


class ErrorOut(Schema):
    error: ErrorDetail


class AltchaChallenge(Schema):
    """An ALTCHA challenge: find n in 0..maxnumber with SHA-256(salt + n) = challenge, then
    send base64(JSON {algorithm, challenge, number, salt, signature}) in the X-Altcha header."""

    algorithm: str
    challenge: str
    maxnumber: int
    salt: str
    signature: str


class ChallengeOut(Schema):
    error: ErrorDetail
    challenge: AltchaChallenge


# Shared with the subscriptions API, which is gated the same way.
SOLUTION_PARAMETER = {
    "in": "header",
    "name": gate.SOLUTION_HEADER,
    "required": False,
    "description": "A solved ALTCHA challenge (base64 JSON), needed only after a 429 "
    "`proof_of_work_required`; each solution is accepted once.",
    "schema": {"type": "string"},
}


def media_token_for(report_id: int) -> str:
    """A signed, stateless token that lets the reporter attach a photo to this report only."""
    return signing.dumps({"report": report_id}, salt=MEDIA_TOKEN_SALT, compress=True)


@router.post(
    "/reports",
    response={
        201: ReportCreated,
        400: ChallengeOut | ErrorOut,
        413: ErrorOut,
        422: ErrorOut,
        429: ChallengeOut,
    },
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"schema": ReportIn.json_schema()}},
            "required": True,
        },
        "parameters": [SOLUTION_PARAMETER],
    },
    summary="Report a sighting",
)
def create_report(request: HttpRequest) -> Status[dict[str, object]] | HttpResponse:
    """Give `{kind, lat, lon}` or `{kind, place}`; a repeat with the same `client_id`
    returns the first result, so offline queues never double-report.

    Beyond the per-source allowance the answer is 429 `proof_of_work_required`
    with `Retry-After` and an ALTCHA `challenge`; send the same body again with
    the solution in `X-Altcha`. A forged, expired or reused solution gets 400
    with a fresh challenge."""
    data = read_json_object(request)
    language = translation.get_language() or "en"
    if isinstance(data.get("language"), str):
        # Answer in the reporter's own language when they name one we have.
        candidate = data["language"].lower()
        if translation.check_for_language(candidate):
            language = candidate
    with translation.override(language):
        try:
            valid = clean_report(data, default_language=language)
        except ReportInvalid as exc:
            raise ApiError(422, exc.code, exc.message, exc.field) from None
        # After validation: a report that cannot be stored is refused without costing a solve.
        refusal = gate.check_api(request, gate.Scope.REPORTS)
    if refusal is not None:
        return refusal
    submitted = submit_report(valid, source=Source.API, reporter_key=reporter_key_for(request))
    return Status(
        201,
        {
            "id": submitted.report.pk,
            "incident": {"id": submitted.incident.pk, "status": submitted.incident.status},
            "media_token": media_token_for(submitted.report.pk),
        },
    )
