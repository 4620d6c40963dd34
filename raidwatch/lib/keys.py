"""Key files kept in the data directory, outside the database.

Keys live outside the database so that a copy of the database alone (a backup, a
seized disk image of the database volume) cannot open what they seal, and so
that destroying a key file makes its ciphertexts unrecoverable (SECURITY.md R3).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path


def key_dir(data_dir: Path) -> Path:
    path = data_dir / "keys"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _read_key(path: Path) -> bytes:
    key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    if not key:
        # Never use an empty key: an HMAC under it is a plain, reversible hash.
        raise ValueError(f"The key file {path} is empty.")
    return key


def read_or_create_key(path: Path, nbytes: int = 32) -> bytes:
    """The key stored at ``path``, created at random if missing."""
    return read_or_write_key(path, lambda: secrets.token_bytes(nbytes))


def read_or_write_key(path: Path, make: Callable[[], bytes]) -> bytes:
    """The key stored at ``path``; if there is none, ``make()``'s, written with
    owner-only permissions.

    The key is written in full under a temporary name and then linked into
    place, so no process ever reads a half-written key file, and the link fails
    if another process got there first, so two processes starting together
    agree on one key.
    """
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = make()
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(key.hex())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return _read_key(path)
    finally:
        os.unlink(temporary)
    return key
