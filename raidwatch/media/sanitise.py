"""Checking an uploaded photo by its content, and re-encoding its pixels alone (SECURITY.md R7).

Only JPEG, PNG and WebP are accepted, recognised by their magic bytes and
then by a real decode with only that format's decoder; the name and the
declared content type are never trusted. A file must end where its image
ends: anything appended (a ZIP, an HTML page, a second document) makes it a
polyglot and it is refused, although only the pixels would be kept anyway.
The pixels, turned upright by the EXIF orientation and scaled down, are
copied into a new image, so no EXIF/GPS, XMP, comment, text chunk or ICC
profile can come along, and that image is encoded as a fresh JPEG.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import ExifTags, Image

# Phone cameras reach 50 MP in full-resolution mode (8160 by 6144); a bomb is
# refused from its header before any pixel is decoded. Pillow's own guard
# (about 89 MP) never comes into play below this.
MAX_PIXELS = 64_000_000
# The long side of the stored image: enough to see what happened, at a few
# hundred KB; faces are looked for at this size too.
MAX_SIDE = 1600
JPEG_QUALITY = 82

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# In JPEG entropy-coded data, 0xFF is followed by 0x00 (a stuffed byte) or
# RST0-7; anything else after 0xFF is the next marker.
_JPEG_MARKER_IN_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7]")
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class PhotoRefused(Exception):
    """A file that is not accepted: the status and code of the contract's error, and why."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Decoded:
    image: Image.Image  # RGB, upright, at most MAX_SIDE on its long side, no metadata
    source_format: str


def max_upload_bytes() -> int:
    return int(settings.RAIDWATCH_MAX_PHOTO_BYTES)


def too_large() -> PhotoRefused:
    return PhotoRefused(
        413,
        "file_too_large",
        _("The photo is larger than %(mb)d MB.") % {"mb": max_upload_bytes() // (1024 * 1024)},
    )


def sniff_format(data: bytes) -> str:
    """JPEG, PNG or WEBP by the file's first bytes; anything else (SVG, HEIC, PDF…) is refused."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == _PNG_SIGNATURE:
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    raise PhotoRefused(415, "unsupported_type", _("Only photos in JPEG, PNG or WebP format are accepted."))


def _malformed() -> PhotoRefused:
    return PhotoRefused(422, "unreadable", _("This file could not be read as a photo."))


def _appended() -> PhotoRefused:
    return PhotoRefused(
        422,
        "trailing_data",
        _(
            "This file has something else attached after the image (a motion photo or a hidden "
            "file). Send a plain photo or a screenshot instead."
        ),
    )


def _jpeg_end(data: bytes, start: int) -> int:
    """The offset just past the EOI marker of the JPEG stream that begins at ``start``."""
    if data[start : start + 2] != b"\xff\xd8":
        raise _malformed()
    i, size = start + 2, len(data)
    while True:
        if i >= size or data[i] != 0xFF:
            raise _malformed()
        while i < size and data[i] == 0xFF:  # fill bytes before a marker
            i += 1
        if i >= size:
            raise _malformed()
        marker = data[i]
        i += 1
        if marker == 0xD9:  # EOI
            return i
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            continue
        if i + 2 > size:
            raise _malformed()
        length = int.from_bytes(data[i : i + 2], "big")
        if length < 2:
            raise _malformed()
        i += length
        if marker == 0xDA:  # start of scan: entropy-coded data runs to the next marker
            found = _JPEG_MARKER_IN_SCAN.search(data, i)
            if found is None:
                raise _malformed()
            i = found.start()


def _png_end(data: bytes) -> int:
    i, size = len(_PNG_SIGNATURE), len(data)
    while i + 12 <= size:
        length = int.from_bytes(data[i : i + 4], "big")
        kind = data[i + 4 : i + 8]
        i += 12 + length
        if kind == b"IEND":
            return i
    raise _malformed()


def check_nothing_appended(data: bytes, source_format: str, *, multi_picture: bool) -> None:
    """Refuse a file with anything after its image (a polyglot)."""
    if source_format == "PNG":
        end = _png_end(data)
    elif source_format == "WEBP":
        # The RIFF header states the length of everything that follows it.
        end = 8 + int.from_bytes(data[4:8], "little")
        if end > len(data):
            raise _malformed()
    else:
        end = _jpeg_end(data, 0)
        # A multi-picture JPEG (MPF: phones put a depth or gain map there)
        # holds further whole JPEG streams after the first, and nothing else.
        while multi_picture and data[end : end + 2] == b"\xff\xd8":
            end = _jpeg_end(data, end)
        # Some encoders pad the file with zero bytes: no room to hide anything.
        if not data[end:].strip(b"\x00"):
            end = len(data)
    if end != len(data):
        raise _appended()


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # a broken EXIF block: keep the pixels as they are stored
        return 1
    return value if isinstance(value, int) else 1


def _fit(size: tuple[int, int]) -> tuple[int, int]:
    width, height = size
    scale = min(1.0, MAX_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def decode(data: bytes) -> Decoded:
    """Check ``data`` and return its pixels alone, upright and scaled down; PhotoRefused otherwise."""
    if len(data) > max_upload_bytes():
        raise too_large()
    source_format = sniff_format(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Only the decoder the magic bytes named: Pillow must not go looking
            # for another plugin that would accept the file.
            image = Image.open(io.BytesIO(data), formats=[source_format])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoRefused(
            422, "too_many_pixels", _("This image has too many pixels to be a photo.")
        ) from None
    except Exception:  # any decoder error on hostile input is a refusal, never a 500
        raise _malformed() from None
    if image.format not in (source_format, "MPO"):
        raise _malformed()
    width, height = image.size
    if width * height > MAX_PIXELS or width < 1 or height < 1:
        raise PhotoRefused(422, "too_many_pixels", _("This image has too many pixels to be a photo."))
    multi_picture = image.format == "MPO"
    if getattr(image, "n_frames", 1) > 1 and not multi_picture:
        raise PhotoRefused(
            422, "animated", _("Animated images are not accepted. Send a still photo or a screenshot.")
        )
    check_nothing_appended(data, source_format, multi_picture=multi_picture)
    orientation = _orientation(image)
    try:
        if source_format == "JPEG":
            # Decode at a reduced scale where the target size allows: far less memory.
            image.draft("RGB", _fit(image.size))
        image.load()
        pixels = _to_rgb(image)
        if max(pixels.size) > MAX_SIDE:
            pixels = pixels.resize(_fit(pixels.size), Image.Resampling.LANCZOS, reducing_gap=3.0)
        if orientation in _UPRIGHT:
            pixels = pixels.transpose(_UPRIGHT[orientation])
    except PhotoRefused:
        raise
    except Exception:
        raise _malformed() from None
    # A new image from the raw pixels: Pillow copies `info` (comments, ICC, EXIF)
    # from image to image on resize and transpose, never into frombytes.
    clean = Image.frombytes("RGB", pixels.size, pixels.tobytes())
    return Decoded(clean, source_format)


def _to_rgb(image: Image.Image) -> Image.Image:
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )
    if not has_alpha:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    flat = Image.new("RGB", rgba.size, (255, 255, 255))
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat


def encode_jpeg(image: Image.Image) -> bytes:
    """The stored form: a baseline JPEG with no EXIF, XMP, ICC profile or comment."""
    if image.info:
        image = Image.frombytes("RGB", image.size, image.tobytes())
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, subsampling="4:2:0")
    return out.getvalue()
