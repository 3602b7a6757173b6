"""Two promises about large arrays, measured: hashing copies nothing, and mapped results cost ~nothing.

Usage: python benchmarks/memory.py [--gib 1]

1. Peak memory of a hit whose argument is a large array grows by a small fraction of the
   argument (the key is hashed from the array's own memory, not from a copy).
2. A hit that returns a large array with ``mmap_mode="r"`` costs a small fraction of a
   hit that reads it whole.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap

CHILD = textwrap.dedent(
    """
    import os, resource, sys, time
    import numpy as np
    import pkcache

    size = int(float(sys.argv[2]) * (1 << 30)) // 8
    cache = pkcache.Cache(sys.argv[1])

    @cache.cached
    def total(array):
        return float(array[:10].sum())

    @cache.cached
    def ramp(n):
        return np.ones(n)

    @cache.cached(mmap_mode="r")
    def ramp_mapped(n):
        return np.ones(n)

    array = np.ones(size)
    total(array)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    total(array)
    hashed = time.perf_counter() - start
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    print(f"argument {array.nbytes / 2**30:.2f} GiB: hit took {hashed * 1e3:.0f} ms "
          f"({array.nbytes / hashed / 1e9:.1f} GB/s), peak memory grew by {grown / 1024:.1f} MiB "
          f"= {100 * grown * 1024 / array.nbytes:.2f}% of the argument")
    del array
    ramp(size)
    ramp_mapped(size)
    runs = []
    for fn in (ramp, ramp_mapped, ramp, ramp_mapped):
        start = time.perf_counter()
        result = fn(size)
        runs.append((fn.__name__, time.perf_counter() - start))
        del result
    whole = min(t for name, t in runs if name == "ramp")
    mapped = min(t for name, t in runs if name == "ramp_mapped")
    print(f"result {size * 8 / 2**30:.2f} GiB: read whole {whole * 1e3:.0f} ms, memory-mapped {mapped * 1e3:.1f} ms "
          f"= {100 * mapped / whole:.1f}% of reading it whole")
    """
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", default="1", help="array size in GiB")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pkcache-memory-") as directory:
        env = {**os.environ, "PKCACHE_SECRET": "benchmark-secret-0123456789"}
        subprocess.run([sys.executable, "-c", CHILD, directory, args.gib], check=True, env=env)


if __name__ == "__main__":
    main()
