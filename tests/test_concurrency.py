"""Pruning racing with readers and writers in several processes never breaks a caller."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pkcache
from tests.helpers import wait_for

WORKER = textwrap.dedent(
    """
    import random, sys
    from pathlib import Path
    import pkcache

    cache = pkcache.Cache(sys.argv[1])
    seed, rounds = int(sys.argv[2]), int(sys.argv[3])

    @cache.cached(max_entries=6, policy=["lru", "lfu", "fifo"][seed % 3])
    def payload(n):
        return bytes([n % 256]) * (1000 + 97 * n)

    Path(sys.argv[4]).touch()
    rng = random.Random(seed)
    for _ in range(rounds):
        n = rng.randrange(20)
        action = rng.random()
        if action < 0.1:
            payload.invalidate(n)
        elif action < 0.15:
            cache.prune(max_entries=4)
        else:
            value = payload(n)
            assert value == bytes([n % 256]) * (1000 + 97 * n), f"wrong value for {n}"
    print("ok", payload.cache_info().entries)
    """
)


def test_readers_writers_and_pruners_in_several_processes(cache_dir: Path, tmp_path: Path) -> None:
    rounds = 400
    children = []
    for seed in range(4):
        ready = tmp_path / f"ready-{seed}"
        argv = [sys.executable, "-c", WORKER, str(cache_dir), str(seed), str(rounds), str(ready)]
        children.append((subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), ready))
    for _child, ready in children:
        wait_for(ready)
    cache = pkcache.Cache(cache_dir)
    prunes = 0
    while any(child.poll() is None for child, _ in children):
        cache.prune(max_entries=3)
        prunes += 1
    for child, _ready in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        assert out.startswith("ok"), out
        assert "Traceback" not in err
    assert prunes > 0
    assert cache.verify().ok
    cache.prune()
    assert cache.stats().entries <= 6  # the function's own limit, recorded in its manifest


LIMITED_WRITER = textwrap.dedent(
    """
    import sys
    import pkcache
    cache = pkcache.Cache(sys.argv[1])

    @cache.cached(max_entries=20)
    def item(n):
        return "x" * n

    for n in range(int(sys.argv[2]), int(sys.argv[2]) + 60):
        item(n)
    """
)


def test_limits_hold_with_several_writing_processes(cache_dir: Path) -> None:
    children = [
        subprocess.Popen([sys.executable, "-c", LIMITED_WRITER, str(cache_dir), str(start)])
        for start in range(0, 240, 60)
    ]
    for child in children:
        assert child.wait(120) == 0
    cache = pkcache.Cache(cache_dir)
    # Each store checked the shared totals, so after the last one the limit holds...
    assert cache.stats().entries <= 20
    # ...and an exact prune holds it too, and finds the running totals exact.
    cache.prune()
    stats = cache.stats()
    assert stats.entries <= 20
    assert cache.store.totals() == (stats.entries, stats.size)
    assert not [p for p in Path(cache_dir).rglob(".tmp-*")], os.listdir(cache_dir)
