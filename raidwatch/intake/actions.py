"""Taking in a report: store it sealed and attach it to an incident."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from raidwatch.alerts.actions import alert_for_incident
from raidwatch.alerts.models import Event
from raidwatch.incidents import clustering
from raidwatch.incidents.events import append_incident_event
from raidwatch.incidents.models import OPEN_STATUSES, Incident
from raidwatch.intake.models import Report
from raidwatch.intake.validation import ValidReport
from raidwatch.lib import crypto, geo


@dataclass(frozen=True)
class Submitted:
    report: Report
    incident: Incident
    # False when a resend with a known client_id returned the first result.
    created: bool


def _find_incident(valid: ValidReport) -> Incident | None:
    """The open incident this report joins, preferring its own cell, then the latest."""
    if valid.kind not in clustering.CLUSTERING_KINDS:
        return None
    window = clustering.CLUSTER_WINDOW
    candidates = Incident.objects.filter(
        status__in=OPEN_STATUSES,
        cell__in=geo.neighbouring_cells(valid.location.cell),
        kind__in=clustering.CLUSTERING_KINDS,
        # Public reports never join a drill: a real raid must not be taken for an exercise.
        is_exercise=False,
        last_report_at__range=(valid.observed_at - window, valid.observed_at + window),
    ).order_by("-last_report_at")
    # On PostgreSQL, lock the candidates so concurrent reports count in turn.
    candidates = candidates.select_for_update()[:20]
    joinable = [
        incident
        for incident in candidates
        if clustering.can_join(
            incident_kind=incident.kind,
            incident_cell=incident.cell,
            incident_last_report_at=incident.last_report_at,
            report_kind=valid.kind,
            report_cell=valid.location.cell,
            report_observed_at=valid.observed_at,
            incident_is_exercise=incident.is_exercise,
            report_is_exercise=False,
        )
    ]
    same_cell = [incident for incident in joinable if incident.cell == valid.location.cell]
    if same_cell or joinable:
        return (same_cell or joinable)[0]
    return None


def submit_report(valid: ValidReport, *, source: str, reporter_key: str) -> Submitted:
    """Store a checked report and attach it to an open incident nearby, or open one.

    Four or five statements in one transaction: this is the ingest hot path (G5).
    A resend with a known client_id fails on the unique index and returns the
    first result, so the common case pays no look-up for it.
    """
    now = timezone.now()
    location = valid.location
    try:
        with transaction.atomic():
            incident = _find_incident(valid)
            if incident is None:
                incident = Incident.objects.create(
                    kind=valid.kind,
                    cell=location.cell,
                    opened_at=valid.observed_at,
                    updated_at=now,
                    last_report_at=valid.observed_at,
                    report_count=1,
                    corroborations=1,
                    confidence=clustering.confidence(1),
                )
                event_type = "incident.opened"
                # Responders and organisers on the `all` level hear of it now, labelled unverified.
                alert_for_incident(incident, Event.UNVERIFIED)
            else:
                new_source = not Report.objects.filter(incident=incident, reporter_key=reporter_key).exists()
                _count_report(incident, valid, now, new_source=new_source)
                event_type = "incident.report_added"
            report = Report.objects.create(
                incident=incident,
                kind=valid.kind,
                cell=location.cell,
                location_sealed=crypto.seal_location(location.lat, location.lon)
                if location.precise
                else None,
                location_expires_at=crypto.location_expires_at() if location.precise else None,
                place_label=location.place_label,
                observed_at=valid.observed_at,
                received_at=now,
                description=valid.description,
                language=valid.language,
                source=source,
                client_id=valid.client_id,
                reporter_key=reporter_key,
            )
            append_incident_event(incident, event_type)
    except IntegrityError:
        # A resend: the unique client_id says this report is already stored.
        existing = Report.objects.select_related("incident").filter(client_id=valid.client_id).first()
        if valid.client_id is None or existing is None:
            raise
        if (existing.kind, existing.cell, existing.description) != (
            valid.kind,
            location.cell,
            valid.description,
        ):
            # Not a resend but another report with an old id (a form brought
            # back by the Back button keeps its hidden id): store it, never drop it.
            return submit_report(replace(valid, client_id=None), source=source, reporter_key=reporter_key)
        return Submitted(existing, existing.incident, created=False)
    return Submitted(report, incident, created=True)


def _count_report(incident: Incident, valid: ValidReport, now: datetime, *, new_source: bool) -> None:
    # The incident row is locked (select_for_update on PostgreSQL; SQLite's
    # IMMEDIATE transaction holds the only write lock), so counting in Python is exact.
    incident.report_count += 1
    incident.corroborations += int(new_source)
    incident.confidence = clustering.confidence(incident.corroborations)
    incident.kind = clustering.merged_kind(incident.kind, valid.kind)
    incident.last_report_at = max(incident.last_report_at, valid.observed_at)
    incident.updated_at = now
    incident.save(
        update_fields=["report_count", "corroborations", "confidence", "kind", "last_report_at", "updated_at"]
    )
