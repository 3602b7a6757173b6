"""Bring a function's entries, or a whole cache, within its limits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import NamedTuple

from .._log import logger
from .._store.protocol import EntryColumns, LeavesTempFiles, Store, TempFile
from .candidates import Listed, collector_paused
from .listing import recorded_limits
from .policies import POLICIES, Limits, choose

# Temp files younger than this are never touched: it covers a live writer's instant
# between creating its file and locking it.
TEMP_GRACE = 60.0
_PRUNE_LOCK_TIMEOUT = 30.0


class PruneReport(NamedTuple):
    """What a prune removed (or, planned, would remove)."""

    removed: int = 0
    bytes: int = 0
    temp_files: int = 0
    locations: tuple[str, ...] = ()  # the entries removed

    def plus(self, other: PruneReport) -> PruneReport:
        return PruneReport(
            self.removed + other.removed,
            self.bytes + other.bytes,
            self.temp_files + other.temp_files,
            self.locations + other.locations,
        )


def temp_files_only(store: Store, *, dry_run: bool) -> PruneReport:
    """Dead writers' temp files anywhere in the store, those of namespaces nothing lists included."""
    if dry_run:
        old = time.time() - TEMP_GRACE
        return PruneReport(0, 0, sum(t.modified < old for t in _temp_files(store, None)))
    return PruneReport(0, 0, _remove_dead_temp_files(store, None))


def _any_ttl(store: Store, namespaces: list[str]) -> bool:
    return any(recorded_limits(store.read_manifest(ns) or {}, ns).ttl for ns in namespaces)


def _temp_files(store: Store, namespace: str | None) -> Iterator[TempFile]:
    return store.temp_files(namespace) if isinstance(store, LeavesTempFiles) else iter(())


def _remove_dead_temp_files(store: Store, namespace: str | None, listed: list[EntryColumns] | None = None) -> int:
    # Of a namespace, or (None) of the whole store: writers that died before their first
    # entry left files (uploads) in namespaces that are listed nowhere else. A listing
    # that saw the namespace's temp files already (``listed``) spares another.
    if not isinstance(store, LeavesTempFiles):
        return 0  # a store whose writes leave nothing half-written behind
    seen = [c.temps for c in listed or ()]
    if not seen or any(t is None for t in seen):
        temps: Iterator[TempFile] = store.temp_files(namespace)
    else:
        temps = (t for found in seen for t in found or ())
    return sum(store.remove_dead_temp_file(temp, TEMP_GRACE) for temp in temps)


@collector_paused()
def plan(store: Store, namespace: str | None, limits: Limits, *, temps: bool = True) -> PruneReport:
    """What ``prune`` with the same arguments would remove now; touches nothing."""
    namespaces = [namespace] if namespace is not None else store.namespaces()
    victims = []
    if limits.bounded or limits.ttl is not None or _any_ttl(store, namespaces):
        found = Listed(store, namespaces, now=time.time(), max_age=limits.ttl, tidy=False)
        chosen = choose(found.pool(), POLICIES[limits.policy], max_entries=limits.max_entries, max_size=limits.max_size)
        victims = [found.entry(at) for at in chosen]
    old = time.time() - TEMP_GRACE
    dead = sum(t.modified < old for t in _temp_files(store, namespace)) if temps else 0
    return PruneReport(len(victims), sum(v.size for v in victims), dead, tuple(v.location for v in victims))


@collector_paused()
def prune(store: Store, namespace: str | None, limits: Limits, *, temps: bool = True) -> PruneReport:
    """Remove expired entries, then evict by policy until ``limits`` hold; clean dead writers' temp files.

    ``namespace`` None prunes the whole store as one pool. One process prunes a scope at a
    time; a reader that already opened an entry keeps reading it (POSIX unlink semantics).
    ``temps`` False leaves temp files to a later pass over a wider scope.
    """
    dead = 0
    lock = store.prune_lock(namespace)
    try:
        acquired = lock.acquire(_PRUNE_LOCK_TIMEOUT)
    except FileNotFoundError:  # no cache there (yet), or the function's folder is gone: nothing to prune
        return PruneReport()
    if not acquired:
        logger.warning("another process has been pruning %s for %ss; skipped", namespace, _PRUNE_LOCK_TIMEOUT)
        return PruneReport()
    try:
        namespaces = [namespace] if namespace is not None else store.namespaces()
        if not limits.bounded and limits.ttl is None and not _any_ttl(store, namespaces):
            # Nothing can be evicted: only dead writers' temp files to clean up, and the
            # usage log to fold (it grows by a line a second per busy process), keeping
            # every key's tally as listing the entries to drop old ones would cost a scan.
            for ns in namespaces:
                store.compact_usage(ns, None)
            return PruneReport(0, 0, _remove_dead_temp_files(store, namespace) if temps else 0)
        since = store.totals(namespace)
        found = Listed(store, namespaces, now=time.time(), max_age=limits.ttl, tidy=True)
        chosen = choose(found.pool(), POLICIES[limits.policy], max_entries=limits.max_entries, max_size=limits.max_size)
        victims = [found.entry(at) for at in chosen]
        # Correct the running totals to the count before removing anything: each
        # removal below then takes itself off, as any other removal does.
        store.correct_totals(namespace, (len(found), sum(found.sizes)), since)
        removed, size = store.remove_entries(victims)
        for ns, live in found.live_keys(chosen).items():
            store.compact_usage(ns, live)
        if temps:
            dead = _remove_dead_temp_files(store, namespace, found.columns)
    finally:
        lock.release()
    report = PruneReport(removed, size, dead, tuple(v.location for v in victims))
    if report.removed or report.temp_files:
        logger.info(
            "pruned %s: %d entries (%d bytes), %d dead temp files",
            namespace or store.location,
            report.removed,
            report.bytes,
            report.temp_files,
        )
    return report
