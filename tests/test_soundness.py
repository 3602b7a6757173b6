"""No wrong hits: calls the function could tell apart never share a key; equal calls always do.

Each case of issue 14 is an example here, through the public API (``cache_key`` and real
calls); the properties at the end check the rule over generated values.
"""

from __future__ import annotations

import functools
import json
import os
import pickle
import subprocess
import sys
import threading
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pkcache
from tests import keycases
from tests.keycases import VALUES, rebuild, safe_key, same, variants

ROOT = Path(__file__).resolve().parent.parent


def identity(value: Any) -> Any:
    return value


def keys_differ(cache: pkcache.Cache, one: Any, two: Any) -> bool:
    function = cache.cached(identity)
    return function.cache_key(one) != function.cache_key(two)


# -- containers that are more than their items ------------------------------------------


class Params(dict):  # type: ignore[type-arg]
    def __init__(self, scale: int, **items: int) -> None:
        super().__init__(**items)
        self.scale = scale


class Slotted(dict):  # type: ignore[type-arg]
    __slots__ = ("unit",)


class Reducing(dict):  # type: ignore[type-arg]
    """A dict subclass that pickles through a reduce of its own."""

    def __init__(self, items: Any = (), offset: int = 0) -> None:
        super().__init__(items)
        self.offset = offset

    def __reduce__(self) -> Any:
        return (Reducing, (dict(self), self.offset))


class Tags(set):  # type: ignore[type-arg]
    __slots__ = ("owner",)


def test_dict_subclass_attributes_slots_and_reduce_are_in_the_key(cache: pkcache.Cache) -> None:
    @cache.cached
    def total(params: Params) -> int:
        return sum(params.values()) * params.scale

    assert total(Params(1, x=2)) == 2
    assert total(Params(10, x=2)) == 20
    one, two = Slotted(a=1), Slotted(a=1)
    one.unit, two.unit = "m", "s"
    assert keys_differ(cache, one, two)
    assert keys_differ(cache, Reducing({"a": 1}, 0), Reducing({"a": 1}, 5))
    # ...while the items still go in a canonical order.
    assert not keys_differ(cache, Params(1, x=1, y=2), Params(1, y=2, x=1))


def test_simple_cookies_with_other_values_are_other_keys(cache: pkcache.Cache) -> None:
    @cache.cached
    def sid(cookie: SimpleCookie) -> str:
        return cookie["sid"].value

    assert sid(SimpleCookie("sid=alice")) == "alice"
    assert sid(SimpleCookie("sid=bob")) == "bob"


def test_set_subclass_state_is_in_the_key_and_its_items_are_ordered(cache: pkcache.Cache) -> None:
    one, two = Tags({1, 2}), Tags({1, 2})
    one.owner, two.owner = "a", "b"
    assert keys_differ(cache, one, two)
    words = [f"word{i}" for i in range(50)]
    forward, backward = Tags(words), Tags(reversed(words))
    forward.owner = backward.owner = "x"
    assert not keys_differ(cache, forward, backward)


def test_set_subclass_keys_do_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    code = (
        "import pkcache\n"
        "from tests.keycases import TaggedSet, probe\n"
        f"f = pkcache.Cache({str(tmp_path / 'cache')!r}).cached(probe)\n"
        "print(f.cache_key(TaggedSet({'alpha', 'beta', 'gamma', 'delta', 'epsilon'}, tag='t')))\n"
    )
    keys = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3", "4")
    }
    assert len(keys) == 1


# -- pandas metadata --------------------------------------------------------------------


def _with_attrs(series: pd.Series, **attrs: Any) -> pd.Series:
    series = series.copy()
    series.attrs.update(attrs)
    return series


NUMBERS = pd.Series([1, 2, 3])
PANDAS_PAIRS = {
    "index name": (NUMBERS, NUMBERS.rename_axis("i")),
    "series name": (NUMBERS, NUMBERS.rename("n")),
    "columns name": (pd.DataFrame({"a": [1]}), pd.DataFrame({"a": [1]}).rename_axis(columns="c")),
    "multiindex level names": (
        pd.DataFrame({"v": [1]}, index=pd.MultiIndex.from_tuples([(1, 2)], names=["a", "b"])),
        pd.DataFrame({"v": [1]}, index=pd.MultiIndex.from_tuples([(1, 2)], names=["a", "c"])),
    ),
    "attrs": (NUMBERS, _with_attrs(NUMBERS, unit="m")),
    "int64 vs Int64": (NUMBERS, NUMBERS.astype("Int64")),
    "float64 vs Float64": (NUMBERS.astype(float), NUMBERS.astype("Float64")),
    "bool vs boolean": (pd.Series([True, False]), pd.Series([True, False], dtype="boolean")),
    "object vs str": (pd.Series(["a"], dtype=object), pd.Series(["a"], dtype="str")),
    "str vs string": (pd.Series(["a"], dtype="str"), pd.Series(["a"], dtype="string")),
    "object vs string": (pd.Series(["a"], dtype=object), pd.Series(["a"], dtype="string")),
    "sparse": (NUMBERS, NUMBERS.astype(pd.SparseDtype("int64"))),
    "categorical vs object": (pd.Series(["a"], dtype=object), pd.Series(["a"], dtype="category")),
    "unused category": (
        pd.Series(pd.Categorical(["a"], categories=["a"])),
        pd.Series(pd.Categorical(["a"], categories=["a", "b"])),
    ),
    "ordered category order": (
        pd.Series(pd.Categorical(["a", "b"], categories=["a", "b"], ordered=True)),
        pd.Series(pd.Categorical(["a", "b"], categories=["b", "a"], ordered=True)),
    ),
    "ordered vs unordered": (
        pd.Series(pd.Categorical(["a"], categories=["a"], ordered=True)),
        pd.Series(pd.Categorical(["a"], categories=["a"])),
    ),
    "index dtype": (pd.Series([1], index=pd.Index([0])), pd.Series([1], index=pd.Index([0.0]))),
    "duplicate labels flag": (NUMBERS, NUMBERS.set_flags(allows_duplicate_labels=False)),
    "frame column dtype": (pd.DataFrame({"a": [1]}), pd.DataFrame({"a": pd.array([1], dtype="Int64")})),
    "datetime unit": (
        pd.Series(pd.to_datetime(["2026-01-02"]).as_unit("ns")),
        pd.Series(pd.to_datetime(["2026-01-02"]).as_unit("s")),
    ),
    "time zone": (
        pd.Series(pd.to_datetime(["2026-01-02"])),
        pd.Series(pd.to_datetime(["2026-01-02"]).tz_localize("UTC")),
    ),
}


@pytest.mark.parametrize(("one", "two"), PANDAS_PAIRS.values(), ids=PANDAS_PAIRS.keys())
def test_pandas_objects_differing_only_in_metadata_are_other_keys(cache: pkcache.Cache, one: Any, two: Any) -> None:
    assert not same(one, two)
    assert keys_differ(cache, one, two)


def test_a_value_count_that_an_unused_category_changes_is_computed_again(cache: pkcache.Cache) -> None:
    @cache.cached
    def counts(series: pd.Series) -> int:
        return len(series.value_counts())

    assert counts(pd.Series(pd.Categorical(["a"], categories=["a"]))) == 1
    assert counts(pd.Series(pd.Categorical(["a"], categories=["a", "b"]))) == 2


def test_frames_built_another_way_key_alike(cache: pkcache.Cache) -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": [1.5, 2.5], "c": ["x", "y"], "d": pd.array([1, None], dtype="Int64")})
    frame.attrs["source"] = "db"
    rebuilt = pd.DataFrame({name: frame[name].copy() for name in ["a", "b", "c", "d"]})
    rebuilt.attrs["source"] = "db"
    consolidated = frame.copy()  # one block per dtype, where the original had one per column
    assert not keys_differ(cache, frame, rebuilt)
    assert not keys_differ(cache, frame, consolidated)


# -- captured values, bound methods, partials and callable objects --------------------------


def test_closure_capturing_a_lambda_is_keyed_by_the_lambdas_captured_value(cache: pkcache.Cache) -> None:
    def make(power: int) -> Any:
        raise_to = lambda value: value**power  # noqa: E731 - the case of issue 14

        @cache.cached
        def score(x: int) -> int:
            return raise_to(x)

        return score

    assert make(2)(3) == 9
    assert make(3)(3) == 27
    assert make(2)(3) == 9


def test_captured_partials_bound_methods_and_local_functions_are_fingerprinted(cache: pkcache.Cache) -> None:
    class Scale:
        def __init__(self, k: int) -> None:
            self.k = k

        def apply(self, x: int) -> int:
            return x * self.k

    def make(helper: Any) -> Any:
        @cache.cached
        def run(x: int) -> int:
            return helper(x)

        return run

    assert make(functools.partial(pow, exp=2))(3) == 9
    assert make(functools.partial(pow, exp=3))(3) == 27
    assert make(Scale(2).apply)(3) == 6
    assert make(Scale(5).apply)(3) == 15

    def local(offset: int) -> Any:
        def add(x: int) -> int:
            return x + offset

        return add

    assert make(local(1))(3) == 4
    assert make(local(100))(3) == 103


def test_a_captured_value_that_cannot_be_fingerprinted_runs_uncached_with_one_warning(
    cache: pkcache.Cache, caplog: pytest.LogCaptureFixture
) -> None:
    runs = []

    def make(lock: Any) -> Any:
        @cache.cached
        def guarded(x: int) -> int:
            with lock:
                runs.append(x)
                return x

        return guarded

    guarded = make(threading.Lock())
    assert [guarded(1), guarded(1), guarded(1)] == [1, 1, 1]
    assert runs == [1, 1, 1]  # never a shared key, never stored
    warnings = [r for r in caplog.records if "cannot be fingerprinted" in r.getMessage()]
    assert len(warnings) == 1
    assert "lock" in warnings[0].getMessage()
    with pytest.raises(pkcache.UncacheableFunctionError, match="lock"):
        guarded.cache_key(1)


class Scaler:
    def __init__(self, factor: int, cache: pkcache.Cache) -> None:
        self.factor = factor
        self.scale = cache.cached(self.scale)

    def scale(self, x: int) -> int:
        return x * self.factor


def test_a_bound_method_cached_per_instance_keys_by_its_instance(cache: pkcache.Cache) -> None:
    assert Scaler(2, cache).scale(5) == 10
    assert Scaler(3, cache).scale(5) == 15
    assert Scaler(2, cache).scale.is_cached(5)
    assert not Scaler(4, cache).scale.is_cached(5)


def test_partials_and_callable_objects_have_stable_names_and_keys(tmp_path: Path) -> None:
    script = tmp_path / "named.py"
    script.write_text(
        "import functools, sys, pkcache\n"
        "def power(x, n):\n    return x ** n\n"
        "class Multiply:\n"
        "    def __init__(self, k):\n        self.k = k\n"
        "    def __call__(self, x):\n        return x * self.k\n"
        f"cache = pkcache.Cache({str(tmp_path / 'cache')!r})\n"
        "square, cube = cache.cached(functools.partial(power, n=2)), cache.cached(functools.partial(power, n=3))\n"
        "double, triple = cache.cached(Multiply(2)), cache.cached(Multiply(3))\n"
        "print(square.name, square.cache_key(4), cube.cache_key(4), double.name, double.cache_key(4), "
        "triple.cache_key(4), square(4), cube(4), double(4), triple(4))\n"
    )
    runs = [
        subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True).stdout.split()
        for _ in range(2)
    ]
    assert runs[0] == runs[1]  # the same names and keys in another process: no memory address in them
    name, square_key, cube_key, double_name, double_key, triple_key, *results = runs[0]
    assert name == "named.py:power"
    assert double_name == "named.py:Multiply.__call__"
    assert len({square_key, cube_key, double_key, triple_key}) == 4
    assert results == ["16", "64", "8", "12"]
    listed = pkcache.Cache(tmp_path / "cache").functions()
    assert sorted(s.function for s in listed) == ["named.py:Multiply.__call__", "named.py:power"]


# -- factory siblings share a version, not results ----------------------------------------


def test_factory_siblings_are_never_each_others_stale_versions(cache: pkcache.Cache) -> None:
    def make(scale: int) -> Any:
        @cache.cached(max_entries=4, policy="lfu")
        def scaled(x: int) -> int:
            return x * scale

        return scaled

    double, triple = make(2), make(3)
    assert [double(1), triple(1)] == [2, 3]  # triple's manifest is written last
    assert [double(1), double(1), double(1)] == [2, 2, 2]  # read often: the last to go under lfu
    assert [double.cache_info().stale, triple.cache_info().stale] == [0, 0]
    assert cache.clear(stale=True) == (0, 0)
    assert double.is_cached(1)
    assert triple.is_cached(1)
    [summary] = cache.functions()
    assert (summary.entries, summary.stale) == (2, 0)
    assert [double(2), double(3), double(4)] == [4, 6, 8]  # the fifth entry evicts one: the least read
    assert double.is_cached(1)
    assert not triple.is_cached(1)


# -- sharing, read-only flags and layouts ----------------------------------------------


def test_equal_immutable_values_key_alike_however_they_are_shared(cache: pkcache.Cache) -> None:
    literal = ["price", "qty", "price"]
    loaded = json.loads('["price", "qty", "price"]')
    assert literal[0] is literal[2]
    assert loaded[0] is not loaded[2]
    assert not keys_differ(cache, literal, loaded)
    text, copy = "hello world", "".join(["hello", " world"])
    pair = cache.cached(lambda a, b: (a, b))
    assert pair.cache_key(text, text) == pair.cache_key(text, copy)
    assert pair.cache_key((text, 1), (text, 1)) == pair.cache_key((copy, 1), (text, 1))
    dtype = np.dtype("float64")
    assert not keys_differ(cache, [dtype, dtype], [dtype, pickle.loads(pickle.dumps(dtype))])


def test_one_mutable_object_twice_is_not_two_equal_ones(cache: pkcache.Cache) -> None:
    @cache.cached
    def append_to_first(a: list[int], b: list[int]) -> list[int]:
        a.append(1)
        return b

    shared = [0]
    assert append_to_first(shared, shared) == [0, 1]
    assert append_to_first([0], [0]) == [0]


def test_arrays_key_by_values_whatever_their_flags_layout_or_mapping(cache: pkcache.Cache, tmp_path: Path) -> None:
    array = np.arange(12.0).reshape(3, 4)
    read_only = array.copy()
    read_only.flags.writeable = False
    mapped = np.memmap(tmp_path / "m.dat", dtype="float64", mode="w+", shape=(3, 4))
    mapped[:] = array
    mapped.flush()
    strided = np.arange(24.0).reshape(3, 8)[:, ::2] / 2 * 1
    assert np.array_equal(strided, np.ascontiguousarray(strided))
    for other in (read_only, np.asfortranarray(array), mapped, np.memmap(tmp_path / "m.dat", dtype="float64", mode="r",
                                                                          shape=(3, 4))):  # fmt: skip
        assert not keys_differ(cache, array, other)
    assert not keys_differ(cache, strided, np.ascontiguousarray(strided))
    assert keys_differ(cache, array, array.T)
    assert keys_differ(cache, array, array.astype(np.float32))
    assert keys_differ(cache, array, array.reshape(4, 3))
    assert keys_differ(cache, array, array.astype(">f8"))


def test_a_mapped_result_passed_downstream_hits(cache: pkcache.Cache) -> None:
    @cache.cached(mmap_mode="r")
    def load(n: int) -> np.ndarray:  # type: ignore[type-arg]
        return np.arange(n, dtype=np.float64)

    @cache.cached
    def total(values: np.ndarray) -> float:  # type: ignore[type-arg]
        runs.append(1)
        return float(values.sum())

    runs: list[int] = []
    n = 1 << 17  # 1 MiB: stored out-of-band and mapped on a hit
    assert total(load(n)) == total(load(n)) == total(np.arange(n, dtype=np.float64))
    assert runs == [1]


# -- the properties ---------------------------------------------------------------------
# A fast profile runs in the default suite; the long one is marked slow:
# python -m pytest -m slow tests/test_soundness.py


def fast(examples: int) -> Any:
    return settings(max_examples=examples, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


def long(examples: int) -> Any:
    def apply(test: Any) -> Any:
        slow = settings(
            max_examples=examples, deadline=None, derandomize=False, suppress_health_check=list(HealthCheck)
        )
        return pytest.mark.slow(pytest.mark.timeout(3600)(slow(test)))

    return apply


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return keycases.key_function(str(tmp_path_factory.mktemp("keys") / "cache"))


def no_wrong_hit(probe: Any, one: Any, two: Any) -> None:
    """Whenever two values share a key, they are indistinguishable: a value, an unrelated
    value, and every near miss of the value (one attribute, dtype, name, type changed)."""
    first = safe_key(probe, one)
    for other in [two, *variants(one)]:
        if first is not None and first == safe_key(probe, other):
            assert same(one, other), f"one key for {one!r} and {other!r}"


def reached_another_way(probe: Any, value: Any) -> None:
    """Another insertion order, other sharing, another memory layout: the same key."""
    assert same(value, rebuild(value))
    assert safe_key(probe, value) == safe_key(probe, rebuild(value))


def fresh_interpreter(probe: Any, values: list[Any], tmp_path_factory: pytest.TempPathFactory) -> None:
    """Pickled here, rebuilt in a child with another PYTHONHASHSEED: the same keys."""
    folder = tmp_path_factory.mktemp("fresh")
    (folder / "values.pkl").write_bytes(pickle.dumps(values, protocol=5))
    here = [safe_key(probe, v) for v in values]
    code = (
        "import json, pickle, sys\n"
        "from tests.keycases import key_function, rebuild, safe_key\n"
        f"values = pickle.loads(open({str(folder / 'values.pkl')!r}, 'rb').read())\n"
        f"probe = key_function({str(folder / 'cache')!r})\n"
        "print(json.dumps([safe_key(probe, rebuild(v)) for v in values]))\n"
    )
    for seed in ("7", "12345"):
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            timeout=300,
            check=False,
        )
        assert out.returncode == 0, out.stderr
        there = json.loads(out.stdout)
        mismatched = [repr(v) for v, a, b in zip(values, here, there, strict=True) if a != b]
        assert not mismatched, f"keys differ in a fresh interpreter for: {mismatched}"


PAIRS = given(one=VALUES, two=VALUES)
ONE = given(value=VALUES)
BATCH = given(values=st.lists(VALUES, min_size=25, max_size=25))

test_property_no_wrong_hit = fast(150)(PAIRS(no_wrong_hit))
test_property_no_wrong_hit_long = long(5000)(PAIRS(no_wrong_hit))
test_property_the_same_value_reached_another_way_keys_alike = fast(150)(ONE(reached_another_way))
test_property_the_same_value_reached_another_way_keys_alike_long = long(5000)(ONE(reached_another_way))
test_property_keys_are_the_same_in_a_fresh_interpreter = pytest.mark.timeout(900)(fast(2)(BATCH(fresh_interpreter)))
test_property_keys_are_the_same_in_a_fresh_interpreter_long = long(40)(BATCH(fresh_interpreter))
