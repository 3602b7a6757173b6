"""Limits enforced as the cache is written, and by prune(): the right entries go."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import pkcache
from pkcache._engine import housekeeping as _housekeeping
from pkcache._housekeeping import pruning as _pruning
from pkcache._housekeeping import usage as _usage
from tests.helpers import clock_behind, python_path, run_python, wait_for


def make(cache: pkcache.Cache, **options: Any) -> tuple[Any, list[str]]:
    runs: list[str] = []

    def load(name: str) -> str:
        runs.append(name)
        return name * 100

    return cache.cached(**options)(load), runs


def stored_names(cache: pkcache.Cache, function: Any) -> set[str]:
    keys = {e.key for e in cache.entries()}
    return {name for name in "abcdefgh" if function.cache_key(name) in keys}


def test_lru_evicts_the_least_recently_read(cache: pkcache.Cache) -> None:
    load, _ = make(cache, max_entries=3)
    for name in "abc":
        load(name)
    load("a")  # a is now the most recently used
    load("d")
    assert stored_names(cache, load) == {"a", "c", "d"}


def test_lfu_evicts_the_least_often_read(cache: pkcache.Cache) -> None:
    load, _ = make(cache, max_entries=3, policy="lfu")
    for name in "abc":
        load(name)
    load("a")
    load("a")
    load("b")
    load("d")
    assert stored_names(cache, load) == {"a", "b", "d"}


def test_fifo_evicts_the_oldest_written_however_hot(cache: pkcache.Cache) -> None:
    load, _ = make(cache, max_entries=3, policy="fifo")
    for name in "abc":
        load(name)
    for _ in range(5):
        load("a")
    load("d")
    assert stored_names(cache, load) == {"b", "c", "d"}


def test_max_size_holds_after_every_store(cache: pkcache.Cache) -> None:
    load, _ = make(cache, max_size=1000)
    entry_size = None
    for index in range(30):
        load(f"name-{index}")
        info = load.cache_info()
        entry_size = entry_size or info.size
        assert info.size <= 1000
    assert entry_size is not None
    assert load.cache_info().entries >= (1000 // entry_size) * 0.9 - 1  # pruned to the low-water mark, not to zero


def test_directory_limits_bound_every_function_together(cache_dir: Path) -> None:
    cache = pkcache.Cache(cache_dir, max_entries=10)
    first, _ = make(cache)
    second = cache.cached(lambda name: name)
    for index in range(30):
        first(f"x{index}")
        second(f"y{index}")
        assert cache.stats().entries <= 10
        assert cache.store.totals() == (cache.stats().entries, cache.stats().size)  # the running totals are exact
    assert cache.stats().functions == 2
    assert pkcache.Cache(cache_dir).stats().limits["max_entries"] == 10  # recorded for the CLI


def test_prune_enforces_given_limits_exactly_and_reports(cache: pkcache.Cache) -> None:
    load, _ = make(cache)
    for index in range(10):
        load(str(index))
    size = cache.stats().size
    report = cache.prune(max_entries=4)
    assert report.removed == 6
    assert report.bytes == size - cache.stats().size
    assert cache.stats().entries == 4
    assert cache.prune(max_size=1).removed == 4


def test_prune_without_arguments_applies_recorded_limits(cache: pkcache.Cache) -> None:
    load, _ = make(cache, max_entries=50)
    for index in range(8):
        load(str(index))
    relaxed = pkcache.Cache(cache.directory)
    limited, _ = make(relaxed, max_entries=5)  # the same function's manifest now says 5
    limited("fresh")
    assert relaxed.prune().removed >= 0
    assert relaxed.stats().entries <= 5


def test_prune_max_age_applies_to_the_whole_directory(cache: pkcache.Cache) -> None:
    load, _ = make(cache)
    with clock_behind(7200):
        for name in "ab":
            load(name)
    load("c")
    report = cache.prune(max_age="1h")
    assert report.removed == 2
    assert stored_names(cache, load) == {"c"}


def test_prune_removes_expired_entries(cache: pkcache.Cache) -> None:
    load, runs = make(cache, ttl="1h")
    with clock_behind(7200):
        for name in "ab":
            load(name)
    load("c")
    report = cache.prune()
    assert report.removed == 2
    assert stored_names(cache, load) == {"c"}
    load("c")
    assert runs == ["a", "b", "c"]


def test_clear_stale_and_older_than(cache: pkcache.Cache) -> None:
    first, _ = make(cache, version=1)
    for name in "ab":
        first(name)
    second, _ = make(cache, version=2)
    second("a")
    assert cache.stats().stale == 2
    stale_size = sum(e.size for e in cache.entries() if e.stale)
    assert cache.clear(stale=True) == (2, stale_size)
    assert cache.stats().entries == 1
    assert cache.clear(older_than=3600)[0] == 0
    with clock_behind(7200):
        second.refresh("a")
    assert cache.clear(older_than=3600)[0] == 1


def test_cache_info_reports_usage_across_processes_and_limits(cache_dir: Path) -> None:
    code = textwrap.dedent(
        f"""
        import pkcache
        cache = pkcache.Cache({str(cache_dir)!r})
        @cache.cached(max_entries=7, ttl="2h")
        def double(x):
            return 2 * x
        for x in (1, 1, 1, 2):
            double(x)
        """
    )
    run_python(code)
    run_python(code)
    out = run_python(code + "\nprint(double.cache_info())")
    assert "hits=4, misses=0, entries=2" in out
    assert "total_hits=10, total_misses=2" in out
    assert "'max_entries': 7" in out
    assert "'ttl': 7200.0" in out
    listing = subprocess.run(
        [sys.executable, "-m", "pkcache", "--dir", str(cache_dir), "info"], capture_output=True, text=True, check=True
    ).stdout
    assert "calls      10 hits, 2 misses (83% hits)" in listing


SHARED_MODULE = textwrap.dedent(
    """
    import os
    import pkcache
    cache = pkcache.Cache(os.environ["SHARED_CACHE"])

    @cache.cached(max_entries=3)
    def load(name):
        return name * 100
    """
)


def test_reads_in_another_process_count_for_lru_and_lfu(tmp_path: Path, cache_dir: Path) -> None:
    (tmp_path / "shared_mod.py").write_text(SHARED_MODULE)
    env = {"PYTHONPATH": python_path(tmp_path), "SHARED_CACHE": str(cache_dir)}
    run_python("from shared_mod import load\nfor name in 'abc': load(name)", env=env)
    # Process B reads "a" often; process A, which never read it, then writes "d".
    run_python("from shared_mod import load\nfor _ in range(20): load('a')", env=env)
    out = run_python(
        "from shared_mod import load, cache\nload('d')\nprint(sorted(n for n in 'abcd' if load.is_cached(n)))",
        env=env,
    )
    assert out.strip() == "['a', 'c', 'd']"


def test_a_running_process_shares_its_reads_at_most_once_a_second(cache: pkcache.Cache) -> None:
    load, _ = make(cache)
    load("a")
    context = load._context
    recorder = context.housekeeping.usage

    def shared_hits() -> int:
        return cache.store.read_usage(context.identity.namespace).hits

    recorder.take()  # as if a flush had just happened
    load("a")
    assert shared_hits() == 0  # within the interval: kept in memory
    recorder.last_flush -= _usage.FLUSH_INTERVAL + 1
    load("a")
    assert shared_hits() == 2  # the interval is over: this hit flushed both
    recorder.last_flush += 3600  # the clock was set back: flush now rather than in an hour
    load("a")
    assert shared_hits() == 3


def test_a_live_writers_temp_file_survives_pruning_a_dead_ones_does_not(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_pruning, "TEMP_GRACE", 0.0)
    writer = textwrap.dedent(
        f"""
        import os, sys, time
        from pathlib import Path
        import pkcache
        from pkcache._store.local import atomic as _atomic
        _atomic._nameless.usable = False  # the named temp file, as on kernels without O_TMPFILE
        real_writev = os.writev
        def slow_writev(fd, buffers):
            first = memoryview(buffers[0]).cast("B")
            if sum(memoryview(b).nbytes for b in buffers) < 1 << 20:
                return real_writev(fd, buffers)
            written = os.write(fd, first[: first.nbytes // 2])
            Path(sys.argv[1]).touch()
            time.sleep(60)
            return written
        os.writev = slow_writev
        cache = pkcache.Cache({str(cache_dir)!r})
        cache.cached(lambda n: b"x" * n)(1 << 22)
        """
    )
    marker = cache_dir.parent / "writing"
    with subprocess.Popen([sys.executable, "-c", writer, str(marker)]) as child:
        try:
            wait_for(marker)
            cache = pkcache.Cache(cache_dir)
            (temp,) = cache.store.temp_files()
            assert cache.prune().temp_files == 0
            assert Path(temp.location).exists()
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(10)
    assert cache.prune().temp_files == 1
    assert not Path(temp.location).exists()


def test_stores_sweep_dead_temp_files_even_without_bounds(
    cache: pkcache.Cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_pruning, "TEMP_GRACE", 0.0)
    monkeypatch.setattr(_housekeeping, "SWEEP_ASK_INTERVAL", 0.0)  # ask the store at every store
    load, _ = make(cache)
    load("a")  # the first store sweeps (nothing to find) and notes the time
    (entry,) = cache.entries()
    dead = Path(entry.location).with_name(".tmp-left-by-a-dead-writer")
    dead.write_bytes(b"half an entry")
    load("b")
    assert dead.exists()  # swept at most once an hour: not yet
    marker = Path(entry.location).parents[2] / ".swept"  # in the function's folder
    old = time.time() - 3601
    os.utime(marker, (old, old))
    load("c")
    assert not dead.exists()
    assert stored_names(cache, load) == {"a", "b", "c"}  # no bound: nothing else goes


def test_sweeps_fold_the_usage_log_of_functions_without_bounds(cache: pkcache.Cache) -> None:
    load, _ = make(cache)
    for name in "abc":
        load(name)
    for _ in range(3):
        load("a")
    load.flush_usage()
    (entry,) = [e for e in cache.entries() if e.key == load.cache_key("a")]
    folder = Path(entry.location).parents[2]
    assert (folder / "usage.log").exists()
    cache.prune()  # what the hourly sweep runs for a function without bounds
    assert not (folder / "usage.log").exists()  # folded into the summary
    (summary,) = cache.functions()
    assert (summary.hits, summary.misses) == (3, 3)  # nothing lost in the fold
    hits, last = cache.store.read_usage(summary.namespace).keys[load.cache_key("a")]
    assert hits == 3
    assert last > 0


def test_a_prune_keeps_the_read_tallies_of_the_entries_it_kept_and_only_those(cache: pkcache.Cache) -> None:
    load, _ = make(cache)
    for name in "abcd":
        load(name)
    for name in "abcd":  # a tally each, a's the oldest
        load(name)
    load.flush_usage()
    (by_hand,) = [e for e in cache.entries() if e.key == load.cache_key("d")]
    os.unlink(by_hand.location)  # removed by someone else: its tally has no entry left
    assert cache.prune(max_entries=2).removed == 1  # a, the least recently read
    (summary,) = cache.functions()
    tallies = cache.store.read_usage(summary.namespace).keys
    assert set(tallies) == {load.cache_key("b"), load.cache_key("c")}
    assert all(hits == 1 for hits, _ in tallies.values())


LARGE_SCOPE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import pkcache

    folder = Path(sys.argv[1])
    cache = pkcache.Cache(folder / "cache")

    @cache.cached(max_entries=1500)
    def double(n):
        return n * 2

    for n in range(1500):
        double.entry(n).put(n * 2)
    (folder / "populated").touch()
    while not (folder / "locked").exists():
        time.sleep(0.01)
    assert double(1500) == 3000  # the 1,501st entry: over the bound
    (folder / "returned").touch()
    """
)


def test_a_large_scope_over_its_bound_is_pruned_by_another_process_that_outlives_the_caller(
    tmp_path: Path,
) -> None:
    # Over 1,000 entries, a prune lists seconds' worth of files: the call that exceeds the
    # bound hands it to a pruning process and returns, and exits here at once. While this
    # test holds the function's prune lock, nobody can prune: a call pruning itself would
    # wait for the lock instead of returning.
    with subprocess.Popen([sys.executable, "-c", LARGE_SCOPE, str(tmp_path)]) as caller:
        wait_for(tmp_path / "populated")
        cache = pkcache.Cache(tmp_path / "cache")
        (namespace,) = cache.store.namespaces()
        lock = cache.store.prune_lock(namespace)
        assert lock.acquire(5)
        try:
            (tmp_path / "locked").touch()
            wait_for(tmp_path / "returned", timeout=20)  # a call waiting for the lock would take 30 s
            assert caller.wait(30) == 0
            assert len(cache.entries()) == 1501
        finally:
            lock.release()
    deadline = time.monotonic() + 60
    while len(cache.entries()) > 1350:  # pruned to the low-water mark, 90% of the bound
        assert time.monotonic() < deadline, "the bound was not restored"
        time.sleep(0.05)
    assert len(cache.entries()) == 1350
