"""A cached function on a 2-worker Dask LocalCluster: 400 tasks over 100 distinct keys.

Usage: python benchmarks/distributed.py [--body-ms 50]

For the local store, then a Redis store (its own ``redis-server`` on a free loopback
port, stopped at the end): body runs (must equal the distinct keys), wall time of the
first run against the same tasks uncached, and of a second run (every task a hit).
Each run is a fresh process driving a fresh cluster, as a user's script would be.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from shared import start_server  # the script's own folder is on sys.path

DRIVER = textwrap.dedent(
    """
    import json, os, sys, time
    from dask.distributed import Client, LocalCluster
    import pkcache

    BODY_SECONDS = float(os.environ["BODY_MS"]) / 1000


    def work(key):
        with open(os.environ["RUNS_FILE"], "a") as runs:
            runs.write(f"{key}\\n")
        time.sleep(BODY_SECONDS)  # the expensive part: the same on every run, the noise of a shared CPU aside
        return {"key": key, "value": key * 2}


    cached = pkcache.cached(work)

    if __name__ == "__main__":
        function = work if sys.argv[1] == "uncached" else cached
        tasks = [n % 100 for n in range(400)]
        with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, Client(cluster) as c:
            c.submit(len, [1]).result()  # the cluster is up: time the tasks, not the start
            start = time.perf_counter()
            results = c.gather(c.map(function, tasks, pure=False))
            seconds = time.perf_counter() - start
        assert [r["value"] for r in results] == [t * 2 for t in tasks]
        print(json.dumps({"seconds": seconds}))
    """
)


def drive(script: Path, mode: str, env: dict[str, str]) -> float:
    out = subprocess.run([sys.executable, str(script), mode], env=env, capture_output=True, text=True, check=True)
    return float(json.loads(out.stdout.splitlines()[-1])["seconds"])


def body_runs(path: Path) -> int:
    return len(path.read_text().split()) if path.exists() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--body-ms", type=int, default=50, help="how long each body sleeps (default 50 ms)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="pkcache-distributed-"))
    script = scratch / "driver.py"
    script.write_text(DRIVER)
    (scratch / "redis").mkdir()
    server, port = start_server(scratch / "redis")
    try:
        base = {
            **os.environ,
            "BODY_MS": str(args.body_ms),
            "PKCACHE_SECRET": "benchmark-secret-0123456789",
            "PYTHONPATH": str(scratch),
        }
        print(
            f"400 tasks over 100 distinct keys, 2 worker processes, body {args.body_ms} ms, CPython "
            f"{sys.version.split()[0]}, {os.cpu_count()} cores\n"
        )
        print("| store | body runs (first run) | uncached (s) | first run (s) | second run (s) | second run speed-up |")
        print("|---|---:|---:|---:|---:|---:|")
        for store, where in (
            ("local directory", {"PKCACHE_DIR": str(scratch / "cache")}),
            ("Redis (loopback)", {"PKCACHE_URL": f"redis://127.0.0.1:{port}/0"}),
        ):
            runs = scratch / f"runs-{store.split()[0]}.txt"
            env = {**base, **where, "RUNS_FILE": str(runs)}
            uncached = drive(script, "uncached", {**env, "RUNS_FILE": str(scratch / "uncached-runs.txt")})
            first = drive(script, "cached", env)
            ran = body_runs(runs)
            second = drive(script, "cached", env)
            assert body_runs(runs) == ran, "the second run computed something"
            print(
                f"| {store} | {ran} | {uncached:.2f} | {first:.2f} | {second:.2f} | {uncached / second:.0f}x |",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
