"""Bluesky: the session, the post record and its link facet, idempotent retries, rate limits."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from raidwatch.channels.base import TransportError
from raidwatch.channels.bluesky.transport import (
    BlueskyTransport,
    build_record,
    language_tag,
    record_key,
    shorten,
)
from raidwatch.lib import http

if TYPE_CHECKING:
    from raidwatch.testing.fake_social import FakeBluesky

pytest_plugins = ["raidwatch.testing.fake_social"]

URL = "https://raidwatch.example/a/41"
# Non-ASCII before the link: "ã", "ç" take two bytes in UTF-8, "✊" three and 🏽 four.
TEXT = "CONFIRMADO: operação perto da Praça São João às 14:20 ✊🏽"
ALERT_TIME = datetime(2026, 11, 26, 14, 20, 5, 123456, tzinfo=UTC)
TID = re.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")


@pytest.fixture
def bluesky() -> BlueskyTransport:
    return BlueskyTransport()


def posted(fake: FakeBluesky) -> list[str]:
    return [r.payload["record"]["text"] for r in fake.received]


def test_a_post_is_a_feed_post_record_with_a_clickable_link(bluesky, fake_bluesky: FakeBluesky) -> None:
    rkey = record_key(41, ALERT_TIME)
    bluesky.post(TEXT, URL, language="pt", rkey=rkey)

    [received] = fake_bluesky.received
    assert received.headers["authorization"].startswith("Bearer fake-access-")
    assert received.payload["repo"] == fake_bluesky.did
    assert received.payload["collection"] == "app.bsky.feed.post"
    assert received.payload["rkey"] == rkey
    record = received.payload["record"]
    assert record["$type"] == "app.bsky.feed.post"
    assert record["text"] == f"{TEXT}\n{URL}"
    assert record["langs"] == ["pt"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["createdAt"])
    [facet] = record["facets"]
    assert facet["features"] == [{"$type": "app.bsky.richtext.facet#link", "uri": URL}]


def test_the_link_facet_counts_utf8_bytes_not_characters(bluesky, fake_bluesky: FakeBluesky) -> None:
    bluesky.post(TEXT, URL, language="pt", rkey=record_key(41, ALERT_TIME))

    [rkey] = fake_bluesky.records
    assert fake_bluesky.facet_texts(rkey) == [URL]
    index = fake_bluesky.records[rkey]["facets"][0]["index"]
    characters_before = len(TEXT) + 1
    assert index["byteStart"] == len(f"{TEXT}\n".encode()) > characters_before
    assert index["byteEnd"] - index["byteStart"] == len(URL)


@pytest.mark.parametrize(
    "text",
    [
        "ক" * 400,  # Bengali: 3 bytes a letter
        "ਪੰਜਾਬ " * 80,  # Gurmukhi with vowel signs that must stay with their letter
        "تأكيد: " * 60,  # Arabic, right to left
        "👩🏽‍🚒" * 100,  # an emoji of four code points joined
    ],
)
def test_a_long_text_is_cut_to_300_and_keeps_its_link(text: str) -> None:
    record = build_record(text, URL, "en", ALERT_TIME)

    assert len(record["text"]) <= 300
    assert record["text"].endswith(f"…\n{URL}")
    start, end = (record["facets"][0]["index"][key] for key in ("byteStart", "byteEnd"))
    assert record["text"].encode()[start:end].decode() == URL


def test_a_cut_never_leaves_a_mark_without_its_letter_or_half_an_emoji() -> None:
    # The cut would fall between "c" and its accent: "c" goes with it.
    assert shorten("ab\u0301c\u0301d", 5) == "ab\u0301…"
    # A joined emoji stays whole or goes whole.
    firefighter = "👩\u200d🚒"
    assert shorten("xx" + firefighter * 3, 6) == f"xx{firefighter}…"
    assert shorten("xx" + firefighter * 3, 5) == "xx…"
    assert shorten("short", 10) == "short"


def test_the_language_is_a_bcp47_tag() -> None:
    assert language_tag("zh-hans") == "zh-Hans"
    assert language_tag("en") == "en"
    assert language_tag("ckb") == "ckb"


def test_record_keys_are_tids_the_same_for_a_retry_and_different_per_post() -> None:
    key = record_key(41, ALERT_TIME)
    assert TID.fullmatch(key)
    assert record_key(41, ALERT_TIME) == key
    assert record_key(42, ALERT_TIME) != key
    # A recreated database gives id 41 again, to a later alert: a different key.
    assert record_key(41, ALERT_TIME + timedelta(days=3)) != key
    # TIDs sort by time, as the repository expects of post keys.
    assert record_key(41, ALERT_TIME + timedelta(seconds=1)) > key


def test_one_session_serves_many_posts(bluesky, fake_bluesky: FakeBluesky) -> None:
    bluesky.post(TEXT, URL, language="pt", rkey=record_key(1, ALERT_TIME))
    bluesky.post(TEXT, URL, language="pt", rkey=record_key(2, ALERT_TIME))

    assert fake_bluesky.sessions_created == 1
    assert len(fake_bluesky.records) == 2


def test_an_expired_session_is_renewed_once_and_the_post_goes_out(bluesky, fake_bluesky: FakeBluesky) -> None:
    bluesky.post(TEXT, URL, language="pt", rkey=record_key(1, ALERT_TIME))
    fake_bluesky.expire_sessions()

    bluesky.post(TEXT, URL, language="pt", rkey=record_key(2, ALERT_TIME))

    assert fake_bluesky.sessions_created == 2
    assert len(fake_bluesky.records) == 2


def test_a_session_refused_again_after_renewal_is_retried_later_not_renewed_in_a_loop(
    bluesky, fake_bluesky: FakeBluesky
) -> None:
    fake_bluesky.expire_new_sessions = True

    with pytest.raises(TransportError) as caught:
        bluesky.post(TEXT, URL, language="pt", rkey=record_key(1, ALERT_TIME))

    assert not caught.value.permanent
    assert fake_bluesky.sessions_created == 2  # the first, and one renewal
    assert fake_bluesky.records == {}


def test_a_wrong_app_password_is_retried_and_never_quoted(
    bluesky, fake_bluesky: FakeBluesky, monkeypatch
) -> None:
    monkeypatch.setenv("RAIDWATCH_BLUESKY_APP_PASSWORD", "wxyz-wxyz-wxyz-wxyz")

    with pytest.raises(TransportError) as caught:
        bluesky.post(TEXT, URL, language="pt", rkey=record_key(1, ALERT_TIME))

    assert not caught.value.permanent
    assert "401" in caught.value.message
    for secret in ("wxyz-wxyz", fake_bluesky.handle_name, fake_bluesky.base_url):
        assert secret not in caught.value.message


def test_missing_settings_are_reported_by_name(bluesky, fake_bluesky: FakeBluesky, monkeypatch) -> None:
    monkeypatch.delenv("RAIDWATCH_BLUESKY_APP_PASSWORD")

    with pytest.raises(TransportError) as caught:
        bluesky.post(TEXT, URL, language="pt", rkey=record_key(1, ALERT_TIME))

    assert "RAIDWATCH_BLUESKY_APP_PASSWORD" in caught.value.message
    assert fake_bluesky.requests == []


def test_a_lost_answer_is_recognised_as_posted(bluesky, fake_bluesky: FakeBluesky) -> None:
    rkey = record_key(7, ALERT_TIME)
    fake_bluesky.lose_answer()  # posted, then the gateway answers 504

    bluesky.post(TEXT, URL, language="pt", rkey=rkey)  # the record is there: done

    assert list(fake_bluesky.records) == [rkey]


def test_posting_the_same_record_key_again_posts_nothing(bluesky, fake_bluesky: FakeBluesky) -> None:
    rkey = record_key(7, ALERT_TIME)
    bluesky.post(TEXT, URL, language="pt", rkey=rkey)

    bluesky.post(TEXT, URL, language="pt", rkey=rkey)  # the PDS answers 500: the key is taken, by us

    assert list(fake_bluesky.records) == [rkey]
    assert len(fake_bluesky.received) == 1


def test_a_retry_after_a_timeout_does_not_post_twice(bluesky, fake_bluesky: FakeBluesky, monkeypatch) -> None:
    monkeypatch.setattr(http, "DEFAULT_TIMEOUT", (2.0, 0.2))
    rkey = record_key(7, ALERT_TIME)
    fake_bluesky.lose_answer(hold=True)  # posted, and the answer comes too late

    with pytest.raises(TransportError) as caught:
        bluesky.post(TEXT, URL, language="pt", rkey=rkey)
    assert "Timeout" in caught.value.message

    bluesky.post(TEXT, URL, language="pt", rkey=rkey)

    assert len(fake_bluesky.received) == 1


def test_a_failure_before_posting_is_retried_and_posts_once(bluesky, fake_bluesky: FakeBluesky) -> None:
    rkey = record_key(7, ALERT_TIME)
    session_and_post = 2
    fake_bluesky.outage(502, times=session_and_post)

    for _ in range(session_and_post):
        with pytest.raises(TransportError) as caught:
            bluesky.post(TEXT, URL, language="pt", rkey=rkey)
        assert not caught.value.permanent
    bluesky.post(TEXT, URL, language="pt", rkey=rkey)

    assert len(fake_bluesky.received) == 1


def test_a_rate_limit_gives_the_wait_from_ratelimit_reset(bluesky, fake_bluesky: FakeBluesky) -> None:
    fake_bluesky.rate_limit(fake_bluesky.did, retry_after=90)

    with pytest.raises(TransportError) as caught:
        bluesky.post(TEXT, URL, language="pt", rkey=record_key(1, ALERT_TIME))

    assert not caught.value.permanent
    assert caught.value.retry_after is not None
    assert 85 <= caught.value.retry_after <= 90
    assert fake_bluesky.records == {}


def test_a_rate_limited_login_gives_its_wait_too(bluesky, fake_bluesky: FakeBluesky) -> None:
    fake_bluesky.rate_limit("createSession", retry_after=300)

    with pytest.raises(TransportError) as caught:
        bluesky.post(TEXT, URL, language="pt", rkey=record_key(1, ALERT_TIME))

    assert caught.value.retry_after is not None
    assert 295 <= caught.value.retry_after <= 300


def test_a_proxys_retry_after_is_honoured(bluesky, fake_bluesky: FakeBluesky) -> None:
    bluesky.post(TEXT, URL, language="pt", rkey=record_key(1, ALERT_TIME))  # a session first
    fake_bluesky.outage(503, retry_after=12)

    with pytest.raises(TransportError) as caught:
        bluesky.post(TEXT, URL, language="pt", rkey=record_key(2, ALERT_TIME))

    assert caught.value.retry_after == 12
