"""What listing, checking and pruning a cache report: immutable records."""

from __future__ import annotations

from typing import Any, NamedTuple


class EntryInfo(NamedTuple):
    """One stored result, as ``Cache.entries()`` and ``pkcache list --function`` show it."""

    function: str
    key: str
    size: int
    created: float
    version: str
    stale: bool  # written by another version of the function's code (or another version=)
    location: str
    namespace: str = ""  # the function's folder (or namespace) in the store


class FunctionSummary(NamedTuple):
    """The stored results of one function."""

    function: str
    namespace: str
    entries: int = 0
    size: int = 0
    stale: int = 0
    newest: float | None = None
    oldest: float | None = None
    hits: int = 0  # recorded by every process
    misses: int = 0
    limits: dict[str, Any] = {}  # noqa: RUF012 - a NamedTuple default, never mutated


class CacheStats(NamedTuple):
    """Totals of a cache (``directory`` is its location: a path or a Redis URL)."""

    directory: str
    functions: int
    entries: int
    size: int
    stale: int
    hits: int = 0
    misses: int = 0
    limits: dict[str, Any] = {}  # noqa: RUF012 - a NamedTuple default, never mutated


class VerifyReport(NamedTuple):
    """What ``Cache.verify`` found: entries checked, the bad ones it removed, and what it did not touch."""

    checked: int = 0
    corrupt: list[str] = []  # noqa: RUF012 - truncated or garbled; a NamedTuple default, never mutated
    forged: list[str] = []  # noqa: RUF012 - whole, but failing the integrity check: corrupted or altered
    foreign: list[str] = []  # noqa: RUF012 - files and folders pkcache did not make: reported, never removed
    warnings: list[str] = []  # noqa: RUF012 - settings that weaken the cache (permissions of the directory, secret)

    @property
    def ok(self) -> bool:
        return not self.corrupt and not self.forged


class CacheInfo(NamedTuple):
    """What ``f.cache_info()`` reports."""

    hits: int  # calls answered from the cache, in this process
    misses: int  # calls that ran the body, in this process
    entries: int  # stored results of this function, on disk (all code versions)
    size: int  # bytes those results take on disk
    stale: int = 0  # of those, results of other code versions (pruned first)
    total_hits: int = 0  # hits recorded by every process (flushed at least once a second)
    total_misses: int = 0  # misses recorded by every process
    limits: dict[str, Any] = {}  # noqa: RUF012 - a NamedTuple default, never mutated

    def _repr_html_(self) -> str:
        from ._table import Table
        from ._units import format_size

        calls = self.total_hits + self.total_misses
        rate = f"{100 * self.total_hits / calls:.0f}%" if calls else "-"
        rows = [
            ["", "this process", "all processes"],
            ["hits", str(self.hits), str(self.total_hits)],
            ["misses", str(self.misses), str(self.total_misses)],
            ["hit rate", "", rate],
            ["entries", f"{self.entries} ({self.stale} stale)", ""],
            ["size", format_size(self.size), ""],
        ]
        return Table(rows)._repr_html_()
