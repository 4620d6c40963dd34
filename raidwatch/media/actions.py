"""What happens to photos: taking one in, and a verifier's publish, reject and blur.

Each state change runs in one transaction and, when a volunteer makes it,
writes the audit log. Rejecting or expiring a photo destroys its key file, so
the image is gone from every copy of the database at once.
"""

from __future__ import annotations

import io
import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image

from raidwatch.accounts import audit
from raidwatch.accounts.models import Volunteer
from raidwatch.accounts.roles import may
from raidwatch.coordination import tuning
from raidwatch.intake.models import Report
from raidwatch.media import faces, sanitise, sealing
from raidwatch.media.models import Photo, PhotoState

logger = logging.getLogger(__name__)

# One report, a few photos: enough to show what happened, not a dump.
MAX_PHOTOS_PER_REPORT = 3
# The grid of numbered squares a verifier marks to blur more without a script.
GRID = 8


class PhotoError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PhotoLimitReached(PhotoError):
    pass


class NotAllowed(PhotoError):
    pass


class WrongState(PhotoError):
    pass


def accept_photo(report_id: int, data: bytes) -> Photo:
    """Check, re-encode, blur faces, seal and store a photo for ``report_id``.

    PhotoRefused for a file that is not accepted, PhotoLimitReached past the
    per-report limit; in both cases nothing is stored. The original bytes are
    only ever in memory. A failing face detector does not refuse the photo
    (it still helps the verifier) but marks it as never publishable (R8).
    """
    decoded = sanitise.decode(data)
    try:
        boxes = faces.detect_faces(decoded.image)
    except faces.DetectionFailed as exc:
        logger.warning("face detection failed (%s); the photo is held unpublishable", exc)
        image, state, blurred = decoded.image, PhotoState.DETECTOR_FAILED, None
    else:
        image, state, blurred = faces.blur(decoded.image, boxes), PhotoState.PENDING, len(boxes)
    encoded = sanitise.encode_jpeg(image)
    key_id = sealing.new_key()
    try:
        with transaction.atomic():
            # Lock the report (PostgreSQL; SQLite's IMMEDIATE transaction already
            # holds the write lock) so two uploads at once count in turn.
            if not Report.objects.select_for_update().filter(pk=report_id).exists():
                raise PhotoError(_("There is no such report."))
            if Photo.objects.filter(report_id=report_id).count() >= MAX_PHOTOS_PER_REPORT:
                raise PhotoLimitReached(
                    _("This report already has %(n)d photos, the most one report can have.")
                    % {"n": MAX_PHOTOS_PER_REPORT}
                )
            return Photo.objects.create(
                report_id=report_id,
                state=state,
                image_sealed=sealing.seal(key_id, encoded),
                key_id=key_id,
                width=image.width,
                height=image.height,
                faces_blurred=blurred,
                received_at=timezone.now(),
            )
    except BaseException:
        sealing.destroy_key(key_id)
        raise


def photo_image(photo: Photo) -> bytes | None:
    """The stored JPEG, or None when it is gone (rejected, expired, key destroyed)."""
    if photo.image_sealed is None:
        return None
    return sealing.open_sealed(photo.key_id, bytes(photo.image_sealed))


def _require(by: Volunteer | None) -> Volunteer:
    if by is None or not may(by, "media.review"):
        raise NotAllowed(_("You may not review photos."))
    return by


def _locked(photo_id: int) -> Photo:
    photo = Photo.objects.select_for_update().filter(pk=photo_id).first()
    if photo is None:
        raise PhotoError(_("There is no such photo."))
    return photo


def publish_photo(photo_id: int, by: Volunteer | None) -> Photo:
    """A verifier has looked and blurred what the detector missed: the photo may go public.

    It shows only on the public pages of a confirmed incident.
    """
    by = _require(by)
    with transaction.atomic():
        photo = _locked(photo_id)
        if photo.state == PhotoState.DETECTOR_FAILED:
            raise WrongState(_("Face detection failed on this photo, so it can never be published."))
        if photo.state != PhotoState.PENDING:
            raise WrongState(_("This photo is %(state)s.") % {"state": photo.get_state_display()})
        photo.state, photo.reviewed_by, photo.reviewed_at = PhotoState.PUBLISHED, by, timezone.now()
        photo.save(update_fields=["state", "reviewed_by", "reviewed_at"])
        audit.record(by.username, "media.publish", "photo", photo.pk, report=photo.report_id)
    return photo


def reject_photo(photo_id: int, by: Volunteer | None) -> Photo:
    """Never to be published: the image and its key are destroyed now (published ones too)."""
    by = _require(by)
    with transaction.atomic():
        photo = _locked(photo_id)
        if photo.state == PhotoState.REJECTED:
            raise WrongState(_("This photo is already rejected."))
        photo.state, photo.reviewed_by, photo.reviewed_at = PhotoState.REJECTED, by, timezone.now()
        photo.image_sealed = None
        photo.save(update_fields=["state", "reviewed_by", "reviewed_at", "image_sealed"])
        audit.record(by.username, "media.reject", "photo", photo.pk, report=photo.report_id)
    # After the commit: a rolled-back rejection must not have destroyed the image.
    sealing.destroy_key(photo.key_id)
    return photo


def grid_boxes(cells: list[int], size: tuple[int, int]) -> list[faces.Box]:
    """Boxes for numbered grid squares (1 … GRID², left to right, top to bottom)."""
    width, height = size
    boxes = []
    for cell in cells:
        if not 1 <= cell <= GRID * GRID:
            continue
        row, column = divmod(cell - 1, GRID)
        boxes.append(
            faces.Box(
                column * width // GRID,
                row * height // GRID,
                (column + 1) * width // GRID,
                (row + 1) * height // GRID,
            )
        )
    return boxes


def fraction_boxes(
    rectangles: list[tuple[float, float, float, float]], size: tuple[int, int]
) -> list[faces.Box]:
    """Boxes for rectangles given as fractions of the image (left, top, right, bottom in 0…1)."""
    width, height = size
    boxes = []
    for left, top, right, bottom in rectangles:
        left, right = sorted((min(max(left, 0.0), 1.0), min(max(right, 0.0), 1.0)))
        top, bottom = sorted((min(max(top, 0.0), 1.0), min(max(bottom, 0.0), 1.0)))
        box = faces.Box(int(left * width), int(top * height), round(right * width), round(bottom * height))
        if box.right > box.left and box.bottom > box.top:
            boxes.append(box)
    return boxes


def blur_more(
    photo_id: int,
    by: Volunteer | None,
    *,
    cells: list[int] | None = None,
    rectangles: list[tuple[float, float, float, float]] | None = None,
) -> Photo:
    """Blur the marked squares or rectangles for good: the stored image is replaced."""
    by = _require(by)
    with transaction.atomic():
        photo = _locked(photo_id)
        if photo.state == PhotoState.REJECTED:
            raise WrongState(_("This photo is already rejected."))
        current = photo_image(photo)
        if current is None:
            raise WrongState(_("This photo has expired."))
        image = Image.open(io.BytesIO(current), formats=["JPEG"]).convert("RGB")
        boxes = grid_boxes(cells or [], image.size) + fraction_boxes(rectangles or [], image.size)
        if not boxes:
            raise PhotoError(_("Mark the squares or areas to blur first."))
        photo.image_sealed = sealing.seal(photo.key_id, sanitise.encode_jpeg(faces.blur(image, boxes)))
        photo.save(update_fields=["image_sealed"])
        audit.record(by.username, "media.blur", "photo", photo.pk, areas=len(boxes))
    return photo


def purge_expired_photos() -> int:
    """Delete photos past the precise-location retention, destroying their keys; returns how many.

    A photo can show a place as exactly as a precise point does, so it lives
    no longer than one (tuning.location_retention_hours, a day at most); a
    coordinator's tighter setting applies at once, to photos already stored.
    """
    cutoff = timezone.now() - timedelta(hours=tuning.location_retention_hours())
    expired = list(Photo.objects.filter(received_at__lt=cutoff).values_list("pk", "key_id"))
    Photo.objects.filter(pk__in=[pk for pk, _key in expired]).delete()
    for _pk, key_id in expired:
        sealing.destroy_key(key_id)
    # Keys no row names: an upload that failed after its key was made, or a
    # row removed with its report. Their images are gone either way.
    sealing.destroy_keys_except(set(Photo.objects.values_list("key_id", flat=True)))
    return len(expired)
