from __future__ import annotations

from django.conf.urls.i18n import i18n_patterns
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found

from raidwatch.api import api
from raidwatch.lib.api import error_response
from raidwatch.public.alert_views import one_click_unsubscribe, public_alert
from raidwatch.public.languages import switch_language
from raidwatch.public.pwa import web_manifest
from raidwatch.public.streams import public_events, volunteer_events
from raidwatch.public.views import healthz
from raidwatch.subscriptions.views import service_worker

# The API, feeds, streams, webhooks and /healthz have no language prefix.
urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    # Short links for alert messages, and the push service worker at the root scope.
    path("a/<int:alert_id>", public_alert, name="public_alert"),
    path("u/<str:token>", one_click_unsubscribe, name="one_click_unsubscribe"),
    path("sw.js", service_worker, name="service_worker"),
    path("manifest.webmanifest", web_manifest, name="web_manifest"),
    path("language/<str:code>", switch_language, name="switch_language"),
    # Server-Sent Events: an EventSource URL stays the same whatever the page's language.
    path("events", public_events, name="events"),
    path("volunteer/events", volunteer_events, name="volunteer_events"),
]

# Pages live under /<lang>/; LocaleMiddleware redirects an unprefixed page URL.
urlpatterns += i18n_patterns(
    path("", include("raidwatch.public.urls")),
    path("", include("raidwatch.intake.urls")),
    path("", include("raidwatch.media.urls")),
    path("", include("raidwatch.subscriptions.urls")),
    path("volunteer/desk/", include("raidwatch.incidents.desk_urls")),
    path("volunteer/network/", include("raidwatch.coordination.urls")),
    path("join/", include("raidwatch.accounts.join_urls")),
    path("rights/", include("raidwatch.rights.urls")),
    path("volunteer/", include("raidwatch.accounts.urls")),
    prefix_default_language=True,
)


def _not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """API clients get the contract's JSON error, people get the page."""
    if request.path.startswith("/api/"):
        return error_response(404, "not_found", _("There is nothing at this address."))
    return page_not_found(request, exception)


handler404 = _not_found
