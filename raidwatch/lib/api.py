"""The JSON API's shared pieces: the contract's error body and the NinjaAPI that uses it."""

from __future__ import annotations

import json
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError


def error_response(
    status: int, code: str, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> JsonResponse:
    """``{"error": {"code", "message", "field"}}``: the one error shape of the contract."""
    response = JsonResponse({"error": {"code": code, "message": str(message), "field": field}}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def read_json_object(request: HttpRequest) -> dict[str, Any]:
    """The request body as a JSON object, or an ApiError the contract describes."""
    body = request.body
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_encoding", _("The body must be UTF-8 encoded JSON.")) from None
    try:
        data = json.loads(text)
    except ValueError:
        raise ApiError(400, "malformed_json", _("The body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", _("The body must be a JSON object."))
    return data


def _field_of(loc: Any) -> str | None:
    parts = [str(part) for part in loc if part not in ("body", "query", "path", "payload")]
    return ".".join(parts) or None


def build_api() -> NinjaAPI:
    api = NinjaAPI(
        title="raidwatch",
        version="1",
        urls_namespace="api-v1",
        docs_url=None,  # the interactive docs page would load assets from a CDN (R13)
        openapi_url="/openapi.json",
    )

    @api.exception_handler(ApiError)
    def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return error_response(exc.status, exc.code, exc.message, exc.field)

    @api.exception_handler(ValidationError)
    def _validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        first = exc.errors[0] if exc.errors else {}
        return error_response(
            422, "invalid", first.get("msg", _("Invalid input.")), _field_of(first.get("loc", ()))
        )

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return error_response(401, "unauthenticated", _("Authentication is required."))

    @api.exception_handler(HttpError)
    def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        code = {
            400: "malformed",
            401: "unauthenticated",
            403: "forbidden",
            404: "not_found",
            429: "rate_limited",
        }
        return error_response(exc.status_code, code.get(exc.status_code, "error"), str(exc))

    @api.exception_handler(Http404)
    def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return error_response(404, "not_found", _("Not found."))

    return api
