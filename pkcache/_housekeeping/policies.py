"""Eviction policies: which entries go first when a limit bites.

A policy is data, not branches: a name and a priority function. ``select_victims`` is
the one place that applies limits, the same for every policy: expired entries always
go, entries of old code versions go next (oldest first), then the policy's order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple, Protocol

from .._store.protocol import EntryStat


class Candidate(NamedTuple):
    """An entry as a policy sees it: the file, and how it has been used."""

    entry: EntryStat
    last_access: float  # last read or write, across processes
    hits: int  # reads recorded across processes
    stale: bool  # written by another code version of its function
    expired: bool  # older than its function's ttl


class Policy(Protocol):
    """Orders candidates for eviction: the lowest priority goes first."""

    @property
    def name(self) -> str: ...

    def priority(self, candidate: Candidate) -> tuple[float, ...]: ...


class LeastRecentlyUsed:
    """Least recently read or written goes first."""

    name = "lru"

    def priority(self, candidate: Candidate) -> tuple[float, ...]:
        return (candidate.last_access, candidate.entry.created)


class LeastFrequentlyUsed:
    """Fewest hits goes first; ties go by least recent use."""

    name = "lfu"

    def priority(self, candidate: Candidate) -> tuple[float, ...]:
        return (candidate.hits, candidate.last_access, candidate.entry.created)


class FirstInFirstOut:
    """Oldest written goes first, however often it is read."""

    name = "fifo"

    def priority(self, candidate: Candidate) -> tuple[float, ...]:
        return (candidate.entry.created,)


_ALL: tuple[Policy, ...] = (LeastRecentlyUsed(), LeastFrequentlyUsed(), FirstInFirstOut())
POLICIES: dict[str, Policy] = {p.name: p for p in _ALL}
DEFAULT_POLICY = "lru"


# A write that finds a limit exceeded evicts down to this share of it, so that the next
# writes do not rescan the folder each time: the cost of a scan is spread over the
# tenth of the limit that can be written before the next one.
LOW_WATER = 0.9


class Limits(NamedTuple):
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


def select_victims(
    candidates: Iterable[Candidate], policy: Policy, *, max_entries: int | None, max_size: int | None
) -> list[Candidate]:
    """Return the entries to remove so that what is left is within both limits.

    Expired entries always go; then entries of old code versions, oldest first; then
    the policy's order. Nothing is sorted when what is left is within the limits
    already (a prune that finds nothing to evict, at a million entries, saves seconds).
    """
    victims: list[Candidate] = []
    stale: list[Candidate] = []
    current: list[Candidate] = []
    for candidate in candidates:
        if candidate.expired:
            victims.append(candidate)
        else:
            (stale if candidate.stale else current).append(candidate)
    count = len(stale) + len(current)
    size = sum(c.entry.size for c in stale) + sum(c.entry.size for c in current)

    def within() -> bool:
        return (max_entries is None or count <= max_entries) and (max_size is None or size <= max_size)

    if within():
        return victims
    stale.sort(key=_created)
    current.sort(key=policy.priority)
    for candidate in (*stale, *current):
        if within():
            break
        victims.append(candidate)
        count -= 1
        size -= candidate.entry.size
    return victims


def _created(candidate: Candidate) -> float:
    return candidate.entry.created
