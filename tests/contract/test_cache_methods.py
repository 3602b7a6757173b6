"""Contract: ``Cache``'s listing, inspecting and pickling methods give the same answers on every store."""

from __future__ import annotations

import pickle

import pytest

import pkcache
from tests.contract.conftest import Backend


def test_functions_entries_stats_and_matching(backend: Backend, cache: pkcache.Cache) -> None:
    @cache.cached(max_entries=50)
    def load(name: str) -> str:
        return name.upper()

    @cache.cached
    def fit(x: int) -> bytes:
        return bytes(1000 * x)

    load("a"), load("b"), fit(1), fit(2), fit(2)
    load.flush_usage()
    summaries = {s.function.rsplit(".", 1)[-1]: s for s in cache.functions()}
    assert sorted(summaries) == ["fit", "load"]
    assert (summaries["fit"].entries, summaries["fit"].hits, summaries["fit"].misses) == (2, 1, 2)
    assert summaries["load"].limits["max_entries"] == 50
    entries = cache.entries()
    assert len(entries) == 4
    assert [e.created for e in entries] == sorted((e.created for e in entries), reverse=True)  # newest first
    assert {e.key for e in cache.entries("fit")} == {fit.cache_key(1), fit.cache_key(2)}
    stats = cache.stats()
    assert (stats.functions, stats.entries, stats.stale) == (2, 4, 0)
    assert stats.size == sum(e.size for e in entries)
    assert stats.directory == cache.location == backend.location
    assert sorted(cache.matching("fit").values()) == [summaries["fit"].function]
    assert len(cache.matching()) == 2


def test_describe_reads_an_entrys_metadata_and_says_whether_it_verifies(cache: pkcache.Cache) -> None:
    @cache.cached
    def load(name: str, rows: int = 10) -> list[int]:
        return list(range(rows))

    load("table", rows=3)
    key = load.cache_key("table", rows=3)
    described = cache.describe(key[:10])
    assert described["verified"] is True
    assert described["function"].endswith("load")
    assert described["args"] == "name='table', rows=3"
    [entry] = cache.entries()
    assert cache.describe_entry(entry, verify=False)["function"] == described["function"]
    with pytest.raises(KeyError):
        cache.describe("0" * 64)


def test_a_pickled_cache_reaches_the_same_store(backend: Backend, cache: pkcache.Cache) -> None:
    @cache.cached
    def ident(x: int) -> int:
        return x

    ident(1)
    again = pickle.loads(pickle.dumps(cache))
    assert again.location == cache.location
    assert again.stats().entries == 1
    assert again.cached(ident.__wrapped__).is_cached(1)


def test_close_releases_what_it_holds_and_use_reopens_it(cache: pkcache.Cache) -> None:
    @cache.cached
    def ident(x: int) -> int:
        return x

    ident(1)
    cache.close()
    assert ident(1) == 1
    assert ident.cache_info().hits == 1
    assert cache.stats().entries == 1
