"""Exports: coarse incident CSV and the audit log with its head, behind a fresh
sign-in, each audited."""

from __future__ import annotations

import csv
import io
import itertools
import json

import h3
import pytest
from django.core.management import call_command

from raidwatch.accounts.models import AuditEntry
from raidwatch.coordination.tests.conftest import stale_client
from raidwatch.incidents import actions as incident_actions
from raidwatch.incidents.tests.factories import report
from raidwatch.lib import geo

# Streaming reads use server-side cursors on PostgreSQL.
pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]

CSV = "/en/volunteer/network/exports/incidents.csv"
AUDIT = "/en/volunteer/network/exports/audit.jsonl"


def _body(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_the_incident_csv_holds_only_coarse_fields(coordinator_client, verifier, settings) -> None:
    settings.RAIDWATCH_PUBLIC_RESOLUTION = 7
    submitted = report(
        description="Two vans outside number 12", lat=51.51551, lon=-0.07231, reporter="k-secret"
    )
    incident_actions.claim(submitted.incident.pk, verifier)
    incident_actions.confirm(submitted.incident.pk, verifier, place="East St market")
    response = coordinator_client.post(CSV)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Cache-Control"] == "no-store"
    body = _body(response)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert list(rows[0]) == [
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
    ]
    [row] = rows
    assert row["status"] == "confirmed"
    assert geo.is_public_cell(row["cell"])
    assert h3.get_resolution(row["cell"]) == 7
    assert row["opened_at"].endswith("0:00+00:00")  # rounded down to 10 minutes, UTC
    assert row["minutes_to_verify"] == "0"
    assert row["closed_at"] == ""
    assert row["exercise"] == "0"
    for secret in (
        "Two vans",
        "number 12",
        "51.515",
        "-0.072",
        "k-secret",
        "East St market",
        submitted.incident.cell,
    ):
        assert secret not in body
    assert AuditEntry.objects.filter(action="network.export_incidents", actor="coordinator").exists()


def test_the_audit_export_ends_with_the_head_that_verify_accepts(
    coordinator_client, verifier, capsys
) -> None:
    incident_actions.claim(report().incident.pk, verifier)
    response = coordinator_client.post(AUDIT)
    assert response.status_code == 200
    lines = [json.loads(line) for line in _body(response).splitlines()]
    entries, tail = lines[:-1], lines[-1]
    # The export records itself first, so it is in what it hands over.
    assert entries[-1]["action"] == "network.export_audit"
    assert tail == {"head": entries[-1]["entry_hash"], "last_id": entries[-1]["id"]}
    assert response["X-Audit-Head"] == tail["head"]
    for previous, entry in itertools.pairwise(entries):
        assert entry["prev_hash"] == previous["entry_hash"]
    call_command("audit", "verify", "--head", tail["head"])  # raises SystemExit on a mismatch


def test_the_audit_export_leaves_out_responders_movements(coordinator_client, verifier) -> None:
    incident = report().incident
    incident_actions.respond(incident.pk, verifier, "arrived")
    incident_actions.add_observation(incident.pk, verifier, officer_count=4, markings="HOME OFFICE vans")
    lines = [json.loads(line) for line in _body(coordinator_client.post(AUDIT)).splitlines()[:-1]]
    movements = [line for line in lines if line["action"] in ("incident.respond", "incident.observe")]
    assert len(movements) == 2
    # Who, what, which incident and when stay; the details (and so where) do not.
    assert all(line["details"] == {} and line["details_digest"] for line in movements)
    assert "HOME OFFICE" not in json.dumps(lines)
    assert AuditEntry.objects.get(
        action="incident.observe"
    ).details  # the database keeps them until retention


@pytest.mark.parametrize("url", [CSV, AUDIT])
def test_exports_need_a_fresh_sign_in(coordinator, url) -> None:
    response = stale_client(coordinator).post(url)
    assert response.status_code == 302
    assert "reauthenticate" in response["Location"]
    assert not AuditEntry.objects.filter(action__startswith="network.export").exists()


@pytest.mark.parametrize("url", [CSV, AUDIT])
def test_verifiers_may_not_export(verifier, url) -> None:
    from raidwatch.coordination.tests.conftest import fresh_client

    assert fresh_client(verifier).post(url).status_code == 403
