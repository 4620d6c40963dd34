"""Photo pieces other pages include: the thanks page's offer and the public alert's photos."""

from __future__ import annotations

from typing import Any

from django import template

from raidwatch.media.actions import MAX_PHOTOS_PER_REPORT
from raidwatch.media.models import Photo
from raidwatch.media.uploads import granted_report
from raidwatch.media.views import public_photo_ids

register = template.Library()


@register.inclusion_tag("media/_offer.html", takes_context=True)
def photo_upload_offer(context: template.Context) -> dict[str, Any]:
    """The "Add a photo" form, when this browser has just sent a report."""
    request = context.get("request")
    report_id = granted_report(request) if request is not None else None
    room = report_id is not None and Photo.objects.filter(report_id=report_id).count() < MAX_PHOTOS_PER_REPORT
    return {"room": room, "csrf_token": context.get("csrf_token")}


@register.inclusion_tag("media/_public_photos.html")
def public_photos(incident_id: int | None) -> dict[str, Any]:
    return {"photo_ids": public_photo_ids(incident_id)}
