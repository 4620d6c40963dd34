"""Mastodon: the public status, idempotent retries, rate limits, and which errors give up."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from raidwatch.channels.base import TransportError
from raidwatch.channels.mastodon.transport import MastodonTransport, account_label, status_text
from raidwatch.lib import http

if TYPE_CHECKING:
    from raidwatch.testing.fake_social import FakeMastodon

pytest_plugins = ["raidwatch.testing.fake_social"]

URL = "https://raidwatch.example/a/41"
TEXT = "CONFIRMED: van sighting near East St market at 14:20. Know your rights."
KEY = "raidwatch-public-post-41-1795702805.123456"


@pytest.fixture
def mastodon() -> MastodonTransport:
    return MastodonTransport()


def test_an_alert_is_one_public_status_with_its_link(mastodon, fake_mastodon: FakeMastodon) -> None:
    mastodon.post(TEXT, URL, language="en", idempotency_key=KEY)

    [received] = fake_mastodon.received
    assert received.path == "/api/v1/statuses"
    assert received.headers["authorization"] == f"Bearer {fake_mastodon.token}"
    assert received.headers["idempotency-key"] == KEY
    assert received.payload == {"status": f"{TEXT}\n{URL}", "visibility": "public", "language": "en"}


def test_the_language_is_the_iso_639_code_mastodon_knows(mastodon, fake_mastodon: FakeMastodon) -> None:
    mastodon.post("已确认：执法车辆", URL, language="zh-hans", idempotency_key=KEY)

    assert fake_mastodon.statuses[0]["language"] == "zh"


def test_the_same_idempotency_key_posts_once(mastodon, fake_mastodon: FakeMastodon) -> None:
    mastodon.post(TEXT, URL, language="en", idempotency_key=KEY)
    mastodon.post(TEXT, URL, language="en", idempotency_key=KEY)
    mastodon.post(TEXT, URL, language="en", idempotency_key=f"{KEY}-other")

    assert len(fake_mastodon.statuses) == 2


def test_a_retry_after_a_gateway_timeout_does_not_post_twice(mastodon, fake_mastodon: FakeMastodon) -> None:
    fake_mastodon.lose_answer()  # posted, then the gateway answers 504

    with pytest.raises(TransportError) as caught:
        mastodon.post(TEXT, URL, language="en", idempotency_key=KEY)
    assert not caught.value.permanent
    mastodon.post(TEXT, URL, language="en", idempotency_key=KEY)

    assert len(fake_mastodon.statuses) == 1


def test_a_retry_after_a_read_timeout_does_not_post_twice(
    mastodon, fake_mastodon: FakeMastodon, monkeypatch
) -> None:
    monkeypatch.setattr(http, "DEFAULT_TIMEOUT", (2.0, 0.2))
    fake_mastodon.lose_answer(hold=True)

    with pytest.raises(TransportError) as caught:
        mastodon.post(TEXT, URL, language="en", idempotency_key=KEY)
    assert "Timeout" in caught.value.message
    mastodon.post(TEXT, URL, language="en", idempotency_key=KEY)

    assert len(fake_mastodon.statuses) == 1


def test_a_rate_limit_gives_the_wait_from_x_ratelimit_reset(mastodon, fake_mastodon: FakeMastodon) -> None:
    fake_mastodon.rate_limit(fake_mastodon.account, retry_after=240)

    with pytest.raises(TransportError) as caught:
        mastodon.post(TEXT, URL, language="en", idempotency_key=KEY)

    assert not caught.value.permanent
    assert caught.value.retry_after is not None
    assert 235 <= caught.value.retry_after <= 240
    assert fake_mastodon.statuses == []


def test_a_proxys_retry_after_is_honoured(mastodon, fake_mastodon: FakeMastodon) -> None:
    fake_mastodon.outage(429, retry_after=30)

    with pytest.raises(TransportError) as caught:
        mastodon.post(TEXT, URL, language="en", idempotency_key=KEY)

    assert caught.value.retry_after == 30


@pytest.mark.parametrize("how", ["wrong token", "suspended"])
def test_refused_credentials_are_retried_not_dropped(
    mastodon, fake_mastodon: FakeMastodon, monkeypatch, how: str
) -> None:
    if how == "wrong token":
        monkeypatch.setenv("RAIDWATCH_MASTODON_TOKEN", "revoked-token-value")
    else:
        fake_mastodon.reject(fake_mastodon.account, "suspended")

    with pytest.raises(TransportError) as caught:
        mastodon.post(TEXT, URL, language="en", idempotency_key=KEY)

    assert not caught.value.permanent
    for secret in ("revoked-token-value", fake_mastodon.token, fake_mastodon.base_url):
        assert secret not in caught.value.message


def test_a_rejected_status_is_permanent(mastodon, fake_mastodon: FakeMastodon) -> None:
    fake_mastodon.reject(fake_mastodon.account)

    with pytest.raises(TransportError) as caught:
        mastodon.post(TEXT, URL, language="en", idempotency_key=KEY)

    assert caught.value.permanent
    assert "422" in caught.value.message


def test_a_proxys_422_is_not_permanent(mastodon, fake_mastodon: FakeMastodon) -> None:
    fake_mastodon.outage(422)

    with pytest.raises(TransportError) as caught:
        mastodon.post(TEXT, URL, language="en", idempotency_key=KEY)

    assert not caught.value.permanent


def test_a_long_text_is_cut_to_the_status_limit_and_keeps_its_link(
    mastodon, fake_mastodon: FakeMastodon
) -> None:
    mastodon.post("ਪੰਜਾਬ " * 200, URL, language="pa", idempotency_key=KEY)

    [status] = fake_mastodon.statuses
    assert status["content"].endswith(f"…\n{URL}")
    assert len(status_text("x" * 1000, URL)) <= 500


def test_missing_settings_are_reported_by_name(mastodon, fake_mastodon: FakeMastodon, monkeypatch) -> None:
    monkeypatch.delenv("RAIDWATCH_MASTODON_TOKEN")

    with pytest.raises(TransportError) as caught:
        mastodon.post(TEXT, URL, language="en", idempotency_key=KEY)

    assert "RAIDWATCH_MASTODON_TOKEN" in caught.value.message
    assert not caught.value.permanent
    assert fake_mastodon.requests == []


def test_the_account_label_is_the_instance(monkeypatch) -> None:
    monkeypatch.setenv("RAIDWATCH_MASTODON_BASE", "https://mastodon.example/")
    assert account_label() == "mastodon.example"
