"""Cached functions in the engines users scale out with, each started for real by the test.

multiprocessing pools (fork, spawn, forkserver), ProcessPoolExecutor, joblib.Parallel
(loky), a dask.distributed LocalCluster, Ray; functions defined in a module, in a
script's ``__main__`` and in a notebook cell. Overlapping arguments across workers:
each distinct key's body runs exactly once, every result is right, the parent and a
fresh process then hit every key, and ``pkcache info`` counts the workers' calls.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pkcache
from tests.helpers import python_path, wait_for

BODY = """
@pkcache.cached
def square(x):
    with open(os.environ["RUNS_FILE"], "a") as runs:
        runs.write(f"{os.getpid()} {x}\\n")
    time.sleep(0.3)
    return x * x
"""

MODULE = "import os, time\nimport pkcache\n" + BODY

DRIVER = """
import json, os, sys, time
import multiprocessing
import pkcache
{source}

ARGS = [0, 1, 2, 3, 4, 5] * 3


def run(engine):
    if engine.startswith("pool-"):
        with multiprocessing.get_context(engine[5:]).Pool(2) as pool:
            return pool.map(square, ARGS, chunksize=1)
    if engine == "executor":
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(2) as executor:
            return list(executor.map(square, ARGS))
    if engine == "joblib":
        from joblib import Parallel, delayed

        return Parallel(n_jobs=2)(delayed(square)(x) for x in ARGS)
    if engine == "dask":
        import dask
        from dask.distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
        with cluster, Client(cluster) as client:
            # pure=False: every task runs, so that pkcache, not Dask, keeps each key to one run.
            mapped = client.map(square, ARGS[:6], pure=False)
            submitted = [client.submit(square, x, pure=False) for x in ARGS[6:12]]
            delayed_ones = [dask.delayed(square, pure=False)(x) for x in ARGS[12:]]
            later = dask.compute(*delayed_ones)
            return client.gather(mapped) + client.gather(submitted) + list(later)
    if engine == "ray":
        import ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            task = ray.remote(lambda x: square(x))
            return ray.get([task.remote(x) for x in ARGS])
        finally:
            ray.shutdown()
    return [square(x) for x in ARGS]


if __name__ == "__main__":
    results = run(sys.argv[1])
    parent = [square(x) for x in sorted(set(ARGS))]  # every key, in the parent: hits
    print(json.dumps({{"results": results, "parent": parent, "name": square.name}}))
"""

ENGINES = ["pool-fork", "pool-spawn", "pool-forkserver", "executor", "joblib", "dask"]
EXPECTED = [x * x for x in [0, 1, 2, 3, 4, 5] * 3]


class Project:
    """A folder with the module or script, its cache, and the log of body runs."""

    def __init__(self, root: Path, where: str) -> None:
        self.root = root
        self.runs = root / "runs.txt"
        self.cache = root / "cache"
        (root / "parmod.py").write_text(MODULE)
        source = "from parmod import square" if where == "module" else BODY
        self.script = root / "driver.py"
        self.script.write_text(DRIVER.format(source=source))
        self.env = {
            **os.environ,
            "PYTHONPATH": python_path(root),
            "RUNS_FILE": str(self.runs),
            "PKCACHE_DIR": str(self.cache),
        }

    def drive(self, engine: str, env: dict[str, str] | None = None) -> dict[str, Any]:
        out = subprocess.run(
            [sys.executable, str(self.script), engine],
            cwd=self.root,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        return json.loads(out.stdout.splitlines()[-1])  # type: ignore[no-any-return]

    def body_runs(self) -> list[int]:
        return sorted(int(line.split()[1]) for line in self.runs.read_text().splitlines()) if self.runs.exists() else []

    def info(self, env: dict[str, str] | None = None, *where: str) -> dict[str, Any]:
        out = subprocess.run(
            [sys.executable, "-m", "pkcache", *(where or ("--dir", str(self.cache))), "info", "--json"],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout)  # type: ignore[no-any-return]


def check_once_and_counted(project: Project, engine: str) -> None:
    found = project.drive(engine)
    assert found["results"] == EXPECTED
    assert found["parent"] == [0, 1, 4, 9, 16, 25]
    assert project.body_runs() == [0, 1, 2, 3, 4, 5]  # each key's body once, across all workers
    again = project.drive("none")  # a fresh process: every call a hit
    assert again["results"] == EXPECTED
    assert project.body_runs() == [0, 1, 2, 3, 4, 5]
    assert again["name"] == found["name"]
    stats = project.info()
    # workers: 18 calls (6 misses); the parent: 6 hits; the fresh process: 18 + 6 hits.
    assert (stats["misses"], stats["hits"]) == (6, 12 + 6 + 24)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("where", ["module", "script"])
def test_each_key_once_across_workers_and_every_call_counted(tmp_path: Path, where: str, engine: str) -> None:
    check_once_and_counted(Project(tmp_path, where), engine)


def test_ray_tasks_share_the_cache(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="ray is not installed")
    check_once_and_counted(Project(tmp_path, "module"), "ray")


# -- notebooks -------------------------------------------------------------------------

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = [
    "import os, time\nimport pkcache",
    BODY.strip(),
    "from joblib import Parallel, delayed\n"
    "loky = Parallel(n_jobs=2)(delayed(square)(x) for x in [0, 1, 2, 3, 4, 5] * 3)\n"
    "print('loky', loky == [x * x for x in [0, 1, 2, 3, 4, 5] * 3])",
    "from dask.distributed import Client, LocalCluster\n"
    "with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, Client(cluster) as c:\n"
    "    dasked = c.gather(c.map(square, [0, 1, 2, 3, 4, 5, 6, 7] * 2, pure=False))\n"
    "print('dask', dasked == [x * x for x in [0, 1, 2, 3, 4, 5, 6, 7] * 2])",
    "print('parent', [square(x) for x in range(8)], square.name)",
]


def run_notebook(cells: list[str], folder: Path) -> list[str]:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute()
    return ["".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout") for cell in notebook.cells]


def test_a_notebook_cells_function_in_loky_and_dask_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JPY_SESSION_NAME", "parallel.ipynb")
    monkeypatch.setenv("RUNS_FILE", str(tmp_path / "runs.txt"))
    monkeypatch.setenv("PKCACHE_DIR", str(tmp_path / "cache"))
    out = run_notebook(NOTEBOOK, tmp_path)
    assert "loky True" in out[2]
    assert "dask True" in out[3]
    assert out[4] == "parent [0, 1, 4, 9, 16, 25, 36, 49] parallel.ipynb:square\n"
    runs = sorted(int(line.split()[1]) for line in (tmp_path / "runs.txt").read_text().splitlines())
    assert runs == list(range(8))  # named and keyed alike in the kernel and in every worker
    restarted = run_notebook(NOTEBOOK[:2] + NOTEBOOK[-1:], tmp_path)
    assert restarted[2] == out[4]
    assert len((tmp_path / "runs.txt").read_text().splitlines()) == 8
    stats = pkcache.Cache(tmp_path / "cache").stats()
    assert (stats.misses, stats.hits) == (8, 10 + 8 + 8 + 8)


# -- across machines: two clusters, one Redis store ------------------------------------------

SECRET = "a secret both clusters share, long enough"


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    pytest.importorskip("redis", reason="the redis extra is not installed")
    from tests.redisserver import RedisServer

    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def test_two_dask_clusters_share_results_through_redis(tmp_path: Path, redis_url: str) -> None:
    project = Project(tmp_path, "module")
    hosts = {
        host: {"PKCACHE_URL": redis_url, "PKCACHE_SECRET": SECRET, "PKCACHE_DIR": str(tmp_path / host / "cache")}
        for host in ("a", "b")
    }
    first = project.drive("dask", hosts["a"])
    assert first["results"] == EXPECTED
    assert project.body_runs() == [0, 1, 2, 3, 4, 5]
    second = project.drive("dask", hosts["b"])  # another cluster, another local disk: every key a hit
    assert second["results"] == EXPECTED
    assert project.body_runs() == [0, 1, 2, 3, 4, 5]
    assert not (tmp_path / "a" / "cache").exists()  # nothing went to the local disks
    stats = project.info(None, "--url", redis_url)
    assert stats["misses"] == 6
    # Both at once, on keys neither has: each key still computed once.
    pkcache.Cache(redis_url, secret=SECRET).clear()
    project.runs.unlink()
    drivers = [
        subprocess.Popen(
            [sys.executable, str(project.script), "dask"],
            cwd=tmp_path,
            env={**project.env, **hosts[host]},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for host in ("a", "b")
    ]
    for driver in drivers:
        out, err = driver.communicate(timeout=300)
        assert driver.returncode == 0, err[-3000:]
        assert json.loads(out.splitlines()[-1])["results"] == EXPECTED
    assert project.body_runs() == [0, 1, 2, 3, 4, 5]


# -- a worker killed mid-computation -------------------------------------------------------

KILLED = """
import os, sys, time
import pkcache

@pkcache.cached
def slow(x):
    started = os.environ["STARTED"]
    with open(started, "a") as f:
        f.write(f"{os.getpid()}\\n")
    time.sleep(4)
    with open(os.environ["FINISHED"], "a") as f:
        f.write(f"{os.getpid()}\\n")
    return {"x": x, "payload": list(range(10_000))}

if __name__ == "__main__":
    from dask.distributed import Client, LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, Client(cluster) as client:
        futures = [client.submit(slow, 7, pure=False) for _ in range(2)]  # one per worker: one computes, one waits
        print([f.result()["x"] for f in futures])
"""


def test_a_worker_killed_mid_computation_leaves_no_corrupt_entry_and_another_computes_it(tmp_path: Path) -> None:
    script = tmp_path / "killed.py"
    script.write_text(KILLED)
    started, finished = tmp_path / "started.txt", tmp_path / "finished.txt"
    env = {**os.environ, "STARTED": str(started), "FINISHED": str(finished), "PKCACHE_DIR": str(tmp_path / "cache")}
    with subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE, text=True) as driver:
        try:
            wait_for(started, timeout=120)
            time.sleep(0.5)  # the other worker is waiting on the key's lock by now, or will be
            victim = int(started.read_text().split()[0])
            os.kill(victim, signal.SIGKILL)
            out, _ = driver.communicate(timeout=180)
        finally:
            driver.kill()
    assert driver.returncode == 0
    assert out.strip() == "[7, 7]"
    assert victim not in [int(p) for p in finished.read_text().split()]
    assert len(finished.read_text().split()) == 1  # computed once more, by a surviving worker
    report = pkcache.Cache(tmp_path / "cache").verify()
    assert (report.checked, report.ok) == (1, True)


# -- pickling -----------------------------------------------------------------------------


def test_a_cache_pickles_as_its_location_at_any_time(cache_dir: Path) -> None:
    import pickle

    cache = pkcache.Cache(cache_dir, max_entries=10, lock_timeout=5.0)
    assert cache.cached(abs)(-2) == 2  # used: open descriptors and mappings now
    copy = pickle.loads(pickle.dumps(cache))
    assert (copy.location, copy.limits, copy.lock_timeout) == (cache.location, cache.limits, cache.lock_timeout)
    assert copy.cached(abs).is_cached(-2)


def test_mmap_mode_returns_the_stored_mapped_result_from_the_computing_call(cache_dir: Path) -> None:
    @pkcache.Cache(cache_dir).cached(mmap_mode="r")
    def load(n: int) -> np.ndarray:  # type: ignore[type-arg]
        return np.arange(n, dtype=np.float64)

    n = 1 << 18
    first, second = load(n), load(n)
    for result in (first, second):
        assert not result.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            result[0] = 1.0
    assert np.array_equal(first, second)
    assert load.cache_info().misses == 1


def test_pickled_functions_keep_their_name_options_and_keys_in_a_spawned_worker(tmp_path: Path) -> None:
    (tmp_path / "keymod.py").write_text(
        "import pkcache\n@pkcache.cached(ttl='1h', version=3)\ndef area(w, h=2):\n    return w * h\n"
    )
    code = textwrap.dedent(
        """
        import multiprocessing, pickle
        import keymod

        def describe(function):
            return function.name, function.cache_key(4), function._options.ttl

        if __name__ == "__main__":
            here = describe(keymod.area)
            with multiprocessing.get_context("spawn").Pool(1) as pool:
                there = pool.apply(describe, (keymod.area,))
            assert pickle.loads(pickle.dumps(keymod.area)) is keymod.area  # by reference
            print(here == there, here[0])
        """
    )
    script = tmp_path / "check.py"
    script.write_text(code)
    env = {**os.environ, "PYTHONPATH": python_path(tmp_path), "PKCACHE_DIR": str(tmp_path / "cache")}
    command = [sys.executable, str(script)]
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "keymod.area"]
