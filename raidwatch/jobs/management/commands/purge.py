"""`raidwatch purge [--only RULE ...]`: apply the retention rules now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from raidwatch.jobs.retention import RULES, rule_names


class Command(BaseCommand):
    help = (
        "Apply every retention rule now (they also run on a schedule): destroy expired location "
        "keys, redact volunteers' movements, purge old deliveries, unconfirmed subscriptions and "
        "task records, expire stale unverified incidents, delete expired photos with their keys. "
        "Prints what each rule did."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--only",
            action="append",
            metavar="RULE",
            default=[],
            help=f"Apply only this rule (repeatable): {', '.join(rule_names())}.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        only: list[str] = options["only"]
        unknown = sorted(set(only) - set(rule_names()))
        if unknown:
            raise CommandError(
                f"Unknown retention rule {', '.join(unknown)}; the rules are: {', '.join(rule_names())}."
            )
        for rule in RULES:
            if only and rule.name not in only:
                continue
            count = rule.apply()
            self.stdout.write(f"{rule.name}: {count} {rule.what}")
