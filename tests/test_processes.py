"""Behaviour across real processes: stable keys, one computation per key, kills."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pkcache
from pkcache._store.local import atomic as _atomic
from tests.helpers import python_path, run_python, wait_for

WORK_MODULE = textwrap.dedent(
    """
    import os, time
    import pkcache

    RUNS = os.environ["RUNS_FILE"]

    @pkcache.cached
    def summarize(config, tags):
        with open(RUNS, "a") as f:
            f.write(f"{os.getpid()}\\n")
        time.sleep(float(os.environ.get("BODY_SECONDS", "0")))
        return {"n": len(config), "tags": sorted(tags), "pid": os.getpid()}

    @pkcache.cached
    def big(n):
        return bytes(range(256)) * (n // 256)
    """
)


def make_module(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "work_mod.py").write_text(WORK_MODULE)
    runs = tmp_path / "runs.txt"
    return {"PYTHONPATH": python_path(tmp_path), "RUNS_FILE": str(runs)}


def body_runs(env: dict[str, str]) -> list[str]:
    path = Path(env["RUNS_FILE"])
    return path.read_text().split() if path.exists() else []


def test_another_interpreter_with_another_hash_seed_hits(tmp_path: Path) -> None:
    env = make_module(tmp_path)
    first = run_python(
        """
        from work_mod import summarize
        print(summarize({"b": 2, "a": 1, "c": {"x", "y"}}, {"red", "green", "blue"})["pid"])
        """,
        env={**env, "PYTHONHASHSEED": "1"},
    )
    second = run_python(
        """
        from work_mod import summarize
        config = {}
        config["c"] = {"y", "x"}; config["a"] = 1; config["b"] = 2
        print(summarize(config, {"blue", "green", "red"})["pid"])
        print(summarize.cache_info().hits)
        """,
        env={**env, "PYTHONHASHSEED": "999"},
    )
    assert second.split() == [first.strip(), "1"]
    assert len(body_runs(env)) == 1


RACER = textwrap.dedent(
    """
    import os, sys, threading, time
    from pathlib import Path
    from work_mod import summarize
    go = Path(sys.argv[1])
    Path(sys.argv[2]).touch()  # ready
    while not go.exists():
        time.sleep(0.001)
    results = []
    def call():
        results.append(summarize({"k": 1}, {"t"})["pid"])
    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads: t.start()
    for t in threads: t.join()
    print(" ".join(map(str, results)))
    """
)


def test_processes_and_threads_racing_on_one_key_compute_it_once(tmp_path: Path) -> None:
    env = {**os.environ, **make_module(tmp_path), "BODY_SECONDS": "0.5"}
    go = tmp_path / "go"
    racers = []
    for index in range(4):
        ready = tmp_path / f"ready{index}"
        racers.append(
            (
                subprocess.Popen(
                    [sys.executable, "-c", RACER, str(go), str(ready)], env=env, stdout=subprocess.PIPE, text=True
                ),
                ready,
            )
        )
    for _proc, ready in racers:
        wait_for(ready)
    go.touch()
    outputs = []
    for proc, _ready in racers:
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        outputs.extend(out.split())
    assert len(body_runs(env)) == 1
    assert len(outputs) == 12
    assert len(set(outputs)) == 1


KILLED_WRITER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from pkcache._store.local import store as _localstore
    marker = Path(sys.argv[1])
    real_writev = os.writev
    def slow_writev(fd, buffers):
        first = memoryview(buffers[0]).cast("B")
        if sum(memoryview(b).nbytes for b in buffers) < 1 << 20:  # the secret, CACHEDIR.TAG, a manifest
            return real_writev(fd, buffers)
        written = os.write(fd, first[: first.nbytes // 2])
        marker.touch()  # half of the entry is on disk: the parent kills us now
        time.sleep(60)
        return written
    _localstore.os.writev = slow_writev
    from work_mod import big
    big(1 << 22)
    """
)


def test_a_writer_killed_mid_write_leaves_no_entry(tmp_path: Path) -> None:
    env = {**os.environ, **make_module(tmp_path)}
    marker = tmp_path / "half-written"
    with subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(marker)], env=env) as child:
        wait_for(marker)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    cache = pkcache.Cache(os.environ["PKCACHE_DIR"])
    assert cache.entries() == []
    temps = [p for p in Path(os.environ["PKCACHE_DIR"]).rglob(".tmp-*")]
    # With O_TMPFILE the half-written file never had a name, so nothing is left behind;
    # without it, the dead writer's temp file stays (never visible as an entry) for prune.
    assert len(temps) == (0 if _atomic._nameless.usable else 1)
    out = run_python("from work_mod import big; print(len(big(1 << 22)), big.cache_info().misses)", env=env)
    assert out.split() == [str(1 << 22), "1"]
    assert cache.verify().ok


LOCK_HOLDER = textwrap.dedent(
    """
    import sys, time
    from work_mod import summarize
    context = summarize._resolve()
    lock = context.entries.bucket.lock(summarize.cache_key({"k": 1}, {"t"}))
    assert lock.acquire(5)
    print("held", flush=True)
    time.sleep(60)
    """
)


def test_a_lock_held_too_long_is_computed_around(tmp_path: Path) -> None:
    env = {**os.environ, **make_module(tmp_path)}
    with subprocess.Popen([sys.executable, "-c", LOCK_HOLDER], env=env, stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline() == "held\n"
            out = run_python(
                """
                import logging, sys, work_mod, pkcache
                logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format="%(message)s")
                fast = pkcache.cached(lock_timeout=0.3)(work_mod.summarize.__wrapped__)
                print(fast({"k": 1}, {"t"})["n"])
                """,
                env=env,
            )
        finally:
            holder.kill()
    assert out.splitlines()[-1] == "1"
    assert "computing anyway" in out
    assert len(body_runs(env)) == 1


def test_hits_take_no_lock(tmp_path: Path) -> None:
    env = {**os.environ, **make_module(tmp_path)}
    run_python('from work_mod import summarize; summarize({"k": 1}, {"t"})', env=env)
    with subprocess.Popen([sys.executable, "-c", LOCK_HOLDER], env=env, stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline() == "held\n"
            # With the key's lock held elsewhere and a 600 s lock timeout, only a
            # lock-free hit can return before the test's own timeout.
            out = run_python(
                'from work_mod import summarize; print(summarize({"k": 1}, {"t"})["n"], summarize.cache_info().hits)',
                env=env,
                timeout=30,
            )
        finally:
            holder.kill()
    assert out.split() == ["1", "1"]
