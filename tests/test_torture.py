"""Torture tests: kills, stampedes and vanishing directories, trying hard to lose or corrupt data.

Each runs in a fast version by default; the full versions are marked ``slow`` and run
with ``python -m pytest -m torture`` (both) or ``-m "torture and slow"`` (full only).
Each prints one summary line (run with ``-s`` to see them).
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import pkcache
from pkcache._housekeeping import pruning as _pruning
from tests.helpers import run_python, wait_for

pytestmark = pytest.mark.torture


def intensity(fast: int, full: int) -> list[object]:
    return [pytest.param(fast, id="fast"), pytest.param(full, id="full", marks=pytest.mark.slow)]


CRASH_WRITER = textwrap.dedent(
    """
    import sys
    import pkcache
    cache = pkcache.Cache(sys.argv[1])

    @cache.cached
    def block(n):
        return bytes([n % 251]) * (1 << 20) * (1 + n % 3)

    print("started", flush=True)
    n = int(sys.argv[2])
    while True:
        block.refresh(n % 12)
        n += 1
    """
)


@pytest.mark.parametrize("kills", intensity(8, 150))
def test_writers_killed_at_random_moments_lose_nothing_but_time(
    kills: int, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(kills)
    for index in range(kills):
        argv = [sys.executable, "-c", CRASH_WRITER, str(cache_dir), str(index)]
        with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as child:
            assert child.stdout is not None
            assert child.stdout.readline() == "started\n"
            time.sleep(rng.uniform(0.0, 0.25))  # a random kill point, not a synchronization
            child.send_signal(signal.SIGKILL)
            child.wait(10)
    cache = pkcache.Cache(cache_dir)
    report = cache.verify()
    assert report.ok, report
    loaded = run_python(
        f"""
        import pkcache
        cache = pkcache.Cache({str(cache_dir)!r})
        @cache.cached
        def block(n):
            return bytes([n % 251]) * (1 << 20) * (1 + n % 3)
        hits = sum(block.is_cached(n) for n in range(12))
        assert all(block(n) == bytes([n % 251]) * (1 << 20) * (1 + n % 3) for n in range(12))
        print(hits)
        """
    )
    temps = list(cache.store.temp_files())
    monkeypatch.setattr(_pruning, "TEMP_GRACE", 0.0)  # every writer is dead now
    cleaned = cache.prune().temp_files
    assert cleaned == len(temps)
    assert not list(cache.store.temp_files())
    print(
        f"\ntorture crash: {kills} SIGKILLs of a writer of 1-3 MB entries; {report.checked} entries verified, "
        f"0 corrupt, {loaded.strip()} of 12 keys stored and equal, {cleaned} dead temp files cleaned"
    )


STAMPEDER = textwrap.dedent(
    """
    import os, sys, threading, time
    from pathlib import Path
    import pkcache
    cache = pkcache.Cache(sys.argv[1])
    runs = sys.argv[2]

    @cache.cached
    def slow(key):
        with open(runs, "a") as f:
            f.write(f"{key}\\n")
        time.sleep(0.2)
        return f"value-{key}"

    go = Path(sys.argv[3])
    Path(sys.argv[4]).touch()
    while not go.exists():
        time.sleep(0.001)
    keys, threads = int(sys.argv[5]), int(sys.argv[6])
    wrong = []
    def call(offset):
        for i in range(keys):
            key = (i + offset) % keys
            if slow(key) != f"value-{key}":
                wrong.append(key)
    workers = [threading.Thread(target=call, args=(t,)) for t in range(threads)]
    for w in workers: w.start()
    for w in workers: w.join()
    print("wrong", len(wrong))
    """
)


@pytest.mark.parametrize(("processes", "threads", "keys"), [(3, 3, 4), pytest.param(6, 6, 12, marks=pytest.mark.slow)])
def test_stampede_computes_each_key_once(
    processes: int, threads: int, keys: int, cache_dir: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs.txt"
    go = tmp_path / "go"
    children = []
    for index in range(processes):
        ready = tmp_path / f"ready-{index}"
        argv = [
            sys.executable,
            "-c",
            STAMPEDER,
            str(cache_dir),
            str(runs),
            str(go),
            str(ready),
            str(keys),
            str(threads),
        ]
        children.append((subprocess.Popen(argv, stdout=subprocess.PIPE, text=True), ready))
    for _child, ready in children:
        wait_for(ready)
    go.touch()
    for child, _ready in children:
        out, _ = child.communicate(timeout=120)
        assert child.returncode == 0
        assert out.strip() == "wrong 0"
    body_runs = runs.read_text().split()
    assert sorted(body_runs) == sorted(str(k) for k in range(keys))  # each key exactly once
    print(f"\ntorture stampede: {processes} processes x {threads} threads x {keys} keys; {len(body_runs)} body runs")


@pytest.mark.parametrize("seconds", intensity(1.5, 20.0))
def test_a_directory_vanishing_mid_run_never_breaks_a_caller(
    seconds: float, cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = pkcache.Cache(cache_dir)

    @cache.cached
    def triple(x: int) -> int:
        return 3 * x

    stop = threading.Event()
    removals = 0

    def remove_repeatedly() -> None:
        nonlocal removals
        while not stop.is_set():
            shutil.rmtree(cache_dir, ignore_errors=True)
            removals += 1
            time.sleep(0.002)

    remover = threading.Thread(target=remove_repeatedly)
    remover.start()
    calls = 0
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            x = calls % 50
            assert triple(x) == 3 * x
            calls += 1
    finally:
        stop.set()
        remover.join()
    assert removals > 10
    print(f"\ntorture vanishing directory: {calls} calls while the cache directory was removed {removals} times")


MIXED = textwrap.dedent(
    """
    import random, sys
    import pkcache
    cache = pkcache.Cache(sys.argv[1])
    seed, rounds = int(sys.argv[2]), int(sys.argv[3])

    @cache.cached(max_size=200_000, policy=["lru", "lfu", "fifo"][seed % 3])
    def blob(n):
        return bytes([n % 256]) * (5000 + 311 * n)

    rng = random.Random(seed)
    for _ in range(rounds):
        n = rng.randrange(40)
        roll = rng.random()
        if roll < 0.1:
            blob.invalidate(n)
        elif roll < 0.13:
            cache.prune(max_size=100_000)
        elif roll < 0.15:
            cache.clear("blob", older_than=0.5)
        elif roll < 0.2:
            blob.refresh(n)
        else:
            assert blob(n) == bytes([n % 256]) * (5000 + 311 * n), n
    print("ok")
    """
)


@pytest.mark.parametrize("rounds", intensity(300, 5000))
def test_mixed_load_of_readers_writers_invalidators_and_pruners(rounds: int, cache_dir: Path) -> None:
    argvs = [[sys.executable, "-c", MIXED, str(cache_dir), str(seed), str(rounds)] for seed in range(4)]
    children = [subprocess.Popen(a, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for a in argvs]
    for child in children:
        out, err = child.communicate(timeout=600)
        assert child.returncode == 0, err
        assert out.strip() == "ok"
    assert pkcache.Cache(cache_dir).verify().ok
    print(f"\ntorture mixed load: 4 processes x {rounds} calls (read, write, invalidate, prune, clear), 0 errors")
