"""The report page: works on a cheap phone, with or without JavaScript."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from raidwatch.intake.actions import submit_report
from raidwatch.intake.forms import ReportForm
from raidwatch.intake.models import Source
from raidwatch.intake.sources import reporter_key_for


@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ReportForm(request.POST)
        if form.is_valid() and form.valid_report is not None:
            submitted = submit_report(
                form.valid_report, source=Source.WEB, reporter_key=reporter_key_for(request)
            )
            # Post/redirect/get: a reload of the thanks page never resubmits.
            return redirect(reverse("intake:thanks") + f"?incident={submitted.incident.pk}")
        status = 422
    else:
        form = ReportForm()
        status = 200
    return render(request, "intake/report.html", {"form": form}, status=status)


def thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "intake/thanks.html")
