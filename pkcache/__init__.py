"""pkcache: a disk-backed cache for function results, with stable keys and signed entries."""

from __future__ import annotations

from ._api import cached
from ._cache import Cache
from ._decorator.calls import BoundCachedFunction, CachedFunction, CacheInfo
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
from ._reports import CacheStats, EntryInfo, FunctionSummary, VerifyReport
from ._version import __version__


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
