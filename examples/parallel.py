"""A cached function in a process pool and in joblib.Parallel: each key computed once, across workers.

Run it twice: the second run's workers hit every key that the first run's workers stored.
"""

from __future__ import annotations

import multiprocessing
import os
import time

from joblib import Parallel, delayed

import pkcache


@pkcache.cached
def features(x: int) -> dict[str, int]:
    """Pretend this is an expensive feature extraction."""
    time.sleep(0.5)
    return {"x": x, "square": x * x, "worker": os.getpid()}


def main() -> None:
    tasks = [0, 1, 2, 3] * 3  # 12 tasks, 4 distinct keys: overlapping, as real work often is
    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pooled = pool.map(features, tasks)
    print(f"Pool (spawn): {len(pooled)} results in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    joblibbed = Parallel(n_jobs=2)(delayed(features)(x) for x in tasks)
    print(f"joblib.Parallel: {len(joblibbed)} results in {time.perf_counter() - start:.1f} s")
    right = all(r["square"] == r["x"] ** 2 for r in pooled + joblibbed)
    print(f"bodies ran in {len({r['worker'] for r in pooled})} worker process(es); every result right: {right}")
    info = features.cache_info()
    print(f"all processes so far: {info.total_hits} hits, {info.total_misses} misses ({info.entries} entries)")


if __name__ == "__main__":
    main()
