"""My duty and areas, /<lang>/volunteer/duty/: the on-duty switch and the
volunteer's own paging areas (every volunteer, ``duty.manage_own``).

A paging area is a subscription at the `all` level tied to the volunteer
(``subscriptions.actions.subscribe(volunteer=...)``): it hears unverified
reports, and only while its volunteer is on duty. Email and SMS areas wait for
the code sent to them, confirmed with the subscription's own check. The page
never shows an address: the web tier holds it sealed and cannot read it (R5).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from raidwatch.accounts import actions
from raidwatch.accounts.forms import OnDutyForm, PagingAreaForm
from raidwatch.accounts.models import Volunteer
from raidwatch.accounts.volunteer import require_action
from raidwatch.subscriptions.actions import SubscriptionError
from raidwatch.subscriptions.forms import ConfirmForm
from raidwatch.subscriptions.models import SubscriptionStatus
from raidwatch.subscriptions.views import subscription_summary


def _me(request: HttpRequest) -> Volunteer:
    assert isinstance(request.user, Volunteer)  # noqa: S101 - require_action let only volunteers in
    return request.user


def _duty_page(
    request: HttpRequest,
    form: PagingAreaForm | None = None,
    code_errors: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    me = _me(request)
    areas: list[dict[str, Any]] = [
        {
            "id": str(subscription.pk),
            "summary": subscription_summary(subscription),
            "pending": subscription.status == SubscriptionStatus.PENDING,
            "code_error": (code_errors or {}).get(str(subscription.pk), ""),
        }
        for subscription in actions.paging_areas(me)
    ]
    context = {"volunteer": me, "areas": areas, "form": form or PagingAreaForm(), "code_form": ConfirmForm()}
    return render(request, "volunteer/duty.html", context, status=status)


@never_cache
@require_action("duty.manage_own")
@require_safe
def duty(request: HttpRequest) -> HttpResponse:
    return _duty_page(request)


@require_action("duty.manage_own")
@require_POST
def switch(request: HttpRequest) -> HttpResponse:
    form = OnDutyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose on duty or off duty."))
        return redirect("volunteer_duty")
    volunteer = actions.set_on_duty(_me(request), form.cleaned_data["on"])
    if volunteer.on_duty:
        messages.success(request, _("You are on duty: new reports in your areas page you."))
    else:
        messages.success(request, _("You are off duty: your areas stay quiet until you come back."))
    return redirect("volunteer_duty")


@never_cache
@require_action("duty.manage_own")
@require_POST
def add_area(request: HttpRequest) -> HttpResponse:
    form = PagingAreaForm(request.POST)
    if form.is_valid() and form.area is not None:
        try:
            subscription = actions.add_paging_area(
                _me(request),
                channel=form.cleaned_data["channel"],
                area=form.area,
                address=form.cleaned_data["address"].strip(),
                language=form.cleaned_data["language"],
            )
        except SubscriptionError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            if subscription.status == SubscriptionStatus.PENDING:
                messages.info(
                    request,
                    _("We sent a 6-digit code to that address. Enter it below to start paging there."),
                )
            else:
                messages.success(request, _("Area added."))
            return redirect("volunteer_duty")
    return _duty_page(request, form=form, status=422)


@never_cache
@require_action("duty.manage_own")
@require_POST
def confirm_area(request: HttpRequest, subscription_id: UUID) -> HttpResponse:
    form = ConfirmForm(request.POST)
    key = str(subscription_id)
    if not form.is_valid():
        return _duty_page(request, code_errors={key: _("Enter the 6-digit code we sent you.")}, status=422)
    try:
        actions.confirm_paging_area(_me(request), subscription_id, form.cleaned_data["code"])
    except actions.PagingAreaNotFound:
        raise Http404 from None
    except SubscriptionError as exc:
        return _duty_page(request, code_errors={key: exc.message}, status=422)
    messages.success(request, _("Confirmed: this area pages you while you are on duty."))
    return redirect("volunteer_duty")


@require_action("duty.manage_own")
@require_POST
def remove_area(request: HttpRequest, subscription_id: UUID) -> HttpResponse:
    try:
        actions.remove_paging_area(_me(request), subscription_id)
    except actions.PagingAreaNotFound:
        raise Http404 from None
    messages.success(request, _("Area removed; its address is deleted."))
    return redirect("volunteer_duty")
