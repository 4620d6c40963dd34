"""The rules that decide whether a report joins an incident, and how sure we are.

Kept free of the database so the rules can be property-tested on their own.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from raidwatch.incidents.models import Kind
from raidwatch.lib import geo

CLUSTER_WINDOW = timedelta(minutes=60)

# Witnesses describe one operation differently (vans, then arrests); these kinds
# cluster together. "other" is anything else and never merges with anything.
CLUSTERING_KINDS = frozenset({Kind.VAN_SIGHTING, Kind.RAID, Kind.ARREST, Kind.CHECKPOINT})

# When kinds mix, the incident takes the most serious one reported.
_SEVERITY = {Kind.VAN_SIGHTING: 1, Kind.CHECKPOINT: 2, Kind.ARREST: 3, Kind.RAID: 4, Kind.OTHER: 0}


def kinds_cluster(incident_kind: str, report_kind: str) -> bool:
    return incident_kind in CLUSTERING_KINDS and report_kind in CLUSTERING_KINDS


def can_join(
    *,
    incident_kind: str,
    incident_cell: str,
    incident_last_report_at: datetime,
    report_kind: str,
    report_cell: str,
    report_observed_at: datetime,
    incident_is_exercise: bool = False,
    report_is_exercise: bool = False,
) -> bool:
    """A report joins an open incident in the same or a neighbouring resolution-8
    cell whose last report is at most 60 minutes older (or newer) than it.

    A drill's reports and real ones never mix, in either direction: a real
    witness's report inside a drill would be treated as practice, and a drill
    report inside a real incident would count as a corroboration.
    """
    return (
        incident_is_exercise == report_is_exercise
        and kinds_cluster(incident_kind, report_kind)
        and report_cell in geo.neighbouring_cells(incident_cell)
        and abs(report_observed_at - incident_last_report_at) <= CLUSTER_WINDOW
    )


def merged_kind(incident_kind: str, report_kind: str) -> str:
    return max(incident_kind, report_kind, key=lambda k: _SEVERITY[Kind(k)])


def confidence(corroborations: int) -> float:
    """Each independent reporter halves the remaining doubt: 1 → 0.5, 2 → 0.75, 3 → 0.875.

    It orders the verifiers' queue; it never publishes anything by itself.
    """
    return round(1.0 - 0.5 ** max(corroborations, 0), 4)
