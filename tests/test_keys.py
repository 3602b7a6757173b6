"""Keys: the same call gives the same key in any process, whatever PYTHONHASHSEED is."""

from __future__ import annotations

import collections
import itertools
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pkcache._keys.hashes import new_hash
from pkcache._keys.pickler import PICKLING_ERRORS, ArgumentHasher, canonical_bytes


def key_of(value: object) -> str:
    hasher = ArgumentHasher(new_hash(b"prefix"))
    hasher.feed(value)
    return hasher.hexdigest()


def test_dicts_built_in_any_order_hash_alike() -> None:
    items = [("b", 1), ("a", [1, 2]), ("c", {"y": 1, "x": 2})]
    keys = {key_of(dict(order)) for order in itertools.permutations(items)}
    assert len(keys) == 1


def test_nested_sets_hash_alike_whatever_their_iteration_order() -> None:
    one = {"outer": {frozenset({"x", "y"}), frozenset({"z"})}, "s": {"a", "b", "c"}}
    two = {"s": {"c", "b", "a"}, "outer": {frozenset({"z"}), frozenset({"y", "x"})}}
    assert key_of(one) == key_of(two)


def test_mixed_type_dict_keys_and_set_elements_are_ordered_canonically() -> None:
    assert key_of({1: "a", "1": "b", (1,): "c"}) == key_of({(1,): "c", "1": "b", 1: "a"})
    assert key_of({1, "1", 2.5, None}) == key_of({None, 2.5, "1", 1})


def test_numbers_of_different_types_stay_distinct() -> None:
    assert len({key_of(1), key_of(1.0), key_of(True), key_of("1")}) == 4
    assert key_of(0.0) != key_of(-0.0)


def test_ordered_dict_order_matters_because_its_equality_does() -> None:
    assert key_of(collections.OrderedDict(a=1, b=2)) != key_of(collections.OrderedDict(b=2, a=1))


def test_defaultdict_and_counter_are_canonical() -> None:
    one = collections.defaultdict(list, {"a": [1], "b": [2]})
    two = collections.defaultdict(list, {"b": [2], "a": [1]})
    assert key_of(one) == key_of(two)
    assert key_of(collections.Counter("abc")) == key_of(collections.Counter("cba"))
    assert key_of(one) != key_of(dict(one))


def test_arrays_hash_by_content_out_of_band() -> None:
    array = np.arange(100_000, dtype=np.float64)
    assert key_of(array) == key_of(array.copy())
    changed = array.copy()
    changed[-1] += 1
    assert key_of(array) != key_of(changed)
    assert key_of(array) != key_of(array.astype(np.float32))
    assert key_of(array) != key_of(array.reshape(1000, 100))


def test_equal_values_hash_alike_in_interpreters_with_other_hash_seeds() -> None:
    code = (
        "from pkcache._keys.hashes import new_hash\n"
        "from pkcache._keys.pickler import ArgumentHasher\n"
        "h = ArgumentHasher(new_hash(b'prefix'))\n"
        "h.feed(({'b': {'q', 'p', 'r'}, 'a': frozenset({'x', ('y', 1)})}, {'k', 'j'}))\n"
        "print(h.hexdigest())\n"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": seed}
        ).stdout.strip()
        for seed in ("0", "1", "12345", "random")
    }
    assert len(digests) == 1
    assert key_of(({"a": frozenset({("y", 1), "x"}), "b": {"r", "p", "q"}}, {"j", "k"})) in digests


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=6), json_like, max_size=8), st.randoms(use_true_random=False))
def test_any_dict_and_any_reordering_of_it_hash_alike(value: dict[str, object], rng: object) -> None:
    items = list(value.items())
    rng.shuffle(items)  # type: ignore[attr-defined]
    assert key_of(dict(items)) == key_of(value)


@given(st.sets(st.integers() | st.text(max_size=4), max_size=12))
def test_any_set_hashes_like_its_frozenset_sorted_rebuild(value: set[object]) -> None:
    rebuilt = set(sorted(value, key=canonical_bytes, reverse=True))
    assert key_of(rebuilt) == key_of(value)


def test_unpicklable_values_raise_a_pickling_error() -> None:
    with open(__file__) as handle:
        for value in (lambda: 1, handle, (x for x in ())):
            with pytest.raises(PICKLING_ERRORS):
                key_of(value)


def test_data_frames_hash_by_content() -> None:
    pd = pytest.importorskip("pandas")
    rows = 10_000
    frame = pd.DataFrame(
        {
            "id": np.arange(rows),
            "value": np.linspace(0, 1, rows),
            "name": [f"name-{i % 50}" for i in range(rows)],
        }
    )
    rebuilt = pd.DataFrame({"name": list(frame["name"]), "id": frame["id"].copy(), "value": frame["value"] * 1.0})[
        ["id", "value", "name"]
    ]
    assert key_of(frame) == key_of(rebuilt)  # another block layout, same content
    changed_text = frame.copy()
    changed_text.loc[7, "name"] = "other"
    changed_number = frame.copy()
    changed_number.loc[7, "value"] = -1.0
    shifted = frame.copy()
    shifted.index = shifted.index + 1
    reordered = frame[["name", "id", "value"]]
    renamed = frame.rename(columns={"id": "key"})
    variants = [frame, changed_text, changed_number, shifted, reordered, renamed, frame["name"], frame["id"]]
    assert len({key_of(v) for v in variants}) == len(variants)


def test_frame_text_columns_are_told_apart_even_with_nul_and_mixed_values() -> None:
    pd = pytest.importorskip("pandas")
    assert key_of(pd.Series(["a\0b"])) != key_of(pd.Series(["a", "b"]))
    assert key_of(pd.Series(["a\0b", "c"])) != key_of(pd.Series(["a", "b\0c"]))
    mixed = pd.DataFrame({"a": ["x", None, 3, 2.5]})
    assert key_of(mixed) == key_of(mixed.copy())
    assert key_of(mixed) != key_of(pd.DataFrame({"a": ["x", None, 3, 2.6]}))


def test_frames_of_every_common_column_type_hash_by_content() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {
            "when": pd.date_range("2020-01-01", periods=5),
            "kind": pd.Categorical(list("abcab")),
            "delay": pd.to_timedelta(np.arange(5), "s"),
            "flag": [True, False, True, False, True],
            "count": pd.array([1, None, 3, 4, 5], dtype="Int64"),
        }
    )
    assert key_of(frame) == key_of(frame.copy())
    for column, value in (("when", pd.Timestamp("2021-01-01")), ("kind", "c"), ("count", 2), ("flag", True)):
        changed = frame.copy()
        changed.loc[1, column] = value
        assert key_of(changed) != key_of(frame), column
