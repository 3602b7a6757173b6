"""pkcache: a disk-backed cache for function results, with stable keys and signed entries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._api import cached
from ._cache import Cache
from ._decorator.calls import BoundCachedFunction, CachedFunction
from ._decorator.entry import Entry
from ._decorator.switch import disabled
from ._errors import (
    CorruptEntryError,
    EntryError,
    EntryTooLargeError,
    ForgedEntryError,
    InvalidOptionError,
    InvalidOptionTypeError,
    MissingDependencyError,
    NotACacheError,
    PkcacheError,
    SecretError,
    StoreError,
    UncacheableFunctionError,
    UnhashableArgumentError,
    UnsafePathError,
)
from ._joblib import NoCache
from ._version import __version__

if TYPE_CHECKING:
    from ._reports import CacheInfo, CacheStats, EntryInfo, FunctionSummary, VerifyReport

# The report types load when first asked for: ``import pkcache`` stays quick (docs/performance.md).
_REPORTS = frozenset({"CacheInfo", "CacheStats", "EntryInfo", "FunctionSummary", "VerifyReport"})


def __getattr__(name: str) -> Any:
    if name in _REPORTS:
        from . import _reports

        return getattr(_reports, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_REPORTS})


def load_ipython_extension(ipython: object) -> None:
    """Called by ``%load_ext pkcache``: registers the ``%pkcache`` and ``%%pkcache`` magics."""
    from ._ipython import load_ipython_extension as load

    load(ipython)


__all__ = [
    "BoundCachedFunction",
    "Cache",
    "CacheInfo",
    "CacheStats",
    "CachedFunction",
    "CorruptEntryError",
    "Entry",
    "EntryError",
    "EntryInfo",
    "EntryTooLargeError",
    "ForgedEntryError",
    "FunctionSummary",
    "InvalidOptionError",
    "InvalidOptionTypeError",
    "MissingDependencyError",
    "NoCache",
    "NotACacheError",
    "PkcacheError",
    "SecretError",
    "StoreError",
    "UncacheableFunctionError",
    "UnhashableArgumentError",
    "UnsafePathError",
    "VerifyReport",
    "__version__",
    "cached",
    "disabled",
]
