"""R12: a bounded loopback flood of 1,000 reports a minute for 2 minutes, from
rotating sentinel sources (250 networks, and one shared network inventing a
token per request), against a live server at the default allowance.

Bounds, with the allowance A per source per 10-minute window (default 5) and the
site-wide limit SITE_FACTOR x A (500): the site counter stops unproven reports
once it passes the site limit, so at most 2 windows x 500 flood reports are
stored in 2 minutes, and no more unverified incidents than that. Each opened
incident enqueues one fan-out task for its restricted "unverified" alert, so the
task queue holds at most that many too. Nothing is public. No 5xx. Legitimate
clients on the flooded network solve the challenge and get through.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bench.flood import flood
from raidwatch.alerts.models import Alert, Scope
from raidwatch.incidents.models import Incident
from raidwatch.intake import gate
from raidwatch.intake.models import Report

pytestmark = [pytest.mark.django_db(transaction=True)]

DEFAULT_ALLOWANCE = 5


def test_a_flood_reaches_no_one_and_the_queues_stay_bounded(live_server: Any, settings: Any) -> None:
    from django_tasks_db.models import DBTaskResult

    settings.RAIDWATCH_REPORT_ALLOWANCE = DEFAULT_ALLOWANCE
    host, port = live_server.thread.host, live_server.thread.port
    result = asyncio.run(flood(host, port, per_minute=1000, duration_s=120.0, limit_s=140.0))

    bound = 2 * gate.SITE_FACTOR * DEFAULT_ALLOWANCE
    print(
        f"\nflood: sent {result.sent} in {result.elapsed_s:.0f} s, statuses {dict(result.statuses)},"
        f" stored {Report.objects.count()}, incidents {Incident.objects.count()},"
        f" tasks {DBTaskResult.objects.count()}, legit {result.legit_accepted}/{result.legit_sent},"
        f" slowest legit solve {max(result.legit_solve_s, default=0):.2f} s (bound {bound})"
    )
    assert result.sent == 2000
    assert not result.errors, result.errors[:5]
    assert result.server_errors == 0
    assert not Alert.objects.filter(scope=Scope.PUBLIC).exists()
    assert not Incident.objects.exclude(status="unverified").exists()
    assert result.accepted <= bound
    assert Incident.objects.count() <= bound
    assert DBTaskResult.objects.count() <= bound
    assert result.statuses[429] > 0
    assert result.legit_sent >= 40
    assert result.legit_accepted == result.legit_sent
