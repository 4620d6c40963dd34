"""Subscribing, confirming and managing alerts from a phone, JavaScript optional.

The pages hold no session: the signed manage token in the URL names the one
subscription it is for, and is the only key to it.
"""

from __future__ import annotations

from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from raidwatch.alerts.actions import TestAlertRefused, send_test_alert
from raidwatch.intake import gate
from raidwatch.subscriptions import actions
from raidwatch.subscriptions.forms import CHANNEL_CHOICES, ConfirmForm, SubscribeForm, language_name
from raidwatch.subscriptions.models import Subscription, SubscriptionStatus

SERVICE_WORKER = "sw.js"


def _no_index(response: HttpResponse) -> HttpResponse:
    # A page reached through a token is nobody's business but its holder's.
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def no_such_subscription(request: HttpRequest) -> HttpResponse:
    """The same page for a forged, cut-short or spent token: nothing to probe."""
    return _no_index(render(request, "subscriptions/left.html", {"gone": True}, status=404))


def subscription_summary(subscription: Subscription) -> dict[str, str]:
    """What the manage page may show. Never the address: the web tier cannot read it (R5)."""
    return {
        "channel": str(dict(CHANNEL_CHOICES).get(subscription.channel, subscription.channel)),
        "area_kind": str(subscription.get_area_kind_display()),
        "area": subscription.area_label,
        "level": str(subscription.get_level_display()),
        "language": language_name(subscription.language),
        "status": str(subscription.get_status_display()),
    }


@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = SubscribeForm(request.POST)
        verdict = gate.PASSED
        if form.is_valid() and form.area is not None:
            # The abuse gate (R12), after the form's own checks so a typo costs nothing.
            # This page has no challenge to show yet, so beyond the allowance it asks
            # the person to wait for the window to pass (Retry-After): slowed, not shut out.
            verdict = gate.check(request, gate.Scope.SUBSCRIPTIONS)
        if not verdict.allowed:
            minutes = max(1, -(-verdict.retry_after // 60))
            form.add_error(
                None,
                ngettext(
                    "Many sign-ups are coming from your network right now. "
                    "Please try again in %(minutes)d minute.",
                    "Many sign-ups are coming from your network right now. "
                    "Please try again in %(minutes)d minutes.",
                    minutes,
                )
                % {"minutes": minutes},
            )
            response = render(
                request,
                "subscriptions/subscribe.html",
                {"form": form, "manage_url": reverse("subscriptions:manage", kwargs={"token": "TOKEN"})},
                status=429,
            )
            response["Retry-After"] = str(verdict.retry_after)
            return response
        if form.is_valid() and form.area is not None:
            try:
                subscribed = actions.subscribe(
                    channel=form.cleaned_data["channel"],
                    area=form.area,
                    language=form.cleaned_data["language"],
                    level=form.cleaned_data["level"],
                    contact={"address": form.cleaned_data["address"].strip()},
                    invite=form.cleaned_data["invite"].strip() or None,
                )
            except actions.SubscriptionError as exc:
                form.add_subscription_error(exc)
            else:
                # Post/redirect/get: a reload never subscribes twice.
                if subscribed.subscription.status == SubscriptionStatus.PENDING:
                    return redirect("subscriptions:confirm", token=subscribed.manage_token)
                return redirect("subscriptions:manage", token=subscribed.manage_token)
        status = 422
    else:
        form = SubscribeForm()
        status = 200
    manage_url = reverse("subscriptions:manage", kwargs={"token": "TOKEN"})
    return render(
        request, "subscriptions/subscribe.html", {"form": form, "manage_url": manage_url}, status=status
    )


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    subscription = actions.subscription_from_token(token)
    if subscription is None:
        return no_such_subscription(request)
    if subscription.status == SubscriptionStatus.ACTIVE:
        return redirect("subscriptions:manage", token=token)
    status = 200
    if request.method == "POST":
        form = ConfirmForm(request.POST)
        if form.is_valid():
            try:
                actions.confirm(subscription, form.cleaned_data["code"])
            except actions.SubscriptionError as exc:
                form.add_error("code" if exc.field == "code" else None, exc.message)
            else:
                return redirect(reverse("subscriptions:manage", kwargs={"token": token}) + "?confirmed=1")
        status = 422
    else:
        form = ConfirmForm()
    context = {"form": form, "summary": subscription_summary(subscription), "token": token}
    return _no_index(render(request, "subscriptions/confirm.html", context, status=status))


@never_cache
@require_http_methods(["GET", "POST"])
def manage(request: HttpRequest, token: str) -> HttpResponse:
    subscription = actions.subscription_from_token(token)
    if subscription is None:
        return no_such_subscription(request)
    here = reverse("subscriptions:manage", kwargs={"token": token})
    active = subscription.status == SubscriptionStatus.ACTIVE
    error = ""
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "leave":
            actions.unsubscribe(subscription)
            return redirect("subscriptions:left")
        if action != "test":
            return redirect(here)
        if active:
            try:
                send_test_alert(subscription)
            except TestAlertRefused:
                error = _("A test alert was sent a moment ago. Wait a few minutes before asking for another.")
                status = 429
            else:
                # Redirect, so a reload of the page does not send another one.
                return redirect(here + "?sent=test")
        else:
            error = _("Confirm your alerts with the code first; then you can send a test alert.")
            status = 409
    context = {
        "summary": subscription_summary(subscription),
        "active": active,
        "pending": subscription.status == SubscriptionStatus.PENDING,
        "test_sent": request.GET.get("sent") == "test",
        "confirmed": request.GET.get("confirmed") == "1",
        "error": error,
        "token": token,
    }
    return _no_index(render(request, "subscriptions/manage.html", context, status=status))


@require_safe
def left(request: HttpRequest) -> HttpResponse:
    return render(request, "subscriptions/left.html", {"gone": False})


@require_safe
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker at the site root, so its scope covers every page.

    Served by a view rather than from /static/: a worker's scope can only be its
    own path or below, and the alert pages (/a/…) live outside /static/.
    """
    path = finders.find(SERVICE_WORKER)
    if isinstance(path, str):
        with open(path, "rb") as script:
            body = script.read()
    elif staticfiles_storage.exists(SERVICE_WORKER):
        # An installed deployment has only the collected copy.
        with staticfiles_storage.open(SERVICE_WORKER) as script:
            body = script.read()
    else:
        raise Http404(SERVICE_WORKER)
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    # Browsers check for a new worker at most daily anyway; no-cache makes a
    # deployment reach them at that next check, not a cache lifetime later.
    response["Cache-Control"] = "no-cache"
    return response
