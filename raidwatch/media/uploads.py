"""Taking the uploaded file out of a request, in memory only (R7), and the reporter's grant.

Django spools an upload past FILE_UPLOAD_MAX_MEMORY_SIZE to a temporary file
by default, which would leave the original photo on disk. The photo routes
set their own handler list before anything reads the body: only an in-memory
handler, which also refuses a file over the size limit as it arrives.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import signing
from django.core.files.uploadhandler import MemoryFileUploadHandler, StopUpload
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

from raidwatch.intake.api import MEDIA_TOKEN_SALT
from raidwatch.media.sanitise import PhotoRefused, max_upload_bytes, too_large

# A report's token opens its photo upload for this long after the report.
MEDIA_TOKEN_MAX_AGE = 24 * 3600
# The web form hands the token to the reporter's browser in this cookie: never
# in a URL or the page, and not in a server-side session, which would keep a
# row linking a browser to its report (the public site keeps no sessions).
PHOTO_COOKIE = "raidwatch_photo"
PHOTO_COOKIE_SECONDS = 3600


class _Oversized(StopUpload):
    pass


class InMemoryPhotoHandler(MemoryFileUploadHandler):
    """MemoryFileUploadHandler that stops reading once a file passes the photo size limit."""

    def handle_raw_input(self, *args: Any, **kwargs: Any) -> None:
        super().handle_raw_input(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > max_upload_bytes():
            raise _Oversized(connection_reset=False)
        return super().receive_data_chunk(raw_data, start)


def keep_uploads_in_memory(request: HttpRequest) -> None:
    """Call before anything reads request.POST or request.FILES."""
    request.upload_handlers = [InMemoryPhotoHandler(request)]


def read_photo(request: HttpRequest) -> bytes:
    """The bytes of the multipart field ``file``; PhotoRefused for a missing or oversized one."""
    try:
        files = request.FILES.getlist("file")
    except MultiPartParserError:
        raise PhotoRefused(400, "malformed", _("The upload could not be read.")) from None
    received = getattr(request.upload_handlers[0], "received", 0) if request.upload_handlers else 0
    if received > max_upload_bytes():
        raise too_large()
    if len(files) != 1:
        raise PhotoRefused(400, "missing_file", _("Send one photo in the field named “file”."))
    data: bytes = files[0].read()
    return data


def report_for_token(token: str) -> int | None:
    """The report id a valid, unexpired media token names, else None."""
    try:
        data = signing.loads(token, salt=MEDIA_TOKEN_SALT, max_age=MEDIA_TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    report = data.get("report") if isinstance(data, dict) else None
    return report if isinstance(report, int) else None


def grant_photo_upload(response: HttpResponseBase, media_token: str) -> None:
    """Let this browser add photos to the report it just sent, for an hour."""
    response.set_cookie(
        PHOTO_COOKIE,
        media_token,
        max_age=PHOTO_COOKIE_SECONDS,
        httponly=True,
        samesite="Strict",
        secure=not settings.DEBUG and settings.PRODUCTION,
    )


def granted_report(request: HttpRequest) -> int | None:
    token = request.COOKIES.get(PHOTO_COOKIE)
    return report_for_token(token) if isinstance(token, str) else None
