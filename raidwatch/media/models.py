"""Photos sent with a report: re-encoded, faces blurred, sealed, held for a verifier."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from raidwatch.intake.models import Report


class PhotoState(models.TextChoices):
    # Faces the detector found are blurred; a verifier must still look (R8).
    PENDING = "pending_review", _("Waiting for a verifier")
    # The detector failed: faces may be unblurred, so this photo is never published.
    DETECTOR_FAILED = "detector_failed", _("Face detection failed: never published")
    PUBLISHED = "published", _("Published")
    # The image and its key are destroyed; the row stays for the audit trail.
    REJECTED = "rejected", _("Rejected")


class Photo(models.Model):
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="photos")
    state = models.CharField(max_length=20, choices=PhotoState.choices)
    # The re-encoded JPEG, AES-GCM under this photo's own key file (media/sealing.py);
    # null once rejected. The original upload is never stored anywhere.
    image_sealed = models.BinaryField(null=True)
    # Names the key file; destroying that file makes the image unrecoverable in every copy.
    key_id = models.UUIDField(unique=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    # How many faces the detector blurred; null when it failed.
    faces_blurred = models.PositiveIntegerField(null=True)
    received_at = models.DateTimeField(db_index=True)
    reviewed_at = models.DateTimeField(null=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["report", "state"], name="photo_report_state")]

    def __str__(self) -> str:
        return f"photo {self.pk} of report {self.report_id} ({self.state})"

    @property
    def may_publish(self) -> bool:
        return self.state == PhotoState.PENDING
