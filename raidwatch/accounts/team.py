"""The team page, /<lang>/volunteer/team/: who is in the network, invitations,
role changes and offboarding (coordinators and admins, ``volunteer.manage``).

Role changes and offboarding need a fresh sign-in. Each is a confirmation
page on GET and the change on POST: when the sign-in is not fresh, the
volunteer confirms their password and comes back to the confirmation page
(see ``volunteer.ask_to_reauthenticate`` for why the POST is not resumed).
"""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from raidwatch.accounts import actions
from raidwatch.accounts.adapter import PRIMARY_FACTOR_TYPES
from raidwatch.accounts.forms import InviteForm, RoleForm
from raidwatch.accounts.models import Role, Volunteer
from raidwatch.accounts.volunteer import forbidden, require_action

# A network has up to a few thousand volunteers (PRODUCT.md): one page, one query.
MAX_LISTED = 5000
ONLY_ADMINS_GRANT_ADMIN = gettext_lazy("Only an admin can make someone an admin.")


def _me(request: HttpRequest) -> Volunteer:
    assert isinstance(request.user, Volunteer)  # noqa: S101 - require_action let only volunteers in
    return request.user


def _grantable_roles(me: Volunteer) -> list[tuple[str, str]]:
    return [(value, str(label)) for value, label in Role.choices if actions.may_grant(me, value)]


def _team_page(
    request: HttpRequest,
    form: InviteForm,
    issued: actions.IssuedInvitation | None = None,
    status: int = 200,
) -> HttpResponse:
    me = _me(request)
    has_factor = Authenticator.objects.filter(user_id=OuterRef("pk"), type__in=PRIMARY_FACTOR_TYPES)
    volunteers = list(
        Volunteer.objects.annotate(has_factor=Exists(has_factor)).order_by("-is_active", "username")[
            :MAX_LISTED
        ]
    )
    rows: list[dict[str, Any]] = [
        {"volunteer": volunteer, "manageable": volunteer.is_active and actions.may_act_on(me, volunteer)}
        for volunteer in volunteers
    ]
    context = {
        "rows": rows,
        "form": form,
        "grantable_roles": _grantable_roles(me),
        "invitations": actions.pending_invitations(),
        "issued": issued,
        "link": actions.join_link(issued.token, get_language()) if issued else "",
    }
    return render(request, "volunteer/team.html", context, status=status)


@never_cache
@require_action("volunteer.manage")
@require_safe
def team(request: HttpRequest) -> HttpResponse:
    return _team_page(request, InviteForm())


@never_cache
# An invitation grants a role, so it needs a fresh sign-in as role changes do
# (R9). After signing in again the volunteer comes back here by GET, and is
# sent to the team page to submit the invitation once more.
@require_action("volunteer.manage", reauthenticate=True)
@require_http_methods(["GET", "POST"])
def invite(request: HttpRequest) -> HttpResponse:
    """Creates an invitation and shows its link in this response only: the
    token is never put in a URL, a message or the session, where it would
    outlive the page."""
    if request.method == "GET":
        return redirect("volunteer_team")
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            issued = actions.invite_volunteer(
                form.cleaned_data["role"], form.cleaned_data["hours"], _me(request)
            )
        except PermissionDenied:
            form.add_error("role", ONLY_ADMINS_GRANT_ADMIN)
        else:
            return _team_page(request, InviteForm(), issued=issued, status=201)
    return _team_page(request, form, status=422)


@require_action("volunteer.manage")
@require_POST
def revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    if actions.revoke_invitation(invitation_id, _me(request)):
        messages.success(request, _("The invitation was revoked: its link no longer works."))
    else:
        messages.info(request, _("That invitation was already used, revoked or expired."))
    return redirect("volunteer_team")


def _manageable(request: HttpRequest, volunteer_id: int) -> Volunteer | HttpResponse:
    """The volunteer to act on, or the page that says why not."""
    volunteer = Volunteer.objects.filter(pk=volunteer_id).first()
    if volunteer is None:
        raise Http404
    me = _me(request)
    if volunteer.pk == me.pk:
        return forbidden(
            request, _("Nobody changes their own role or offboards themselves. Ask another coordinator.")
        )
    if not volunteer.is_active:
        return forbidden(request, _("This volunteer has been offboarded already."))
    if not actions.may_act_on(me, volunteer):
        return forbidden(request, _("Only an admin can change an admin's role or offboard an admin."))
    return volunteer


@never_cache
@require_action("volunteer.manage", reauthenticate=True)
@require_http_methods(["GET", "POST"])
def change_role(request: HttpRequest, volunteer_id: int) -> HttpResponseBase:
    volunteer = _manageable(request, volunteer_id)
    if isinstance(volunteer, HttpResponse):
        return volunteer
    me = _me(request)
    status = 200
    if request.method == "POST":
        form = RoleForm(request.POST)
        if form.is_valid():
            role = form.cleaned_data["role"]
            try:
                actions.set_role(volunteer, role, by=me)
            except PermissionDenied:
                return forbidden(request, str(ONLY_ADMINS_GRANT_ADMIN))
            messages.success(
                request,
                _("%(name)s is now %(role)s.") % {"name": volunteer.username, "role": Role(role).label},
            )
            return redirect("volunteer_team")
        status = 422
    else:
        form = RoleForm(initial={"role": volunteer.role})
    context = {"target": volunteer, "form": form, "grantable_roles": _grantable_roles(me)}
    return render(request, "volunteer/change_role.html", context, status=status)


@never_cache
@require_action("volunteer.manage", reauthenticate=True)
@require_http_methods(["GET", "POST"])
def offboard(request: HttpRequest, volunteer_id: int) -> HttpResponseBase:
    volunteer = _manageable(request, volunteer_id)
    if isinstance(volunteer, HttpResponse):
        return volunteer
    if request.method == "POST":
        try:
            result = actions.offboard(volunteer, by=_me(request))
        except PermissionDenied:
            return forbidden(request, _("Only an admin can change an admin's role or offboard an admin."))
        messages.success(
            request,
            _("%(name)s was offboarded: %(sessions)d sessions ended, %(factors)d sign-in factors removed.")
            % {
                "name": volunteer.username,
                "sessions": result.sessions_ended,
                "factors": result.authenticators_removed,
            },
        )
        return redirect("volunteer_team")
    return render(request, "volunteer/offboard.html", {"target": volunteer})
