"""Contract: expiry, bounds, eviction policies and running totals behave alike on every store."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

import pkcache
from tests.contract.conftest import Backend
from tests.helpers import run_python


def test_an_expired_result_is_a_miss(cache: pkcache.Cache) -> None:
    runs: list[int] = []

    # Expiry counts from the entry's creation, before the store's own writes: on an object
    # store those took 0.3-0.9 s on this machine (one CI run over 1 s), so the first
    # assertion needs a ttl longer than the store itself.
    @cache.cached(ttl=3)
    def stamp(x: int) -> int:
        runs.append(x)
        return x

    stamp(1)
    assert stamp.is_cached(1)
    deadline = time.monotonic() + 10
    while stamp.is_cached(1) and time.monotonic() < deadline:  # expiry is by the clock: wait for it
        time.sleep(0.05)
    assert not stamp.is_cached(1)
    stamp(1)
    assert runs == [1, 1]
    assert stamp.is_cached(1)


def test_a_function_bound_holds_after_every_store(cache: pkcache.Cache) -> None:
    @cache.cached(max_entries=3)
    def ident(x: int) -> int:
        return x

    for x in range(10):
        ident(x)
        assert ident.cache_info().entries <= 3
    assert ident.is_cached(9)  # the result just stored stays


# Stored 0, 1, 2 in that order; then read 1 three times, 2 once, 0 once (last).
# fifo drops the oldest written (0), lru the least recently used (1), lfu the least
# read, ties by least recent use (2: read once, before 0).
@pytest.mark.parametrize(("policy", "victim"), [("fifo", 0), ("lru", 1), ("lfu", 2)])
def test_eviction_follows_the_policy(cache: pkcache.Cache, policy: str, victim: int) -> None:
    @cache.cached
    def ident(x: int) -> int:
        return x

    for x in (0, 1, 2):
        ident(x)
        time.sleep(0.01)  # distinct creation and use times, whatever the clock's resolution
    for x in (1, 1, 1, 2, 0):
        ident(x)
        time.sleep(0.01)
    report = cache.prune("ident", max_entries=2, policy=policy)
    assert report.removed == 1
    assert [ident.is_cached(x) for x in (0, 1, 2)] == [x != victim for x in (0, 1, 2)]


def test_a_cache_wide_size_bound_holds_and_prune_is_exact(backend: Backend) -> None:
    cache = pkcache.Cache(backend.location, max_size="40KB")

    @cache.cached
    def blob(x: int) -> bytes:
        return bytes([x]) * 10_000

    @cache.cached
    def other(x: int) -> bytes:
        return bytes([x]) * 10_000

    for x in range(6):
        blob(x), other(x)
        assert cache.stats().size <= 40_000
    assert cache.stats().limits["max_size"] == 40_000
    before = cache.stats().entries
    assert cache.prune(max_entries=1, dry_run=True).removed == before - 1
    assert cache.stats().entries == before  # a dry run removes nothing
    report = cache.prune(max_entries=1)
    assert report.removed == before - 1
    assert cache.stats().entries == 1
    assert other.is_cached(5)  # the newest stays


def test_stats_follow_every_change(cache: pkcache.Cache) -> None:
    @cache.cached
    def blob(x: int) -> bytes:
        return b"x" * (100 * (x + 1))

    def totals() -> tuple[int, int]:
        stats = cache.stats()
        entries = cache.entries()
        assert (stats.entries, stats.size) == (len(entries), sum(e.size for e in entries))
        return stats.entries, stats.size

    for x in range(5):
        blob(x)
    assert totals()[0] == 5
    blob.refresh(0)
    assert totals()[0] == 5  # replaced: the same count (the size may differ by a byte of metadata)
    blob.invalidate(1)
    assert totals()[0] == 4
    cache.clear()
    assert totals() == (0, 0)


COUNTER = """
import pkcache

@pkcache.cached
def ident(x):
    return x
"""


def test_hits_and_misses_of_every_process_are_counted(backend: Backend, cache: pkcache.Cache, tmp_path: Path) -> None:
    (tmp_path / "counter_mod.py").write_text(COUNTER)
    code = textwrap.dedent(
        """
        from counter_mod import ident
        for x in (1, 2, 1, 1):
            ident(x)
        """
    )
    for _ in range(2):
        run_python(code, env=backend.child_env(tmp_path))
    [summary] = cache.functions()
    assert (summary.hits, summary.misses) == (6, 2)
    assert cache.stats().hits == 6
