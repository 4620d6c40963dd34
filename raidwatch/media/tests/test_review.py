"""The desk's photo review: publish, reject, blur more; who may, and the audit trail."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from django.test import Client
from PIL import Image

from raidwatch.accounts.models import AuditEntry
from raidwatch.media import actions, sealing
from raidwatch.media.models import Photo, PhotoState
from raidwatch.media.tests import images
from raidwatch.media.tests.helpers import new_report, post_photo, stored_jpeg
from raidwatch.testing.volunteers import signed_in_client

pytestmark = pytest.mark.django_db


def uploaded(*, noisy: bool = False) -> Photo:
    report = new_report()
    if noisy:  # detail everywhere, so every blurred square shows
        pixels = np.random.default_rng(7).integers(0, 256, (480, 640, 3), dtype=np.uint8)
        data = images.encoded(Image.fromarray(pixels), "JPEG", quality=90)
    else:
        data = images.plain_jpeg()
    assert post_photo(report.pk, data).status_code == 201
    return Photo.objects.select_related("report").get()


def desk(photo: Photo) -> str:
    return f"/en/volunteer/desk/{photo.report.incident_id}"


@pytest.mark.parametrize("persona", ["verifier", "coordinator"])
def test_the_desk_shows_the_photo_and_its_review_to_verifiers_and_coordinators(
    persona: str, request: pytest.FixtureRequest
) -> None:
    photo = uploaded()
    client = signed_in_client(request.getfixturevalue(persona))
    page = client.get(desk(photo)).content.decode()
    assert f"/en/volunteer/photos/{photo.pk}.jpg" in page
    assert f"/en/volunteer/photos/{photo.pk}/grid.jpg" in page
    assert f'data-photo-cell="{photo.pk}-64"' in page
    assert "photo-review.js" in page
    image = client.get(f"/en/volunteer/photos/{photo.pk}.jpg")
    assert image.status_code == 200
    assert image["Content-Type"] == "image/jpeg"
    assert "no-store" in image["Cache-Control"]
    assert image.content == stored_jpeg(photo)
    grid = client.get(f"/en/volunteer/photos/{photo.pk}/grid.jpg")
    assert grid.status_code == 200
    assert "no-store" in grid["Cache-Control"]


def test_a_responder_sees_that_photos_wait_but_not_the_photos(responder) -> None:
    photo = uploaded()
    client = signed_in_client(responder)
    page = client.get(desk(photo)).content.decode()
    assert "1 photo waits for a verifier" in page
    assert f"/photos/{photo.pk}.jpg" not in page
    assert client.get(f"/en/volunteer/photos/{photo.pk}.jpg").status_code == 403
    for verb in ("publish", "reject", "blur"):
        assert client.post(f"/en/volunteer/photos/{photo.pk}/{verb}", {"cell": "1"}).status_code == 403
    assert Photo.objects.get().state == PhotoState.PENDING


def test_outsiders_get_nothing() -> None:
    photo = uploaded()
    for url in (f"/en/volunteer/photos/{photo.pk}.jpg", f"/en/volunteer/photos/{photo.pk}/grid.jpg"):
        response = Client().get(url)
        assert response.status_code == 302
        assert "/volunteer/account/login" in response["Location"]
    assert Client().post(f"/en/volunteer/photos/{photo.pk}/publish").status_code == 302
    assert Photo.objects.get().state == PhotoState.PENDING


def test_publishing_is_audited(verifier) -> None:
    photo = uploaded()
    response = signed_in_client(verifier).post(f"/en/volunteer/photos/{photo.pk}/publish")
    assert response.status_code == 302
    assert response["Location"] == desk(photo)
    photo.refresh_from_db()
    assert photo.state == PhotoState.PUBLISHED
    assert photo.reviewed_by == verifier
    entry = AuditEntry.objects.get(action="media.publish")
    assert (entry.actor, entry.target_type, entry.target_id) == ("verifier", "photo", str(photo.pk))


def test_rejecting_destroys_the_image_and_its_key(verifier, settings) -> None:
    photo = uploaded()
    key_file = Path(settings.KEY_DIR) / "photos" / f"{photo.key_id.hex}.key"
    assert key_file.exists()
    signed_in_client(verifier).post(f"/en/volunteer/photos/{photo.pk}/reject")
    photo.refresh_from_db()
    assert photo.state == PhotoState.REJECTED
    assert photo.image_sealed is None
    assert not key_file.exists()
    assert actions.photo_image(photo) is None
    assert AuditEntry.objects.filter(action="media.reject", target_id=str(photo.pk)).exists()
    assert signed_in_client(verifier).get(f"/en/volunteer/photos/{photo.pk}.jpg").status_code == 404


def test_a_sealed_copy_cannot_be_opened_once_the_key_is_gone(verifier) -> None:
    photo = uploaded()
    sealed = Photo.objects.get().image_sealed
    assert sealed is not None
    backup = bytes(sealed)
    actions.reject_photo(photo.pk, verifier)
    assert sealing.open_sealed(photo.key_id, backup) is None


def changed_squares(before: bytes, after: bytes) -> set[int]:
    old = np.asarray(Image.open(io.BytesIO(before)).convert("L"), dtype=np.int16)
    new = np.asarray(Image.open(io.BytesIO(after)).convert("L"), dtype=np.int16)
    height, width = old.shape
    changed = set()
    for cell in range(1, actions.GRID**2 + 1):
        row, column = divmod(cell - 1, actions.GRID)
        top, left = row * height // actions.GRID, column * width // actions.GRID
        bottom, right = (row + 1) * height // actions.GRID, (column + 1) * width // actions.GRID
        # Inset by a few pixels: JPEG blocks blur the edges of a neighbouring square a little.
        difference = np.abs(
            old[top + 4 : bottom - 4, left + 4 : right - 4] - new[top + 4 : bottom - 4, left + 4 : right - 4]
        )
        if difference.mean() > 3:
            changed.add(cell)
    return changed


def test_blurring_numbered_squares_without_a_script(verifier) -> None:
    photo = uploaded(noisy=True)
    before = stored_jpeg(photo)
    response = signed_in_client(verifier).post(
        f"/en/volunteer/photos/{photo.pk}/blur", {"cell": ["36", "37"]}
    )
    assert response.status_code == 302
    assert changed_squares(before, stored_jpeg(photo)) == {36, 37}
    assert AuditEntry.objects.get(action="media.blur").details == {"areas": 2}


def test_blurring_rectangles_the_script_marks(verifier) -> None:
    photo = uploaded(noisy=True)
    before = stored_jpeg(photo)
    # The bottom-right quarter, as fractions of the image.
    signed_in_client(verifier).post(
        f"/en/volunteer/photos/{photo.pk}/blur", {"rects": "0.5,0.5,1,1;junk;2,2,3,3"}
    )
    changed = changed_squares(before, stored_jpeg(photo))
    quarter = {row * actions.GRID + column + 1 for row in range(4, 8) for column in range(4, 8)}
    assert changed <= quarter
    assert len(changed) >= 15


def test_blurring_nothing_is_a_message_not_an_error(verifier) -> None:
    photo = uploaded()
    client = signed_in_client(verifier)
    response = client.post(f"/en/volunteer/photos/{photo.pk}/blur", {}, follow=True)
    assert response.status_code == 200
    assert "Mark the squares or areas to blur first." in response.content.decode()
    assert not AuditEntry.objects.filter(action="media.blur").exists()


def test_a_rejected_photo_cannot_be_published(verifier) -> None:
    photo = uploaded()
    actions.reject_photo(photo.pk, verifier)
    with pytest.raises(actions.WrongState):
        actions.publish_photo(photo.pk, verifier)


def test_the_actions_check_the_role_themselves(responder) -> None:
    photo = uploaded()
    for call in (actions.publish_photo, actions.reject_photo):
        with pytest.raises(actions.NotAllowed):
            call(photo.pk, responder)
        with pytest.raises(actions.NotAllowed):
            call(photo.pk, None)
    with pytest.raises(actions.NotAllowed):
        actions.blur_more(photo.pk, responder, cells=[1])
