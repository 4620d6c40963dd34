"""`raidwatch audit verify [--head HASH]`: check the audit log's hash chain."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from raidwatch.accounts.audit import verify_chain
from raidwatch.accounts.models import AuditEntry


class Command(BaseCommand):
    help = "Check the audit log's hash chain; non-zero on tampering, naming the first bad entry."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True, parser_class=CommandParser)
        verify = sub.add_parser(
            "verify", help="Check every entry, and optionally that a printed head is still there."
        )
        verify.add_argument(
            "--head",
            metavar="HASH",
            help="A head printed earlier: fails if that entry is gone (rows cut off the end).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        ok, bad, head = verify_chain()
        if not ok:
            assert bad is not None  # noqa: S101 - verify_chain names the entry when it fails
            raise CommandError(
                f"The audit log was altered: entry {bad.pk} ({bad}) does not chain.", returncode=1
            )
        earlier = options.get("head")
        if earlier and not AuditEntry.objects.filter(entry_hash=earlier).exists():
            raise CommandError(
                f"The head {earlier} printed earlier is no longer in the audit log: entries were removed.",
                returncode=1,
            )
        count = AuditEntry.objects.count()
        self.stdout.write(f"Audit log intact: {count} entries. Head: {head}")
