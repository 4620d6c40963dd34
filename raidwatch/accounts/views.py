"""Volunteer area pages. The Verification desk replaces the home page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from raidwatch.accounts.volunteer import volunteer_required


@volunteer_required
def volunteer_home(request: HttpRequest) -> HttpResponse:
    return render(request, "volunteer/home.html", {"volunteer": request.user})
