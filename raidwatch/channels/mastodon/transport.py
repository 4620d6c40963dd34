"""Mastodon: public alerts posted as statuses of the operator's account.

There are no Mastodon subscribers: followers of the account see one status,
so this is a public channel only (PERFORMANCE.md G7), used by alerts/public_posts.

Configuration (read at send time): RAIDWATCH_MASTODON_BASE (the instance, e.g.
https://mastodon.social), RAIDWATCH_MASTODON_TOKEN (an access token with the
write:statuses scope), RAIDWATCH_MASTODON_AREAS (read by alerts/public_posts).
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests

from raidwatch.channels import http_errors
from raidwatch.channels.base import TransportError
from raidwatch.channels.bluesky.transport import shorten
from raidwatch.lib.env import env_str

NAME = "mastodon"
# The default status limit of a Mastodon instance (some allow more, none fewer).
MAX_CHARACTERS = 500
# Mastodon counts every link as 23 characters, however long it is.
URL_WEIGHT = 23


def account_label() -> str:
    """A name for where the posts go, for the operator's view of public posts (the instance)."""
    base = env_str("RAIDWATCH_MASTODON_BASE") or ""
    return (urlsplit(base).hostname or NAME)[:100]


def status_text(text: str, url: str) -> str:
    """The alert text, cut to fit the status limit, and its link on a line of its own."""
    room = MAX_CHARACTERS - 1 - max(len(url), URL_WEIGHT)
    return f"{shorten(text, room)}\n{url}"


class MastodonTransport:
    name = NAME

    def post(self, text: str, url: str, *, language: str, idempotency_key: str) -> None:
        """Post one public status; a repeat with the same key posts nothing more.

        Mastodon remembers an Idempotency-Key for an hour per account and answers
        a repeat with the status it already made: a retry after a lost answer
        (a timeout, a proxy's 504) cannot post twice. The outbox's retries of one
        post are well within that hour for the first attempts that matter.
        """
        base = (env_str("RAIDWATCH_MASTODON_BASE") or "").rstrip("/")
        token = env_str("RAIDWATCH_MASTODON_TOKEN")
        if not base or not token:
            raise TransportError(f"{NAME}: RAIDWATCH_MASTODON_BASE and RAIDWATCH_MASTODON_TOKEN must be set")
        response = http_errors.request(
            NAME,
            "POST",
            f"{base}/api/v1/statuses",
            json={
                "status": status_text(text, url),
                "visibility": "public",
                # Mastodon takes ISO 639 codes: "zh-hans" is "zh" to it.
                "language": language.split("-")[0].lower(),
            },
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": idempotency_key},
        )
        body = http_errors.json_body(response)
        if response.status_code == 200 and "id" in body:
            return
        raise _error(response, body)


def _error(response: requests.Response, body: dict[str, object]) -> TransportError:
    status = response.status_code
    if status == 429:
        return http_errors.rate_limited(NAME, retry_hint(response))
    if status == 422 and "error" in body:
        # Mastodon's own validation refused this status (too long for the
        # instance, a language it does not know): retrying sends the same post.
        return http_errors.permanent(NAME, "HTTP 422 (the status was rejected)")
    # 401/403 are our token (revoked, lacking write:statuses) or a suspended
    # account: the operator's to fix, so the post is retried until the
    # outbox's attempts run out rather than dropped at once. 5xx: retried.
    return http_errors.generic_error(NAME, response)


def retry_hint(response: requests.Response) -> float | None:
    """Seconds to wait: Mastodon's X-RateLimit-Reset is an ISO 8601 time; a proxy's
    Retry-After is the fallback."""
    reset = response.headers.get("X-RateLimit-Reset")
    if reset is not None:
        try:
            when = datetime.fromisoformat(reset.strip())
        except ValueError:
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)  # Mastodon writes UTC
            hint = http_errors.parse_retry_after((when - datetime.now(UTC)).total_seconds())
            if hint is not None:
                return hint
    return http_errors.parse_retry_after(response.headers.get("Retry-After"))
