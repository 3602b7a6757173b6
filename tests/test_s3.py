"""What is specific to the object store, against a real S3-compatible server (SeaweedFS).

What every store must do (hits, keys, limits, signing, races, the CLI, ``Cache``) is in
the store-contract suite, ``tests/contract``, which runs against this store too. Here:
machines sharing a bucket, leases, the server lost and back, large results in parts.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

import pkcache
from pkcache._errors import InvalidOptionError
from pkcache._housekeeping.pruning import TEMP_GRACE
from tests.helpers import (
    RunningCaller,
    error_without,
    imported_when,
    python_path,
    run_python,
    second_caller_waits_for_the_first,
    wait_for,
)
from tests.s3server import BUCKET

pytest.importorskip("boto3", reason="the s3 extra is not installed (pip install 'pkcache[s3]')")

SECRET = "team-secret-for-s3-tests"


@pytest.fixture
def url(s3_server: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A prefix of the bucket of this test's own, and the credentials to reach it."""
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PKCACHE_SECRET", SECRET)
    return str(s3_server.url(f"t-{uuid.uuid4().hex[:12]}"))


class Raw:
    """The bucket under the test's prefix, as another S3 client sees it."""

    def __init__(self, client: Any, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    def keys(self, under: str = "") -> list[str]:
        found = self.client.list_objects_v2(Bucket=BUCKET, Prefix=f"{self.prefix}/{under}").get("Contents", [])
        return sorted(o["Key"] for o in found)

    def uploads(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.client.list_multipart_uploads(Bucket=BUCKET, Prefix=f"{self.prefix}/").get(
            "Uploads", []
        )
        return found


@pytest.fixture
def raw(s3_server: Any, url: str) -> Raw:
    return Raw(s3_server.client(), url.split("?", maxsplit=1)[0].rsplit("/", 1)[-1])


def entry_paths(raw: Raw) -> list[str]:
    return raw.keys("e/")


HOST_MODULE = textwrap.dedent(
    """
    import os, time
    import pkcache

    @pkcache.cached
    def features(config, tags):
        with open(os.environ["RUNS_FILE"], "a") as f:
            f.write(f"{os.getpid()} {config['k']}\\n")
        time.sleep(float(os.environ.get("BODY_SECONDS", "0")))
        return {"n": config["k"], "tags": sorted(tags), "pid": os.getpid()}
    """
)


def host_env(tmp_path: Path, s3_server: Any, url: str, host: str) -> dict[str, str]:
    """Environment of a process standing in for another machine: its own disk, the shared bucket."""
    (tmp_path / "host_mod.py").write_text(HOST_MODULE)
    return {
        **os.environ,
        **s3_server.env(),
        "PYTHONPATH": python_path(tmp_path),
        "RUNS_FILE": str(tmp_path / "runs.txt"),
        "PKCACHE_URL": url,
        "PKCACHE_DIR": str(tmp_path / host / "cache"),
        "XDG_CONFIG_HOME": str(tmp_path / host / "config"),
        "XDG_CACHE_HOME": str(tmp_path / host / "xdg-cache"),
        "PKCACHE_SECRET": SECRET,
    }


def runs(tmp_path: Path) -> list[str]:
    path = tmp_path / "runs.txt"
    return path.read_text().splitlines() if path.exists() else []


# -- sharing between machines --------------------------------------------------------------


def test_two_hosts_share_results_through_the_bucket(tmp_path: Path, s3_server: Any, url: str) -> None:
    call = "from host_mod import features; print(features({'k': 1}, {'b', 'a'})['pid'])"
    first = run_python(call, env=host_env(tmp_path, s3_server, url, "host-a"))
    second = run_python(call, env=host_env(tmp_path, s3_server, url, "host-b"))
    assert first == second  # host b got host a's result, pid and all
    assert len(runs(tmp_path)) == 1
    assert not (tmp_path / "host-a" / "cache").exists()  # nothing went to either local disk
    assert not (tmp_path / "host-b" / "cache").exists()


def test_four_processes_racing_on_cold_keys_run_each_body_once(tmp_path: Path, s3_server: Any, url: str) -> None:
    code = textwrap.dedent(
        """
        import random, sys
        from host_mod import features
        keys = list(range(5))
        random.Random(int(sys.argv[1])).shuffle(keys)
        print(sorted(features({'k': k}, ['t'])['n'] for k in keys))
        """
    )
    env = {**host_env(tmp_path, s3_server, url, "racer"), "BODY_SECONDS": "0.3"}
    racers = [
        subprocess.Popen([sys.executable, "-c", code, str(seed)], env=env, stdout=subprocess.PIPE, text=True)
        for seed in range(4)
    ]
    outs = [r.communicate(timeout=120)[0] for r in racers]
    assert all(r.returncode == 0 for r in racers)
    assert {o.strip() for o in outs} == {str(list(range(5)))}
    ran = sorted(int(line.split()[1]) for line in runs(tmp_path))
    assert ran == list(range(5))  # each key's body ran once, across the four processes


# -- leases --------------------------------------------------------------------------------

LEASE = 2.0


def test_a_killed_holders_lock_frees_its_key_within_one_lease(tmp_path: Path, s3_server: Any, url: str) -> None:
    leased = f"{url}&lease={LEASE:g}"
    call = textwrap.dedent(
        """
        import time
        start = time.monotonic()
        from host_mod import features
        pid = features({'k': 1}, ['t'])['pid']
        print(pid, time.monotonic() - start)
        """
    )
    holder_env = {**host_env(tmp_path, s3_server, leased, "host-a"), "BODY_SECONDS": "600"}
    holder = subprocess.Popen([sys.executable, "-c", call], env=holder_env)
    try:
        wait_for(tmp_path / "runs.txt")  # the holder has the lock and is computing
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    # Another host waits out one lease (not its 600 s lock_timeout), then computes.
    pid, waited = run_python(call, env=host_env(tmp_path, s3_server, leased, "host-b")).split()
    assert int(pid) != holder.pid
    assert len(runs(tmp_path)) == 2
    assert LEASE * 0.9 <= float(waited) < LEASE + 10  # the lock stood for its lease, and only about that


LIVE_RUNS: list[int] = []  # module-level: a closure value would be part of the function's identity


def test_a_live_holder_keeps_its_lock_past_the_lease(url: str) -> None:
    leased = f"{url}&lease=1"
    LIVE_RUNS.clear()

    def make() -> pkcache.CachedFunction[[int], int]:
        # Two Cache objects: two clients and lease keepers, as two processes would have.
        @pkcache.Cache(leased).cached(lock_timeout=60)
        def slow(x: int) -> int:
            LIVE_RUNS.append(x)
            time.sleep(3.5)  # over three leases
            return x * 10

        return slow

    assert second_caller_waits_for_the_first(make(), make(), LIVE_RUNS) == [70, 70]
    assert LIVE_RUNS == [7]


# -- the server goes away --------------------------------------------------------------------


def test_the_server_killed_and_restarted_under_a_running_caller(
    tmp_path: Path, s3_server: Any, url: str, raw: Any
) -> None:
    caller = RunningCaller(tmp_path, {**s3_server.env(), "PKCACHE_URL": url, "PKCACHE_SECRET": SECRET}, patience=90)
    try:
        caller.wait_for_calls(100)
        assert len(entry_paths(raw)) == 20
        s3_server.stop(signal.SIGKILL)  # mid-run, with no warning
        caller.wait_for_calls(100)  # still answering, by computing
        s3_server.start()  # same ports, same data
        # So that the entries seen next were stored after the restart:
        raw.client.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in entry_paths(raw)]})
        deadline = time.monotonic() + 90
        while len(entry_paths(raw)) < 20:  # the caller is storing again
            assert time.monotonic() < deadline, "caching did not resume"
            time.sleep(0.05)
        caller.wait_for_calls(100)
    finally:
        caller.stop()
        if s3_server.process is None:
            s3_server.start()
        assert caller.wait() == 0


def test_cli_with_the_server_down_says_so_in_one_line() -> None:
    from tests.redisserver import free_port

    result = subprocess.run(
        [sys.executable, "-m", "pkcache", "--url", f"s3://b-k-t/p?endpoint=http://127.0.0.1:{free_port()}", "info"],
        capture_output=True,
        text=True,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "us-east-1"},
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("pkcache: error: object store at s3://b-k-t/p")
    assert len(result.stderr.strip().splitlines()) == 1


# -- large results ---------------------------------------------------------------------------

BIG = textwrap.dedent(
    """
    import json, resource, sys
    import numpy as np
    import pkcache

    MB = 300

    @pkcache.cached
    def big(seed):
        return np.full(MB << 18, seed, dtype=np.float32)  # MB megabytes

    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    before = peak_mb()
    result = big(3)
    after = peak_mb()
    print(json.dumps({"before": before, "after": after, "size_mb": result.nbytes / 2**20,
                      "ok": bool((result == 3).all()), "writable": result.flags.writeable,
                      "hit": big.cache_info().hits}))
    """
)


def test_a_300mb_result_round_trips_in_parts_with_little_extra_memory(
    tmp_path: Path, s3_server: Any, url: str, raw: Any
) -> None:
    env = host_env(tmp_path, s3_server, url, "host-a")
    stored = json.loads(run_python(BIG, env=env, timeout=300))
    assert stored["hit"] == 0
    assert stored["ok"]
    [path] = entry_paths(raw)
    assert raw.client.head_object(Bucket=BUCKET, Key=path)["ContentLength"] > 300 << 20
    loaded = json.loads(run_python(BIG, env=host_env(tmp_path, s3_server, url, "host-b"), timeout=300))
    assert loaded["hit"] == 1
    assert loaded["ok"]
    assert loaded["writable"]
    print("peak memory (MB):", stored, loaded)
    for run in (stored, loaded):
        extra = run["after"] - run["before"] - run["size_mb"]  # peak memory beyond the result's own
        assert extra < run["size_mb"] / 3, (stored, loaded)  # never held twice: parts in flight only


def test_a_writer_killed_mid_upload_leaves_no_entry_and_prune_aborts_its_upload(
    tmp_path: Path, s3_server: Any, url: str, raw: Raw
) -> None:
    leased = f"{url}&lease=1"
    code = textwrap.dedent(
        """
        import numpy as np
        import pkcache

        @pkcache.cached
        def big():
            return np.ones(400 << 18, dtype=np.float32)  # 400 MB: seconds to upload

        big()
        """
    )
    writer = subprocess.Popen([sys.executable, "-c", code], env=host_env(tmp_path, s3_server, leased, "host-a"))
    try:
        deadline = time.monotonic() + 120
        while not raw.uploads():  # the writer has begun its multipart upload
            assert writer.poll() is None, "the writer ended before uploading"
            assert time.monotonic() < deadline, "no upload began"
            time.sleep(0.02)
        [upload] = raw.uploads()
        parts = {"Bucket": BUCKET, "Key": upload["Key"], "UploadId": upload["UploadId"]}
        while not raw.client.list_parts(**parts).get("Parts"):  # and sent a part of it
            assert time.monotonic() < deadline, "no part was sent"
            time.sleep(0.02)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
    assert entry_paths(raw) == []  # the parts sent are invisible: no entry, whole or partial
    cache = pkcache.Cache(leased)
    assert cache.prune().temp_files == 0  # too young to tell from a live writer's
    # Dead for sure once older than the grace and its writer's lock has not been renewed
    # for two leases: then prune aborts it, and the server lets go of its parts.
    deadline = time.monotonic() + TEMP_GRACE + 30
    removed = 0
    while not removed and time.monotonic() < deadline:
        time.sleep(2)
        removed = cache.prune().temp_files
    assert removed == 1
    assert raw.uploads() == []


# -- URLs and the optional dependency ------------------------------------------------------------


def test_without_the_extra_an_s3_url_names_it() -> None:
    out = error_without("boto3", "s3://bucket/prefix")
    assert out.startswith("MissingDependencyError")
    assert "pip install 'pkcache[s3]'" in out


def test_boto3_is_imported_only_for_an_s3_url(tmp_path: Path) -> None:
    assert imported_when("boto3", "s3://bucket/prefix?endpoint=http://127.0.0.1:1", tmp_path / "cache") == [
        "False",
        "True",
    ]


@pytest.mark.parametrize(
    "bad",
    [
        "s3:///prefix",  # no bucket
        "s3://bucket/prefix?lease=soon",
        "s3://bucket/prefix?lease=0",
        "s3://bucket/prefix?colour=blue",  # not an option pkcache knows
    ],
)
def test_a_bad_s3_url_fails_at_decoration(bad: str) -> None:
    with pytest.raises(InvalidOptionError):
        pkcache.cached(store=bad)


def test_the_url_shows_no_secret_and_reopens_in_a_worker(url: str) -> None:
    import pickle

    cache = pkcache.Cache(url)
    assert cache.location == url  # bucket, prefix and endpoint; credentials come from the environment

    again = pickle.loads(pickle.dumps(cache))
    assert again.location == cache.location


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_pool_workers_share_the_bucket_after_the_parent_used_it(
    tmp_path: Path, s3_server: Any, url: str, method: str
) -> None:
    # Forked after the parent's client has connected: the child gets a client of its own.
    code = textwrap.dedent(
        f"""
        import multiprocessing
        from host_mod import features

        def work(k):
            return features({{'k': k}}, ['t'])['n']

        if __name__ == "__main__":
            assert work(0) == 0  # the parent connects and stores first
            with multiprocessing.get_context({method!r}).Pool(2) as pool:
                assert pool.map(work, range(6)) == list(range(6))
            assert [work(k) for k in range(6)] == list(range(6))
            print(features.cache_info().hits)
        """
    )
    script = tmp_path / "pool_main.py"
    script.write_text(code)
    env = host_env(tmp_path, s3_server, url, "host-a")
    result = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[-1]) == 6  # every result the workers stored is a hit here
    assert sorted(int(line.split()[1]) for line in runs(tmp_path)) == list(range(6))  # each body once


IGNORED_RUNS: list[int] = []  # module-level: a closure value would be part of the function's identity


def test_a_server_ignoring_conditional_writes_gets_one_warning_and_caching_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.s3server import ConditionsIgnored, SeaweedServer

    server = SeaweedServer(tmp_path / "seaweedfs", auth=False)
    server.start()
    proxy = ConditionsIgnored(server.endpoint)
    proxy.start()
    try:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("PKCACHE_SECRET", SECRET)
        direct = server.client(proxy.endpoint)  # the proxy really lets a second create through
        direct.put_object(Bucket=BUCKET, Key="twice", Body=b"1", IfNoneMatch="*")
        direct.put_object(Bucket=BUCKET, Key="twice", Body=b"2", IfNoneMatch="*")

        @pkcache.cached(store=f"s3://{BUCKET}/ignored?endpoint={proxy.endpoint}")
        def double(x: int) -> int:
            IGNORED_RUNS.append(x)
            return 2 * x

        IGNORED_RUNS.clear()
        caplog.set_level(logging.WARNING, logger="pkcache")
        assert [double(1), double(2), double(1), double(2)] == [2, 4, 2, 4]
        assert IGNORED_RUNS == [1, 2]  # cached all the same, without the cross-machine lock
        said = [r.getMessage() for r in caplog.records if "conditional writes" in r.getMessage()]
        assert len(said) == 1, said
    finally:
        proxy.stop()
        server.stop()
