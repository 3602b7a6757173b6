"""The Redis store beside the local directory store and a plain redis-py decorator, in one run.

Usage: python benchmarks/shared.py [--quick]

Starts its own ``redis-server`` (no persistence) on a free loopback port and stops it at
the end. The plain decorator is what a project writes by hand: md5 of the pickled
arguments as the key, ``GET``/``SET`` of a pickle; it has no signing, no index, no
locking. Workloads are interleaved round by round; the table shows medians and each
figure's ratio to pkcache on Redis.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import pickle
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from compare import hits, misses, print_medians, timed  # the script's own folder is on sys.path

STORES = ["pkcache-redis", "pkcache-local", "plain-redis"]


def small(x: int, label: str = "a") -> dict[str, Any]:
    return {"x": x, "label": label, "values": [x, x + 1, x + 2]}


def array_double(array: Any) -> Any:
    return array * 2


def make(store: str, url: str, directory: str, func: Callable[..., Any]) -> Callable[..., Any]:
    import pkcache

    if store == "pkcache-redis":
        return pkcache.Cache(url).cached(func)
    if store == "pkcache-local":
        return pkcache.Cache(directory).cached(func)
    import redis

    client = redis.Redis.from_url(url)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = "plain:" + hashlib.md5(pickle.dumps((func.__qualname__, args, kwargs))).hexdigest()
        found = client.get(key)
        if found is not None:
            return pickle.loads(found)
        value = func(*args, **kwargs)
        client.set(key, pickle.dumps(value, protocol=5))
        return value

    return wrapper


def array_hit(cached: Callable[..., Any], array: Any, repeat: int) -> float:
    cached(array)
    return timed(lambda: cached(array), repeat) * 1e3


RACER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    import pkcache
    url, runs, go, ready, keys = sys.argv[1:6]

    @pkcache.cached(store=url)
    def body(key):
        with open(runs, "a") as f:
            f.write(f"{key}\\n")
        time.sleep(0.01)
        return key

    Path(ready).touch()
    while not Path(go).exists():
        time.sleep(0.001)
    for key in range(int(keys)):
        assert body(key) == key
    """
)


def race(url: str, scratch: Path, keys: int, processes: int = 4) -> int:
    """Duplicate body runs when ``processes`` processes call the same cold keys at once."""
    runs, go = scratch / "race-runs", scratch / "race-go"
    script = scratch / "racer.py"
    script.write_text(RACER)
    children = []
    for i in range(processes):
        ready = scratch / f"race-ready-{i}"
        args = [sys.executable, str(script), url, str(runs), str(go), str(ready), str(keys)]
        children.append((subprocess.Popen(args), ready))
    for _, ready in children:
        while not ready.exists():
            time.sleep(0.01)
    go.touch()
    for child, _ in children:
        child.wait(timeout=300)
        if child.returncode != 0:
            raise RuntimeError("a racer failed")
    return len(runs.read_text().split()) - keys


def start_server(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    server = shutil.which("redis-server")
    if server is None:
        sys.exit("redis-server is not installed (apt-get install redis-server)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    command = [server, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", ""]
    process = subprocess.Popen([*command, "--appendonly", "no"], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return process, port
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            sys.exit("redis-server did not start")
        time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and calls (well under a minute)")
    args = parser.parse_args()
    os.environ.setdefault("PKCACHE_SECRET", "benchmark-secret-0123456789")
    import numpy as np

    rounds = 3 if args.quick else 5
    array = np.random.default_rng(0).random((10 << 20) // 8)
    scratch = Path(tempfile.mkdtemp(prefix="pkcache-shared-"))
    process, port = start_server(scratch)
    try:
        import redis

        url = f"redis://127.0.0.1:{port}/0"
        flush = redis.Redis(port=port)
        workloads: dict[str, Callable[[Callable[..., Any]], float]] = {
            "hit, small args and result (µs/call)": lambda c: hits(c, 1000 if args.quick else 3000),
            "miss + store, small (µs/call)": lambda c: misses(c, 300 if args.quick else 1000),
            "hit, 10 MB float64 array argument and result (ms)": lambda c: array_hit(c, array, 5),
        }
        results: dict[str, dict[str, list[float]]] = {w: {s: [] for s in STORES} for w in workloads}
        for round_index in range(rounds):
            for workload, run in workloads.items():
                for store in STORES if round_index % 2 == 0 else reversed(STORES):
                    directory = scratch / f"{store}-{round_index}"
                    func = small if "small" in workload else array_double
                    results[workload][store].append(run(make(store, url, str(directory), func)))
                    flush.flushdb()
                    shutil.rmtree(directory, ignore_errors=True)
        race_keys = 50 if args.quick else 200
        duplicates = race(url, scratch, race_keys)
        flush.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(scratch, ignore_errors=True)

    run = f"redis-server on loopback, {'quick' if args.quick else 'full'} run, medians of {rounds} rounds"
    print_medians(run, results, "pkcache-redis", digits=2)
    print(f"| 4 processes racing on {race_keys} cold keys via Redis: duplicate body runs | {duplicates} | | |")
    print("\nRatios in parentheses are each figure divided by pkcache-redis's (above 1: pkcache-redis is faster).")


if __name__ == "__main__":
    main()
