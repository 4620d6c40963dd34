"""The server's VAPID identity (RFC 8292) and the signed headers that prove it.

Browsers bind each push subscription to our public key (the
``applicationServerKey``), and push services accept a message for it only with
a JWT signed by the matching private key. The key pair is made once and kept in
the key directory, or given as ``RAIDWATCH_VAPID_PRIVATE_KEY`` (or ``_FILE``):
a PEM private key, or the base64url 32-byte scalar that common VAPID key tools
print. Replacing the key orphans every existing browser subscription, so it is
never rotated automatically.

Signing costs about 110 µs (PERFORMANCE.md), which would dominate a large
fan-out if done per message, while a token may be reused for every message to
the same push service until it expires. So one header is signed per push
origin and reused for hours.
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from py_vapid import Vapid02  # type: ignore[import-untyped]

from raidwatch.lib.env import env_str
from raidwatch.lib.keys import read_or_create_key

PRIVATE_KEY_ENV = "RAIDWATCH_VAPID_PRIVATE_KEY"
SUBJECT_ENV = "RAIDWATCH_VAPID_SUBJECT"
KEY_FILE_NAME = "vapid.key"

# RFC 8292 allows tokens up to 24 h ahead. Half that leaves room for a push
# service whose clock runs ahead of ours; re-signing after a quarter means a
# cached header always has hours of validity left when it is used.
TOKEN_LIFETIME_SECONDS = 12 * 3600
REFRESH_AFTER_SECONDS = 6 * 3600
# Anyone can subscribe with an endpoint on any host, so the per-origin cache
# must not grow without bound; real deployments see a handful of origins.
_MAX_CACHED_ORIGINS = 512

# The order of the P-256 group, for turning random bytes into a private scalar.
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@dataclass(frozen=True)
class _Identity:
    source: tuple[str | None, ...]
    private_key: ec.EllipticCurvePrivateKey
    public_key_b64url: str


@dataclass(frozen=True)
class _SignedHeader:
    value: str
    refresh_at: float


_lock = threading.Lock()
_identity: _Identity | None = None
_headers: dict[tuple[str, str, str], _SignedHeader] = {}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _key_from_scalar_bytes(raw: bytes) -> ec.EllipticCurvePrivateKey:
    # FIPS 186-5 A.2.1: 64 more random bits than the group order has, reduced
    # into [1, n-1], gives a uniform scalar; it lets the key live in the same
    # kind of key file (lib/keys.py) as every other key.
    scalar = int.from_bytes(raw, "big") % (_P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def _key_from_configuration(text: str) -> ec.EllipticCurvePrivateKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = load_pem_private_key(text.encode("ascii"), password=None)
        except (ValueError, TypeError, UnicodeEncodeError) as exc:
            raise ImproperlyConfigured(
                f"{PRIVATE_KEY_ENV} is not a readable PEM private key: {exc}"
            ) from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise ImproperlyConfigured(f"{PRIVATE_KEY_ENV} must be a P-256 (prime256v1) key.")
        return key
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ImproperlyConfigured(
            f"{PRIVATE_KEY_ENV} must be a PEM private key or a base64url 32-byte P-256 private key."
        )
    try:
        return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    except ValueError:
        raise ImproperlyConfigured(f"{PRIVATE_KEY_ENV} is not a valid P-256 private key.") from None


def _current_identity() -> _Identity:
    global _identity
    # The raw environment values identify the configured key cheaply, so the
    # key file named by ``_FILE`` is read once, not on every push.
    source = (
        os.environ.get(PRIVATE_KEY_ENV),
        os.environ.get(f"{PRIVATE_KEY_ENV}_FILE"),
        str(settings.KEY_DIR),
    )
    cached = _identity
    if cached is not None and cached.source == source:
        return cached
    configured = env_str(PRIVATE_KEY_ENV)
    if configured:
        private_key = _key_from_configuration(configured)
    else:
        private_key = _key_from_scalar_bytes(read_or_create_key(Path(settings.KEY_DIR) / KEY_FILE_NAME, 40))
    public = private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    identity = _Identity(source, private_key, _b64url(public))
    with _lock:
        _identity = identity
    return identity


def public_key_b64url() -> str:
    """The public key as browsers take it for ``applicationServerKey``: the
    uncompressed P-256 point, base64url without padding."""
    return _current_identity().public_key_b64url


def vapid_subject() -> str:
    """Who push services can contact about our traffic (the JWT ``sub``).

    ``RAIDWATCH_VAPID_SUBJECT`` if set (a ``mailto:`` or ``https:`` URI), else
    the site's own https origin, else a ``mailto:`` placeholder for local runs.
    """
    configured = (env_str(SUBJECT_ENV) or "").strip()
    if configured:
        if not configured.startswith(("mailto:", "https://")):
            raise ImproperlyConfigured(f"{SUBJECT_ENV} must be a mailto: or https: URI, not {configured!r}.")
        return configured
    base = urlsplit(str(settings.RAIDWATCH_BASE_URL))
    if base.scheme == "https" and base.netloc:
        return f"https://{base.netloc}"
    return "mailto:admin@localhost"


def push_origin(endpoint: str) -> str:
    """The JWT audience for an endpoint: its scheme and authority."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def _sign_authorization(private_key: ec.EllipticCurvePrivateKey, claims: dict[str, str | int]) -> str:
    """One ES256 signature; the only place the (costly) signing happens."""
    # no-strict: py_vapid's own subject pattern rejects valid https subjects
    # with a port or path; vapid_subject() has already checked the scheme.
    signer = Vapid02(private_key=private_key, conf={"no-strict": True})
    headers = cast(dict[str, str], signer.sign(claims))
    return headers["Authorization"]


def authorization_header(endpoint: str) -> str:
    """The ``Authorization: vapid t=…, k=…`` value for a push to ``endpoint``,
    signed once per push origin and reused until it is due for refresh."""
    identity = _current_identity()
    subject = vapid_subject()
    origin = push_origin(endpoint)
    cache_key = (identity.public_key_b64url, subject, origin)
    now = time.time()
    cached = _headers.get(cache_key)
    if cached is not None and now < cached.refresh_at:
        return cached.value
    claims: dict[str, str | int] = {
        "aud": origin,
        "exp": int(now) + TOKEN_LIFETIME_SECONDS,
        "sub": subject,
    }
    value = _sign_authorization(identity.private_key, claims)
    with _lock:
        if len(_headers) >= _MAX_CACHED_ORIGINS:
            _headers.clear()
        _headers[cache_key] = _SignedHeader(value, now + REFRESH_AFTER_SECONDS)
    return value


def clear_cache() -> None:
    """Forget the loaded key and signed headers (after changing configuration)."""
    global _identity
    with _lock:
        _identity = None
        _headers.clear()
