"""Every entry of some namespaces, column by column, with what eviction needs to know of each."""

from __future__ import annotations

import bisect
import contextlib
import gc
from collections.abc import Container, Iterator
from itertools import chain, compress

from .._store.protocol import CoarseTimes, EntryColumns, EntryStat, ListsInColumns, Store
from .listing import recorded_limits
from .policies import Pool


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a listing makes an object or two per entry, and while they live.

    None of them is in a cycle, but at a million entries the collector's passes over
    them cost about a fifth of a prune (2 of 9.6 s of listing, measured), and a
    collection while they are alive walks them all (it tripled the time to fold the usage log).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _columns(store: Store, namespaces: list[str], *, tidy: bool) -> list[EntryColumns]:
    if isinstance(store, ListsInColumns):
        return [store.entry_columns(ns, tidy=tidy) for ns in namespaces]
    listed = [entry for ns in namespaces for entry in store.entries(ns)]
    if isinstance(store, CoarseTimes):  # the order of eviction needs times finer than a second, across namespaces
        listed = store.exact_times(listed)
    by_namespace: dict[str, list[EntryStat]] = {ns: [] for ns in namespaces}
    for entry in listed:
        by_namespace[entry.namespace].append(entry)
    return [EntryColumns.of(ns, entries) for ns, entries in by_namespace.items()]


class Listed:
    """The entries of ``namespaces`` as one pool, with each one's staleness, expiry and usage.

    ``max_age`` overrides every namespace's own ttl. ``tidy`` lets the store tidy what
    keeps its listings fast (see ``ListsInColumns``): a pruner's listing asks for it.
    """

    @collector_paused()
    def __init__(self, store: Store, namespaces: list[str], *, now: float, max_age: float | None, tidy: bool) -> None:
        self._store = store
        self.columns = _columns(store, namespaces, tidy=tidy)
        self.offsets = list(chain([0], _running([len(c) for c in self.columns])))
        self.sizes = _joined([c.sizes for c in self.columns])
        self.created = _joined([c.created for c in self.columns])
        self.expired: list[int] = []
        self.stale: list[int] = []
        self._tallied: dict[int, set[str]] = {}  # by column: the listed keys with a tally (``_usage``)
        for columns, offset in zip(self.columns, self.offsets, strict=False):
            manifest = store.read_manifest(columns.namespace) or {}
            current = manifest.get("current_version")
            ttl = max_age if max_age is not None else recorded_limits(manifest, columns.namespace).ttl
            expired = [] if ttl is None else [at for at, c in enumerate(columns.created) if now - c > ttl]
            gone = set(expired)
            self.expired += [offset + at for at in expired]
            versions = columns.versions
            if current is not None and versions.count(current) < len(versions):
                self.stale += [offset + at for at, v in enumerate(versions) if v != current and at not in gone]

    def __len__(self) -> int:
        return len(self.sizes)

    def pool(self) -> Pool:
        return Pool(self.sizes, self.created, self.expired, self.stale, self._usage)

    @collector_paused()
    def _usage(self) -> tuple[list[float], list[int]]:
        """Each entry's last access (its last read, or its writing if later) and hits, as recorded by every process.

        Only the entries with a tally (those read since they were written, as a rule a few)
        are looked at one by one; the others' columns are copied (a million entries' usage
        took a third of a second entry by entry).
        """
        last_access: list[float] = []
        hits: list[int] = []
        for which, columns in enumerate(self.columns):
            tallies = self._store.read_usage(columns.namespace).keys
            last, counts = list(columns.created), [0] * len(columns)
            found = list(map(tallies.get, columns.keys)) if tallies else []
            tallied = list(compress(range(len(found)), found))  # a tally is a non-empty list
            for at in tallied:
                count, seen = found[at]  # type: ignore[misc]  # compress kept tallies only, never None
                last[at], counts[at] = max(seen, last[at]), int(count)
            self._tallied[which] = {columns.keys[at] for at in tallied}
            last_access += last
            hits += counts
        return last_access, hits

    def entry(self, at: int) -> EntryStat:
        """The entry at a position of the pool."""
        which = bisect.bisect_right(self.offsets, at) - 1
        return self.columns[which].entry(at - self.offsets[which])

    def live_keys(self, gone: list[int]) -> dict[str, LiveKeys]:
        """Each namespace's listed keys but those at the positions ``gone``."""
        removed: dict[int, set[str]] = {}
        for at in gone:
            which = bisect.bisect_right(self.offsets, at) - 1
            removed.setdefault(which, set()).add(self.columns[which].keys[at - self.offsets[which]])
        return {
            c.namespace: LiveKeys(c.keys, removed.get(which, set()), self._tallied.get(which))
            for which, c in enumerate(self.columns)
        }


class LiveKeys(Container[str]):
    """Listed keys but those removed, for folding usage, which asks only of keys with a tally.

    The keys that had a tally when the pool was ordered (``tallied``) are answered at
    once; any other is answered from a set of every listed key, made at the first such
    question (a set of a million keys costs a fifth of a second): a tally logged since
    the listing, or one of an entry removed by someone else.
    """

    def __init__(self, listed: list[str], removed: set[str], tallied: set[str] | None) -> None:
        self._listed = listed
        self._removed = removed
        self._tallied = tallied or set()
        self._live: set[str] | None = None

    def __contains__(self, key: object) -> bool:
        if key in self._removed:
            return False
        if key in self._tallied:
            return True
        if self._live is None:
            self._live = set(self._listed)
        return key in self._live


def _running(counts: list[int]) -> Iterator[int]:
    total = 0
    for count in counts:
        total += count
        yield total


def _joined(columns: list[list[int]] | list[list[float]]) -> list:  # type: ignore[type-arg]
    # One namespace (the usual prune) shares its column; several are joined once.
    return columns[0] if len(columns) == 1 else list(chain.from_iterable(columns))
