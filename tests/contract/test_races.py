"""Contract: callers that miss one key at once compute it once, across threads and processes, on every store."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pkcache
from tests.contract.conftest import Backend
from tests.helpers import wait_for

MODULE = """
import os, time
import pkcache

@pkcache.cached
def slow(x):
    with open(os.environ["RUNS_FILE"], "a") as f:
        f.write(f"{x}\\n")
    time.sleep(0.2)
    return x * 10
"""

RACER = """
import sys, time
from pathlib import Path
from slow_mod import slow
go = Path(sys.argv[1])
Path(sys.argv[2]).touch()  # ready
while not go.exists():
    time.sleep(0.001)
print(sum(slow(k) for k in range(int(sys.argv[3]))))
"""

THREAD_RUNS: list[int] = []  # a global: a captured list would be part of the key


def test_racing_processes_compute_each_key_once(backend: Backend, tmp_path: Path) -> None:
    keys = 6
    (tmp_path / "slow_mod.py").write_text(MODULE)
    (tmp_path / "racer.py").write_text(RACER)
    go = tmp_path / "go"
    env = {**backend.child_env(tmp_path), "RUNS_FILE": str(tmp_path / "runs.txt")}
    racers = []
    for i in range(4):
        ready = tmp_path / f"ready-{i}"
        command = [sys.executable, str(tmp_path / "racer.py"), str(go), str(ready), str(keys)]
        racers.append((subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True), ready))
    for _, ready in racers:
        wait_for(ready)
    go.touch()  # all four start at once, each ready and waiting
    outputs = []
    for process, _ in racers:
        out, _ = process.communicate(timeout=120)
        assert process.returncode == 0
        outputs.append(int(out))
    assert outputs == [sum(k * 10 for k in range(keys))] * 4
    runs = sorted(int(x) for x in (tmp_path / "runs.txt").read_text().split())
    assert runs == list(range(keys))  # one body run per key, whichever process ran it


def test_racing_threads_compute_a_key_once(cache: pkcache.Cache) -> None:
    THREAD_RUNS.clear()

    @cache.cached
    def slow(x: int) -> int:
        THREAD_RUNS.append(x)
        time.sleep(0.2)
        return x

    barrier = threading.Barrier(6)
    results: list[int] = []

    def call() -> None:
        barrier.wait()
        results.append(slow(7))

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == [7] * 6
    assert THREAD_RUNS == [7]
