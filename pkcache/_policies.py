"""Eviction policies: which entries go first when a limit bites.

A policy is data, not branches: a name and a priority function. ``select_victims`` is
the one place that applies limits, the same for every policy: expired entries always
go, entries of old code versions go next (oldest first), then the policy's order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple, Protocol

from ._store import EntryStat


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


def _eviction_order(policy: Policy, candidate: Candidate) -> tuple[float, ...]:
    if candidate.stale:
        return (0.0, candidate.entry.created)
    return (1.0, *policy.priority(candidate))


def select_victims(
    candidates: Iterable[Candidate], policy: Policy, *, max_entries: int | None, max_size: int | None
) -> list[Candidate]:
    """Return the entries to remove so that what is left is within both limits."""
    victims: list[Candidate] = []
    keep: list[Candidate] = []
    for candidate in candidates:
        (victims if candidate.expired else keep).append(candidate)
    keep.sort(key=lambda c: _eviction_order(policy, c))
    count = len(keep)
    size = sum(c.entry.size for c in keep)
    for candidate in keep:
        if (max_entries is None or count <= max_entries) and (max_size is None or size <= max_size):
            break
        victims.append(candidate)
        count -= 1
        size -= candidate.entry.size
    return victims
