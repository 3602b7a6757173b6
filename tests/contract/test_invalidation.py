"""Contract: what makes a result a miss, and what removes it, on every store."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pkcache
from tests.contract.conftest import Backend
from tests.helpers import run_python


def test_invalidate_cache_clear_and_clear_by_function(cache: pkcache.Cache) -> None:
    @cache.cached
    def a(x: int) -> int:
        return x

    @cache.cached
    def b(x: int) -> int:
        return x

    for x in range(3):
        a(x), b(x)
    assert a.invalidate(1)
    assert not a.invalidate(1)
    assert [a.is_cached(x) for x in range(3)] == [True, False, True]
    assert a.cache_clear() == 2
    assert [s.function.rsplit(".", 1)[-1] for s in cache.functions()] == ["b"]
    assert len(cache.doomed("b")) == 3
    removed, size = cache.clear("b")
    assert (removed, size > 0) == (3, True)
    assert cache.stats().entries == 0


VERSION_RUNS: list[int] = []  # a global: a captured list would be part of the key


def test_a_version_bump_is_a_miss_and_reverting_it_a_hit(cache: pkcache.Cache) -> None:
    def model(x: int, *, version: int) -> int:
        VERSION_RUNS.append(version)
        return x * version

    VERSION_RUNS.clear()
    one, two = cache.cached(version=1)(model), cache.cached(version=2)(model)
    assert one(5, version=1) == 5
    assert two(5, version=2) == 10
    assert cache.cached(version=1)(model)(5, version=1) == 5  # a new wrapper, the first version's result
    assert VERSION_RUNS == [1, 2]


def test_an_edited_function_misses_in_the_next_process_and_its_old_results_are_stale(
    backend: Backend, cache: pkcache.Cache, tmp_path: Path
) -> None:
    module = tmp_path / "model_mod.py"
    env = backend.child_env(tmp_path)
    call = "from model_mod import model\nprint(model(3), model.cache_info().hits)"
    module.write_text("import pkcache\n\n@pkcache.cached\ndef model(x):\n    return x + 1\n")
    assert run_python(call, env=env).split() == ["4", "0"]
    assert run_python(call, env=env).split() == ["4", "1"]
    module.write_text("import pkcache\n\n# a comment moves nothing\n@pkcache.cached\ndef model(x):\n    return x + 1\n")
    assert run_python(call, env=env).split() == ["4", "1"]  # same code: same results
    module.write_text("import pkcache\n\n@pkcache.cached\ndef model(x):\n    return x + 2\n")
    assert run_python(call, env=env).split() == ["5", "0"]  # edited: a miss
    [summary] = cache.functions()
    assert (summary.entries, summary.stale) == (2, 1)
    assert cache.clear(stale=True)[0] == 1
    assert run_python(call, env=env).split() == ["5", "1"]
    code = textwrap.dedent(
        """
        from model_mod import model
        print(model.cache_clear())
        """
    )
    assert run_python(code, env=env).split() == ["1"]
