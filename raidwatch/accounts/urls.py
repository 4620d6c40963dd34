"""The volunteer area, /<lang>/volunteer/. Everything here is behind
VolunteerAreaMiddleware (raidwatch.accounts.volunteer).

No namespace: allauth reverses its own URL names (account_login, mfa_index…)
without one.
"""

from __future__ import annotations

from django.urls import include, path
from django.views.generic import RedirectView

from raidwatch.accounts import duty, team, views

urlpatterns = [
    path("", views.volunteer_home, name="volunteer_home"),
    path("team/", team.team, name="volunteer_team"),
    path("team/invite", team.invite, name="volunteer_invite"),
    path("team/invitations/<int:invitation_id>/revoke", team.revoke, name="volunteer_revoke_invitation"),
    path("team/<int:volunteer_id>/role", team.change_role, name="volunteer_change_role"),
    path("team/<int:volunteer_id>/offboard", team.offboard, name="volunteer_offboard"),
    path("duty/", duty.duty, name="volunteer_duty"),
    path("duty/switch", duty.switch, name="volunteer_duty_switch"),
    path("duty/areas", duty.add_area, name="volunteer_add_area"),
    path("duty/areas/<uuid:subscription_id>/confirm", duty.confirm_area, name="volunteer_confirm_area"),
    path("duty/areas/<uuid:subscription_id>/remove", duty.remove_area, name="volunteer_remove_area"),
    # allauth answers its bare prefix with the email page, which does not exist here.
    path("account/", RedirectView.as_view(pattern_name="volunteer_home")),
    path("account/", include("allauth.urls")),
]
