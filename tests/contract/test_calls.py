"""Contract: hits, keys and results are the same whatever the store."""

from __future__ import annotations

import asyncio
import logging
import textwrap
from pathlib import Path

import pytest

import pkcache
from tests.contract.conftest import Backend
from tests.helpers import run_python


def test_a_second_call_is_a_hit_with_an_equal_result(cache: pkcache.Cache) -> None:
    runs: list[object] = []

    @cache.cached
    def summarize(config: dict[str, int], tags: set[str]) -> dict[str, object]:
        runs.append(config)
        return {"n": sum(config.values()), "tags": sorted(tags)}

    first = summarize({"b": 2, "a": 1}, {"x", "y"})
    again = summarize({"a": 1, "b": 2}, {"y", "x"})  # equal arguments, another order
    assert first == again == {"n": 3, "tags": ["x", "y"]}
    assert len(runs) == 1
    info = summarize.cache_info()
    assert (info.hits, info.misses, info.entries) == (1, 1, 1)


def test_the_key_of_a_call_does_not_depend_on_the_store(cache: pkcache.Cache, tmp_path: Path) -> None:
    elsewhere = pkcache.Cache(tmp_path / "another-directory")

    def body(x: int, *, scale: float = 1.0) -> float:
        return x * scale

    here, there = cache.cached(body), elsewhere.cached(body)
    assert here.cache_key(3, scale=2.0) == there.cache_key(3, scale=2.0) == there.cache_key(x=3, scale=2.0)
    assert here.cache_key(3) != here.cache_key(4)


MODULE = """
import os
import pkcache

@pkcache.cached
def features(config, tags):
    with open(os.environ["RUNS_FILE"], "a") as f:
        f.write(f"{os.getpid()}\\n")
    return {"n": len(config), "tags": sorted(tags), "pid": os.getpid()}
"""


def test_a_result_stored_by_one_process_is_a_hit_in_another(backend: Backend, tmp_path: Path) -> None:
    (tmp_path / "features_mod.py").write_text(MODULE)
    env = {**backend.child_env(tmp_path), "RUNS_FILE": str(tmp_path / "runs.txt")}
    first = run_python(
        "from features_mod import features\nprint(features({'b': 2, 'a': 1}, {'red', 'green'})['pid'])",
        env={**env, "PYTHONHASHSEED": "1"},
    )
    second = run_python(
        textwrap.dedent(
            """
            from features_mod import features
            print(features({"a": 1, "b": 2}, {"green", "red"})["pid"])
            print(features.cache_info().hits)
            """
        ),
        env={**env, "PYTHONHASHSEED": "999"},
    )
    assert second.split() == [first.strip(), "1"]
    assert len((tmp_path / "runs.txt").read_text().split()) == 1


def test_async_calls_of_one_key_compute_once(cache: pkcache.Cache) -> None:
    runs: list[int] = []

    @cache.cached
    async def fetch(x: int) -> int:
        runs.append(x)
        await asyncio.sleep(0.05)
        return x * 2

    async def main() -> list[int]:
        return list(await asyncio.gather(fetch(3), fetch(3), fetch(3)))

    assert asyncio.run(main()) == [6, 6, 6]
    assert runs == [3]
    assert asyncio.run(fetch(3)) == 6
    assert runs == [3]


def test_large_array_results_come_back_equal_and_writable(cache: pkcache.Cache) -> None:
    np = pytest.importorskip("numpy")

    @cache.cached
    def arange(n: int) -> object:
        return np.arange(n, dtype=np.float64)

    first = arange(500_000)
    again = arange(500_000)
    assert arange.cache_info().hits == 1
    assert np.array_equal(first, again)
    again[0] = 42.0  # writable, with nothing shared with the store
    assert arange(500_000)[0] == 0.0


def test_refresh_entry_and_is_cached(cache: pkcache.Cache) -> None:
    runs: list[int] = []

    @cache.cached
    def square(x: int) -> int:
        runs.append(x)
        return x * x

    assert not square.is_cached(4)
    assert square.entry(4).get("absent") == "absent"
    square.entry(4).put(99)  # stored as if computed
    assert square.is_cached(4)
    assert square(4) == 99
    assert square.refresh(4) == 16  # runs the body, replaces the stored result
    assert square(4) == 16
    assert runs == [4]
    assert square.entry(4).exists()
    assert square.entry(4).invalidate()
    assert not square.is_cached(4)


def test_an_unpicklable_result_is_returned_not_stored(cache: pkcache.Cache, caplog: pytest.LogCaptureFixture) -> None:
    @cache.cached
    def make(x: int) -> object:
        return lambda: x

    with caplog.at_level(logging.WARNING, logger="pkcache"):
        result = make(1)
    assert callable(result)
    assert not make.is_cached(1)
    assert any("make" in r.getMessage() for r in caplog.records)
