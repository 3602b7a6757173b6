"""What is specific to the object store, against a real S3-compatible server (SeaweedFS).

What every store must do (hits, keys, limits, signing, races, the CLI, ``Cache``) is in
the store-contract suite, ``tests/contract``, which runs against this store too. Here:
machines sharing a bucket, leases, the server lost and back, large results in parts.
"""

from __future__ import annotations

import json
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
from tests.helpers import python_path, run_python, wait_for

obstore = pytest.importorskip("obstore", reason="the s3 extra is not installed (pip install 'pkcache[s3]')")

SECRET = "team-secret-for-s3-tests"


@pytest.fixture
def url(s3_server: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A prefix of the bucket of this test's own, and the credentials to reach it."""
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PKCACHE_SECRET", SECRET)
    return str(s3_server.url(f"t-{uuid.uuid4().hex[:12]}"))


@pytest.fixture
def raw(s3_server: Any, url: str) -> Any:
    """The bucket under the test's prefix, as another S3 client sees it."""
    from obstore.store import S3Store

    env = s3_server.env()
    prefix = url.split("?", maxsplit=1)[0].rsplit("/", 1)[-1]
    return S3Store(
        "pkcache-tests",
        prefix=prefix,
        endpoint=s3_server.endpoint,
        access_key_id=env["AWS_ACCESS_KEY_ID"],
        secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region=env["AWS_REGION"],
        client_options={"allow_http": True},
    )


def entry_paths(raw: Any) -> list[str]:
    return sorted(m["path"] for page in obstore.list(raw, "e") for m in page)


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

    import threading

    first, second = make(), make()
    results: list[int] = []
    thread = threading.Thread(target=lambda: results.append(first(7)))
    thread.start()
    while not LIVE_RUNS:  # the first caller holds the lock and computes
        time.sleep(0.005)
    results.append(second(7))
    thread.join()
    assert results == [70, 70]
    assert LIVE_RUNS == [7]


# -- the server goes away --------------------------------------------------------------------

CALLER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import pkcache

    progress, stop = Path(sys.argv[1]), Path(sys.argv[2])

    @pkcache.cached
    def square(x):
        return x * x

    calls = 0
    while not stop.exists():
        for x in range(20):
            assert square(x) == x * x  # right, whether from the server or computed
            calls += 1
        progress.write_text(str(calls))
    """
)


def test_the_server_killed_and_restarted_under_a_running_caller(
    tmp_path: Path, s3_server: Any, url: str, raw: Any
) -> None:
    progress, stop = tmp_path / "progress", tmp_path / "stop"

    def calls() -> int:
        try:
            return int(progress.read_text() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def wait_for_calls(more: int) -> None:
        target, deadline = calls() + more, time.monotonic() + 90
        while calls() < target:
            assert caller.poll() is None, "the caller died"
            assert time.monotonic() < deadline, "the caller stopped making progress"
            time.sleep(0.01)

    env = {**os.environ, **s3_server.env(), "PKCACHE_URL": url, "PKCACHE_SECRET": SECRET}
    caller = subprocess.Popen([sys.executable, "-c", CALLER, str(progress), str(stop)], env=env)
    try:
        wait_for_calls(100)
        assert len(entry_paths(raw)) == 20
        s3_server.stop(signal.SIGKILL)  # mid-run, with no warning
        wait_for_calls(100)  # still answering, by computing
        s3_server.start()  # same ports, same data
        obstore.delete(raw, entry_paths(raw))  # so that entries seen next were stored after the restart
        deadline = time.monotonic() + 90
        while len(entry_paths(raw)) < 20:  # the caller is storing again
            assert time.monotonic() < deadline, "caching did not resume"
            time.sleep(0.05)
        wait_for_calls(100)
    finally:
        stop.touch()
        if s3_server.process is None:
            s3_server.start()
        assert caller.wait(timeout=60) == 0


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
    assert obstore.head(raw, path)["size"] > 300 << 20
    loaded = json.loads(run_python(BIG, env=host_env(tmp_path, s3_server, url, "host-b"), timeout=300))
    assert loaded["hit"] == 1
    assert loaded["ok"]
    assert loaded["writable"]
    print("peak memory (MB):", stored, loaded)
    for run in (stored, loaded):
        extra = run["after"] - run["before"] - run["size_mb"]  # peak memory beyond the result's own
        assert extra < run["size_mb"] / 3, (stored, loaded)  # never held twice: parts in flight only


def test_a_writer_killed_mid_upload_leaves_no_entry_and_prune_aborts_its_upload(
    tmp_path: Path, s3_server: Any, url: str, raw: Any
) -> None:
    leased = f"{url}&lease=1"
    env = host_env(tmp_path, s3_server, leased, "host-a")
    code = textwrap.dedent(
        """
        import os
        import numpy as np
        import obstore
        import pkcache

        real_put = obstore.put
        def put(store, path, data, **options):  # tells the test once the upload is under way
            if options.get("use_multipart"):
                whole = data
                def parts():
                    for i, part in enumerate(whole):
                        if i == 3:
                            open(os.environ["RUNS_FILE"] + ".uploading", "w").close()
                        yield part
                data = parts()
            return real_put(store, path, data, **options)
        obstore.put = put

        @pkcache.cached
        def big():
            return np.ones(200 << 18, dtype=np.float32)

        big()
        """
    )
    writer = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        wait_for(tmp_path / "runs.txt.uploading", timeout=120)
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
    assert list(cache.store.temp_files()) == []


# -- URLs and the optional dependency ------------------------------------------------------------


def test_without_the_extra_an_s3_url_names_it() -> None:
    out = run_python(
        """
        import sys
        sys.modules["obstore"] = None  # as if obstore were not installed
        import pkcache
        try:
            pkcache.cached(store="s3://bucket/prefix")
        except ImportError as exc:
            print(type(exc).__name__, exc)
        """
    )
    assert out.startswith("MissingDependencyError")
    assert "pip install 'pkcache[s3]'" in out


def test_obstore_is_imported_only_for_an_s3_url(tmp_path: Path) -> None:
    out = run_python(
        f"""
        import sys
        import pkcache
        @pkcache.cached(cache_dir={str(tmp_path / "cache")!r})
        def double(x):
            return 2 * x
        double(2); double(2)
        print("obstore" in sys.modules)
        pkcache.cached(store="s3://bucket/prefix?endpoint=http://127.0.0.1:1")
        print("obstore" in sys.modules)
        """
    )
    assert out.split() == ["False", "True"]


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


@pytest.mark.parametrize(
    ("path", "query", "signature"),
    [  # AWS's published Signature Version 4 examples for S3 (GET bucket lifecycle, list objects)
        ("/", "lifecycle=", "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
        ("/", "max-keys=2&prefix=J", "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
    ],
)
def test_requests_pkcache_signs_itself_match_aws_examples(path: str, query: str, signature: str) -> None:
    import datetime as dt

    from pkcache._store.s3.uploads import sign

    headers = sign(
        "GET",
        "examplebucket.s3.amazonaws.com",
        path,
        query,
        region="us-east-1",
        credentials=("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", None),
        now=dt.datetime(2013, 5, 24, tzinfo=dt.timezone.utc),
    )
    assert headers["Authorization"].endswith(f"Signature={signature}")
