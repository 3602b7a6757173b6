"""The exception hierarchy: one base, the builtin each resembles, and pickling intact."""

from __future__ import annotations

import pickle

import pytest

import pkcache

ERRORS = [
    (pkcache.InvalidOptionError("ttl must be positive"), ValueError),
    (pkcache.InvalidOptionTypeError("ttl must be a number"), TypeError),
    (pkcache.UnhashableArgumentError("f", "x", "cannot pickle"), TypeError),
    (pkcache.CorruptEntryError("/c/ab.pkl", "truncated"), pkcache.EntryError),
    (pkcache.ForgedEntryError("/c/ab.pkl", "signature"), pkcache.EntryError),
    (pkcache.StoreError("Redis at redis://h:6379/0: Connection refused"), OSError),
    (pkcache.EntryTooLargeError("the entry is 700 MB"), OSError),
    (pkcache.MissingDependencyError("pip install 'pkcache[redis]'"), ImportError),
]


@pytest.mark.parametrize(("error", "builtin"), ERRORS, ids=lambda e: type(e).__name__)
def test_errors_are_pkcache_errors_and_builtins_and_pickle(error: Exception, builtin: type) -> None:
    assert isinstance(error, pkcache.PkcacheError)
    assert isinstance(error, builtin)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)


def test_store_errors_are_caught_where_os_errors_are() -> None:
    # The decorator's degrade paths catch OSError: a store failure must be one.
    with pytest.raises(OSError, match="Connection refused"):
        raise pkcache.StoreError("Redis at redis://h:6379/0: Connection refused")
