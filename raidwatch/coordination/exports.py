"""The coordinators' exports, as rows and lines to stream: a coarse incidents
table and the audit log with its head hash. Built here, not in the views, so
they can be tested without HTTP and kept to what may leave the server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from raidwatch.accounts.audit import MOVEMENT_ACTIONS
from raidwatch.accounts.models import AuditEntry
from raidwatch.incidents.models import OPEN_STATUSES, Incident, round_down_ten_minutes
from raidwatch.lib import geo


class Line:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def _rounded(moment: datetime | None) -> str:
    """UTC, rounded down to 10 minutes, as every public time is (R4)."""
    return round_down_ten_minutes(moment.astimezone(UTC)).isoformat() if moment else ""


def _minutes(later: datetime | None, earlier: datetime | None) -> str:
    if later is None or earlier is None:
        return ""
    return str(max(int((later - earlier) / timedelta(minutes=1)), 0))


INCIDENT_COLUMNS = (
    "id",
    "status",
    "kind",
    "cell",
    "report_count",
    "opened_at",
    "verified_at",
    "closed_at",
    "minutes_to_first_look",
    "minutes_to_verify",
    "exercise",
)


def incident_rows() -> Iterator[list[str]]:
    """Coarse, public-safe fields only: never report text, points or reporter keys.
    Every value is an id, a choice, a cell or a time, so no cell can start a
    spreadsheet formula."""
    yield list(INCIDENT_COLUMNS)
    fields = (
        "pk",
        "status",
        "kind",
        "cell",
        "report_count",
        "opened_at",
        "verified_at",
        "updated_at",
        "first_looked_at",
        "is_exercise",
    )
    for row in Incident.objects.order_by("id").values_list(*fields).iterator(chunk_size=2000):
        pk, status, kind, cell, count, opened, verified, updated, first_look, exercise = row
        closed = updated if status not in OPEN_STATUSES else None
        yield [
            str(pk),
            status,
            kind,
            geo.coarsen_cell(cell),
            str(count),
            _rounded(opened),
            _rounded(verified),
            _rounded(closed),
            _minutes(first_look, opened),
            _minutes(verified, opened),
            "1" if exercise else "0",
        ]


def audit_lines(last_id: int) -> Iterator[str]:
    for entry in AuditEntry.objects.filter(id__lte=last_id).order_by("id").iterator(chunk_size=2000):
        yield (
            json.dumps(
                {
                    "id": entry.pk,
                    "at": entry.at.isoformat(),
                    "actor": entry.actor,
                    "action": entry.action,
                    "target_type": entry.target_type,
                    "target_id": entry.target_id,
                    # Responders' movements leave the file without their details:
                    # a file outlives the database's redaction (R11), and the
                    # digest is enough to check the chain.
                    "details": {} if entry.action in MOVEMENT_ACTIONS else entry.details,
                    "details_digest": entry.details_digest,
                    "redacted_at": entry.redacted_at.isoformat() if entry.redacted_at else None,
                    "prev_hash": entry.prev_hash,
                    "entry_hash": entry.entry_hash,
                },
                ensure_ascii=False,
                sort_keys=True,
            )
            + "\n"
        )
