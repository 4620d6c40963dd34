"""Test images made in the test: metadata of every kind, a drawn face, hostile files."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from PIL import ExifTags, Image, ImageCms, ImageDraw, ImageFilter
from PIL.PngImagePlugin import PngInfo

SENTINEL = "SENTINEL-META-7731"
XMP = (
    '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="' + SENTINEL + '-xmp"/>'
    '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
).encode()


def scene(size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A photo-like picture with some structure (plain colour compresses to nothing)."""
    image = Image.new("RGB", size, (90, 120, 150))
    draw = ImageDraw.Draw(image)
    for i in range(0, size[0], 40):
        draw.rectangle((i, size[1] // 2, i + 25, size[1] - 10), fill=(40 + i % 200, 80, 60))
    return image


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = SENTINEL + "-make"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (51.0, 30.0, 55.5),
        ExifTags.GPS.GPSLongitudeRef: "W",
        ExifTags.GPS.GPSLongitude: (0.0, 4.0, 20.25),
    }
    return exif


def icc_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def splice_jpeg_segments(jpeg: bytes, *segments: bytes) -> bytes:
    """Insert whole marker segments right after SOI (as cameras place APPn and COM)."""
    return jpeg[:2] + b"".join(segments) + jpeg[2:]


def segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def jpeg_with_everything(image: Image.Image | None = None, orientation: int = 1) -> bytes:
    out = io.BytesIO()
    (image or scene()).save(
        out, "JPEG", quality=90, exif=exif_with_gps(orientation), icc_profile=icc_profile()
    )
    return splice_jpeg_segments(
        out.getvalue(),
        segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + XMP),
        segment(0xFE, (SENTINEL + "-comment").encode()),
    )


def png_with_everything() -> bytes:
    info = PngInfo()
    info.add_text("Comment", SENTINEL + "-text")
    info.add_text("Author", SENTINEL + "-ztxt", zip=True)
    info.add_itxt("XML:com.adobe.xmp", XMP.decode(), lang="", tkey="")
    out = io.BytesIO()
    scene().save(out, "PNG", pnginfo=info, exif=exif_with_gps(), icc_profile=icc_profile())
    return out.getvalue()


def webp_with_everything() -> bytes:
    out = io.BytesIO()
    scene().save(out, "WEBP", exif=exif_with_gps(), xmp=XMP, icc_profile=icc_profile(), quality=90)
    return out.getvalue()


def encoded(image: Image.Image, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def plain_jpeg(size: tuple[int, int] = (640, 480)) -> bytes:
    return encoded(scene(size), "JPEG", quality=90)


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.txt", "hidden")
    return out.getvalue()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'


def bomb_png(side: int = 10_000) -> bytes:
    """100 MP of one colour: a few hundred KB as PNG, hundreds of MB decoded."""
    return encoded(Image.new("L", (side, side), 0), "PNG", optimize=False)


def animated_webp() -> bytes:
    frames = [Image.new("RGB", (64, 64), colour) for colour in ((255, 0, 0), (0, 255, 0))]
    return encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100, loop=0)


def animated_png() -> bytes:
    frames = [Image.new("RGB", (64, 64), colour) for colour in ((255, 0, 0), (0, 255, 0))]
    return encoded(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100)


def drawn_face(size: int = 300) -> Image.Image:
    """A plain drawn face (head, hair, brows, eyes, nose, mouth) that OpenCV's
    frontal Haar cascade finds: our own drawing, so no licence question."""
    image = Image.new("RGB", (400, 400), (200, 200, 205))
    draw = ImageDraw.Draw(image)
    draw.ellipse((100, 60, 300, 340), fill=(225, 185, 160))
    draw.chord((95, 45, 305, 200), 180, 360, fill=(60, 40, 30))
    draw.rectangle((130, 150, 185, 160), fill=(50, 35, 25))
    draw.rectangle((215, 150, 270, 160), fill=(50, 35, 25))
    draw.ellipse((138, 170, 178, 192), fill=(40, 30, 30))
    draw.ellipse((222, 170, 262, 192), fill=(40, 30, 30))
    draw.polygon([(200, 185), (185, 250), (215, 250)], fill=(205, 160, 140))
    draw.line([(185, 250), (215, 250)], fill=(150, 100, 90), width=4)
    draw.ellipse((160, 270, 240, 295), fill=(150, 60, 60))
    return image.filter(ImageFilter.GaussianBlur(3)).resize((size, size), Image.Resampling.LANCZOS)


def street_with_face() -> tuple[Image.Image, tuple[int, int, int, int]]:
    """A scene with one face in it, and the face's box."""
    image = scene((900, 600))
    face = drawn_face(300)
    image.paste(face, (500, 80))
    return image, (500, 80, 800, 380)
