"""An in-memory index of the (cell, subscription) table, for matching alerts fast (G4).

The table (``SubscriptionCell``, with ``Subscription.status`` and ``level``) is
the source of truth; this index is a cache of it and can always be thrown away
and rebuilt from it. It answers exactly what ``matching.match_subscriptions``
answers: the ACTIVE subscriptions of the given levels holding a cell that is one
of the alert's cells or an ancestor of one (``areas.match_keys``).

Layout, chosen for memory first and lookups second:

* every indexed subscription gets a small integer **handle**; ``ids[handle]``
  is its UUID (text) and ``handle_of`` the way back;
* per level, a dict maps each stored cell to an ``array('I')`` of the handles
  holding it: 4 bytes per (cell, subscription) pair, which matters at 1M
  subscribers with ~60 compacted cells each;
* status and level are applied when indexing, not when matching: only ACTIVE
  subscriptions are indexed, and each level has its own cell map, so a match
  never looks at a subscription it would then have to filter out.

Handles are numbered in map order after each build (``_renumbered``), so that
the subscribers one alert matches have nearby handles and nearby id strings:
matching then walks memory in order instead of jumping around 1M scattered
objects, which halves the time of a large match.

Live updates: ``add`` indexes one subscription (replacing what it had) and
``remove`` forgets one. A removed handle is only marked dead (its id slot is
cleared), because finding it in every cell it was in would need a per-handle
cell list as large as the index itself; once dead handles pile up, the tables
are renumbered without them.

Concurrency: changes and rebuilds take a lock; matching does not. A rebuild
fills a new generation of the tables and swaps it in at the end, replaying any
``add``/``remove`` made while it ran, so no live update is lost to a rebuild.
Reads rely on CPython's GIL (``set.update`` over an array runs without
releasing it); a free-threaded interpreter would need the lock on reads too.

``shared_index()`` is the process-wide instance: built on first use, rebuilt
after ``invalidate()`` or once older than ``max_age_s``. Another process's
changes (the web process confirming a subscriber while the worker matches)
reach it only through that rebuild, so a caller that must not miss a new
subscriber either calls ``add``/``remove`` where subscriptions change or keeps
using the table (``match_subscriptions``).
"""

from __future__ import annotations

import sys
import threading
import time
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import cast

import h3

from raidwatch.subscriptions.areas import MATCH_RESOLUTION, match_keys
from raidwatch.subscriptions.models import SubscriptionCell, SubscriptionStatus

# Unsigned 32-bit handles: 4 bytes a pair, and room for 4 billion subscriptions.
HANDLE_TYPECODE = "I"
# Rows fetched per round trip when building from the table.
BUILD_CHUNK_SIZE = 20_000
# How stale the process-wide index may get before it is rebuilt from the table.
DEFAULT_MAX_AGE_S = 900.0
# Dead handles are purged (by renumbering) once there are this many and they
# make up this share of the handles: rarely enough that removals stay cheap on
# average, often enough that dead entries never slow matching noticeably.
COMPACT_MIN_DEAD = 4096
COMPACT_DEAD_SHARE = 1 / 32

# One indexed subscription: (id, level, its compacted cells). The id may be a
# UUID (as the ORM gives it) or its text; it is stored as text.
Group = tuple[object, str, Iterable[str]]


@dataclass(frozen=True)
class BuildStats:
    rows: int  # (cell, subscription) pairs indexed
    subscriptions: int
    cells: int  # distinct (level, cell) keys
    memory_bytes: int
    seconds: float  # building only, not the memory estimate


class _Tables:
    """One generation of the index; a rebuild makes a new one and swaps it in."""

    __slots__ = ("dead", "handle_of", "ids", "postings")

    def __init__(self) -> None:
        self.postings: dict[str, dict[str, array[int]]] = {}
        self.ids: list[str | None] = []
        self.handle_of: dict[str, int] = {}
        self.dead = 0


class MatchIndex:
    def __init__(self) -> None:
        self._tables = _Tables()
        self._lock = threading.Lock()
        # Changes made while a rebuild runs, replayed onto the new tables.
        self._journal: list[tuple[str, str, tuple[str, ...], str]] | None = None
        self.built_at: float | None = None  # time.monotonic() of the last build
        self.version: int | None = None  # the shared-index version it was built for

    # --- building -----------------------------------------------------------

    def build(self, chunk_size: int = BUILD_CHUNK_SIZE) -> BuildStats:
        """Rebuild from the table: every ACTIVE subscription's cells."""
        rows = (
            SubscriptionCell.objects.filter(subscription__status=SubscriptionStatus.ACTIVE)
            .values_list("subscription_id", "subscription__level", "cell")
            .iterator(chunk_size=chunk_size)
        )
        return self.load(_grouped(rows))

    def load(self, groups: Iterable[Group]) -> BuildStats:
        """Replace the contents with ``groups``; ``build()`` and the bench both come here.

        A subscription may appear in several groups (its cells are then merged).
        """
        started = time.perf_counter()
        with self._lock:
            self._journal = []
        try:
            filled = _Tables()
            rows = _fill(filled, groups)
            # Outside the lock: live updates keep flowing (into the journal) meanwhile.
            tables = _renumbered(filled)
            del filled
            with self._lock:
                for op, subscription_id, replayed, level in self._journal or ():
                    if op == "add":
                        _add(tables, subscription_id, replayed, level)
                    else:
                        _remove(tables, subscription_id)
                self._tables = tables
                self.built_at = time.monotonic()
        finally:
            with self._lock:
                self._journal = None
        seconds = time.perf_counter() - started
        keys = sum(len(bucket) for bucket in tables.postings.values())
        return BuildStats(rows, len(tables.handle_of), keys, self.memory_bytes(), seconds)

    # --- live updates ---------------------------------------------------------

    def add(self, subscription_id: object, cells: Iterable[str], level: str) -> None:
        """Index an ACTIVE subscription's compacted cells, replacing any it had."""
        key = str(subscription_id)
        unique = tuple(sorted(set(cells)))
        for cell in unique:
            # Matching relies on stored cells being no finer than the alerts' cells.
            if not h3.is_valid_cell(cell) or h3.get_resolution(cell) > MATCH_RESOLUTION:
                raise ValueError(f"{cell!r} is not an H3 cell of resolution {MATCH_RESOLUTION} or coarser")
        with self._lock:
            _add(self._tables, key, unique, level)
            if self._journal is not None:
                self._journal.append(("add", key, unique, level))

    def remove(self, subscription_id: object) -> bool:
        """Forget a subscription (disabled, deleted, or leaving); False if it was not indexed."""
        key = str(subscription_id)
        with self._lock:
            tables = self._tables
            removed = _remove(tables, key)
            if tables.dead >= COMPACT_MIN_DEAD and tables.dead >= len(tables.ids) * COMPACT_DEAD_SHARE:
                # A new generation, swapped in whole: a match running meanwhile
                # keeps reading the old one, whose handles and ids agree.
                self._tables = _renumbered(tables)
            if self._journal is not None:
                self._journal.append(("remove", key, (), ""))
        return removed

    # --- matching ---------------------------------------------------------------

    def match(self, alert_cells: Iterable[str], levels: Iterable[str] | None = None) -> set[str]:
        """The ids of indexed subscriptions of ``levels`` (all levels when None)
        that hold one of the alert's resolution-8 cells or an ancestor of one."""
        tables = self._tables
        found = _collect(tables, match_keys(list(alert_cells)), levels)
        ids = tables.ids
        # One C-level call looks them all up, faster than a comprehension; but
        # itemgetter of one handle gives the item itself, not a tuple.
        result = set(itemgetter(*found)(ids)) if len(found) > 1 else {ids[handle] for handle in found}
        if tables.dead:
            result.discard(None)  # handles removed since the last renumbering
        return cast(set[str], result)

    def __len__(self) -> int:
        return len(self._tables.handle_of)

    def __contains__(self, subscription_id: object) -> bool:
        return str(subscription_id) in self._tables.handle_of

    def memory_bytes(self) -> int:
        """An estimate of the index's own memory (containers, keys, arrays, ids), by sys.getsizeof.

        Objects shared by several containers (a cell string in two levels' maps)
        are counted once.
        """
        tables = self._tables
        total = sum(map(sys.getsizeof, (tables.postings, tables.ids, tables.handle_of)))
        seen: set[int] = set()
        for bucket in tables.postings.values():
            total += sys.getsizeof(bucket)
            for cell, handles in bucket.items():
                total += sys.getsizeof(handles)
                if id(cell) not in seen:
                    seen.add(id(cell))
                    total += sys.getsizeof(cell)
        # The same string objects are the keys of handle_of.
        total += sum(sys.getsizeof(key) for key in tables.ids if key is not None)
        return total


def _grouped(rows: Iterator[tuple[object, str, str]]) -> Iterator[Group]:
    """(subscription, level, cell) rows → one group per run of rows of one subscription.

    Rows come back in storage order, which keeps a subscription's cells
    together (they are inserted together); a subscription seen again later
    simply adds to its handle.
    """
    current: object = None
    level = ""
    cells: list[str] = []
    for subscription_id, row_level, cell in rows:
        if subscription_id != current:
            if cells:
                yield current, level, cells
            current, level, cells = subscription_id, row_level, []
        cells.append(cell)
    if cells:
        yield current, level, cells


def _fill(tables: _Tables, groups: Iterable[Group]) -> int:
    """The hot loop of a build: append each subscription's handle to its cells' arrays."""
    postings, ids, handle_of = tables.postings, tables.ids, tables.handle_of
    rows = 0
    for subscription_id, level, cells in groups:
        key = str(subscription_id)
        handle = handle_of.get(key)
        if handle is None:
            handle = handle_of[key] = len(ids)
            ids.append(key)
        bucket = postings.get(level)
        if bucket is None:
            bucket = postings[level] = {}
        for cell in cells:
            handles = bucket.get(cell)
            if handles is None:
                handles = bucket[cell] = array(HANDLE_TYPECODE)
            handles.append(handle)
            rows += 1
    return rows


def _add(tables: _Tables, key: str, cells: tuple[str, ...], level: str) -> None:
    _remove(tables, key)
    if not cells:
        return
    handle = tables.handle_of[key] = len(tables.ids)
    tables.ids.append(key)
    bucket = tables.postings.setdefault(level, {})
    for cell in cells:
        handles = bucket.get(cell)
        if handles is None:
            handles = bucket[cell] = array(HANDLE_TYPECODE)
        handles.append(handle)


def _remove(tables: _Tables, key: str) -> bool:
    handle = tables.handle_of.pop(key, None)
    if handle is None:
        return False
    # Counted before the slot is cleared: a match that sees the None then also
    # sees a non-zero count, and drops it.
    tables.dead += 1
    tables.ids[handle] = None
    return True


def _renumbered(tables: _Tables) -> _Tables:
    """The same index with dead handles dropped and live ones numbered in map order.

    Handles are given in the order their subscriptions first appear when the
    cells are walked in H3 order (each cell placed by its centre child at the
    match resolution, so cells of all resolutions interleave by place). H3's
    numbering follows its hierarchy, so neighbours on the map get neighbouring
    handles, and the id strings are copied in that order so they lie together
    in memory too. Runs in C-level loops where it can: 0.2-0.3 µs per pair here.
    """
    old_ids = tables.ids
    placed = sorted(
        (
            (h3.cell_to_center_child(cell, MATCH_RESOLUTION), level, cell)
            for level, bucket in tables.postings.items()
            for cell in bucket
        ),
    )
    arrays = [tables.postings[level][cell] for _, level, cell in placed]
    # dict keeps first-seen order, and fromkeys runs the whole walk in C.
    order = [handle for handle in dict.fromkeys(chain.from_iterable(arrays)) if old_ids[handle] is not None]
    new_of = array(HANDLE_TYPECODE, [0]) * len(old_ids)
    for new, old in enumerate(order):
        new_of[old] = new
    # str(key) and key[:] give back the same object; encoding and decoding makes
    # a new one, allocated now, next to the previous handle's.
    live_ids = [cast(str, old_ids[old]).encode().decode() for old in order]
    handle_of = {key: handle for handle, key in enumerate(live_ids)}
    if len(live_ids) != len(tables.handle_of):
        # A subscription without cells matches nothing and is in no array; keep it known.
        for key in tables.handle_of.keys() - handle_of.keys():
            handle_of[key] = len(live_ids)
            live_ids.append(key)
    fresh = _Tables()
    fresh.ids = cast(list[str | None], live_ids)
    fresh.handle_of = handle_of
    for level, bucket in tables.postings.items():
        new_bucket = fresh.postings[level] = {}
        for cell, handles in bucket.items():
            kept = [handle for handle in handles if old_ids[handle] is not None] if tables.dead else handles
            if len(kept) > 1:
                # itemgetter looks them all up in one C call (40 % faster than map
                # at 60M pairs); with one argument it returns the item, not a tuple.
                new_bucket[cell] = array(HANDLE_TYPECODE, itemgetter(*kept)(new_of))
            elif kept:
                new_bucket[cell] = array(HANDLE_TYPECODE, [new_of[kept[0]]])
    return fresh


def _collect(tables: _Tables, keys: set[str], levels: Iterable[str] | None) -> set[int]:
    postings = tables.postings
    found: set[int] = set()
    for level in postings if levels is None else levels:
        bucket = postings.get(level)
        if not bucket:
            continue
        for key in keys:
            handles = bucket.get(key)
            if handles is not None:
                found.update(handles)
    return found


# --- the process-wide instance ------------------------------------------------

_shared_lock = threading.Lock()
_shared: MatchIndex | None = None
_version = 0


def invalidate() -> None:
    """Make the next ``shared_index()`` rebuild from the table (after changes it did not see)."""
    global _version
    with _shared_lock:
        _version += 1


def shared_index(max_age_s: float = DEFAULT_MAX_AGE_S) -> MatchIndex:
    """This process's index, rebuilt from the table when missing, invalidated or stale.

    The rebuild happens in the caller, under a lock, so concurrent callers wait
    for one build rather than each starting their own.
    """
    global _shared
    with _shared_lock:
        index = _shared
        stale = (
            index is None
            or index.version != _version
            or index.built_at is None
            or time.monotonic() - index.built_at > max_age_s
        )
        if stale:
            index = MatchIndex()
            index.build()
            index.version = _version
            _shared = index
        assert index is not None  # noqa: S101 - for the type checker: set just above
        return index
