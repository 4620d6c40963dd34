"""The pages alert messages link to: the alert itself (/a/<id>) and leaving (/u/<token>).

Both live outside the language prefix so the links in an SMS stay short; the
page language comes from the request (LocaleMiddleware), or for leaving from
the language the subscriber chose.
"""

from __future__ import annotations

import copy

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from raidwatch.alerts.models import Alert, MsgType, Scope
from raidwatch.alerts.text import render_text
from raidwatch.incidents.models import Kind, round_down_ten_minutes
from raidwatch.subscriptions import actions
from raidwatch.subscriptions.views import no_such_subscription


@require_safe
def public_alert(request: HttpRequest, alert_id: int) -> HttpResponse:
    """A public alert in the reader's language. Restricted alerts (unverified
    reports, tests) answer exactly as a missing one does: nothing unverified is
    ever public."""
    alert = Alert.objects.filter(pk=alert_id, scope=Scope.PUBLIC).first()
    if alert is None:
        return render(request, "public/alert.html", {"alert": None}, status=404)
    # Public times are rounded down to 10 minutes (R4). The copy is only read, never saved.
    shown = copy.copy(alert)
    shown.sent_at = round_down_ten_minutes(alert.sent_at)
    title, text = render_text(shown, get_language() or "en")
    newer = None
    if alert.incident_id is not None:
        newer = (
            Alert.objects.filter(incident_id=alert.incident_id, scope=Scope.PUBLIC, pk__gt=alert.pk)
            .order_by("-pk")
            .values_list("pk", flat=True)
            .first()
        )
    context = {
        "alert": alert,
        "title": title,
        "text": text,
        "kind": Kind(alert.kind).label if alert.kind in Kind.values else "",
        "time": shown.sent_at,
        "ended": alert.msg_type == MsgType.CANCEL,
        "newer": newer,
    }
    return render(request, "public/alert.html", context)


# CSRF exemption is safe here, and needed: mail providers send RFC 8058's
# one-click POST ("List-Unsubscribe=One-Click") with no cookie and no CSRF
# token. The authority is the signed token in the URL, which only the
# subscriber's own messages carry, and the only thing a forged request could
# do with it is what its holder can do anyway: stop these alerts.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def one_click_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks (link scanners in mail systems follow links and must not
    unsubscribe anyone); POST, from the page's button or a mail provider, leaves."""
    subscription = actions.subscription_from_token(token)
    if subscription is None:
        return no_such_subscription(request)
    with translation.override(subscription.language):
        if request.method == "POST":
            actions.unsubscribe(subscription)
            response = render(request, "subscriptions/left.html", {"gone": False})
        else:
            response = render(request, "subscriptions/left.html", {"ask": True, "token": token})
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
