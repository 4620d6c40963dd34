"""Key files kept in the data directory, outside the database.

Keys live outside the database so that a copy of the database alone (a backup, a
seized disk image of the database volume) cannot open what they seal, and so
that destroying a key file makes its ciphertexts unrecoverable (SECURITY.md R3).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def key_dir(data_dir: Path) -> Path:
    path = data_dir / "keys"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def read_or_create_key(path: Path, nbytes: int = 32) -> bytes:
    """The key stored at ``path``, created with owner-only permissions if missing.

    Creation uses O_EXCL so two processes starting together agree on one key.
    """
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(nbytes)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.hex())
    return key
