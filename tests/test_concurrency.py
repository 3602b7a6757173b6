"""Limits hold with several writing processes. (Pruning racing with readers and writers in
several processes is in test_torture.py: the mixed-load test.)"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pkcache

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
