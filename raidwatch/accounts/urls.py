"""The volunteer area, /<lang>/volunteer/. Everything here is behind
VolunteerAreaMiddleware (raidwatch.accounts.volunteer).

No namespace: allauth reverses its own URL names (account_login, mfa_index…)
without one.
"""

from __future__ import annotations

from django.urls import include, path
from django.views.generic import RedirectView

from raidwatch.accounts import views

urlpatterns = [
    path("", views.volunteer_home, name="volunteer_home"),
    # allauth answers its bare prefix with the email page, which does not exist here.
    path("account/", RedirectView.as_view(pattern_name="volunteer_home")),
    path("account/", include("allauth.urls")),
]
