"""Sealing precise locations under expiring keys, and pseudonymous reporter keys.

Precise points are encrypted with AES-256-GCM under an hourly key kept as a file
in the data dir, never in the database. A key is destroyed once its hour is
older than the retention period, which makes every point sealed under it
unrecoverable, wherever copies of the database went (SECURITY.md R3).

Reporter keys are an HMAC, under a daily key that is destroyed the next day, of
a token the client holds or of its network prefix. The same source on the same
day gets the same key, so corroborations can be counted; nobody can get from
the key back to an address, and after the day ends not even the server can
link it to tomorrow's key (R2).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import struct
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings

from raidwatch.coordination import tuning
from raidwatch.lib.keys import read_or_create_key, read_or_write_key

_SEAL_VERSION = 1
_HEADER = struct.Struct(">BI")  # version, key period (hours since the epoch)
_NONCE_BYTES = 12
_lock = threading.Lock()
_current: dict[str, tuple[int, bytes]] = {}


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def _location_dir() -> Path:
    return Path(settings.KEY_DIR) / "location"


def _reporter_dir() -> Path:
    return Path(settings.KEY_DIR) / "reporter"


def _hour_period(now: datetime) -> int:
    return int(now.timestamp() // 3600)


def _day_period(now: datetime) -> int:
    return int(now.timestamp() // 86400)


def _period_key(kind: str, directory: Path, period: int) -> bytes:
    # Cached per process for the current period only: sealing is on the ingest
    # hot path, and old periods must always be read from disk so a destroyed
    # key is really gone for every process.
    with _lock:
        cached = _current.get(kind)
        if cached and cached[0] == period:
            return cached[1]
        key = read_or_create_key(directory / f"{period}.key")
        _current[kind] = (period, key)
        return key


def seal_location(lat: float, lon: float, now: datetime | None = None) -> bytes:
    period = _hour_period(_now(now))
    key = _period_key("location", _location_dir(), period)
    header = _HEADER.pack(_SEAL_VERSION, period)
    nonce = os.urandom(_NONCE_BYTES)
    plaintext = struct.pack(">dd", lat, lon)
    return header + nonce + AESGCM(key).encrypt(nonce, plaintext, header)


def location_expires_at(now: datetime | None = None) -> datetime:
    """When a point sealed now stops being recoverable (its key's destruction)."""
    period_start = datetime.fromtimestamp(_hour_period(_now(now)) * 3600, UTC)
    return period_start + timedelta(hours=tuning.location_retention_hours())


def open_location(blob: bytes) -> tuple[float, float] | None:
    """The sealed point, or None once its key has been destroyed."""
    header, nonce, ciphertext = (
        blob[: _HEADER.size],
        blob[_HEADER.size : _HEADER.size + 12],
        blob[_HEADER.size + 12 :],
    )
    version, period = _HEADER.unpack(header)
    if version != _SEAL_VERSION:
        raise ValueError(f"unknown seal version {version}")
    path = _location_dir() / f"{period}.key"
    try:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        return None
    lat, lon = struct.unpack(">dd", AESGCM(key).decrypt(nonce, ciphertext, header))
    return lat, lon


def _destroy(directory: Path, keep_from: int) -> int:
    destroyed = 0
    if not directory.exists():
        return 0
    for path in directory.glob("*.key"):
        try:
            period = int(path.stem)
        except ValueError:
            continue
        if period < keep_from:
            # Overwrite before unlinking: on most file systems this keeps the
            # old bytes out of the freed blocks; the privacy issue adds more.
            size = path.stat().st_size
            with path.open("r+b") as handle:
                handle.write(os.urandom(size))
                handle.flush()
                os.fsync(handle.fileno())
            path.unlink()
            destroyed += 1
    with _lock:
        _current.clear()
    return destroyed


def destroy_expired_keys(now: datetime | None = None) -> int:
    """Destroy location keys past retention and reporter keys from before today."""
    current = _now(now)
    retention = timedelta(hours=tuning.location_retention_hours())
    oldest_location_period = _hour_period(current - retention) + 1
    return _destroy(_location_dir(), oldest_location_period) + _destroy(_reporter_dir(), _day_period(current))


def network_prefix(address: str) -> str:
    """The /24 (IPv4) or /48 (IPv6) network of an address: a whole carrier range, never a person."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "unknown"
    if ip.version == 6 and ip.ipv4_mapped is not None:
        # A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d.
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def reporter_key(client_token: str | None, client_address: str | None, now: datetime | None = None) -> str:
    """Pseudonymous key of a report's source for today; never derived from a whole address."""
    material = "token:" + client_token if client_token else "net:" + network_prefix(client_address or "")
    key = _period_key("reporter", _reporter_dir(), _day_period(_now(now)))
    return hmac.new(key, material.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


# --- Contact details (SECURITY.md R5) ---------------------------------------
# Sealed to an X25519 public key: the web tier can seal but never open. Only
# the sending worker holds the private key (in embedded mode it sits in the
# data dir beside everything else, and the threat model says so).

_CONTACT_INFO = b"raidwatch contact v1"


_contact_keys: dict[Path, X25519PrivateKey] = {}


def _contact_private_key() -> X25519PrivateKey:
    # Kept in memory once read: the sending worker opens a contact per delivery,
    # and this key (unlike the expiring location keys) lives as long as the data.
    path = Path(settings.KEY_DIR) / "contact.key"
    key = _contact_keys.get(path)
    if key is None:
        key = _contact_keys[path] = X25519PrivateKey.from_private_bytes(read_or_create_key(path))
    return key


_contact_public_keys: dict[Path, X25519PublicKey] = {}


def contact_public_key() -> X25519PublicKey:
    """The key contacts are sealed to, from ``contact.pub``: sealing never needs
    the private key, so in scale-out mode the web hosts are given this file alone
    and only the workers hold ``contact.key``. Where ``contact.pub`` is missing
    (an embedded machine's first start), it is derived from ``contact.key``."""
    path = Path(settings.KEY_DIR) / "contact.pub"
    key = _contact_public_keys.get(path)
    if key is None:

        def derive() -> bytes:
            return _contact_private_key().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

        key = _contact_public_keys[path] = X25519PublicKey.from_public_bytes(read_or_write_key(path, derive))
    return key


def _contact_aead_key(shared: bytes, ephemeral: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral, info=_CONTACT_INFO).derive(shared)


def seal_contact(contact: dict[str, object]) -> bytes:
    """Encrypt a contact (an address, or a push subscription) to the worker's key."""
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key = _contact_aead_key(ephemeral.exchange(contact_public_key()), ephemeral_public)
    nonce = os.urandom(_NONCE_BYTES)
    plaintext = json.dumps(contact, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return ephemeral_public + nonce + AESGCM(key).encrypt(nonce, plaintext, _CONTACT_INFO)


def open_contact(blob: bytes) -> dict[str, object]:
    ephemeral_public, nonce, ciphertext = blob[:32], blob[32:44], blob[44:]
    shared = _contact_private_key().exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
    key = _contact_aead_key(shared, ephemeral_public)
    data = json.loads(AESGCM(key).decrypt(nonce, ciphertext, _CONTACT_INFO))
    if not isinstance(data, dict):
        raise ValueError("a sealed contact must hold an object")
    return data


def contact_lookup(channel: str, normalised_address: str) -> str:
    """A keyed hash of a contact, to find duplicates and answer STOP without decrypting."""
    key = read_or_create_key(Path(settings.KEY_DIR) / "lookup.key")
    return hmac.new(key, f"{channel}:{normalised_address}".encode(), hashlib.sha256).hexdigest()
