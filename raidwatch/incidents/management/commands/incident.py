"""`raidwatch incident …`: the verification actions for operators and scripts.

Exit codes: 0 done, 2 not found, 3 wrong state or lost a race, 4 not allowed.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder

from raidwatch.accounts.models import Volunteer
from raidwatch.incidents import actions
from raidwatch.incidents.models import Incident


def _operator_view(incident: Incident) -> dict[str, Any]:
    # Operators see the unverified too, and confidence; still no precise points.
    return {
        "id": incident.pk,
        "status": incident.status,
        "kind": incident.kind,
        "cell": incident.cell,
        "place": incident.place,
        "reason": incident.reason,
        "report_count": incident.report_count,
        "corroborations": incident.corroborations,
        "confidence": incident.confidence,
        "opened_at": incident.opened_at,
        "last_report_at": incident.last_report_at,
        "updated_at": incident.updated_at,
    }


class Command(BaseCommand):
    help = "List, show, confirm, mark as false alarm, end or retract incidents."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True, parser_class=CommandParser)
        listing = sub.add_parser("list", help="Incidents, newest first.")
        listing.add_argument("--json", action="store_true")
        listing.add_argument("--status", help="Only incidents with this status.")
        show = sub.add_parser("show", help="One incident.")
        show.add_argument("id", type=int)
        show.add_argument("--json", action="store_true")
        for verb, extra in (
            ("confirm", "--place"),
            ("false-alarm", "--reason"),
            ("end", None),
            ("retract", "--reason"),
        ):
            action = sub.add_parser(verb)
            action.add_argument("id", type=int)
            action.add_argument(
                "--by", required=True, metavar="USERNAME", help="The volunteer taking the action."
            )
            if extra:
                action.add_argument(extra, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        verb = options["verb"]
        if verb == "list":
            self._list(options)
        elif verb == "show":
            self._show(options)
        else:
            self._act(verb, options)

    def _list(self, options: dict[str, Any]) -> None:
        incidents = Incident.objects.order_by("-id")
        if options.get("status"):
            incidents = incidents.filter(status=options["status"])
        rows = [_operator_view(i) for i in incidents[:500]]
        if options["json"]:
            self.stdout.write(json.dumps(rows, cls=DjangoJSONEncoder))
            return
        if not rows:
            self.stdout.write("No incidents.")
        for row in rows:
            self.stdout.write(
                f"{row['id']:>6}  {row['status']:<11}  {row['kind']:<12}  {row['cell']}  "
                f"reports={row['report_count']} sources={row['corroborations']} "
                f"confidence={row['confidence']:.2f}  {row['place']}"
            )

    def _show(self, options: dict[str, Any]) -> None:
        incident = Incident.objects.filter(pk=options["id"]).first()
        if incident is None:
            raise CommandError(f"There is no incident {options['id']}.", returncode=2)
        row = _operator_view(incident)
        if options["json"]:
            self.stdout.write(json.dumps(row, cls=DjangoJSONEncoder))
            return
        for key, value in row.items():
            self.stdout.write(f"{key:>15}: {value}")

    def _act(self, verb: str, options: dict[str, Any]) -> None:
        volunteer = Volunteer.objects.filter(username=options["by"]).first()
        if volunteer is None:
            raise CommandError(f"There is no volunteer named {options['by']!r}.", returncode=4)
        try:
            if verb == "confirm":
                incident = actions.confirm(options["id"], volunteer, place=options.get("place"))
            elif verb == "update":
                incident = actions.update(options["id"], volunteer, place=options["place"])
            elif verb == "false-alarm":
                incident = actions.false_alarm(options["id"], volunteer, reason=options.get("reason"))
            elif verb == "end":
                incident = actions.end(options["id"], volunteer)
            else:
                incident = actions.retract(options["id"], volunteer, reason=options.get("reason"))
        except actions.ActionError as exc:
            raise CommandError(exc.message, returncode=exc.exit_code) from None
        self.stdout.write(f"Incident {incident.pk} is now {incident.status}.")
