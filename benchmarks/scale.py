"""How pkcache behaves as a cache directory grows: hit, list and prune times at 10k to 1M entries.

Usage: python benchmarks/scale.py [--sizes 10000,100000,1000000] [--dir SCRATCH]

Entries are stored through the public API (``f.entry(n).put(value)``: one signed entry
per key, as a call stores it, without running the body); hits then go through the
decorator. Prints a markdown table. Needs about 4 KB of disk per entry.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pkcache


def populate(function: pkcache.CachedFunction, count: int) -> None:  # type: ignore[type-arg]
    for n in range(count):
        function.entry(n).put(n * 2)


def median_hit_us(function: pkcache.CachedFunction, count: int, samples: int) -> float:  # type: ignore[type-arg]
    rng = random.Random(0)
    keys = [rng.randrange(count) for _ in range(samples)]
    timings = []
    for n in keys:
        start = time.perf_counter()
        function(n)
        timings.append(time.perf_counter() - start)
    assert function.cache_info().misses == 0, "a hit benchmark must not miss"
    return statistics.median(timings) * 1e6


def cli_seconds(directory: Path, *args: str) -> float:
    """Wall time of one ``pkcache`` command, run as a user would (output discarded)."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pkcache", "--dir", str(directory), *args], stdout=subprocess.DEVNULL, check=True
    )
    return time.perf_counter() - start


def largest_folder(root: Path) -> int:
    return max(len(os.listdir(folder)) for folder in root.rglob("v-*/*") if folder.is_dir())


def run(sizes: list[int], scratch: Path) -> None:
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, pkcache {pkcache.__version__}\n")
    print(
        "| entries | set-up (s) | hit, median (µs) | largest folder (files) "
        "| `pkcache list` (s) | `pkcache list --function` (s) | prune, nothing to remove (s) | prune 10% (s) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        directory = Path(tempfile.mkdtemp(prefix=f"pkcache-scale-{size}-", dir=scratch))
        try:
            cache = pkcache.Cache(directory)

            @cache.cached
            def double(n: int) -> int:
                raise AssertionError("the benchmark only hits")

            start = time.perf_counter()
            populate(double, size)
            setup = time.perf_counter() - start
            median_hit_us(double, size, 5000)  # warm the dentry and page caches
            hit = min(median_hit_us(double, size, 5000) for _ in range(3))  # the least noisy of three
            list_all = cli_seconds(directory, "list")
            list_entries = cli_seconds(directory, "list", "--function", "double")
            start = time.perf_counter()
            cache.prune(max_entries=size)  # a full scan that finds nothing to evict
            prune_nothing = time.perf_counter() - start
            start = time.perf_counter()
            report = cache.prune(max_entries=size - size // 10)
            prune_tenth = time.perf_counter() - start
            assert report.removed == size // 10
            print(
                f"| {size:,} | {setup:.1f} | {hit:.1f} | {largest_folder(directory):,} "
                f"| {list_all:.2f} | {list_entries:.2f} | {prune_nothing:.2f} | {prune_tenth:.2f} |",
                flush=True,
            )
        finally:
            shutil.rmtree(directory, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--dir", default=tempfile.gettempdir(), help="scratch folder (needs ~4 KB per entry)")
    args = parser.parse_args()
    os.environ.setdefault("PKCACHE_SECRET", "benchmark-secret-0123456789")
    run([int(s) for s in args.sizes.split(",")], Path(args.dir))


if __name__ == "__main__":
    main()
