"""Forked children and worker processes: no inherited lock held by nobody, every tally counted once."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

FORK_WHILE_COMPUTING = textwrap.dedent(
    """
    import os, sys, threading, time
    import pkcache

    cache = pkcache.Cache(sys.argv[1], lock_timeout=60)
    runs = sys.argv[2]

    @cache.cached
    def slow(x):
        open(runs, "a").write(f"{os.getpid()}\\n")
        time.sleep(1.5)
        return x * 10

    started = threading.Event()
    worker = threading.Thread(target=lambda: (started.set(), slow(4)))
    worker.start()
    started.wait()
    time.sleep(0.3)  # the worker thread holds the key's lock, computing
    pid = os.fork()
    if pid == 0:
        begun = time.monotonic()
        value = slow(4)  # the same key, in the child: the parent is computing it
        print(f"{value} {time.monotonic() - begun:.1f}", flush=True)
        os._exit(0)
    worker.join()
    os.waitpid(pid, 0)
    """
)


def test_a_child_forked_while_a_thread_computes_gets_the_value_without_waiting_out_the_lock(tmp_path: Path) -> None:
    runs = tmp_path / "runs.txt"
    out = subprocess.run(
        [sys.executable, "-c", FORK_WHILE_COMPUTING, str(tmp_path / "cache"), str(runs)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    value, seconds = out.stdout.split()
    assert value == "40"
    assert float(seconds) < 30  # not the 60 s lock_timeout: the parent's result is seen once stored
    assert len(runs.read_text().split()) == 1  # computed once, by the parent's thread


TALLIES = textwrap.dedent(
    """
    import os, sys
    import pkcache

    cache = pkcache.Cache(sys.argv[1])

    @cache.cached
    def square(x):
        return x * x

    square(3)
    square.flush_usage()
    for _ in range(10):
        square(3)  # 10 hits, pending: flushed at most once a second
    pid = os.fork()
    if pid == 0:
        sys.exit(0)  # a normal exit: atexit flushes what this process has pending
    os.waitpid(pid, 0)
    """
)


def test_a_forked_child_does_not_record_its_parents_pending_hits(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-c", TALLIES, str(tmp_path / "cache")], check=True, timeout=60)
    info = subprocess.run(
        [sys.executable, "-m", "pkcache", "--dir", str(tmp_path / "cache"), "info", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    stats = json.loads(info.stdout)
    assert (stats["hits"], stats["misses"]) == (10, 1)


POOL = textwrap.dedent(
    """
    import multiprocessing, sys
    import pkcache

    cache = pkcache.Cache(sys.argv[1])

    @cache.cached
    def square(x):
        return x * x

    if __name__ == "__main__":
        square(3)  # stored first, so that every worker call below is a hit
        with multiprocessing.get_context(sys.argv[2]).Pool(2) as pool:
            assert pool.map(square, [3] * 10, chunksize=1) == [9] * 10
            assert pool.map(square, [4], chunksize=1) == [16]
    """
)


def test_hits_and_misses_of_pool_workers_are_counted(tmp_path: Path) -> None:
    for method in ("fork", "spawn"):
        folder = tmp_path / method
        script = tmp_path / f"pooled_{method}.py"
        script.write_text(POOL)
        subprocess.run([sys.executable, str(script), str(folder), method], check=True, timeout=120)
        info = subprocess.run(
            [sys.executable, "-m", "pkcache", "--dir", str(folder), "info", "--json"],
            capture_output=True,
            text=True,
            check=True,
        )
        stats = json.loads(info.stdout)
        assert (stats["hits"], stats["misses"]) == (10, 2), method


def test_os_register_at_fork_gives_children_fresh_locks() -> None:
    code = textwrap.dedent(
        """
        import os, threading
        from pkcache._store.local import keylock as _locks
        held = _locks._thread_lock("/some/locks", 7)
        held.acquire()  # as if another thread held it at the fork
        pid = os.fork()
        if pid == 0:
            fresh = _locks._thread_lock("/some/locks", 7)
            os._exit(0 if fresh.acquire(blocking=False) else 1)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "0"
