from __future__ import annotations

from io import StringIO

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import decrypt
from django.core.management import call_command
from django.test import Client

from raidwatch.accounts.models import Volunteer
from raidwatch.incidents.models import Incident, Status
from raidwatch.intake.models import Report

pytestmark = pytest.mark.django_db


def run_demo() -> str:
    out = StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def test_demo_creates_the_three_volunteers_and_prints_working_passwords() -> None:
    output = run_demo()
    client = Client()
    for username, role in (
        ("coordinator", "coordinator"),
        ("verifier", "verifier"),
        ("responder", "responder"),
    ):
        line = next(line for line in output.splitlines() if line.startswith(f"volunteer {username} "))
        password = line.split("password ")[1].split()[0]
        secret = line.split(" totp ")[1].strip()
        volunteer = Volunteer.objects.get(username=username)
        assert volunteer.role == role
        assert volunteer.check_password(password)
        assert client.login(username=username, password=password)
        totp = Authenticator.objects.get(user=volunteer, type=Authenticator.Type.TOTP)
        assert decrypt(totp.data["secret"]) == secret


def test_demo_is_idempotent_and_publishes_one_confirmed_incident() -> None:
    first = run_demo()
    counts = (Volunteer.objects.count(), Report.objects.count(), Incident.objects.count())
    second = run_demo()
    assert (Volunteer.objects.count(), Report.objects.count(), Incident.objects.count()) == counts
    assert first == second
    assert Incident.objects.filter(status=Status.CONFIRMED).count() == 1
    assert Client().get("/api/v1/incidents").json()["items"][0]["place"] == "Whitechapel market"
