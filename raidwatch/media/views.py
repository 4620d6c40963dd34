"""Photo pages: the reporter's upload form, the verifier's review, the public image.

Views parse, authorise, call media/actions.py and render. Images are served
from here, never from /static/, never cached, and an unpublished photo only
to a volunteer whose role may review photos.
"""

from __future__ import annotations

import io
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from PIL import Image, ImageDraw, ImageFont

from raidwatch.accounts.models import Volunteer
from raidwatch.accounts.volunteer import require_action
from raidwatch.incidents.models import Status
from raidwatch.lib.middleware import PHOTO_TOO_LARGE
from raidwatch.media import actions
from raidwatch.media.models import Photo, PhotoState
from raidwatch.media.sanitise import PhotoRefused, too_large
from raidwatch.media.uploads import granted_report, keep_uploads_in_memory, read_photo

# --- The reporter's form (after the thanks page) -----------------------------


def _upload_page(
    request: HttpRequest, report_id: int | None, error: str = "", status: int = 200
) -> HttpResponse:
    count = Photo.objects.filter(report_id=report_id).count() if report_id is not None else 0
    context = {
        "granted": report_id is not None,
        "count": count,
        "room": report_id is not None and count < actions.MAX_PHOTOS_PER_REPORT,
        "error": error,
    }
    response = render(request, "media/upload.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


# CSRF is checked inside, after the upload handlers are set: CsrfViewMiddleware
# would read request.POST first, and then no handler could be changed.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponseBase:
    if request.method == "POST" and request.META.get(PHOTO_TOO_LARGE):
        # The body was not read (it is too big), so neither is its CSRF token:
        # say what is wrong rather than "CSRF verification failed". Refusing
        # changes nothing, so it needs no CSRF check.
        return _upload_page(request, granted_report(request), too_large().message, status=413)
    if request.method == "POST":
        keep_uploads_in_memory(request)
    return _upload(request)


@csrf_protect
def _upload(request: HttpRequest) -> HttpResponse:
    report_id = granted_report(request)
    if request.method != "POST":
        return _upload_page(request, report_id)
    if report_id is None:
        return _upload_page(request, None, status=403)
    try:
        actions.accept_photo(report_id, read_photo(request))
    except PhotoRefused as exc:
        return _upload_page(request, report_id, exc.message, status=exc.status)
    except actions.PhotoError as exc:
        return _upload_page(request, report_id, exc.message, status=409)
    messages.success(
        request, _("Photo received. A volunteer will check it; faces are blurred before anyone else sees it.")
    )
    return redirect("media:upload")


# --- The verifier's review ----------------------------------------------------


def _volunteer(request: HttpRequest) -> Volunteer:
    assert isinstance(request.user, Volunteer)  # noqa: S101 - require_action let only volunteers in
    return request.user


def _jpeg(data: bytes) -> HttpResponse:
    response = HttpResponse(data, content_type="image/jpeg")
    response["Content-Disposition"] = "inline"
    return response


def _stored(photo_id: int) -> tuple[Photo, bytes]:
    photo = Photo.objects.filter(pk=photo_id).first()
    data = actions.photo_image(photo) if photo is not None else None
    if photo is None or data is None:
        raise Http404
    return photo, data


@never_cache
@require_safe
@require_action("media.review")
def desk_image(request: HttpRequest, photo_id: int) -> HttpResponse:
    return _jpeg(_stored(photo_id)[1])


@never_cache
@require_safe
@require_action("media.review")
def desk_grid_image(request: HttpRequest, photo_id: int) -> HttpResponse:
    """The photo with the numbered squares a verifier can mark to blur (works without a script)."""
    _photo, data = _stored(photo_id)
    image = Image.open(io.BytesIO(data), formats=["JPEG"]).convert("RGB")
    draw = ImageDraw.Draw(image)
    width, height = image.size
    grid = actions.GRID
    font = ImageFont.load_default(size=max(12, min(width, height) // (grid * 3)))
    for box_number, box in enumerate(actions.grid_boxes(list(range(1, grid * grid + 1)), image.size), 1):
        draw.rectangle((box.left, box.top, box.right, box.bottom), outline=(255, 255, 255), width=1)
        draw.text(
            (box.left + 4, box.top + 2),
            str(box_number),
            fill=(255, 255, 255),
            font=font,
            stroke_width=2,
            stroke_fill=(0, 0, 0),
        )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return _jpeg(out.getvalue())


def _rectangles(text: str) -> list[tuple[float, float, float, float]]:
    """``left,top,right,bottom;…`` in fractions of the image, as the review script writes them."""
    found = []
    for part in text.split(";")[:20]:
        values = part.split(",")
        try:
            numbers = [float(value) for value in values]
        except ValueError:
            continue
        if len(numbers) == 4 and all(0.0 <= number <= 1.0 for number in numbers):
            found.append((numbers[0], numbers[1], numbers[2], numbers[3]))
    return found


@require_POST
@require_action("media.review")
def desk_act(request: HttpRequest, photo_id: int, verb: str) -> HttpResponse:
    photo = Photo.objects.select_related("report").filter(pk=photo_id).first()
    if photo is None or verb not in ("publish", "reject", "blur"):
        raise Http404
    volunteer = _volunteer(request)
    try:
        if verb == "publish":
            actions.publish_photo(photo.pk, volunteer)
            done = _("Photo published. It shows on the public alert page while the incident is confirmed.")
        elif verb == "reject":
            actions.reject_photo(photo.pk, volunteer)
            done = _("Photo rejected and destroyed.")
        else:
            cells = [int(value) for value in request.POST.getlist("cell") if value.isdigit()]
            actions.blur_more(
                photo.pk, volunteer, cells=cells, rectangles=_rectangles(request.POST.get("rects", ""))
            )
            done = _("The marked areas are blurred.")
    except actions.PhotoError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("desk_incident", incident_id=photo.report.incident_id)


def photos_for_desk(incident_id: int, volunteer: Volunteer) -> dict[str, Any]:
    """What the incident page shows of its photos (passed on by incidents/desk.py)."""
    from raidwatch.accounts.roles import may

    photos = list(
        Photo.objects.filter(report__incident_id=incident_id)
        .exclude(state=PhotoState.REJECTED)
        .order_by("received_at")
    )
    return {
        "may_review": may(volunteer, "media.review"),
        "items": photos,
        "cells": range(1, actions.GRID * actions.GRID + 1),
    }


# --- The public image ---------------------------------------------------------


def public_photo_ids(incident_id: int | None) -> list[int]:
    """Published photos of a confirmed (not exercise) incident; none for anything else."""
    if incident_id is None:
        return []
    return list(
        Photo.objects.filter(
            report__incident_id=incident_id,
            report__incident__status=Status.CONFIRMED,
            report__incident__is_exercise=False,
            state=PhotoState.PUBLISHED,
        )
        .order_by("received_at")
        .values_list("pk", flat=True)
    )


@never_cache
@require_safe
def public_image(request: HttpRequest, photo_id: int) -> HttpResponse:
    """A published photo of a confirmed incident; anything else is not found, alike."""
    photo = Photo.objects.select_related("report").filter(pk=photo_id).first()
    if photo is None or photo.pk not in public_photo_ids(photo.report.incident_id):
        raise Http404
    return _jpeg(_stored(photo.pk)[1])
