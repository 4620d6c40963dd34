"""R7: what is stored is the pixels alone: no EXIF/GPS, XMP, comment, text chunk or ICC profile."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from raidwatch.media.models import Photo
from raidwatch.media.tests import images
from raidwatch.media.tests.helpers import exiftool, new_report, post_photo, stored_jpeg

pytestmark = pytest.mark.django_db

# Groups exiftool files metadata under; a clean JPEG has only File, JFIF and Composite.
LEAKY_GROUPS = ("GPS", "XMP", "ICC", "IFD0", "IFD1", "ExifIFD", "InteropIFD", "PNG", "MakerNotes", "APP")
FIXTURES = {
    "jpeg": images.jpeg_with_everything,
    "png": images.png_with_everything,
    "webp": images.webp_with_everything,
}


def leaks(tags: dict[str, object]) -> list[str]:
    found = [name for name in tags if name.split(":")[0].startswith(LEAKY_GROUPS)]
    found += [name for name in tags if name.endswith(":Comment")]
    found += [name for name, value in tags.items() if images.SENTINEL in str(value)]
    return found


@pytest.mark.parametrize("fmt", sorted(FIXTURES))
def test_the_fixture_really_carries_every_kind_of_metadata(fmt: str, tmp_path: Path) -> None:
    path = tmp_path / f"in.{fmt}"
    path.write_bytes(FIXTURES[fmt]())
    tags = exiftool(path)
    groups = {name.split(":")[0] for name in tags}
    assert "GPS" in groups
    assert any(group.startswith("ICC") for group in groups)
    assert any(group.startswith("XMP") for group in groups)
    assert images.SENTINEL.encode() in path.read_bytes()
    if fmt == "jpeg":
        assert tags["File:Comment"] == images.SENTINEL + "-comment"
    if fmt == "png":
        assert f"{images.SENTINEL}-text" in str(tags.values())


@pytest.mark.parametrize("fmt", sorted(FIXTURES))
def test_the_stored_image_has_none_of_it(fmt: str, tmp_path: Path) -> None:
    report = new_report()
    response = post_photo(report.pk, FIXTURES[fmt](), name=f"x.{fmt}")
    assert response.status_code == 201, response.content
    stored = stored_jpeg(Photo.objects.get(pk=response.json()["id"]))
    path = tmp_path / "stored.jpg"
    path.write_bytes(stored)
    tags = exiftool(path)
    assert tags["File:FileType"] == "JPEG"
    assert leaks(tags) == []
    # And by bytes: no sentinel, no EXIF or XMP header, no ICC signature, no comment marker.
    assert images.SENTINEL.encode() not in stored
    for marker in (b"Exif\x00\x00", b"http://ns.adobe.com/xap", b"ICC_PROFILE", b"acsp", b"\xff\xfe"):
        assert marker not in stored, marker


def test_the_exif_orientation_is_applied_before_the_exif_goes(tmp_path: Path) -> None:
    # Stored sideways, landscape 200 x 100 with a red left half; orientation 6 says "turn right".
    sideways = Image.new("RGB", (200, 100), (0, 0, 255))
    sideways.paste((255, 0, 0), (0, 0, 100, 100))
    data = images.jpeg_with_everything(sideways, orientation=6)
    response = post_photo(new_report().pk, data)
    assert response.status_code == 201, response.content
    upright = Image.open(io.BytesIO(stored_jpeg(Photo.objects.get())))
    assert upright.size == (100, 200)
    top, bottom = upright.getpixel((50, 20)), upright.getpixel((50, 180))
    assert isinstance(top, tuple)
    assert isinstance(bottom, tuple)
    assert top[0] > 200 > top[2], top  # the red half is on top after turning right
    assert bottom[2] > 200 > bottom[0], bottom


def test_a_large_photo_is_stored_at_most_1600_pixels_on_its_long_side() -> None:
    response = post_photo(new_report().pk, images.plain_jpeg((4000, 3000)))
    assert response.status_code == 201, response.content
    photo = Photo.objects.get()
    assert (photo.width, photo.height) == (1600, 1200)
    assert Image.open(io.BytesIO(stored_jpeg(photo))).size == (1600, 1200)
