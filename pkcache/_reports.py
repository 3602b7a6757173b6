"""What listing, checking and pruning a cache report: plain dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class EntryInfo:
    """One stored result, as ``Cache.entries()`` and ``pkcache list --function`` show it."""

    function: str
    key: str
    size: int
    created: float
    version: str
    stale: bool  # written by another version of the function's code (or another version=)
    location: str


@dataclass
class FunctionSummary:
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
    limits: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CacheStats:
    """Totals of a cache directory."""

    directory: str
    functions: int
    entries: int
    size: int
    stale: int
    hits: int = 0
    misses: int = 0
    limits: dict[str, Any] = field(default_factory=dict)


@dataclass
class VerifyReport:
    """What ``Cache.verify`` found: entries checked, and the bad ones it removed."""

    checked: int = 0
    corrupt: list[str] = field(default_factory=list)  # truncated or garbled
    forged: list[str] = field(default_factory=list)  # signature does not verify

    @property
    def ok(self) -> bool:
        return not self.corrupt and not self.forged
