"""POST /api/v1/reports."""

from __future__ import annotations

from django.core import signing
from django.http import HttpRequest
from django.utils import translation
from ninja import Router, Schema, Status

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


def media_token_for(report_id: int) -> str:
    """A signed, stateless token that lets the reporter attach a photo to this report only."""
    return signing.dumps({"report": report_id}, salt=MEDIA_TOKEN_SALT, compress=True)


@router.post(
    "/reports",
    response={201: ReportCreated, 400: ErrorOut, 413: ErrorOut, 422: ErrorOut},
    openapi_extra={
        "requestBody": {"content": {"application/json": {"schema": ReportIn.json_schema()}}, "required": True}
    },
    summary="Report a sighting",
)
def create_report(request: HttpRequest) -> Status[dict[str, object]]:
    """Give `{kind, lat, lon}` or `{kind, place}`; a repeat with the same `client_id`
    returns the first result, so offline queues never double-report."""
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
    submitted = submit_report(valid, source=Source.API, reporter_key=reporter_key_for(request))
    return Status(
        201,
        {
            "id": submitted.report.pk,
            "incident": {"id": submitted.incident.pk, "status": submitted.incident.status},
            "media_token": media_token_for(submitted.report.pk),
        },
    )
