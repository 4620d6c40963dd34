"""Appending to and checking the hash-chained audit log."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from raidwatch.accounts.models import AuditEntry

GENESIS = "0" * 64
# Actions whose details describe volunteers' movements: redacted after retention.
MOVEMENT_ACTIONS = ("incident.respond", "incident.observe")
# An arbitrary, fixed advisory-lock number: on PostgreSQL two transactions
# appending at once would otherwise both read the same previous hash.
_PG_AUDIT_LOCK = 0x5241_4944


def entry_digest(prev_hash: str, fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def details_digest(details: dict[str, Any]) -> str:
    canonical = json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _fields(entry: AuditEntry) -> dict[str, Any]:
    # The chain covers the details through their digest, so details can be
    # redacted later (R11) while the chain still verifies: a redacted entry
    # keeps the digest of what it said.
    return {
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "details": entry.details_digest,
    }


def record(actor: str, action: str, target_type: str, target_id: object, **details: Any) -> AuditEntry:
    """Append an entry; call inside the action's transaction so both land or neither."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record must run inside the action's transaction")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_AUDIT_LOCK])
    last = AuditEntry.objects.order_by("-id").values_list("entry_hash", flat=True).first()
    prev_hash = last or GENESIS
    entry = AuditEntry(
        at=timezone.now(),
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        details=details,
        prev_hash=prev_hash,
    )
    # Round-trip the details through JSON first, so the digest is over exactly
    # what the database will hand back when the chain is verified.
    entry.details = json.loads(json.dumps(details))
    entry.details_digest = details_digest(entry.details)
    entry.entry_hash = entry_digest(prev_hash, _fields(entry))
    entry.save()
    return entry


def verify_chain() -> tuple[bool, AuditEntry | None, str]:
    """(ok, first bad entry, head hash) over the whole log in id order."""
    prev = GENESIS
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=2000):
        # Only movement entries may be redacted, and a redacted entry holds nothing.
        redacted = entry.redacted_at is not None and entry.action in MOVEMENT_ACTIONS and entry.details == {}
        details_intact = redacted or details_digest(entry.details) == entry.details_digest
        if (
            not details_intact
            or entry.prev_hash != prev
            or entry_digest(prev, _fields(entry)) != entry.entry_hash
        ):
            return False, entry, prev
        prev = entry.entry_hash
    return True, None, prev


def redact_movements(older_than: timedelta) -> int:
    """Blank the details of movement entries older than ``older_than`` (R11).

    The entry keeps who, what, which incident and when, plus the digest of its
    details, so ``raidwatch audit verify`` still passes and tampering still shows.
    """
    cutoff = timezone.now() - older_than
    return AuditEntry.objects.filter(
        action__in=MOVEMENT_ACTIONS, at__lt=cutoff, redacted_at__isnull=True
    ).update(details={}, redacted_at=timezone.now())
