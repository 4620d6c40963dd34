"""The volunteer area's home page: links to the desk, the team and one's own duty."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from raidwatch.accounts.models import Volunteer
from raidwatch.accounts.roles import may
from raidwatch.accounts.volunteer import volunteer_required


@volunteer_required
def volunteer_home(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, Volunteer)  # noqa: S101 - volunteer_required let only volunteers in
    context = {
        "volunteer": request.user,
        "may_manage_team": may(request.user, "volunteer.manage"),
        "may_run_network": may(request.user, "network.areas"),
    }
    return render(request, "volunteer/home.html", context)
