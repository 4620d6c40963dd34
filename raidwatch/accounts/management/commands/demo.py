"""`raidwatch demo`: idempotent demo data for the embedded mode."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import timedelta
from typing import Any

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from allauth.mfa.utils import decrypt
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from raidwatch.accounts.adapter import SealedSecretError
from raidwatch.accounts.models import Role, Volunteer
from raidwatch.incidents import actions
from raidwatch.incidents.models import Status
from raidwatch.intake.actions import submit_report
from raidwatch.intake.models import Source
from raidwatch.intake.validation import clean_report

DEMO_VOLUNTEERS = (
    ("coordinator", Role.COORDINATOR),
    ("verifier", Role.VERIFIER),
    ("responder", Role.RESPONDER),
)

# Fixed client ids make the demo reports idempotent: a second run finds them.
DEMO_REPORTS = (
    (
        "5f0c8a52-5b4e-4e0e-9f39-5c1a7e0d0001",
        "van_sighting",
        "E1",
        "Two unmarked vans parked by the market",
        "a",
    ),
    (
        "5f0c8a52-5b4e-4e0e-9f39-5c1a7e0d0002",
        "arrest",
        "E1",
        "Officers stopping people at the station exit",
        "b",
    ),
    ("5f0c8a52-5b4e-4e0e-9f39-5c1a7e0d0003", "checkpoint", "M1", "Vehicle checks on the main road", "c"),
    ("5f0c8a52-5b4e-4e0e-9f39-5c1a7e0d0004", "raid", "10001", "Several vehicles outside a workplace", "d"),
)


def demo_password(username: str) -> str:
    """The same password on every run (so the demo stays idempotent and printable),
    derived from this installation's secret, so no two installations share it."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"demo-password:{username}".encode(), hashlib.sha256)
    return digest.hexdigest()[:20]


def demo_totp_secret(username: str) -> str:
    """A fixed authenticator-app secret per demo volunteer, derived like the password."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"demo-totp:{username}".encode(), hashlib.sha256)
    return base64.b32encode(digest.digest()[:20]).decode("ascii")


def ensure_demo_factors(volunteer: Volunteer) -> tuple[str, list[str]]:
    """Give a demo volunteer the demo TOTP secret and recovery codes (the
    second factor every volunteer needs); returns the secret and the unused codes."""
    secret = demo_totp_secret(volunteer.username)
    with transaction.atomic():
        current = Authenticator.objects.filter(user_id=volunteer.pk, type=Authenticator.Type.TOTP).first()
        if current is not None and not _holds(current, secret):
            current.delete()
            current = None
        if current is None:
            TOTP.activate(volunteer, secret)
        # activate() returns the existing set when there is one, so the codes stay the same across runs.
        codes: list[str] = RecoveryCodes.activate(volunteer).get_unused_codes()
    return secret, codes


def _holds(authenticator: Authenticator, secret: str) -> bool:
    try:
        return bool(decrypt(authenticator.data["secret"]) == secret)
    except SealedSecretError:
        # Sealed under an earlier SECRET_KEY: replaced with the current demo secret.
        return False


class Command(BaseCommand):
    help = "Create demo volunteers and a few demo reports (idempotent). Refused in production."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("raidwatch demo refuses to run when RAIDWATCH_ENV=production.")
        for username, role in DEMO_VOLUNTEERS:
            volunteer, _ = Volunteer.objects.get_or_create(username=username, defaults={"role": role})
            password = demo_password(username)
            volunteer.role = role
            volunteer.set_password(password)
            volunteer.save(update_fields=["role", "password"])
            secret, codes = ensure_demo_factors(volunteer)
            self.stdout.write(f"volunteer {username:<12} role {role:<12} password {password} totp {secret}")
            self.stdout.write(f"recovery-codes {username:<12} {' '.join(codes)}")
        now = timezone.now()
        incidents = {}
        for index, (client_id, kind, place, description, source) in enumerate(DEMO_REPORTS):
            valid = clean_report(
                {
                    "kind": kind,
                    "place": place,
                    "description": description,
                    "observed_at": now - timedelta(minutes=5 * (len(DEMO_REPORTS) - index)),
                    "client_id": client_id,
                },
                default_language="en",
            )
            submitted = submit_report(valid, source=Source.WEB, reporter_key=f"demo-{source}")
            incidents[uuid.UUID(client_id)] = submitted.incident
        first = incidents[uuid.UUID(DEMO_REPORTS[0][0])]
        first.refresh_from_db()
        if first.status == Status.UNVERIFIED:
            verifier = Volunteer.objects.get(username="verifier")
            actions.confirm(first.pk, verifier, place="Whitechapel market")
        self.stdout.write(
            f"Demo incidents: {', '.join(sorted({str(i.pk) for i in incidents.values()}))} "
            f"(incident {first.pk} confirmed). Open http://127.0.0.1:8000/ to look around."
        )
        self.stdout.write(
            "Volunteers sign in at http://127.0.0.1:8000/en/volunteer/ with the password and a code "
            "from an authenticator app holding the totp secret (security keys and passkeys need "
            "RAIDWATCH_BASE_URL=http://localhost:8000 and that address: WebAuthn refuses IP addresses)."
        )
