"""The verification desk: the queue of open incidents and one incident's page.

Views parse, authorise, call incidents/actions.py and render. Everything here
sits under /<lang>/volunteer/, where VolunteerAreaMiddleware refuses anonymous
and password-only sessions; each view also checks the role's action.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from raidwatch.accounts.models import Volunteer
from raidwatch.accounts.roles import may
from raidwatch.accounts.volunteer import require_action
from raidwatch.incidents import actions, cellmap
from raidwatch.incidents.models import OPEN_STATUSES, Incident, Kind, ResponderState, Status
from raidwatch.intake.models import Report
from raidwatch.lib import geo
from raidwatch.media.views import photos_for_desk

# Urgency for the queue: what is happening to people first.
_KIND_URGENCY = {Kind.RAID: 4, Kind.ARREST: 3, Kind.CHECKPOINT: 2, Kind.VAN_SIGHTING: 1, Kind.OTHER: 0}


def queue_order(incidents: list[Incident], responding: set[int]) -> list[Incident]:
    """Most urgent first: unverified before confirmed, then kind, then no responder
    on the way yet, then confidence, then the oldest waiting."""
    return sorted(
        incidents,
        key=lambda i: (
            i.status != Status.UNVERIFIED,
            -_KIND_URGENCY.get(Kind(i.kind), 0),
            i.pk in responding,
            -i.confidence,
            i.opened_at,
        ),
    )


def _volunteer(request: HttpRequest) -> Volunteer:
    assert isinstance(request.user, Volunteer)  # noqa: S101 - require_action let only volunteers in
    return request.user


@require_action("incident.view_unverified")
def queue(request: HttpRequest) -> HttpResponse:
    # Sorted in Python by queue_order: a flood day has hundreds, not millions.
    incidents = list(
        Incident.objects.filter(status__in=OPEN_STATUSES)
        .select_related("claimed_by")
        .order_by("-last_report_at")[:500]
    )
    responding = set(
        Incident.objects.filter(
            pk__in=[i.pk for i in incidents],
            responses__state__in=[ResponderState.ON_MY_WAY, ResponderState.ARRIVED],
        ).values_list("pk", flat=True)
    )
    now = timezone.now()
    rows: list[dict[str, Any]] = [
        {
            "incident": incident,
            "claimed": incident.claimed_by
            if incident.claimed_until and incident.claimed_until > now
            else None,
            "responding": incident.pk in responding,
        }
        for incident in queue_order(incidents, responding)
    ]
    context = {
        "waiting": [row for row in rows if row["incident"].status == Status.UNVERIFIED],
        "active": [row for row in rows if row["incident"].status != Status.UNVERIFIED],
        "volunteer": _volunteer(request),
    }
    return render(request, "desk/queue.html", context)


@require_action("incident.view_unverified")
def incident_page(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = Incident.objects.select_related("claimed_by").filter(pk=incident_id).first()
    if incident is None:
        raise Http404
    if incident.status == Status.MERGED and incident.merged_into_id is not None:
        messages.info(request, _("Incident %(id)s was merged into this one.") % {"id": incident.pk})
        return redirect("desk_incident", incident_id=incident.merged_into_id)
    reports = incident.reports.order_by("observed_at").values(
        "id", "kind", "observed_at", "description", "place_label", "source"
    )
    lat, lon = geo.cell_centre(incident.cell)
    # Other open incidents close enough to be the same event: merge candidates,
    # and drawn on the map. Exercises and real incidents never mix.
    nearby = list(
        Incident.objects.filter(
            status__in=OPEN_STATUSES,
            cell__in=cellmap.ring_cells(incident.cell),
            is_exercise=incident.is_exercise,
        )
        .exclude(pk=incident.pk)
        .order_by("-last_report_at")[:20]
    )
    context = {
        "incident": incident,
        "reports": list(reports),
        "observations": incident.observations.order_by("-at")[:50],
        "responses": incident.responses.select_related("volunteer").order_by("-at"),
        "centre": {"lat": lat, "lon": lon},
        "map": cellmap.build(incident.cell, [(other.pk, other.cell) for other in nearby]),
        "nearby": nearby,
        "may_move_out": incident.status in OPEN_STATUSES
        and incident.report_count > 1
        and may(_volunteer(request), "incident.move_report"),
        "time_to_first_look": _delta(incident.first_looked_at, incident.opened_at),
        "time_to_verify": _delta(incident.verified_at, incident.opened_at),
        "audience": actions.estimated_audience(incident) if incident.status == Status.UNVERIFIED else None,
        "volunteer": _volunteer(request),
        "states": ResponderState.choices,
        "photos": photos_for_desk(incident.pk, _volunteer(request)),
    }
    return render(request, "desk/incident.html", context)


def _delta(later: datetime | None, earlier: datetime | None) -> timedelta | None:
    return later - earlier if later is not None and earlier is not None else None


# The actions check the volunteer's role themselves (and refuse with a message).
_ACTIONS: dict[str, Callable[[int, Volunteer, QueryDict], object]] = {
    "claim": lambda i, v, p: actions.claim(i, v),
    "release": lambda i, v, p: actions.release(i, v),
    "confirm": lambda i, v, p: actions.confirm(i, v, place=p.get("place", "")),
    "false_alarm": lambda i, v, p: actions.false_alarm(i, v, reason=p.get("reason", "")),
    "end": lambda i, v, p: actions.end(i, v),
    "retract": lambda i, v, p: actions.retract(i, v, reason=p.get("reason", "")),
    "respond": lambda i, v, p: actions.respond(i, v, p.get("state", "")),
    # This page's incident is the duplicate; it folds into the chosen one.
    "merge": lambda i, v, p: actions.merge(_number(p, "into"), i, v),
}


@require_POST
@require_action("incident.view_unverified")
def act(request: HttpRequest, incident_id: int, verb: str) -> HttpResponse:
    if verb not in _ACTIONS:
        raise Http404
    call = _ACTIONS[verb]
    volunteer = _volunteer(request)
    if verb == "confirm" and _looks_like_an_address(request.POST.get("place", "")):
        messages.error(
            request,
            _(
                "Describe the place by a landmark or street corner, never a home address: "
                "an alert must not point at anyone's home."
            ),
        )
        return redirect("desk_incident", incident_id=incident_id)
    try:
        call(incident_id, volunteer, request.POST)
    except actions.ActionError as exc:
        messages.error(request, exc.message)
    except _MissingNumber as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Done."))
        if verb == "merge":
            return redirect("desk_incident", incident_id=_number(request.POST, "into"))
    if (
        verb in ("confirm", "false_alarm")
        and Incident.objects.filter(pk=incident_id).exclude(status=Status.UNVERIFIED).exists()
    ):
        return redirect("desk_queue")
    return redirect("desk_incident", incident_id=incident_id)


class _MissingNumber(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _number(post: QueryDict, name: str) -> int:
    value = post.get(name, "").strip().lstrip("#")
    if not value.isdigit():
        raise _MissingNumber(_("Choose the incident this one is a duplicate of."))
    return int(value)


@require_POST
@require_action("incident.move_report")
def move_report(request: HttpRequest, incident_id: int, report_id: int) -> HttpResponse:
    """Take one report out of this incident into a new incident of its own."""
    if not Report.objects.filter(pk=report_id, incident_id=incident_id).exists():
        raise Http404
    try:
        new = actions.move_report_out(report_id, _volunteer(request))
    except actions.ActionError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Report moved out into its own incident, #%(id)s.") % {"id": new.pk})
    return redirect("desk_incident", incident_id=incident_id)


@require_POST
@require_action("incident.observe")
def observe(request: HttpRequest, incident_id: int) -> HttpResponse:
    def count(name: str) -> int | None:
        value = request.POST.get(name, "").strip()
        return int(value) if value.isdigit() else None

    try:
        actions.add_observation(
            incident_id,
            _volunteer(request),
            officer_count=count("officers"),
            vehicle_count=count("vehicles"),
            markings=request.POST.get("markings", ""),
        )
    except actions.ActionError as exc:
        messages.error(request, exc.message)
    except ValueError as exc:  # the markings had nothing readable left
        messages.error(request, str(exc))
    return redirect("desk_incident", incident_id=incident_id)


@require_POST
@require_action("incident.bulk_dismiss")
def bulk_dismiss(request: HttpRequest) -> HttpResponse:
    ids = [int(value) for value in request.POST.getlist("incident") if value.isdigit()]
    reason = request.POST.get("reason", "").strip()
    status = request.POST.get("status", "")
    if not ids or not reason:
        messages.error(request, _("Select incidents and give one reason for all of them."))
        return redirect("desk_queue")
    try:
        result = actions.bulk_dismiss(ids, _volunteer(request), status=status, reason=reason)
    except actions.ActionError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(done)d dismissed, %(skipped)d skipped (changed meanwhile).")
            % {"done": len(result["done"]), "skipped": len(result["skipped"])},
        )
    return redirect("desk_queue")


def _looks_like_an_address(place: str) -> bool:
    """A house number followed by words is how addresses start in the UK and US."""
    words = place.strip().split()
    return len(words) >= 2 and words[0].rstrip(",").isdigit()
