"""Who is reporting, as far as the network may know: a pseudonymous key, nothing more."""

from __future__ import annotations

from django.http import HttpRequest

from raidwatch.lib import crypto

# A client may send its own random token so that its reports count as one
# source, even when a whole carrier's users share one address range.
CLIENT_TOKEN_HEADER = "HTTP_X_RAIDWATCH_TOKEN"  # noqa: S105 - a header name, not a secret


def reporter_key_for(request: HttpRequest) -> str:
    token = request.META.get(CLIENT_TOKEN_HEADER, "").strip()[:200] or None
    # REMOTE_ADDR is read here and only here, and only its network prefix is
    # hashed; it is never stored or logged (SECURITY.md R1, R2).
    return crypto.reporter_key(token, request.META.get("REMOTE_ADDR"))
