from __future__ import annotations

from django.conf.urls.i18n import i18n_patterns
from django.urls import include, path

from raidwatch.api import api
from raidwatch.public.views import healthz

# The API, feeds, streams, webhooks and /healthz have no language prefix.
urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
]

# Pages live under /<lang>/; LocaleMiddleware redirects an unprefixed page URL.
urlpatterns += i18n_patterns(
    path("", include("raidwatch.public.urls")),
    path("", include("raidwatch.intake.urls")),
    prefix_default_language=True,
)
