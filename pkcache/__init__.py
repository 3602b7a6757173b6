"""pkcache: a disk-backed cache for function results, with stable keys and signed entries."""

from __future__ import annotations

from ._api import cached
from ._cache import Cache
from ._decorator import BoundCachedFunction, CachedFunction, CacheInfo
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
from ._reports import CacheStats, EntryInfo, FunctionSummary, VerifyReport

__version__ = "0.1.0"


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
    "EntryError",
    "EntryInfo",
    "EntryTooLargeError",
    "ForgedEntryError",
    "FunctionSummary",
    "InvalidOptionError",
    "InvalidOptionTypeError",
    "MissingDependencyError",
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
]
