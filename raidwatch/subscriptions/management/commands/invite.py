"""`raidwatch invite [--level all] [--expires HOURS]`: a one-time code for the `all` level;
`raidwatch invite --role ROLE [--expires HOURS]`: a one-time volunteer invitation link."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from raidwatch.accounts.actions import INVITATION_MAX_HOURS, INVITATION_MIN_HOURS, invite_volunteer, join_link
from raidwatch.accounts.models import Role
from raidwatch.subscriptions.actions import create_invite
from raidwatch.subscriptions.models import Level

DEFAULT_HOURS = 72
MAX_CODE_HOURS = 24 * 30


class Command(BaseCommand):
    help = (
        "Print a one-time invite code for the `all` alert level (unverified reports, for responders), "
        "or with --role a one-time link that lets one person join as a volunteer."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        # No default here, so an explicit --level beside --role can be refused.
        parser.add_argument("--level", choices=[Level.ALL], help="The alert level of a code (default: all).")
        parser.add_argument(
            "--expires",
            type=int,
            default=DEFAULT_HOURS,
            metavar="HOURS",
            help=f"Valid for this long (default {DEFAULT_HOURS}; a code up to {MAX_CODE_HOURS}, "
            f"a volunteer link up to {INVITATION_MAX_HOURS}).",
        )
        parser.add_argument(
            "--role",
            metavar="ROLE",
            help=f"Print a volunteer invitation link for this role: {', '.join(Role.values)}.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        hours: int = options["expires"]
        role: str | None = options.get("role")
        if role is not None:
            self._volunteer_link(role, hours, level=options.get("level"))
            return
        if not 1 <= hours <= MAX_CODE_HOURS:
            raise CommandError(f"--expires must be between 1 and {MAX_CODE_HOURS} hours.")
        level = options.get("level") or Level.ALL
        code = create_invite(level=level, hours=hours)
        self.stdout.write(code)
        self.stderr.write(f"One-time invite for the '{level}' level, valid {hours} h.")

    def _volunteer_link(self, role: str, hours: int, *, level: str | None) -> None:
        if level is not None:
            raise CommandError("--level is for subscriber codes and --role for volunteer links: give one.")
        if role not in Role.values:
            raise CommandError(f"--role must be one of: {', '.join(Role.values)} (not {role!r}).")
        if not INVITATION_MIN_HOURS <= hours <= INVITATION_MAX_HOURS:
            raise CommandError(
                f"--expires for a volunteer link must be between {INVITATION_MIN_HOURS} "
                f"and {INVITATION_MAX_HOURS} hours."
            )
        # by=None: the operator at the console, who may invite any role.
        issued = invite_volunteer(role, hours, by=None)
        self.stdout.write(join_link(issued.token))
        self.stderr.write(
            f"One-time link to join as {role}, valid {hours} h. Send it over a channel you trust; "
            "it is not shown again."
        )
