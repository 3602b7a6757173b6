"""Bring a function's entries, or a whole cache, within its limits."""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Iterator
from typing import NamedTuple

from .._log import logger
from .._store.protocol import CoarseTimes, EntryStat, LeavesTempFiles, Store, TempFile
from .listing import recorded_limits
from .policies import POLICIES, Candidate, Limits, select_victims

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


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a listing makes an object or two per entry.

    None of them is in a cycle, but at a million entries the collector's passes over
    them cost about a fifth of a prune (2 of 9.6 s of listing, measured).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@_collector_paused()
def candidates(store: Store, namespaces: list[str], *, now: float, max_age: float | None) -> list[Candidate]:
    """Every entry of ``namespaces`` with its usage, staleness and expiry."""
    listed = [entry for namespace in namespaces for entry in store.entries(namespace)]
    if isinstance(store, CoarseTimes):  # the order of eviction needs times finer than a second
        listed = store.exact_times(listed)
    by_namespace: dict[str, list[EntryStat]] = {}
    for entry in listed:
        by_namespace.setdefault(entry.namespace, []).append(entry)
    found = []
    for namespace, entries in by_namespace.items():
        manifest = store.read_manifest(namespace) or {}
        current = manifest.get("current_version")
        ttl = max_age if max_age is not None else recorded_limits(manifest, namespace).ttl
        tallies = store.read_usage(namespace).keys
        unused = (0, 0.0)
        for entry in entries:
            hits, last_read = tallies.get(entry.key, unused)
            created = entry.created
            found.append(
                Candidate(
                    entry,
                    last_access=last_read if last_read > created else created,
                    hits=int(hits),
                    stale=current is not None and entry.version != current,
                    expired=ttl is not None and now - created > ttl,
                )
            )
    return found


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


def _remove_dead_temp_files(store: Store, namespace: str | None) -> int:
    # Of a namespace, or (None) of the whole store: writers that died before their first
    # entry left files (uploads) in namespaces that are listed nowhere else.
    if not isinstance(store, LeavesTempFiles):
        return 0  # a store whose writes leave nothing half-written behind
    return sum(store.remove_dead_temp_file(temp, TEMP_GRACE) for temp in store.temp_files(namespace))


def plan(store: Store, namespace: str | None, limits: Limits, *, temps: bool = True) -> PruneReport:
    """What ``prune`` with the same arguments would remove now; touches nothing."""
    namespaces = [namespace] if namespace is not None else store.namespaces()
    victims: list[Candidate] = []
    if limits.bounded or limits.ttl is not None or _any_ttl(store, namespaces):
        found = candidates(store, namespaces, now=time.time(), max_age=limits.ttl)
        policy = POLICIES[limits.policy]
        victims = select_victims(found, policy, max_entries=limits.max_entries, max_size=limits.max_size)
    old = time.time() - TEMP_GRACE
    dead = sum(t.modified < old for t in _temp_files(store, namespace)) if temps else 0
    size = sum(v.entry.size for v in victims)
    return PruneReport(len(victims), size, dead, tuple(v.entry.location for v in victims))


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
        found = candidates(store, namespaces, now=time.time(), max_age=limits.ttl)
        policy = POLICIES[limits.policy]
        victims = select_victims(found, policy, max_entries=limits.max_entries, max_size=limits.max_size)
        # Correct the running totals to the count before removing anything: each
        # removal below then takes itself off, as any other removal does.
        store.correct_totals(namespace, (len(found), sum(c.entry.size for c in found)), since)
        removed, size = store.remove_entries(v.entry for v in victims)
        gone = {v.entry.key for v in victims}
        for ns in namespaces:
            store.compact_usage(ns, {c.entry.key for c in found if c.entry.namespace == ns and c.entry.key not in gone})
        if temps:
            dead = _remove_dead_temp_files(store, namespace)
    finally:
        lock.release()
    report = PruneReport(removed, size, dead, tuple(v.entry.location for v in victims))
    if report.removed or report.temp_files:
        logger.info(
            "pruned %s: %d entries (%d bytes), %d dead temp files",
            namespace or store.location,
            report.removed,
            report.bytes,
            report.temp_files,
        )
    return report
