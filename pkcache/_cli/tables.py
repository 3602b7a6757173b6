"""The tables ``pkcache list`` and ``info`` print, built once for the CLI and the notebook magics."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .._errors import PkcacheError
from .._table import Table
from .._units import format_age, format_size

if TYPE_CHECKING:
    from .._cache import Cache
    from .._reports import EntryInfo, FunctionSummary


def ago(timestamp: float | None) -> str:
    return "-" if timestamp is None else format_age(time.time() - timestamp) + " ago"


def describe_limits(limits: dict[str, Any]) -> str:
    parts = []
    if limits.get("max_entries"):
        parts.append(f"{limits['max_entries']} entries")
    if limits.get("max_size"):
        parts.append(format_size(limits["max_size"]))
    if limits.get("ttl"):
        parts.append(f"ttl {format_age(limits['ttl'])}")
    if parts and limits.get("policy"):
        parts.append(str(limits["policy"]))
    return ", ".join(parts) or "-"


def arguments_of(cache: Cache, entry: EntryInfo) -> str:
    """The argument summary an entry's metadata holds (read alone, not verified), or "?"."""
    try:
        return str(cache.describe_entry(entry, verify=False).get("args", ""))
    except (KeyError, PkcacheError, OSError, ValueError):  # removed meanwhile, or unreadable metadata
        return "?"


def functions_table(cache: Cache, summaries: list[FunctionSummary] | None = None) -> Table:
    rows = [["FUNCTION", "ENTRIES", "SIZE", "STALE", "HITS", "MISSES", "NEWEST", "OLDEST", "LIMITS"]]
    rows += [
        [
            s.function,
            str(s.entries),
            format_size(s.size),
            str(s.stale),
            str(s.hits),
            str(s.misses),
            ago(s.newest),
            ago(s.oldest),
            describe_limits(s.limits),
        ]
        for s in (cache.functions() if summaries is None else summaries)
    ]
    return Table(rows, f"no stored results in {cache.location}")


def entries_table(cache: Cache, function: str) -> Table:
    rows = [["KEY", "FUNCTION", "SIZE", "CREATED", "STALE", "ARGS"]]
    rows += [
        [
            e.key[:16],
            e.function,
            format_size(e.size),
            ago(e.created),
            "yes" if e.stale else "",
            arguments_of(cache, e),
        ]
        for e in cache.entries(function)
    ]
    return Table(rows, f"no stored results for {function!r}")


def info_table(cache: Cache) -> Table:
    stats = cache.stats()
    calls = stats.hits + stats.misses
    rate = f" ({100 * stats.hits / calls:.0f}% hits)" if calls else ""
    rows = [
        ["", ""],
        ["directory" if cache.directory is not None else "store", stats.directory],
        ["functions", str(stats.functions)],
        ["entries", f"{stats.entries} ({stats.stale} stale)"],
        ["size", format_size(stats.size)],
        ["calls", f"{stats.hits} hits, {stats.misses} misses{rate}"],
        ["limits", describe_limits(stats.limits)],
    ]
    return Table(rows)
