"""Mastodon and Bluesky get one public post per alert for the areas the operator chose, never more."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import h3
import pytest
import time_machine
from django.utils import timezone

from raidwatch.alerts import actions as alert_actions
from raidwatch.alerts import outbox
from raidwatch.alerts.models import Alert, DeliveryStatus, PublicPost
from raidwatch.alerts.public_posts import targets
from raidwatch.alerts.tests.helpers import subscriber
from raidwatch.alerts.text import alert_url
from raidwatch.incidents import actions
from raidwatch.incidents.tests.factories import report
from raidwatch.lib import http

if TYPE_CHECKING:
    from raidwatch.testing.fake_social import FakeBluesky, FakeMastodon

pytest_plugins = ["raidwatch.testing.fake_social"]
pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]

MANCHESTER = h3.latlng_to_cell(53.48, -2.24, 8)


def run_worker_once() -> None:
    for alert in Alert.objects.filter(fanned_out_at__isnull=True).order_by("id"):
        alert_actions.fan_out(alert.pk)
    outbox.send_due()


def later(minutes: int) -> time_machine.travel:
    return time_machine.travel(timezone.now() + timedelta(minutes=minutes), tick=False)


def social_posts(fake_mastodon: FakeMastodon, fake_bluesky: FakeBluesky) -> tuple[list[str], list[str]]:
    return (
        [status["content"] for status in fake_mastodon.statuses],
        [record["text"] for record in fake_bluesky.records.values()],
    )


@pytest.fixture
def areas(monkeypatch):
    def configure(mastodon: str, bluesky: str) -> None:
        monkeypatch.setenv("RAIDWATCH_MASTODON_AREAS", mastodon)
        monkeypatch.setenv("RAIDWATCH_BLUESKY_AREAS", bluesky)

    return configure


def test_a_confirmed_alert_and_its_all_clear_are_posted_once_per_service(
    fake_mastodon, fake_bluesky, recording_channel, areas, verifier
) -> None:
    for number in range(3):
        subscriber(f"neighbour{number}@example.org")
    incident = report().incident
    # Two overlapping areas for Bluesky: still one post per alert.
    areas("*", f"{h3.cell_to_parent(incident.cell, 5)},{h3.cell_to_parent(incident.cell, 7)}")

    run_worker_once()  # the unverified alert
    actions.confirm(incident.pk, verifier, place="East St market")
    run_worker_once()
    run_worker_once()  # a rerun changes nothing
    actions.end(incident.pk, verifier)
    run_worker_once()

    toots, skeets = social_posts(fake_mastodon, fake_bluesky)
    for posts in (toots, skeets):
        assert [post.split(":")[0] for post in posts] == ["CONFIRMED", "ALL CLEAR"]
        assert all("East St market" in post for post in posts)
    confirmed = Alert.objects.get(event="confirmed")
    assert toots[0].endswith(f"\n{alert_url(confirmed)}")
    # The subscribers each got both alerts; the public accounts one post each.
    assert len(recording_channel.sent) == 6
    assert PublicPost.objects.filter(status=DeliveryStatus.SENT).count() == 4


def test_an_unverified_report_is_never_posted(fake_mastodon, fake_bluesky, areas, verifier) -> None:
    areas("*", "*")
    incident = report().incident
    run_worker_once()
    actions.false_alarm(incident.pk, verifier, reason="police, not immigration")
    run_worker_once()

    assert social_posts(fake_mastodon, fake_bluesky) == ([], [])
    assert not PublicPost.objects.filter(channel__in=["mastodon", "bluesky"]).exists()
    assert fake_mastodon.requests == fake_bluesky.requests == []


def test_an_alert_outside_the_configured_areas_is_not_posted(
    fake_mastodon, fake_bluesky, areas, verifier
) -> None:
    areas(h3.cell_to_parent(MANCHESTER, 6), MANCHESTER)
    incident = report().incident  # in London
    actions.confirm(incident.pk, verifier)
    run_worker_once()

    assert social_posts(fake_mastodon, fake_bluesky) == ([], [])
    assert not PublicPost.objects.exists()


def test_areas_match_the_incidents_cell_or_any_cell_containing_it() -> None:
    london = h3.latlng_to_cell(51.5155, -0.0723, 8)
    cases = {
        "*": True,
        london: True,
        h3.cell_to_parent(london, 0): True,
        f"{MANCHESTER}, {h3.cell_to_parent(london, 4)}": True,
        MANCHESTER: False,
        h3.cell_to_children(london, 9)[0]: False,  # finer than the incident's own cell
        "": False,
    }
    for areas_setting, expected in cases.items():
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("RAIDWATCH_MASTODON_AREAS", areas_setting)
            patch.delenv("RAIDWATCH_BLUESKY_AREAS", raising=False)
            assert ("mastodon" in dict(targets(london))) is expected, areas_setting


def test_a_mistyped_area_is_ignored_and_the_others_still_count(monkeypatch, caplog) -> None:
    london = h3.latlng_to_cell(51.5155, -0.0723, 8)
    monkeypatch.setenv("RAIDWATCH_BLUESKY_AREAS", f"not-a-cell,{h3.cell_to_parent(london, 5)}")
    monkeypatch.setenv("RAIDWATCH_BLUESKY_HANDLE", "Alerts.Example.org")

    assert ("bluesky", "alerts.example.org") in targets(london)
    assert "RAIDWATCH_BLUESKY_AREAS" in caplog.text


def test_a_retry_after_a_timeout_or_a_504_does_not_post_twice(
    fake_mastodon, fake_bluesky, areas, verifier, monkeypatch
) -> None:
    monkeypatch.setattr(http, "DEFAULT_TIMEOUT", (2.0, 0.2))
    areas("*", "*")
    fake_mastodon.lose_answer()  # posted, then a gateway's 504
    fake_bluesky.lose_answer(hold=True)  # posted, then no answer in time
    incident = report().incident
    actions.confirm(incident.pk, verifier)

    run_worker_once()
    for post in PublicPost.objects.all():
        assert (post.status, post.attempts) == (DeliveryStatus.PENDING, 1)
    assert "504" in PublicPost.objects.get(channel="mastodon").last_error
    assert "Timeout" in PublicPost.objects.get(channel="bluesky").last_error

    with later(minutes=60):
        run_worker_once()

    toots, skeets = social_posts(fake_mastodon, fake_bluesky)
    assert (len(toots), len(skeets)) == (1, 1)
    assert len(fake_mastodon.received) == len(fake_bluesky.received) == 1
    assert PublicPost.objects.filter(status=DeliveryStatus.SENT).count() == 2


def test_a_rate_limit_reschedules_the_post_and_holds_back_the_next(
    fake_mastodon, fake_bluesky, areas, verifier
) -> None:
    areas("*", "*")
    first = report().incident
    second = report(lat=53.48, lon=-2.24, reporter="reporter-b").incident
    actions.confirm(first.pk, verifier)
    actions.confirm(second.pk, verifier)
    fake_mastodon.rate_limit(fake_mastodon.account, retry_after=600)
    fake_bluesky.rate_limit(fake_bluesky.did, retry_after=600)

    run_worker_once()

    assert social_posts(fake_mastodon, fake_bluesky) == ([], [])
    soon = timezone.now() + timedelta(seconds=590)
    for channel in ("mastodon", "bluesky"):
        limited, held = PublicPost.objects.filter(channel=channel).order_by("id")
        assert (limited.status, limited.attempts) == (DeliveryStatus.PENDING, 1)
        assert "429" in limited.last_error
        # The next post was not sent into the limit, and has not used an attempt.
        assert (held.status, held.attempts) == (DeliveryStatus.PENDING, 0)
        assert limited.next_attempt_at >= soon
        assert held.next_attempt_at >= soon
    assert len([path for method, path in fake_mastodon.requests if method == "POST"]) == 1

    with later(minutes=5):
        run_worker_once()
    assert social_posts(fake_mastodon, fake_bluesky) == ([], [])

    with later(minutes=11):
        run_worker_once()
    toots, skeets = social_posts(fake_mastodon, fake_bluesky)
    assert (len(toots), len(skeets)) == (2, 2)


def test_a_status_mastodon_rejects_fails_at_once(fake_mastodon, areas, verifier, monkeypatch) -> None:
    areas("*", "")
    fake_mastodon.reject(fake_mastodon.account)
    actions.confirm(report().incident.pk, verifier)

    run_worker_once()

    post = PublicPost.objects.get(channel="mastodon")
    assert (post.status, post.attempts) == (DeliveryStatus.FAILED, 1)
    assert "422" in post.last_error


def test_a_revoked_token_is_retried_then_given_up_with_the_reason_kept(
    fake_mastodon, areas, verifier, monkeypatch, settings
) -> None:
    settings.RAIDWATCH_DELIVERY_MAX_ATTEMPTS = 2
    areas("*", "")
    monkeypatch.setenv("RAIDWATCH_MASTODON_TOKEN", "revoked-token-value")
    actions.confirm(report().incident.pk, verifier)

    run_worker_once()
    post = PublicPost.objects.get(channel="mastodon")
    assert (post.status, post.attempts) == (DeliveryStatus.PENDING, 1)
    with later(minutes=60):
        run_worker_once()

    post.refresh_from_db()
    assert (post.status, post.attempts) == (DeliveryStatus.FAILED, 2)
    assert post.last_error == "mastodon: HTTP 401"
    assert fake_mastodon.statuses == []


def test_an_expired_bluesky_session_is_renewed_between_alerts(fake_bluesky, areas, verifier) -> None:
    areas("", "*")
    incident = report().incident
    actions.confirm(incident.pk, verifier)
    run_worker_once()
    fake_bluesky.expire_sessions()  # hours pass before the all clear

    actions.end(incident.pk, verifier)
    run_worker_once()

    assert fake_bluesky.sessions_created == 2
    assert len(fake_bluesky.records) == 2
    assert PublicPost.objects.filter(channel="bluesky", status=DeliveryStatus.SENT).count() == 2
