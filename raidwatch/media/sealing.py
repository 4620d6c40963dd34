"""Photos at rest: AES-256-GCM under a key file of their own, outside the database.

One key per photo rather than the hourly location keys: rejecting a photo or
letting it expire destroys exactly its key at once, so the image cannot be
opened from any copy of the database (a backup, a seized disk), while the
other photos of the same hour stay readable for review. The key files sit in
KEY_DIR/photos, beside the location keys (SECURITY.md R3, R7).
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from raidwatch.lib.keys import read_or_create_key

_VERSION = b"\x01"
_NONCE_BYTES = 12


def _key_dir() -> Path:
    return Path(settings.KEY_DIR) / "photos"


def _key_path(key_id: uuid.UUID) -> Path:
    return _key_dir() / f"{key_id.hex}.key"


def new_key() -> uuid.UUID:
    """Create a photo key file and return its id."""
    key_id = uuid.uuid4()
    read_or_create_key(_key_path(key_id))
    return key_id


def seal(key_id: uuid.UUID, image: bytes) -> bytes:
    # Read, never create: a key destroyed meanwhile must not be replaced by a new one.
    key = bytes.fromhex(_key_path(key_id).read_text(encoding="ascii").strip())
    nonce = os.urandom(_NONCE_BYTES)
    # The key id is bound in as associated data: a blob moved onto another row does not open.
    return _VERSION + nonce + AESGCM(key).encrypt(nonce, image, _VERSION + key_id.bytes)


def open_sealed(key_id: uuid.UUID, blob: bytes) -> bytes | None:
    """The image, or None once its key has been destroyed."""
    if blob[:1] != _VERSION:
        raise ValueError("unknown photo seal version")
    try:
        key = bytes.fromhex(_key_path(key_id).read_text(encoding="ascii").strip())
    except FileNotFoundError:
        return None
    nonce, ciphertext = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
    return AESGCM(key).decrypt(nonce, ciphertext, _VERSION + key_id.bytes)


def destroy_key(key_id: uuid.UUID) -> bool:
    """Overwrite and unlink the key file; True if there was one."""
    return _shred(_key_path(key_id))


def destroy_keys_except(keep: set[uuid.UUID], *, older_than: float = 600.0) -> int:
    """Destroy key files no photo row names (an upload whose transaction failed).

    Only files older than ``older_than`` seconds: an upload in progress makes
    its key a moment before its row exists.
    """
    directory = _key_dir()
    if not directory.exists():
        return 0
    keep_names = {key_id.hex for key_id in keep}
    cutoff = time.time() - older_than
    return sum(
        _shred(path)
        for path in directory.glob("*.key")
        if path.stem not in keep_names and path.stat().st_mtime < cutoff
    )


def _shred(path: Path) -> bool:
    # As crypto._destroy does for location keys: overwrite before unlinking, so
    # the old bytes stay out of the freed blocks on most file systems.
    try:
        size = path.stat().st_size
        with path.open("r+b") as handle:
            handle.write(os.urandom(size))
            handle.flush()
            os.fsync(handle.fileno())
        path.unlink()
    except FileNotFoundError:
        return False
    return True
