"""The report page: works on a cheap phone, with or without JavaScript."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from raidwatch.intake import gate
from raidwatch.intake.actions import submit_report
from raidwatch.intake.api import media_token_for
from raidwatch.intake.forms import ReportForm
from raidwatch.intake.models import Source
from raidwatch.intake.sources import reporter_key_for
from raidwatch.media.uploads import grant_photo_upload


@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ReportForm(request.POST)
        if form.is_valid() and form.valid_report is not None:
            # The abuse gate comes after the form's own checks: a mistake costs no solve.
            verdict = gate.check(
                request,
                gate.Scope.REPORTS,
                solution=request.POST.get(gate.SOLUTION_FIELD),
                question_token=request.POST.get("check_token"),
                answer=request.POST.get("check_answer"),
            )
            if not verdict.allowed:
                return challenged(request, form, verdict)
            submitted = submit_report(
                form.valid_report, source=Source.WEB, reporter_key=reporter_key_for(request)
            )
            # Post/redirect/get: a reload of the thanks page never resubmits.
            response = redirect(reverse("intake:thanks") + f"?incident={submitted.incident.pk}")
            grant_photo_upload(response, media_token_for(submitted.report.pk))
            return response
        status = 422
    else:
        form = ReportForm()
        status = 200
    return render(request, "intake/report.html", {"form": form}, status=status)


def _gate_message(problem: gate.Problem) -> str:
    if problem == gate.Problem.REQUIRED:
        return _(
            "Many reports are coming from your network right now. To keep fake reports out, "
            "please answer the question below, then press Send report again. What you wrote is kept."
        )
    if problem == gate.Problem.WRONG:
        return _("That answer was not right. Please answer this new question, then press Send report again.")
    if problem == gate.Problem.EXPIRED:
        return _("The check took too long. Please answer this new question, then press Send report again.")
    return _("The check could not be used. Please answer this new question, then press Send report again.")


def challenged(request: HttpRequest, form: ReportForm, verdict: gate.Verdict) -> HttpResponse:
    """The form again, as filled in, with a proof-of-work challenge for the browser's
    script and a question for a person without JavaScript (either lets it through)."""
    problem = verdict.problem or gate.Problem.REQUIRED
    context = {
        "form": form,
        "gate": {
            "message": _gate_message(problem),
            "challenge": json.dumps(verdict.challenge(), separators=(",", ":")),
            "question": gate.new_question() if verdict.question else None,
            # Only a first refusal solves and sends by itself; after a failed try the
            # person presses the button, so a fault can never loop.
            "auto": problem == gate.Problem.REQUIRED,
        },
    }
    response = render(
        request, "intake/report.html", context, status=429 if problem == gate.Problem.REQUIRED else 400
    )
    response["Retry-After"] = str(verdict.retry_after)
    response["Cache-Control"] = "no-store"
    return response


def thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "intake/thanks.html")
