"""What pkcache reads from a cache is untrusted: metadata files, headers, text bound for a terminal."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pkcache
from pkcache import _codec

ESCAPES = "\x1b]0;owned\x07\x1b[2J\x1b[1;32mverified OK\x1b[0m\u202e"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pkcache", *args], capture_output=True, text=True, timeout=60, check=False
    )


def square(x: int) -> int:
    return x * x


@pytest.fixture
def stored(cache_dir: Path) -> Any:
    function = pkcache.Cache(cache_dir).cached(square)
    assert [function(2), function(3)] == [4, 9]
    function.flush_usage()
    return function


def entry_file(function: Any, *args: Any) -> Path:
    return Path(function.entry(*args).location)


def plant_with_metadata(function: Any, meta: dict[str, Any], *args: Any) -> str:
    """Replace an entry by one whose metadata holds ``meta``, signed with a key nobody has."""
    key = function.cache_key(*args)
    encoded = _codec.encode(key, 0, meta, _codec.Signer(b"\0" * 32))
    entry_file(function, *args).write_bytes(b"".join(bytes(s) for s in encoded.segments))
    return key


def test_escape_sequences_in_a_planted_entry_never_reach_the_terminal(cache_dir: Path, stored: Any) -> None:
    key = plant_with_metadata(stored, {"function": ESCAPES, "args": ESCAPES, "created": ESCAPES}, 2)
    show = cli("--dir", str(cache_dir), "show", key[:16])
    assert show.returncode == 0
    assert "\x1b" not in show.stdout
    assert "\x07" not in show.stdout
    assert "\u202e" not in show.stdout
    assert "\\x1b]0;owned" in show.stdout
    assert show.stdout.startswith("UNVERIFIED: this entry fails its integrity check")
    listing = cli("--dir", str(cache_dir), "list", "--function", "square")
    assert "\x1b" not in listing.stdout
    assert "\\x1b" in listing.stdout
    meta = json.loads(cli("--dir", str(cache_dir), "show", key[:16], "--json").stdout)
    assert meta["verified"] is False
    assert meta["args"] == ESCAPES  # JSON carries it escaped, and exact
    from pkcache._cli.tables import entries_table

    html = entries_table(pkcache.Cache(cache_dir), "square")._repr_html_()
    assert "\x1b" not in html
    assert "<td>\\x1b]0;owned" in html


def test_is_cached_only_for_an_entry_that_would_load_and_verify_says_integrity(cache_dir: Path, stored: Any) -> None:
    path = entry_file(stored, 3)
    data = bytearray(path.read_bytes())
    data[-40] ^= 1  # inside the signed part: the length is right, the MAC fails
    path.write_bytes(bytes(data))
    assert not stored.is_cached(3)
    assert stored.is_cached(2)
    out = cli("--dir", str(cache_dir), "verify")
    assert out.returncode == 1
    assert f"fails its integrity check (corrupted or altered), removed: {path}" in out.stdout
    assert "forged" not in out.stdout


def test_an_out_of_range_usage_record_is_ignored_with_a_warning(
    cache_dir: Path, stored: Any, caplog: pytest.LogCaptureFixture
) -> None:
    [folder] = [p for p in cache_dir.iterdir() if p.is_dir()]
    with (folder / "usage.log").open("a") as log:
        log.write('{"m": 1e999}\n{"h": {"abc": [1e400, -5]}}\n{"m": "lots"}\n[1, 2]\n')
    with caplog.at_level(logging.WARNING, logger="pkcache"):
        assert stored(2) == 4
        info = stored.cache_info()
        stats = pkcache.Cache(cache_dir).stats()
        report = pkcache.Cache(cache_dir).prune(max_entries=5)
    assert info.total_misses == 2
    assert (stats.entries, report.removed) == (2, 0)
    assert "ignored 4 unreadable or out-of-range usage record(s)" in caplog.text
    assert cli("--dir", str(cache_dir), "info").returncode == 0


NASTY = st.sampled_from([float("inf"), float("-inf"), float("nan"), -1, 2**70, 1e308, "many", "", [], {}, True])
JSON = st.recursive(
    NASTY | st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
FIELDS = ["name", "current_version", "max_size", "max_entries", "ttl", "policy", "hits", "misses", "keys", "h", "m"]
RECORD = st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=5) | JSON
CONTENT = st.one_of(
    st.binary(max_size=64),
    RECORD.map(lambda v: json.dumps(v).encode()),
    st.lists(RECORD, max_size=4).map(lambda vs: b"\n".join(json.dumps(v).encode() for v in vs)),
)
FILES = ["function.json", "usage.log", "usage.json", ".ledger", ".index", ".swept", "../pkcache.json", "../.ledger"]


def exercise(location: str | Path) -> None:
    """A caller and every listing over a cache whose metadata was tampered with: nothing may raise."""
    from pkcache._cli.main import main

    logging.getLogger("pkcache").disabled = True  # the warnings are the point, not their text
    try:
        fresh = pkcache.Cache(location)
        again = fresh.cached(square, max_entries=3)
        assert [again(x) for x in (2, 3, 4, 5, 2)] == [4, 9, 16, 25, 4]
        again.cache_info()
        fresh.functions()
        fresh.stats()
        fresh.entries()
        fresh.prune()
        fresh.prune(max_entries=1)
        fresh.verify()
        fresh.clear(stale=True)
        where = ["--url", location] if isinstance(location, str) else ["--dir", str(location)]
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
            for command in (["list"], ["list", "--function", "square"], ["info"], ["verify"], ["prune"]):
                assert main([*where, *command]) in (0, 1)
    finally:
        logging.getLogger("pkcache").disabled = False
        fresh.store.close()


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(name=st.sampled_from(FILES), content=CONTENT)
def test_fuzzed_metadata_files_never_break_the_caller_or_a_listing(
    tmp_path_factory: pytest.TempPathFactory, name: str, content: bytes
) -> None:
    cache_dir = tmp_path_factory.mktemp("fuzz") / "cache"
    function = pkcache.Cache(cache_dir).cached(square, max_entries=3)
    assert function(2) == 4
    function.flush_usage()
    [folder] = [p for p in cache_dir.iterdir() if p.is_dir()]
    (folder / name).write_bytes(content)
    exercise(cache_dir)


REDIS_KEYS = ["m:NS", "config", "ul:NS", "us:NS", "ns", "i:NS", "t:NS", "t"]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("redis", reason="the redis extra is not installed")
    from tests.redisserver import RedisServer

    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(key=st.sampled_from(REDIS_KEYS), content=CONTENT)
def test_fuzzed_redis_metadata_never_breaks_the_caller_or_a_listing(redis_url: str, key: str, content: bytes) -> None:
    import redis

    os.environ["PKCACHE_SECRET"] = "a secret shared by these fuzzed runs"
    try:
        client = redis.Redis.from_url(redis_url)
        client.flushdb()
        function = pkcache.Cache(redis_url).cached(square, max_entries=3)
        assert function(2) == 4
        function.flush_usage()
        [namespace] = [m.decode() for m in client.smembers("pkcache:ns")]
        name = "pkcache:" + key.replace("NS", namespace)
        kind = {"ul": "list", "ns": "set", "i": "hash", "t": "hash"}.get(key.split(":", maxsplit=1)[0], "string")
        client.delete(name)
        if kind == "list":
            client.rpush(name, content)
        elif kind == "set":
            client.sadd(name, namespace, content)
        elif kind == "hash":
            client.hset(name, mapping={"n" if key.startswith("t") else "v-0000000000000000:ab": content})
        else:
            client.set(name, content)
        client.close()
        exercise(redis_url)
    finally:
        del os.environ["PKCACHE_SECRET"]


def test_listing_a_function_reads_each_entry_once(cache_dir: Path) -> None:
    function = pkcache.Cache(cache_dir).cached(square)
    for x in range(300):
        function(x)
    code = (
        "import sys\n"
        "seen = {'open': 0, 'os.scandir': 0}\n"
        "def count(event, args):\n"
        "    if event == 'os.scandir' or (event == 'open' and str(args[0]).endswith('.pkl')):\n"
        "        seen[event] += 1\n"
        "sys.addaudithook(count)\n"
        "from pkcache._cli.main import main\n"
        f"status = main(['--dir', {str(cache_dir)!r}, 'list', '--function', 'square'])\n"
        "print(status, seen['open'], seen['os.scandir'], file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    status, opened, listed = out.stderr.split()[-3:]
    assert status == "0"
    assert int(opened) <= 300  # each entry's header, once
    assert int(listed) <= 300  # the folders, listed once: not once per row
    assert out.stdout.count("x=") == 300
    assert os.path.isdir(cache_dir)
