"""Joining through an invitation link, /<lang>/join/<token>.

Outside the volunteer area: the invitee has no account yet. After choosing a
username and password they are signed in with the password step only and
sent to set up a second factor, the one thing VolunteerAreaMiddleware lets a
password-only session do while its volunteer has none.
"""

from __future__ import annotations

from allauth.account.internal.flows.login import perform_password_login
from allauth.account.internal.flows.reauthentication import reauthenticate_by_password
from allauth.account.models import Login
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from raidwatch.accounts import actions
from raidwatch.accounts.forms import JoinForm
from raidwatch.accounts.models import Volunteer


def _private(response: HttpResponse) -> HttpResponse:
    # The token in the address is a key: keep the page out of indexes and caches.
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _invalid(request: HttpRequest) -> HttpResponse:
    """The same page, with the same status, for every link that does not work."""
    context = {"message": actions.invalid_invitation_message()}
    return _private(render(request, "accounts_join/invalid.html", context, status=404))


@never_cache
@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, token: str) -> HttpResponseBase:
    invitation = actions.usable_invitation(token)
    if invitation is None:
        return _invalid(request)
    status = 200
    if request.method == "POST":
        form = JoinForm(request.POST)
        if form.is_valid():
            try:
                volunteer = actions.accept_invitation(
                    token, form.cleaned_data["username"], form.cleaned_data["password"]
                )
            except actions.InvitationError as exc:
                if exc.field is None:
                    # Spent a moment ago by someone else with the same link.
                    return _invalid(request)
                form.add_error(exc.field, exc.message)
            else:
                return _sign_in(request, volunteer)
        status = 422
    else:
        form = JoinForm()
    context = {"form": form, "role": invitation.get_role_display(), "expires_at": invitation.expires_at}
    return _private(render(request, "accounts_join/join.html", context, status=status))


def _sign_in(request: HttpRequest, volunteer: Volunteer) -> HttpResponseBase:
    """The password step of a sign-in, through allauth so its records and
    stages are the usual ones; it ends at the second-factor enrolment."""
    response: HttpResponseBase = perform_password_login(
        request,
        {"username": volunteer.username},
        Login(user=volunteer, redirect_url=reverse("mfa_index")),
    )
    # The password was typed seconds ago in this very request, so it counts as
    # the fresh check allauth asks for before a factor is added; otherwise the
    # new volunteer would be asked for the password they have just chosen.
    reauthenticate_by_password(request)
    return response
