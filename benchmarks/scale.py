"""How pkcache behaves as a cache directory grows: hit, list, prune and bounded-miss times at 10k to 1M entries.

Usage: python benchmarks/scale.py [--sizes 10000,100000,1000000] [--dir SCRATCH]

Entries are stored through the public API (``f.entry(n).put(value)``: one signed entry
per key, as a call stores it, without running the body); hits then go through the
decorator. Exact prunes are timed with nothing to remove (twice: the first after the
cache was filled rewrites each function's entry index in the listing's order), with 1%
and with 10% to remove; beside them, what removing one file costs in the same folders, in a bare loop
(the floor of any prune that removes files). For the misses timed last, the same
function is decorated again, bounded at the size (``max_entries``), so that they run
over the bound from the first one on and trigger automatic pruning while they are
timed. Prints a markdown table. Needs about 4 KB of disk per entry.
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

MISSES = 20_000


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


def miss_percentiles_ms(function: pkcache.CachedFunction, count: int) -> tuple[float, float, float, float]:  # type: ignore[type-arg]
    """p50, p99, p99.9 and max (ms) of ``count`` misses, each storing a new entry."""
    timings = []
    first = 1 << 40
    for n in range(first, first + count):
        start = time.perf_counter()
        function(n)
        timings.append(time.perf_counter() - start)
    timings.sort()
    return tuple(timings[min(int(q * count), count - 1)] * 1e3 for q in (0.5, 0.99, 0.999, 1.0))  # type: ignore[return-value]


def cli_seconds(directory: Path, *args: str) -> float:
    """Wall time of one ``pkcache`` command, run as a user would (output discarded)."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pkcache", "--dir", str(directory), *args], stdout=subprocess.DEVNULL, check=True
    )
    return time.perf_counter() - start


def largest_folder(root: Path) -> int:
    return max(len(os.listdir(folder)) for folder in root.rglob("v-*/*") if folder.is_dir())


def unlink_us(root: Path, count: int = 2000) -> float:
    """Microseconds to remove one small file from the cache's largest folder, in a bare loop."""
    folder = max((f for f in root.rglob("v-*/*") if f.is_dir()), key=lambda f: len(os.listdir(f)))
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        names = [f"bench-{os.getpid()}-{n}" for n in range(count)]
        for name in names:
            made = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=fd)
            os.write(made, b"x" * 300)  # an entry's size here
            os.close(made)
        os.sync()  # what a prune meets: files made a while ago, not in the journal's last transaction
        start = time.perf_counter()
        for name in names:
            os.unlink(name, dir_fd=fd)
        return (time.perf_counter() - start) / count * 1e6
    finally:
        os.close(fd)


def timed_prune(cache: pkcache.Cache, keep: int, expected: int) -> float:
    start = time.perf_counter()
    report = cache.prune(max_entries=keep)
    seconds = time.perf_counter() - start
    assert report.removed == expected, report
    return seconds


def remove(directory: Path) -> None:
    """Remove a scratch cache, after the pruning process the last misses may have started is done with it
    (it refuses, with a warning, a cache whose mark was removed under it), and again if it still wrote there."""
    time.sleep(5)
    for _ in range(30):
        shutil.rmtree(directory, ignore_errors=True)
        if not directory.exists():
            return
        time.sleep(2)


def run(sizes: list[int], scratch: Path) -> None:
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, pkcache {pkcache.__version__}\n")
    print(
        "| entries | set-up (s) | hit, median (µs) | largest folder (files) "
        "| `pkcache list` (s) | `pkcache list --function` (s) | prune, nothing to remove: first, again (s) "
        "| prune 1% (s) "
        "| prune 10% (s) | removing a file there (µs) "
        f"| {MISSES:,} misses over the bound: p50 / p99 / p99.9 / max (ms) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        directory = Path(tempfile.mkdtemp(prefix=f"pkcache-scale-{size}-", dir=scratch))
        try:
            cache = pkcache.Cache(directory)

            def twice(n: int) -> int:
                return n * 2

            double = cache.cached(twice)  # unbounded: prunes below enforce only the limits they are given

            start = time.perf_counter()
            populate(double, size)
            setup = time.perf_counter() - start
            median_hit_us(double, size, 5000)  # warm the dentry and page caches
            hit = min(median_hit_us(double, size, 5000) for _ in range(3))  # the least noisy of three
            list_all = cli_seconds(directory, "list")
            list_entries = cli_seconds(directory, "list", "--function", "twice")
            prune_nothing = timed_prune(cache, size, 0)  # every entry listed, nothing to evict
            prune_again = timed_prune(cache, size, 0)
            prune_hundredth = timed_prune(cache, size - size // 100, size // 100)
            prune_tenth = timed_prune(cache, size - size // 100 - size // 10, size // 10)
            largest = largest_folder(directory)
            removing = unlink_us(directory)
            for n in range(size, size + size // 10 + size // 100):  # back to the bound: the first miss exceeds it
                double.entry(n).put(n * 2)
            bounded = cache.cached(max_entries=size)(twice)  # the same function and entries, now bounded
            misses = " / ".join(f"{ms:.1f}" for ms in miss_percentiles_ms(bounded, MISSES))
            print(
                f"| {size:,} | {setup:.1f} | {hit:.1f} | {largest:,} "
                f"| {list_all:.2f} | {list_entries:.2f} | {prune_nothing:.2f}, {prune_again:.2f} "
                f"| {prune_hundredth:.2f} | {prune_tenth:.2f} | {removing:.0f} | {misses} |",
                flush=True,
            )
        finally:
            remove(directory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--dir", default=tempfile.gettempdir(), help="scratch folder (needs ~4 KB per entry)")
    args = parser.parse_args()
    os.environ.setdefault("PKCACHE_SECRET", "benchmark-secret-0123456789")
    run([int(s) for s in args.sizes.split(",")], Path(args.dir))


if __name__ == "__main__":
    main()
