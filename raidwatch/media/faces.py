"""Finding faces offline and blurring them, and blurring what a verifier marks (R8).

OpenCV's Haar cascades run on the CPU with no network and no model download:
the cascade files ship inside opencv-python-headless 4.x (5.x dropped them).
Frontal faces, and profiles looking either way (the profile cascade knows one
direction, so the mirrored image is searched too). Detectors miss faces,
which is why nothing is published before a verifier has looked; a false
alarm only blurs a little more than needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageFilter

if TYPE_CHECKING:
    import numpy as np

# OpenCV and numpy are imported where faces are looked for, not at start-up:
# together they take about 50 ms and tens of MB in every web and worker
# process, and only photo uploads need them.

# A face box grows by this share on each side before blurring: hair, ears, chin.
_MARGIN = 0.25
# The blurred area is first reduced to about this many blocks across, so no
# detail survives that a sharpening filter could bring back.
_BLOCKS_ACROSS = 6


class DetectionFailed(Exception):
    """The detector could not run: the photo must never be published."""


@dataclass(frozen=True)
class Box:
    left: int
    top: int
    right: int
    bottom: int


@cache
def _cascade(name: str) -> Any:
    import cv2

    path = Path(cv2.data.haarcascades) / name  # type: ignore[attr-defined]
    classifier = cv2.CascadeClassifier(str(path))
    if classifier.empty():
        raise DetectionFailed(f"the cascade {name} did not load")
    return classifier


def _search(classifier: Any, grey: np.ndarray) -> list[tuple[int, int, int, int]]:
    found = classifier.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=4, minSize=(20, 20))
    return [(int(x), int(y), int(w), int(h)) for (x, y, w, h) in found]


def detect_faces(image: Image.Image) -> list[Box]:
    """Boxes around the faces found; DetectionFailed if the detector itself fails."""
    try:
        import cv2
        import numpy as np

        grey = cv2.equalizeHist(np.asarray(image.convert("L"), dtype=np.uint8))
        width = grey.shape[1]
        boxes = _search(_cascade("haarcascade_frontalface_default.xml"), grey)
        profile = _cascade("haarcascade_profileface.xml")
        boxes += _search(profile, grey)
        boxes += [(width - x - w, y, w, h) for (x, y, w, h) in _search(profile, cv2.flip(grey, 1))]
    except DetectionFailed:
        raise
    except Exception as exc:
        raise DetectionFailed(type(exc).__name__) from exc
    return [_grown(x, y, w, h, image.size) for (x, y, w, h) in boxes]


def _grown(x: int, y: int, w: int, h: int, size: tuple[int, int]) -> Box:
    dx, dy = int(w * _MARGIN), int(h * _MARGIN)
    return Box(max(0, x - dx), max(0, y - dy), min(size[0], x + w + dx), min(size[1], y + h + dy))


def blur(image: Image.Image, boxes: list[Box]) -> Image.Image:
    """A copy of ``image`` with each box pixelated and blurred beyond recognition."""
    result = image.copy()
    for box in boxes:
        width, height = box.right - box.left, box.bottom - box.top
        if width < 1 or height < 1:
            continue
        region = result.crop((box.left, box.top, box.right, box.bottom))
        block = max(1, max(width, height) // _BLOCKS_ACROSS)
        small = region.resize((max(1, width // block), max(1, height // block)), Image.Resampling.BOX)
        coarse = small.resize((width, height), Image.Resampling.NEAREST)
        result.paste(coarse.filter(ImageFilter.GaussianBlur(block / 2)), (box.left, box.top))
    return result
