"""`raidwatch invite [--level all] [--expires HOURS]`: a one-time code for the `all` level."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from raidwatch.subscriptions.actions import create_invite
from raidwatch.subscriptions.models import Level


class Command(BaseCommand):
    help = "Print a one-time invite code for the `all` alert level (unverified reports, for responders)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--level", default=Level.ALL, choices=[Level.ALL])
        parser.add_argument(
            "--expires", type=int, default=72, metavar="HOURS", help="Valid for this long (default 72)."
        )
        parser.add_argument("--role", help="Volunteer invitations arrive with the Verification desk.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("role"):
            raise CommandError(
                "Volunteer invitations (--role) come with the Verification desk; not available yet."
            )
        if not 1 <= options["expires"] <= 24 * 30:
            raise CommandError("--expires must be between 1 and 720 hours.")
        code = create_invite(level=options["level"], hours=options["expires"])
        self.stdout.write(code)
        self.stderr.write(
            f"One-time invite for the '{options['level']}' level, valid {options['expires']} h."
        )
