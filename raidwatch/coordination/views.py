"""Coordinator pages: parse, authorise, call an action, render.

Every view is behind ``require_action`` with its own permission (coordinators
and admins only); exports and retention changes also need a fresh password or
second-factor check (SECURITY.md R9).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from raidwatch.accounts.models import AuditEntry, Volunteer
from raidwatch.accounts.volunteer import require_action
from raidwatch.alerts.models import Event
from raidwatch.alerts.text import default_template, template_for
from raidwatch.coordination import actions, channel_settings, forms, tuning
from raidwatch.coordination import exports as exports_data
from raidwatch.coordination.models import TemplateOverride, TunableOverride
from raidwatch.coordination.wording import SAMPLE_PLACE, check_template
from raidwatch.incidents import actions as incident_actions
from raidwatch.incidents.models import TwoPersonWaiver
from raidwatch.subscriptions.models import NamedArea


def _volunteer(request: HttpRequest) -> Volunteer:
    assert isinstance(request.user, Volunteer)  # noqa: S101 - require_action let only volunteers in
    return request.user


def _language_names() -> dict[str, str]:
    return {code: str(name) for code, name in settings.LANGUAGES}


@require_GET
@require_action("network.areas")
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "coordination/home.html", {"volunteer": _volunteer(request)})


# --- Named areas ---------------------------------------------------------------------


def _area_rows() -> list[dict[str, object]]:
    return [
        {
            "area": area,
            "cell_count": len(area.cells),
            "km2": round(actions.area_size_km2(area.cells)),
        }
        for area in NamedArea.objects.order_by("name")
    ]


@require_http_methods(["GET", "POST"])
@require_action("network.areas")
def areas(request: HttpRequest) -> HttpResponse:
    form = forms.NamedAreaForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                if data["source"] == "radius":
                    draft = actions.area_from_radius(data["lat"], data["lon"], data["radius_km"])
                else:
                    draft = actions.area_from_places(data["source"], data["places"])
                area = actions.create_named_area(_volunteer(request), data["name"], draft)
            except actions.CoordinationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(
                    request,
                    _("Area %(name)s saved: %(cells)d cells, about %(km2)d km².")
                    % {
                        "name": area.name,
                        "cells": len(area.cells),
                        "km2": round(actions.area_size_km2(area.cells)),
                    },
                )
                return redirect("network_areas")
    return render(request, "coordination/areas.html", {"form": form, "areas": _area_rows()}, status=status)


@require_POST
@require_action("network.areas")
def area_delete(request: HttpRequest, area_id: int) -> HttpResponse:
    try:
        actions.delete_named_area(_volunteer(request), area_id)
    except actions.CoordinationError:
        raise Http404 from None
    messages.success(request, _("Area deleted. Subscriptions made with it keep their cells."))
    return redirect("network_areas")


# --- Message templates ---------------------------------------------------------------


@require_GET
@require_action("network.templates")
def templates(request: HttpRequest) -> HttpResponse:
    custom = set(TemplateOverride.objects.values_list("event", "language"))
    rows = [
        {
            "event": event,
            "label": label,
            "languages": [
                {"code": code, "name": name, "custom": (event, code) in custom}
                for code, name in _language_names().items()
            ],
        }
        for event, label in Event.choices
    ]
    return render(request, "coordination/templates.html", {"rows": rows})


@require_http_methods(["GET", "POST"])
@require_action("network.templates")
def template_edit(request: HttpRequest, event: str, language: str) -> HttpResponse:
    if event not in Event.values or language not in _language_names():
        raise Http404
    volunteer = _volunteer(request)
    form = forms.TemplateForm(request.POST or None, initial={"text": template_for(event, language)})
    check = None
    status = 200
    if request.method == "POST":
        step = request.POST.get("step", "preview")
        if step == "reset":
            actions.reset_template(volunteer, event, language)
            messages.success(request, _("Back to the default text."))
            return redirect("network_template_edit", event=event, language=language)
        status = 400
        if form.is_valid():
            text = form.cleaned_data["text"]
            check = check_template(event, language, text)
            if step == "save" and check.ok:
                actions.save_template(volunteer, event, language, text)
                messages.success(request, _("Saved. New alerts use this text."))
                return redirect("network_template_edit", event=event, language=language)
            status = 200 if check.ok else 400
    context = {
        "event": event,
        "event_label": Event(event).label,
        "language": language,
        "language_name": _language_names()[language],
        "form": form,
        "check": check,
        "default_text": default_template(event, language),
        "custom": TemplateOverride.objects.filter(event=event, language=language).exists(),
        "sample_place": SAMPLE_PLACE,
        "paging": event == Event.UNVERIFIED,
    }
    return render(request, "coordination/template_edit.html", context, status=status)


# --- Channels ------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@require_action("network.channels")
def channels(request: HttpRequest) -> HttpResponse:
    result: actions.TestSendResult | None = None
    tested = ""
    error = ""
    status = 200
    if request.method == "POST":
        # Never bound back into the page: the address is not kept, not even in the form.
        form = forms.TestSendForm(request.POST)
        status = 400
        if form.is_valid():
            tested = form.cleaned_data["channel"]
            try:
                result = actions.send_test(
                    _volunteer(request), tested, form.cleaned_data["address"], get_language() or "en"
                )
                status = 200
            except actions.CoordinationError as exc:
                error = exc.message
        else:
            # An unknown channel has no section to show its error in: shown on top.
            tested = "" if "channel" in form.errors else request.POST.get("channel", "")
            error = " ".join(str(e) for errors in form.errors.values() for e in errors)
    context = {
        "channels": channel_settings.channel_states(),
        "tested": tested,
        "result": result,
        "error": error,
    }
    return render(request, "coordination/channels.html", context, status=status)


# --- Retention and other tunables ----------------------------------------------------


def _tunable_rows(form: forms.TunablesForm) -> list[dict[str, object]]:
    overrides = dict(TunableOverride.objects.values_list("name", "value"))
    return [
        {
            "tunable": tunable,
            "field": form[name],
            "environment": tuning.environment_value(name),
            "override": overrides.get(name),
            "effective": tuning.effective(name),
        }
        for name, tunable in tuning.TUNABLES.items()
    ]


def _retention_page(request: HttpRequest, form: forms.TunablesForm, status: int = 200) -> HttpResponse:
    return render(
        request, "coordination/retention.html", {"rows": _tunable_rows(form), "form": form}, status=status
    )


@require_GET
@require_action("network.retention")
def retention(request: HttpRequest) -> HttpResponse:
    initial = dict(TunableOverride.objects.values_list("name", "value"))
    return _retention_page(request, forms.TunablesForm(initial=initial))


@require_http_methods(["GET", "POST"])
@require_action("network.retention", reauthenticate=True)
def retention_save(request: HttpRequest) -> HttpResponseBase:
    """POST saves. GET (where the re-authentication step sends the volunteer
    back) shows the form again to confirm: the first submission is not replayed."""
    if request.method == "GET":
        return retention(request)
    form = forms.TunablesForm(request.POST)
    if not form.is_valid():
        return _retention_page(request, form, status=400)
    try:
        changes = actions.set_tunables(
            _volunteer(request), {name: form.cleaned_data.get(name) for name in tuning.TUNABLES}
        )
    except actions.CoordinationError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return _retention_page(request, form, status=400)
    if changes:
        messages.success(request, _("Saved. Other processes apply the change within a minute."))
    else:
        messages.info(request, _("Nothing changed."))
    return redirect("network_retention")


# --- Drills --------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@require_action("network.drill")
def drills(request: HttpRequest) -> HttpResponse:
    form = forms.DrillForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                incident = actions.start_drill(
                    _volunteer(request),
                    kind=form.cleaned_data["kind"],
                    area=form.area(),
                    language=get_language() or "en",
                )
            except actions.CoordinationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(
                    request, _("Drill started: incident %(id)s is on the desk.") % {"id": incident.pk}
                )
                return redirect("network_drills")
    context = {"form": form, "drills": actions.open_drills()}
    return render(request, "coordination/drills.html", context, status=status)


@require_POST
@require_action("network.drill")
def drill_end(request: HttpRequest, incident_id: int) -> HttpResponse:
    try:
        actions.end_drill(_volunteer(request), incident_id)
    except actions.CoordinationError as exc:
        messages.error(request, exc.message)
        return redirect("network_drills")
    messages.success(request, _("Drill %(id)s ended.") % {"id": incident_id})
    return redirect("network_drills")


# --- Exports -------------------------------------------------------------------------


@require_GET
@require_action("network.export")
def exports(request: HttpRequest) -> HttpResponse:
    return render(request, "coordination/exports.html", {})


def _download(content: Iterator[str], content_type: str, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@require_action("network.export", reauthenticate=True)
def export_incidents(request: HttpRequest) -> HttpResponseBase:
    if request.method == "GET":  # back from re-authentication: confirm with the button
        return exports(request)
    actions.record_export(_volunteer(request), "incidents")
    writer = csv.writer(exports_data.Line())
    stamp = timezone.now().strftime("%Y%m%d")
    return _download(
        (writer.writerow(row) for row in exports_data.incident_rows()),
        "text/csv; charset=utf-8",
        f"raidwatch-incidents-{stamp}.csv",
    )


@require_http_methods(["GET", "POST"])
@require_action("network.export", reauthenticate=True)
def export_audit(request: HttpRequest) -> HttpResponseBase:
    if request.method == "GET":  # back from re-authentication: confirm with the button
        return exports(request)
    actions.record_export(_volunteer(request), "audit")
    # The export ends at the newest entry now (this export's own), whose hash
    # is the head: keep it, and `raidwatch audit verify --head` later shows
    # that nothing up to here was changed or cut off.
    last_id, head = AuditEntry.objects.order_by("-id").values_list("id", "entry_hash").first() or (0, "")

    def lines() -> Iterator[str]:
        yield from exports_data.audit_lines(last_id)
        yield json.dumps({"head": head, "last_id": last_id}) + "\n"

    stamp = timezone.now().strftime("%Y%m%d")
    response = _download(lines(), "application/jsonl; charset=utf-8", f"raidwatch-audit-{stamp}.jsonl")
    response["X-Audit-Head"] = head
    return response


# --- Invites -------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
# A code lets its holder hear unverified reports: a stolen session must not mint them.
@require_action("network.invite_subscribers", reauthenticate=True)
def invites(request: HttpRequest) -> HttpResponse:
    form = forms.InviteForm(request.POST or None)
    code = ""
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                code = actions.create_subscriber_invite(_volunteer(request), form.cleaned_data["hours"])
                status = 200
            except actions.CoordinationError as exc:
                form.add_error("hours", exc.message)
    # The code is rendered into this one response and kept nowhere but as a hash.
    return render(request, "coordination/invites.html", {"form": form, "code": code}, status=status)


# --- The two-person rule ---------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
# Lifting the rule is what a hijacked account would want most: a fresh sign-in first.
@require_action("two_person.waive", reauthenticate=True)
def two_person(request: HttpRequest) -> HttpResponse:
    form = forms.WaiverForm(request.POST or None)
    status = 200
    if request.method == "POST" and request.POST.get("step") == "restore":
        incident_actions.end_two_person_waivers(_volunteer(request))
        messages.success(request, _("The two-person rule is in force again."))
        return redirect("network_two_person")
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                incident_actions.waive_two_person_rule(
                    _volunteer(request), hours=form.cleaned_data["hours"], reason=form.cleaned_data["reason"]
                )
            except incident_actions.ActionError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("The two-person rule is lifted for the stated period."))
                return redirect("network_two_person")
    context = {
        "form": form,
        "threshold": tuning.two_person_threshold(),
        "waivers": TwoPersonWaiver.objects.filter(until__gt=timezone.now())
        .select_related("by")
        .order_by("-until"),
    }
    return render(request, "coordination/two_person.html", context, status=status)
