"""Eviction policies: which entries go first when a limit bites.

A policy is data, not branches: a name and the fields it orders by. ``choose`` is the
one place that applies limits, the same for every policy: expired entries always go,
entries of old code versions go next (oldest first), then the policy's order. It works
on columns (``Pool``), so that a prune of a million entries makes no object per entry;
``select_victims`` is the same for a list of ``Candidate`` objects.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from itertools import chain, islice
from typing import NamedTuple, Protocol

from .._store.protocol import EntryStat


class Candidate(NamedTuple):
    """An entry as a policy sees it: the file, and how it has been used."""

    entry: EntryStat
    last_access: float  # last read or write, across processes
    hits: int  # reads recorded across processes
    stale: bool  # written by another code version of its function
    expired: bool  # older than its function's ttl


# What a policy can order by, read off a candidate (``priority``) or a pool's column of them.
_FIELDS: dict[str, Callable[[Candidate], float]] = {
    "last_access": lambda c: c.last_access,
    "hits": lambda c: c.hits,
    "created": lambda c: c.entry.created,
}


class Policy(Protocol):
    """Orders candidates for eviction by some of their fields (``order``): the lowest goes first."""

    @property
    def name(self) -> str: ...

    @property
    def order(self) -> tuple[str, ...]: ...

    def priority(self, candidate: Candidate) -> tuple[float, ...]: ...


class _Ordered:
    name = ""
    order: tuple[str, ...] = ()

    def priority(self, candidate: Candidate) -> tuple[float, ...]:
        return tuple(_FIELDS[field](candidate) for field in self.order)


class LeastRecentlyUsed(_Ordered):
    """Least recently read or written goes first."""

    name = "lru"
    order = ("last_access", "created")


class LeastFrequentlyUsed(_Ordered):
    """Fewest hits goes first; ties go by least recent use."""

    name = "lfu"
    order = ("hits", "last_access", "created")


class FirstInFirstOut(_Ordered):
    """Oldest written goes first, however often it is read."""

    name = "fifo"
    order = ("created",)


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


class Pool:
    """Candidates column by column, for ``choose``: a million entries cannot afford an object each.

    ``expired`` and ``stale`` are positions in listing order (a stale one is not expired);
    ``usage()`` gives the ``last_access`` and ``hits`` columns, asked for only when the
    pool must be sorted.
    """

    def __init__(
        self,
        sizes: list[int],
        created: list[float],
        expired: list[int],
        stale: list[int],
        usage: Callable[[], tuple[list[float], list[int]]],
    ) -> None:
        self.sizes = sizes
        self.created = created
        self.expired = expired
        self.stale = stale
        self._usage = usage

    def columns(self, fields: tuple[str, ...]) -> dict[str, list[float] | list[int]]:
        found: dict[str, list[float] | list[int]] = {"created": self.created}
        if "last_access" in fields or "hits" in fields:
            found["last_access"], found["hits"] = self._usage()
        return found


def choose(pool: Pool, policy: Policy, *, max_entries: int | None, max_size: int | None) -> list[int]:
    """Return the positions of the entries to remove so that what is left is within both limits.

    Expired entries always go; then entries of old code versions, oldest first; then
    the policy's order (ties in listing order). Nothing is sorted when what is left is
    within the limits already (a prune that finds nothing to evict, at a million
    entries, saves seconds).
    """
    sizes = pool.sizes
    victims = list(pool.expired)
    count = len(sizes) - len(victims)
    size = sum(sizes) - sum(map(sizes.__getitem__, victims))

    def within() -> bool:
        return (max_entries is None or count <= max_entries) and (max_size is None or size <= max_size)

    if within():
        return victims
    stale = sorted(pool.stale, key=pool.created.__getitem__)
    aside = {*victims, *stale}
    current = [at for at in range(len(sizes)) if at not in aside] if aside else list(range(len(sizes)))
    columns = pool.columns(policy.order)
    first = columns[policy.order[0]]
    # Sorted by the first field; where it ties (seldom, for the times of a million entries),
    # sorted again by the whole tuple: stable sorts, last field first. Equal in every field,
    # entries stay in listing order either way.
    current.sort(key=first.__getitem__)
    if len(policy.order) > 1 and _ties(list(map(first.__getitem__, current))):
        for field in reversed(policy.order):
            current.sort(key=columns[field].__getitem__)
    for at in chain(stale, current):
        if within():
            break
        victims.append(at)
        count -= 1
        size -= sizes[at]
    return victims


def _ties(ordered: list[float] | list[int]) -> bool:
    """True if any two neighbours of a sorted column are equal."""
    return any(map(operator.eq, ordered, islice(ordered, 1, None)))


def select_victims(
    candidates: Iterable[Candidate], policy: Policy, *, max_entries: int | None, max_size: int | None
) -> list[Candidate]:
    """Return the candidates to remove so that what is left is within both limits (see ``choose``)."""
    found = list(candidates)
    pool = Pool(
        [c.entry.size for c in found],
        [c.entry.created for c in found],
        [at for at, c in enumerate(found) if c.expired],
        [at for at, c in enumerate(found) if c.stale and not c.expired],
        lambda: ([c.last_access for c in found], [c.hits for c in found]),
    )
    return [found[at] for at in choose(pool, policy, max_entries=max_entries, max_size=max_size)]
