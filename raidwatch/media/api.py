"""POST /api/v1/reports/{id}/media: a photo for a report, with the report's media token."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from raidwatch.lib.api import ApiError
from raidwatch.media import actions
from raidwatch.media.sanitise import PhotoRefused
from raidwatch.media.uploads import keep_uploads_in_memory, read_photo, report_for_token

router = Router(tags=["reports"])


class PhotoAccepted(Schema):
    id: int
    status: str


class ErrorDetail(Schema):
    code: str
    message: str
    field: str | None


class ErrorOut(Schema):
    error: ErrorDetail


def _bearer(request: HttpRequest) -> str:
    scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@router.post(
    "/reports/{report_id}/media",
    response={
        201: PhotoAccepted,
        400: ErrorOut,
        401: ErrorOut,
        409: ErrorOut,
        413: ErrorOut,
        415: ErrorOut,
        422: ErrorOut,
    },
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                }
            },
            "required": True,
        }
    },
    summary="Add a photo to a report",
)
def add_photo(request: HttpRequest, report_id: int) -> Status[dict[str, object]]:
    """Multipart `file` (JPEG, PNG or WebP, at most 10 MB) with `Authorization: Bearer
    <media_token>`. The photo is re-encoded without metadata, faces are blurred, and it
    stays unpublished until a verifier has checked it."""
    # Before anything reads the body: the file stays in memory (R7).
    keep_uploads_in_memory(request)
    # A wrong, expired or other report's token and a missing report answer alike.
    if report_for_token(_bearer(request)) != report_id:
        raise ApiError(401, "unauthenticated", _("This photo link is not valid, or it has expired."))
    try:
        photo = actions.accept_photo(report_id, read_photo(request))
    except PhotoRefused as exc:
        raise ApiError(exc.status, exc.code, exc.message, "file") from None
    except actions.PhotoLimitReached as exc:
        raise ApiError(409, "too_many_photos", exc.message) from None
    except actions.PhotoError:
        raise ApiError(
            401, "unauthenticated", _("This photo link is not valid, or it has expired.")
        ) from None
    return Status(201, {"id": photo.pk, "status": photo.state})
