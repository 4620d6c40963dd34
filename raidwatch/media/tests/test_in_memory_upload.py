"""R7: an upload is never written to a temporary file, over WSGI or over ASGI."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.core.asgi import get_asgi_application
from django.core.files import uploadhandler

from raidwatch.intake.api import media_token_for
from raidwatch.lib.asgi import ASGIBodyLimit
from raidwatch.media.models import Photo
from raidwatch.media.tests import images
from raidwatch.media.tests.helpers import new_report, post_photo


def padded_jpeg(size: int) -> bytes:
    """A real JPEG made big with an application segment of noise (a camera's maker notes)."""
    import os

    jpeg = images.plain_jpeg()
    chunks = []
    remaining = size - len(jpeg)
    while remaining > 4:
        payload = os.urandom(min(65533, remaining - 4))
        chunks.append(images.segment(0xEB, payload))
        remaining -= len(payload) + 4
    return images.splice_jpeg_segments(jpeg, *chunks)


@pytest.fixture
def no_temporary_files(monkeypatch: pytest.MonkeyPatch, settings: Any) -> list[str]:
    """Any way Django or Python could write a temporary file fails the test.

    Except a key file written into the key directory (lib/keys.py writes each
    key under a temporary name, then links it into place): that is a key, not
    the upload.
    """
    attempts: list[str] = []
    real_mkstemp = tempfile.mkstemp

    def key_mkstemp(*args: Any, **kwargs: Any) -> Any:
        directory = Path(str(kwargs.get("dir", "")))
        if directory.is_relative_to(Path(settings.KEY_DIR)):
            return real_mkstemp(*args, **kwargs)
        attempts.append("mkstemp")
        raise AssertionError("mkstemp was used during an upload")

    def refuse(name: str) -> Any:
        def called(*args: Any, **kwargs: Any) -> Any:
            attempts.append(name)
            raise AssertionError(f"{name} was used during an upload")

        return called

    monkeypatch.setattr(
        uploadhandler.TemporaryFileUploadHandler, "new_file", refuse("TemporaryFileUploadHandler")
    )
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse("NamedTemporaryFile"))
    monkeypatch.setattr(tempfile, "TemporaryFile", refuse("TemporaryFile"))
    monkeypatch.setattr(tempfile, "mkstemp", key_mkstemp)
    monkeypatch.setattr(tempfile.SpooledTemporaryFile, "rollover", refuse("SpooledTemporaryFile.rollover"))
    return attempts


@pytest.mark.django_db
def test_a_9_mb_photo_over_wsgi_stays_in_memory(no_temporary_files: list[str]) -> None:
    data = padded_jpeg(9 * 1024 * 1024)
    response = post_photo(new_report().pk, data)
    assert response.status_code == 201, response.content
    assert no_temporary_files == []
    assert Photo.objects.count() == 1


def test_the_settings_never_name_a_handler_that_writes_to_disk(settings: Any) -> None:
    assert settings.FILE_UPLOAD_HANDLERS == ["django.core.files.uploadhandler.MemoryFileUploadHandler"]
    # Django's ASGI handler spools a body past this size to disk: it must hold the largest one let in.
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE > settings.RAIDWATCH_MAX_PHOTO_BODY_BYTES + 1


BOUNDARY = "raidwatchboundary7731"


def multipart(data: bytes) -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="p.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


async def call_asgi(app: Any, path: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> tuple[int, Any]:
    chunks = [body[i : i + 64 * 1024] for i in range(0, len(body), 64 * 1024)] or [b""]
    sent: list[dict[str, Any]] = []
    position = 0

    async def receive() -> dict[str, Any]:
        nonlocal position
        await asyncio.sleep(0)
        if position >= len(chunks):
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}
        position += 1
        return {"type": "http.request", "body": chunks[position - 1], "more_body": position < len(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("203.0.113.77", 40000),
        "server": ("127.0.0.1", 8000),
    }
    await asyncio.wait_for(app(scope, receive, send), timeout=60)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body_out = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body_out)


@pytest.mark.django_db(transaction=True)
def test_a_9_mb_photo_over_asgi_in_chunks_stays_in_memory(no_temporary_files: list[str]) -> None:
    report = new_report()
    body = multipart(padded_jpeg(9 * 1024 * 1024))
    # In 64 KB messages, as uvicorn hands them on; Django's ASGI handler collects
    # them in a SpooledTemporaryFile, which must never roll over to disk.
    status, answer = asyncio.run(
        call_asgi(
            ASGIBodyLimit(get_asgi_application()),
            f"/api/v1/reports/{report.pk}/media",
            body,
            [
                (b"content-length", str(len(body)).encode()),
                (b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode()),
                (b"authorization", f"Bearer {media_token_for(report.pk)}".encode()),
            ],
        )
    )
    assert status == 201, answer
    assert no_temporary_files == []
    assert Photo.objects.filter(report=report).count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_oversized_chunked_body_over_asgi_is_cut_off_in_memory_and_refused(
    no_temporary_files: list[str],
) -> None:
    report = new_report()
    # Chunked, without a Content-Length: the ASGI limit cuts it off after 10 MB and 64 KB.
    status, answer = asyncio.run(
        call_asgi(
            ASGIBodyLimit(get_asgi_application()),
            f"/api/v1/reports/{report.pk}/media",
            multipart(b"\xff\xd8\xff" + b"\x00" * (12 * 1024 * 1024)),
            [
                (b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode()),
                (b"authorization", f"Bearer {media_token_for(report.pk)}".encode()),
            ],
        )
    )
    assert status == 413
    assert answer["error"]["code"] == "body_too_large"
    assert no_temporary_files == []
    assert not Photo.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_other_routes_keep_the_64_kb_limit_over_asgi() -> None:
    status, answer = asyncio.run(
        call_asgi(
            ASGIBodyLimit(get_asgi_application()),
            "/api/v1/reports",
            b" " * (100 * 1024),
            [(b"content-type", b"application/json")],
        )
    )
    assert status == 413
    assert "64 KB" in answer["error"]["message"]


@pytest.mark.django_db(transaction=True)
def test_the_check_would_see_a_body_spooled_to_disk(no_temporary_files: list[str], settings: Any) -> None:
    # With Django's default threshold the ASGI handler would roll a photo over to disk.
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
    report = new_report()
    body = multipart(padded_jpeg(3 * 1024 * 1024))
    with pytest.raises(AssertionError, match="rollover"):
        asyncio.run(
            call_asgi(
                ASGIBodyLimit(get_asgi_application()),
                f"/api/v1/reports/{report.pk}/media",
                body,
                [
                    (b"content-length", str(len(body)).encode()),
                    (b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode()),
                ],
            )
        )
    assert no_temporary_files == ["SpooledTemporaryFile.rollover"]
