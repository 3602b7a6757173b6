"""Bring a function's entries, or a whole cache, within its limits."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

from ._policies import POLICIES, Candidate, select_victims
from ._store import Store

logger = logging.getLogger("pkcache")

# A write that finds a limit exceeded evicts down to this share of it, so that the next
# writes do not rescan the folder each time: the cost of a scan is spread over the
# tenth of the limit that can be written before the next one.
LOW_WATER = 0.9
# Temp files younger than this are never touched: it covers a live writer's instant
# between creating its file and locking it.
TEMP_GRACE = 60.0
_PRUNE_LOCK_TIMEOUT = 30.0


@dataclass(frozen=True)
class Limits:
    """Bounds on a set of entries; None means unbounded."""

    max_size: int | None = None
    max_entries: int | None = None
    ttl: float | None = None
    policy: str = "lru"

    @property
    def bounded(self) -> bool:
        return self.max_size is not None or self.max_entries is not None

    def exceeded_by(self, totals: tuple[int, int]) -> bool:
        count, size = totals
        return (self.max_entries is not None and count > self.max_entries) or (
            self.max_size is not None and size > self.max_size
        )

    def low_water(self) -> Limits:
        """Return these limits lowered to the amortizing target of automatic pruning."""
        entries = None if self.max_entries is None else self.max_entries - self.max_entries // 10
        size = None if self.max_size is None else int(self.max_size * LOW_WATER)
        return Limits(size, entries, self.ttl, self.policy)

    def describe(self) -> dict[str, object]:
        return {"max_size": self.max_size, "max_entries": self.max_entries, "ttl": self.ttl, "policy": self.policy}


@dataclass
class PruneReport:
    """What a prune removed."""

    removed: int = 0
    bytes: int = 0
    temp_files: int = 0

    def __iadd__(self, other: PruneReport) -> PruneReport:
        self.removed += other.removed
        self.bytes += other.bytes
        self.temp_files += other.temp_files
        return self


def candidates(store: Store, namespaces: list[str], *, now: float, max_age: float | None) -> Iterator[Candidate]:
    """Yield every entry of ``namespaces`` with its usage, staleness and expiry."""
    for namespace in namespaces:
        manifest = store.read_manifest(namespace) or {}
        current = manifest.get("current_version")
        ttl = max_age if max_age is not None else manifest.get("ttl")
        usage = store.read_usage(namespace)
        for entry in store.entries(namespace):
            hits, last_read = usage.keys.get(entry.key, (0, 0.0))
            yield Candidate(
                entry,
                last_access=max(entry.created, last_read),
                hits=int(hits),
                stale=current is not None and entry.version != current,
                expired=ttl is not None and now - entry.created > ttl,
            )


def _any_ttl(store: Store, namespaces: list[str]) -> bool:
    return any((store.read_manifest(ns) or {}).get("ttl") for ns in namespaces)


def prune(store: Store, namespace: str | None, limits: Limits) -> PruneReport:
    """Remove expired entries, then evict by policy until ``limits`` hold; clean dead writers' temp files.

    ``namespace`` None prunes the whole store as one pool. One process prunes a scope at a
    time; a reader that already opened an entry keeps reading it (POSIX unlink semantics).
    """
    report = PruneReport()
    lock = store.prune_lock(namespace)
    if not lock.acquire(_PRUNE_LOCK_TIMEOUT):
        logger.warning("pkcache: another process has been pruning %s for %ss; skipped", namespace, _PRUNE_LOCK_TIMEOUT)
        return report
    try:
        namespaces = [namespace] if namespace is not None else store.namespaces()
        if not limits.bounded and limits.ttl is None and not _any_ttl(store, namespaces):
            # Nothing can be evicted: only dead writers' temp files to clean up.
            for ns in namespaces:
                for temp in store.temp_files(ns):
                    report.temp_files += store.remove_dead_temp_file(temp, TEMP_GRACE)
            return report
        since = store.totals(namespace)
        found = list(candidates(store, namespaces, now=time.time(), max_age=limits.ttl))
        policy = POLICIES[limits.policy]
        victims = select_victims(found, policy, max_entries=limits.max_entries, max_size=limits.max_size)
        # Correct the running totals to the count before removing anything: each
        # removal below then takes itself off, as any other removal does.
        store.correct_totals(namespace, (len(found), sum(c.entry.size for c in found)), since)
        for victim in victims:
            if store.remove(victim.entry):
                report.removed += 1
                report.bytes += victim.entry.size
        gone = {v.entry.key for v in victims}
        for ns in namespaces:
            store.compact_usage(ns, {c.entry.key for c in found if c.entry.namespace == ns and c.entry.key not in gone})
            for temp in store.temp_files(ns):
                report.temp_files += store.remove_dead_temp_file(temp, TEMP_GRACE)
    finally:
        lock.release()
    if report.removed or report.temp_files:
        logger.info(
            "pkcache: pruned %s: %d entries (%d bytes), %d dead temp files",
            namespace or store.location,
            report.removed,
            report.bytes,
            report.temp_files,
        )
    return report
