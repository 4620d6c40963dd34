"""R7: JPEG, PNG and WebP only, judged by content; everything else refused clearly, nothing stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from raidwatch.media.models import Photo
from raidwatch.media.tests import images
from raidwatch.media.tests.helpers import new_report, post_photo

pytestmark = pytest.mark.django_db


@pytest.fixture
def keys(settings: Any) -> Path:
    return Path(settings.KEY_DIR)


def key_files(keys: Path) -> list[Path]:
    return list((keys / "photos").glob("*.key")) if (keys / "photos").exists() else []


@pytest.mark.parametrize(
    ("data", "name", "content_type"),
    [
        (images.plain_jpeg(), "photo.jpg", "image/jpeg"),
        (images.encoded(images.scene(), "PNG"), "photo.png", "image/png"),
        (images.encoded(images.scene(), "WEBP"), "photo.webp", "image/webp"),
        # The name and the declared type do not matter, only the content.
        (images.encoded(images.scene(), "PNG"), "photo.gif", "application/octet-stream"),
        (images.encoded(Image.new("RGBA", (50, 40), (0, 0, 0, 0)), "PNG"), "alpha.png", "image/png"),
        (images.encoded(images.scene().convert("CMYK"), "JPEG"), "cmyk.jpg", "image/jpeg"),
    ],
)
def test_photos_are_accepted_by_their_content(data: bytes, name: str, content_type: str) -> None:
    report = new_report()
    response = post_photo(report.pk, data, name=name, content_type=content_type)
    assert response.status_code == 201, response.content
    assert response.json() == {"id": Photo.objects.get().pk, "status": "pending_review"}


def refused(
    data: bytes,
    status: int,
    code: str,
    keys: Path,
    *,
    name: str = "photo.jpg",
    content_type: str = "image/jpeg",
) -> str:
    response = post_photo(new_report().pk, data, name=name, content_type=content_type)
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert not Photo.objects.exists()
    assert key_files(keys) == []
    return str(error["message"])


def test_an_svg_is_refused_even_named_and_typed_as_a_jpeg(keys: Path) -> None:
    message = refused(images.SVG, 415, "unsupported_type", keys)
    assert "JPEG, PNG or WebP" in message


@pytest.mark.parametrize(
    "data",
    [
        b"GIF89a" + b"\x00" * 100,
        b"%PDF-1.7\n" + b"\x00" * 100,
        b"\x00\x00\x00\x18ftypheic" + b"\x00" * 100,
        b"<html><body>hello</body></html>",
        b"",
    ],
    ids=["gif", "pdf", "heic", "html", "empty"],
)
def test_other_formats_are_refused(data: bytes, keys: Path) -> None:
    refused(data, 415, "unsupported_type", keys)


@pytest.mark.parametrize(
    "data",
    [
        images.plain_jpeg() + images.zip_bytes(),
        images.plain_jpeg() + b"<html><script>alert(1)</script></html>",
        images.encoded(images.scene(), "PNG") + b"<?php echo 1; ?>",
        images.encoded(images.scene(), "PNG") + images.zip_bytes(),
        images.encoded(images.scene(), "WEBP") + images.zip_bytes(),
    ],
    ids=["jpeg+zip", "jpeg+html", "png+trailing", "png+zip", "webp+zip"],
)
def test_polyglots_are_refused(data: bytes, keys: Path) -> None:
    message = refused(data, 422, "trailing_data", keys)
    assert "attached after the image" in message


def test_a_decompression_bomb_is_refused_before_its_pixels_are_decoded(keys: Path) -> None:
    bomb = images.bomb_png()
    assert len(bomb) < 1024 * 1024  # small on the wire, 100 MP decoded
    refused(bomb, 422, "too_many_pixels", keys, name="bomb.png", content_type="image/png")


@pytest.mark.parametrize("make", [images.animated_webp, images.animated_png], ids=["webp", "apng"])
def test_animated_images_are_refused(make, keys: Path) -> None:
    refused(make(), 422, "animated", keys)


def test_a_truncated_or_corrupt_image_is_refused_not_a_500(keys: Path) -> None:
    refused(images.plain_jpeg()[:3000], 422, "unreadable", keys)
    refused(b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + b"\x13" * 500, 422, "unreadable", keys)


def test_a_file_over_10_mb_gets_a_413(keys: Path) -> None:
    # A real JPEG padded past 10 MB: refused on the body's size, before anything is parsed.
    eleven_mb = images.plain_jpeg() + b"\x00" * (11 * 1024 * 1024)
    message = refused(eleven_mb, 413, "body_too_large", keys)
    assert "10 MB" in message


def test_a_file_just_over_10_mb_inside_the_body_allowance_is_refused_too(keys: Path) -> None:
    # The body limit leaves 64 KB for the envelope; the file itself is capped at 10 MB as it arrives.
    just_over = images.plain_jpeg() + b"\x00" * (10 * 1024 * 1024 + 1)
    message = refused(just_over, 413, "file_too_large", keys)
    assert "10 MB" in message


def test_a_request_without_a_file_is_a_400(keys: Path) -> None:
    from django.test import Client

    from raidwatch.intake.api import media_token_for

    report = new_report()
    response = Client().post(
        f"/api/v1/reports/{report.pk}/media",
        {"photo": "not a file"},
        headers={"Authorization": f"Bearer {media_token_for(report.pk)}"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "missing_file"
    assert not Photo.objects.exists()
