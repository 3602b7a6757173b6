"""What is specific to the Redis store, against a real redis-server: URLs, leases, server loss, its limits.

What every store must do (hits, keys, limits, signing, races, the CLI, ``Cache``) is in
the store-contract suite, ``tests/contract``, which runs against this store too.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import pkcache
from pkcache._errors import InvalidOptionError
from tests.helpers import (
    RunningCaller,
    error_without,
    imported_when,
    python_path,
    run_python,
    second_caller_waits_for_the_first,
    wait_for,
)
from tests.redisserver import RedisServer

redis = pytest.importorskip("redis", reason="the redis extra is not installed (pip install 'pkcache[redis]')")

SECRET = "team-secret-for-tests"


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisServer]:
    monkeypatch.setenv("PKCACHE_SECRET", SECRET)
    running = RedisServer(tmp_path / "redis")
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def raw(server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis(port=server.port)
    yield client
    client.close()


def entry_keys(raw: redis.Redis) -> list[bytes]:
    return sorted(raw.keys("pkcache:e:*"))


# -- sharing -------------------------------------------------------------------------------

HOST_MODULE = textwrap.dedent(
    """
    import os, time
    import pkcache

    @pkcache.cached
    def features(config, tags):
        with open(os.environ["RUNS_FILE"], "a") as f:
            f.write(f"{os.getpid()}\\n")
        time.sleep(float(os.environ.get("BODY_SECONDS", "0")))
        return {"n": len(config), "tags": sorted(tags), "pid": os.getpid()}
    """
)


def host_env(tmp_path: Path, server: RedisServer, host: str) -> dict[str, str]:
    """Environment of a process standing in for another machine: its own disk, the shared server."""
    (tmp_path / "host_mod.py").write_text(HOST_MODULE)
    return {
        "PYTHONPATH": python_path(tmp_path),
        "RUNS_FILE": str(tmp_path / "runs.txt"),
        "PKCACHE_URL": server.url,
        "PKCACHE_DIR": str(tmp_path / host / "cache"),
        "XDG_CONFIG_HOME": str(tmp_path / host / "config"),
        "PKCACHE_SECRET": SECRET,
    }


def test_store_option_cache_url_and_env_reach_the_same_server(
    server: RedisServer, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    @pkcache.cached(store=server.url)
    def double(x: int) -> int:
        return x * 2

    shared = pkcache.Cache(server.url)

    @shared.cached
    def triple(x: int) -> int:
        return x * 3

    monkeypatch.setenv("PKCACHE_URL", server.url)

    @pkcache.cached
    def square(x: int) -> int:
        return x * x

    assert (double(4), triple(4), square(4)) == (8, 12, 16)
    names = sorted(s.function.rsplit(".", 1)[-1] for s in shared.functions())
    assert names == ["double", "square", "triple"]
    assert shared.stats().entries == 3
    assert repr(shared) == f"pkcache.Cache({server.url!r})"
    assert not (isolated_env / "cache").exists()  # PKCACHE_DIR untouched


def test_without_the_extra_a_redis_url_names_it() -> None:
    out = error_without("redis", "redis://127.0.0.1:1/0")
    assert out.startswith("MissingDependencyError")
    assert "pip install 'pkcache[redis]'" in out


def test_redis_is_imported_only_for_a_redis_url(tmp_path: Path) -> None:
    assert imported_when("redis", "redis://127.0.0.1:1/0", tmp_path / "cache") == ["False", "True"]


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:notaport/0", "redis://127.0.0.1:6379/0?lease=soon", "redis://127.0.0.1:6379/0?lease=0"]
)
def test_a_bad_url_fails_at_decoration(url: str) -> None:
    with pytest.raises(InvalidOptionError):
        pkcache.cached(store=url)


def test_store_and_cache_dir_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidOptionError, match="not both"):
        pkcache.cached(store="redis://127.0.0.1:6379/0", cache_dir=tmp_path)


# -- one computation per key, across processes ------------------------------------------------


def test_a_killed_holders_lock_expires_with_its_lease(tmp_path: Path, server: RedisServer, raw: redis.Redis) -> None:
    env = {**host_env(tmp_path, server, "host-a"), "PKCACHE_URL": server.url + "?lease=1"}
    call = "from host_mod import features; print(features({'k': 1}, ['t'])['pid'])"
    holder = subprocess.Popen([sys.executable, "-c", call], env={**os.environ, **env, "BODY_SECONDS": "600"})
    try:
        wait_for(tmp_path / "runs.txt")  # the holder has the lock and is computing
        [lock] = raw.keys("pkcache:l:*")
        assert 0 < raw.pttl(lock) <= 1000  # a lease, not a lock held forever
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    # Another host waits at most one lease (not its 600 s lock_timeout), then computes.
    survivor = run_python(call, env={**host_env(tmp_path, server, "host-b"), "PKCACHE_URL": server.url + "?lease=1"})
    assert survivor.strip() != str(holder.pid)
    assert len((tmp_path / "runs.txt").read_text().split()) == 2


LIVE_RUNS: list[int] = []  # module-level: a closure value would be part of the function's identity


def test_a_live_holder_keeps_its_lock_past_the_lease(tmp_path: Path, server: RedisServer) -> None:
    url = server.url + "?lease=1"
    runs = LIVE_RUNS
    runs.clear()

    def make() -> pkcache.CachedFunction[[int], int]:
        # Two Cache objects: two connections and lease keepers, as two processes would have.
        @pkcache.Cache(url).cached(lock_timeout=60)
        def slow(x: int) -> int:
            LIVE_RUNS.append(x)
            time.sleep(3.0)  # three leases
            return x * 10

        return slow

    assert second_caller_waits_for_the_first(make(), make(), runs) == [70, 70]
    assert runs == [7]


# -- the server goes away -------------------------------------------------------------------


def test_a_killed_server_costs_recomputation_and_caching_resumes_after_restart(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    runs: list[int] = []

    @pkcache.cached(store=server.url)
    def inc(x: int) -> int:
        runs.append(x)
        return x + 1

    assert [inc(1), inc(1)] == [2, 2]
    assert runs == [1]
    caplog.set_level(logging.WARNING, logger="pkcache")
    server.kill()
    assert [inc(1), inc(2), inc(2)] == [2, 3, 3]  # correct, computed each time
    assert runs == [1, 1, 2, 2]
    assert any("Redis at" in r.getMessage() for r in caplog.records)
    server.start()  # empty: no persistence
    deadline = time.monotonic() + 30
    while not inc.is_cached(5) and time.monotonic() < deadline:
        inc(5)  # stored once the client is back
        time.sleep(0.05)
    assert inc.is_cached(5)
    before = len(runs)
    assert inc(5) == 6
    assert len(runs) == before  # a hit again


def test_callers_get_right_results_while_the_server_is_killed_and_restarted(
    tmp_path: Path, server: RedisServer, raw: redis.Redis
) -> None:
    caller = RunningCaller(tmp_path, {"PKCACHE_URL": server.url, "PKCACHE_SECRET": SECRET}, patience=60)
    try:
        caller.wait_for_calls(200)
        assert len(entry_keys(raw)) == 20
        server.kill()  # mid-run, with no warning
        caller.wait_for_calls(200)  # still answering, by computing
        server.start()  # empty: no persistence
        raw.connection_pool.disconnect()
        deadline = time.monotonic() + 60
        while len(entry_keys(raw)) < 20:  # the caller is storing again
            assert time.monotonic() < deadline, "caching did not resume"
            time.sleep(0.05)
        caller.wait_for_calls(200)
    finally:
        caller.stop()
        assert caller.wait() == 0


def test_an_unreachable_server_never_breaks_the_caller(caplog: pytest.LogCaptureFixture) -> None:
    from tests.redisserver import free_port

    url = f"redis://127.0.0.1:{free_port()}/0"
    caplog.set_level(logging.WARNING, logger="pkcache")

    runs = []

    @pkcache.cached(store=url, secret="a secret of this one function")
    def inc(x: int) -> int:
        runs.append(x)
        return x + 1

    assert [inc(1), inc(1), inc(2)] == [2, 2, 3]
    assert runs == [1, 1, 2]
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings
    assert all("Redis at" in r.getMessage() or "computing without" in r.getMessage() for r in warnings)


# -- expiry, limits, per-function clearing -------------------------------------------------------


def test_ttl_is_redis_expiry(server: RedisServer, raw: redis.Redis) -> None:
    runs: list[int] = []

    @pkcache.cached(store=server.url, ttl=2)
    def stamp(x: int) -> int:
        runs.append(x)
        return x

    stamp(1)
    [key] = entry_keys(raw)
    assert 0 < raw.pttl(key) <= 2000
    deadline = time.monotonic() + 10
    while raw.exists(key) and time.monotonic() < deadline:  # Redis drops it by itself
        time.sleep(0.05)
    assert not raw.exists(key)
    assert not stamp.is_cached(1)
    stamp(1)
    assert runs == [1, 1]
    cache = pkcache.Cache(server.url)
    assert cache.stats().entries == 1  # the index row of the expired entry is gone from listings


def test_clearing_leaves_no_entry_keys_on_the_server(server: RedisServer, raw: redis.Redis) -> None:
    # The contract suite (tests/contract) checks clearing through the API; this checks the server itself.
    cache = pkcache.Cache(server.url)

    @cache.cached
    def a(x: int) -> int:
        return x

    @cache.cached
    def b(x: int) -> int:
        return x

    for x in range(3):
        a(x), b(x)
    assert a.invalidate(1)
    assert not a.is_cached(1)
    assert a.is_cached(2)
    assert a.cache_clear() == 2
    assert cache.stats().entries == 3
    assert [s.function.rsplit(".", 1)[-1] for s in cache.functions()] == ["b"]
    removed, size = cache.clear()
    assert removed == 3
    assert size > 0
    assert entry_keys(raw) == []
    assert cache.stats().size == 0


# -- integrity -------------------------------------------------------------------------------------


def test_a_shared_store_without_a_shared_secret_warns(
    server: RedisServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("PKCACHE_SECRET")
    caplog.set_level(logging.WARNING, logger="pkcache")

    @pkcache.cached(store=server.url)
    def ident(x: int) -> int:
        return x

    ident(1)
    assert any("no shared secret" in r.getMessage() for r in caplog.records)


def test_values_over_the_servers_limit_are_refused_with_a_clear_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PKCACHE_SECRET", SECRET)
    small = RedisServer(tmp_path / "small", "--proto-max-bulk-len", "1mb")
    small.start()
    try:
        caplog.set_level(logging.WARNING, logger="pkcache")

        @pkcache.cached(store=small.url)
        def blob(n: int) -> bytes:
            return b"z" * n

        assert blob(2_000_000) == b"z" * 2_000_000  # returned, not stored
        assert not blob.is_cached(2_000_000)
        assert any("proto-max-bulk-len" in r.getMessage() for r in caplog.records)
        blob(1000)
        assert blob.is_cached(1000)  # smaller values still are
    finally:
        small.stop()


# -- the CLI --------------------------------------------------------------------------------------


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pkcache", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("args", [["--url", "/not/a/url", "list"], ["--url", "redis://x", "--dir", ".", "list"]])
def test_cli_bad_url_arguments(args: list[str]) -> None:
    result = cli(*args)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_with_the_server_down_says_so_in_one_line() -> None:
    from tests.redisserver import free_port

    result = cli("--url", f"redis://127.0.0.1:{free_port()}/0", "info")
    assert result.returncode == 2
    assert result.stderr.startswith("pkcache: error: Redis at redis://127.0.0.1:")
    assert len(result.stderr.strip().splitlines()) == 1


def test_waiters_are_woken_by_the_release_not_by_polling(server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from pkcache._store.redis import lock as _redislock

    # Were waiters only polling, this one would look again after 60 s: past the join below.
    monkeypatch.setattr(_redislock, "_MAX_WAIT", 60.0)
    holder = pkcache.Cache(server.url).store.lock("l:demo")  # type: ignore[attr-defined]
    waiter = pkcache.Cache(server.url).store.lock("l:demo")  # type: ignore[attr-defined]
    assert holder.try_acquire()
    got: list[bool] = []
    thread = threading.Thread(target=lambda: got.append(waiter.acquire(timeout=120)))
    thread.start()
    deadline = time.monotonic() + 30
    while not redis.Redis(port=server.port).pubsub_numsub("pkcache:l:demo:released")[0][1]:
        assert time.monotonic() < deadline, "the waiter never subscribed"
        time.sleep(0.01)
    holder.release()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert got == [True]
    waiter.release()


def test_a_store_releases_its_lock_in_the_same_round_trip(server: RedisServer, raw: redis.Redis) -> None:
    @pkcache.cached(store=server.url)
    def ident(x: int) -> int:
        return x

    ident(1)  # the first store also records the function and sweeps its folder
    raw.config_resetstat()
    ident(2)
    calls = {name: stats["calls"] for name, stats in raw.info("commandstats").items()}
    assert raw.keys("pkcache:l:*") == []  # released
    assert calls["cmdstat_publish"] == 1
    # A miss: read, take the lock (reading again), store (releasing the lock).
    assert calls["cmdstat_get"] == 3  # the read, the lock's read, the store script's check of its lock
    assert calls["cmdstat_evalsha"] == 2
    # (Commands run by scripts count too.) The lock's SET and the entry's: the store was
    # not asked again whether the function is due for a sweep (at most once per 10 s).
    assert calls["cmdstat_set"] == 2


def test_a_full_server_costs_a_warning_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PKCACHE_SECRET", SECRET)
    full = RedisServer(tmp_path / "full", "--maxmemory", "3mb", "--maxmemory-policy", "noeviction")
    full.start()
    try:
        caplog.set_level(logging.WARNING, logger="pkcache")
        runs: list[int] = []

        @pkcache.cached(store=full.url, lock_timeout=5)
        def blob(n: int) -> bytes:
            runs.append(n)
            return b"f" * n

        for _ in range(2):
            assert blob(4_000_000) == b"f" * 4_000_000
        assert runs == [4_000_000] * 2  # not stored, computed each time
        assert any("maxmemory" in r.getMessage() for r in caplog.records)
    finally:
        full.stop()


def test_usage_is_shared_and_folded_on_the_server(server: RedisServer, raw: redis.Redis) -> None:
    cache = pkcache.Cache(server.url)

    @cache.cached
    def ident(x: int) -> int:
        return x

    for x in (1, 2, 1, 1):
        ident(x)
    ident.flush_usage()
    (summary,) = cache.functions()
    assert (summary.hits, summary.misses) == (2, 2)
    assert raw.llen(f"pkcache:ul:{summary.namespace}") == 1
    cache.prune()  # no bounds: the sweep folds the log into the summary
    assert raw.llen(f"pkcache:ul:{summary.namespace}") == 0
    (summary,) = cache.functions()
    assert (summary.hits, summary.misses) == (2, 2)


def test_notebook_magics_use_the_shared_store(server: RedisServer, raw: redis.Redis) -> None:
    out = run_python(
        """
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        shell.run_cell("%load_ext pkcache", store_history=False).raise_error()
        shell.run_cell("%%pkcache total\\ntotal = sum(range(10))", store_history=False).raise_error()
        print(shell.user_ns["total"])
        shell.run_cell("%pkcache info", store_history=False).raise_error()
        shell.run_cell("%pkcache clear", store_history=False).raise_error()
        """,
        env={"PKCACHE_URL": server.url, "PKCACHE_SECRET": SECRET},
    )
    assert out.split()[0] == "45"
    assert "removed 1 entries" in out
    assert entry_keys(raw) == []


def test_entries_the_server_dropped_leave_listings_and_totals_right(server: RedisServer, raw: redis.Redis) -> None:
    cache = pkcache.Cache(server.url)

    @cache.cached
    def blob(x: int) -> bytes:
        return bytes(100)

    for x in range(4):
        blob(x)
    sizes = {e.key: e.size for e in cache.entries()}
    dropped = [blob.cache_key(0), blob.cache_key(1)]
    raw.delete(*(k for k in entry_keys(raw) if k.decode().rsplit(":", 1)[1] in dropped))  # as an evicting server would
    assert cache.stats().entries == 2  # the dropped entries' index rows are gone from listings
    assert cache.store.totals() == (4, sum(sizes.values()))  # running totals drift high, never low...
    cache.prune(max_entries=100)  # bounded: an exact count, which corrects them
    assert cache.store.totals() == (2, sum(v for k, v in sizes.items() if k not in dropped))
    assert [blob.is_cached(x) for x in range(4)] == [False, False, True, True]
