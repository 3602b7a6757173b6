"""A cached function on a Dask cluster: 40 tasks over 10 keys run 10 bodies; a second run runs none.

Run it as is for a LocalCluster of 2 worker processes on this machine. To share results
between clusters on several machines, set PKCACHE_URL=redis://... and the same
PKCACHE_SECRET everywhere (see the README's "Parallel and distributed").
"""

from __future__ import annotations

import os
import time

from dask.distributed import Client, LocalCluster

import pkcache


def runs_file() -> str:
    """Where the bodies note that they ran, so that this example can count them."""
    return os.path.join(os.environ.get("TMPDIR", "/tmp"), f"pkcache-dask-example-{os.getuid()}.runs")


@pkcache.cached
def simulate(seed: int) -> float:
    """Pretend this is a simulation that takes a while."""
    with open(runs_file(), "a") as runs:
        runs.write(f"{seed}\n")
    time.sleep(0.5)
    return sum((seed * 7919 + i) % 101 for i in range(10_000)) / 10_000


def body_runs() -> int:
    try:
        with open(runs_file()) as runs:
            return len(runs.read().split())
    except FileNotFoundError:
        return 0


def run_once(client: Client, tasks: list[int]) -> float:
    start = time.perf_counter()
    # pure=False: Dask runs every task; pkcache makes each key's body run once.
    results = client.gather(client.map(simulate, tasks, pure=False))
    assert len(results) == len(tasks)
    return time.perf_counter() - start


def main() -> None:
    tasks = list(range(10)) * 4  # 40 tasks, 10 distinct keys
    before = body_runs()
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, Client(cluster) as client:
        first = run_once(client, tasks)
        ran = body_runs() - before
        second = run_once(client, tasks)
    print(f"first run : {len(tasks)} tasks, {ran} body runs, {first:.1f} s")
    print(f"second run: {len(tasks)} tasks, {body_runs() - before - ran} body runs, {second:.2f} s")
    info = simulate.cache_info()
    print(f"every worker's calls: {info.total_hits} hits, {info.total_misses} misses")


if __name__ == "__main__":
    main()
