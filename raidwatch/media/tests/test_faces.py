"""R8: faces are blurred on the way in, and a detector failure means never published."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from raidwatch.media import actions, faces
from raidwatch.media.models import Photo, PhotoState
from raidwatch.media.tests import images
from raidwatch.media.tests.helpers import new_report, post_photo, stored_jpeg

pytestmark = pytest.mark.django_db


def detail(image: Image.Image, box: tuple[int, int, int, int]) -> float:
    """How much fine detail a region holds: the spread of its neighbouring-pixel differences."""
    grey = np.asarray(image.convert("L").crop(box), dtype=np.float64)
    return float(np.abs(np.diff(grey, axis=1)).std() + np.abs(np.diff(grey, axis=0)).std())


def test_the_drawn_face_is_one_the_detector_finds() -> None:
    image, (left, _top, right, _bottom) = images.street_with_face()
    found = faces.detect_faces(image)
    assert len(found) >= 1
    assert any(box.left <= left + 40 and box.right >= right - 40 for box in found)


def test_an_uploaded_face_is_blurred_beyond_detection() -> None:
    image, box = images.street_with_face()
    response = post_photo(new_report().pk, images.encoded(image, "JPEG", quality=92))
    assert response.status_code == 201, response.content
    photo = Photo.objects.get()
    assert photo.state == PhotoState.PENDING
    assert photo.faces_blurred is not None
    assert photo.faces_blurred >= 1
    stored = Image.open(io.BytesIO(stored_jpeg(photo))).convert("RGB")
    assert faces.detect_faces(stored) == []
    # The face lost its detail; the street beside it kept its own.
    assert detail(stored, box) < detail(image, box) / 3
    street = (20, 300, 420, 560)
    assert detail(stored, street) > detail(image, street) / 2


def test_a_photo_without_faces_is_left_sharp() -> None:
    response = post_photo(new_report().pk, images.plain_jpeg())
    photo = Photo.objects.get(pk=response.json()["id"])
    assert photo.faces_blurred == 0


def test_a_detector_failure_holds_the_photo_as_never_publishable(
    monkeypatch: pytest.MonkeyPatch, verifier
) -> None:
    def broken(image: Image.Image) -> list[faces.Box]:
        raise faces.DetectionFailed("cascade missing")

    monkeypatch.setattr(faces, "detect_faces", broken)
    response = post_photo(new_report().pk, images.plain_jpeg())
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "detector_failed"
    photo = Photo.objects.get()
    assert photo.state == PhotoState.DETECTOR_FAILED
    assert photo.faces_blurred is None
    with pytest.raises(actions.WrongState, match="never be published"):
        actions.publish_photo(photo.pk, verifier)
    # Blurring by hand does not make it publishable either.
    actions.blur_more(photo.pk, verifier, cells=[1])
    with pytest.raises(actions.WrongState):
        actions.publish_photo(photo.pk, verifier)
    assert Photo.objects.get().state == PhotoState.DETECTOR_FAILED


def test_any_error_inside_opencv_counts_as_a_detector_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> object:
        raise RuntimeError("opencv blew up")

    monkeypatch.setattr(cv2, "equalizeHist", explode)
    with pytest.raises(faces.DetectionFailed):
        faces.detect_faces(images.scene())
    post_photo(new_report().pk, images.plain_jpeg())
    assert Photo.objects.get().state == PhotoState.DETECTOR_FAILED
