"""Values for the key soundness properties: strategies, an exact comparison, and a rebuilder.

Importable by child interpreters (``python -c "import tests.keycases"`` from the
repository root), so that values pickled here can be rebuilt and keyed there.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import math
import struct
import warnings
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import strategies as st

import pkcache

# -- classes a user might pass -----------------------------------------------------------


class Color(enum.Enum):
    RED = 1
    BLUE = 2


class AttrDict(dict):  # type: ignore[type-arg]
    """A dict subclass with state of its own, like ``class Params(dict)``."""

    def __init__(self, items: Any = (), tag: Any = None) -> None:
        super().__init__(items)
        self.tag = tag


class SlotSet(frozenset):  # type: ignore[type-arg]
    """A frozenset subclass whose state lives in a slot."""

    __slots__ = ("tag",)

    def __new__(cls, items: Any = (), tag: Any = None) -> SlotSet:
        made = super().__new__(cls, items)
        made.tag = tag
        return made


class TaggedSet(set):  # type: ignore[type-arg]
    """A set subclass with an attribute (pickled through ``set.__reduce__``)."""

    def __init__(self, items: Any = (), tag: Any = None) -> None:
        super().__init__(items)
        self.tag = tag


class TaggedList(list):  # type: ignore[type-arg]
    def __init__(self, items: Any = (), tag: Any = None) -> None:
        super().__init__(items)
        self.tag = tag


@dataclasses.dataclass
class Point:
    x: Any
    y: Any


@dataclasses.dataclass(frozen=True)
class FrozenPoint:
    x: Any
    y: Any


# -- strategies: small domains, so that near-equal pairs are frequent ----------------------

TEXTS = st.sampled_from(["", "a", "b", "ab", "ba", "a\0b", "é", "price"])
FLOATS = st.sampled_from([0.0, -0.0, 1.5, -1.5, math.inf, math.nan])
HASHABLE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    FLOATS,
    TEXTS,
    st.binary(max_size=2),
    st.sampled_from([Color.RED, Color.BLUE]),
    st.sampled_from([1, 1.0, True, 1j, 0, False, 0j]),
)
NAMES = st.sampled_from([None, "a", "b", 0, ("a", 1)])


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    keys = st.one_of(TEXTS, st.integers(-2, 2))
    dicts = st.dictionaries(keys, children, max_size=3)
    return st.one_of(
        st.lists(children, max_size=3),
        st.tuples(children, children),
        dicts,
        st.builds(collections.OrderedDict, st.lists(st.tuples(keys, children), max_size=3)),
        st.builds(AttrDict, dicts, tag=HASHABLE),
        st.builds(TaggedList, st.lists(children, max_size=2), tag=HASHABLE),
        st.builds(Point, children, children),
        st.builds(FrozenPoint, HASHABLE, HASHABLE),
        st.sets(HASHABLE, max_size=3),
        st.frozensets(HASHABLE, max_size=3),
        st.builds(TaggedSet, st.sets(HASHABLE, max_size=3), tag=HASHABLE),
        st.builds(SlotSet, st.sets(HASHABLE, max_size=3), tag=HASHABLE),
        # One mutable object twice, or two equal ones: the body can tell them apart.
        children.map(lambda c: [c, c]),
    )


PLAIN_VALUES = st.recursive(HASHABLE, _containers, max_leaves=6)

ARRAY_DTYPES = ["int8", "int64", "uint16", "float32", "float64", ">f8", "complex64", "bool", "M8[ns]", "M8[D]",
                "m8[s]", "U3", "S2"]  # fmt: skip


@st.composite
def arrays(draw: st.DrawFn) -> np.ndarray:  # type: ignore[type-arg]
    dtype = np.dtype(draw(st.sampled_from(ARRAY_DTYPES)))
    shape = draw(st.sampled_from([(), (0,), (2,), (3,), (2, 2), (2, 3)]))
    size = int(np.prod(shape))
    raw = np.array(draw(st.lists(st.integers(0, 2), min_size=size, max_size=size)), dtype=np.int64).reshape(shape)
    array = raw.astype(dtype) if dtype.kind not in "US" else raw.astype(str).astype(dtype)
    layout = draw(st.sampled_from(["C", "F", "strided", "readonly"]))
    if layout == "F":
        array = np.asfortranarray(array)
    elif layout == "strided" and array.ndim:
        wide = np.repeat(array, 2, axis=-1)
        array = wide[..., ::2]
    elif layout == "readonly":
        array = array.copy()
        array.flags.writeable = False
    return array


SERIES_DTYPES = ["int64", "Int64", "float64", "Float64", "bool", "boolean", "object", "str", "string",
                 "category", "ordered", "extra-category", "Sparse[int64]", "M8[ns]"]  # fmt: skip


def _series(dtype: str, codes: list[int], name: Any, index: str, attrs: dict[str, Any]) -> pd.Series:
    n = len(codes)
    words = ["a", "b", "c"]
    if dtype in ("object", "str", "string"):
        data: Any = pd.Series([words[c] for c in codes], dtype=dtype)
    elif dtype in ("category", "ordered", "extra-category"):
        categories = ["c", "b", "a"] if dtype == "ordered" else ["a", "b", "c"]
        if dtype == "extra-category":
            categories = [*categories, "z"]
        cat = pd.Categorical([words[c] for c in codes], categories=categories, ordered=dtype == "ordered")
        data = pd.Series(cat)
    elif dtype in ("bool", "boolean"):
        data = pd.Series([bool(c) for c in codes], dtype=dtype)
    else:
        data = pd.Series(codes, dtype="int64").astype(dtype)
    if index == "named-range":
        data.index = pd.RangeIndex(n, name="i")
    elif index == "ints":
        data.index = pd.Index([10 + i for i in range(n)], dtype="int64")
    elif index == "strs":
        data.index = pd.Index([f"r{i}" for i in range(n)], dtype=object, name="row")
    data.name = name
    data.attrs.update(attrs)
    return data


SERIES = st.builds(
    _series,
    st.sampled_from(SERIES_DTYPES),
    st.lists(st.integers(0, 2), min_size=0, max_size=3),
    NAMES,
    st.sampled_from(["range", "named-range", "ints", "strs"]),
    st.sampled_from([{}, {"unit": "m"}, {"unit": "s"}]),
)


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 3))
    count = draw(st.integers(1, 2))
    columns = {}
    for i in range(count):
        dtype = draw(st.sampled_from(SERIES_DTYPES))
        codes = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
        columns[draw(st.sampled_from(["x", "y"])) + str(i)] = _series(dtype, codes, None, "range", {})
    frame = pd.DataFrame(columns)
    frame.columns.name = draw(st.sampled_from([None, "field"]))
    frame.index.name = draw(st.sampled_from([None, "row"]))
    frame.attrs.update(draw(st.sampled_from([{}, {"source": "a"}])))
    return frame


VALUES = st.one_of(PLAIN_VALUES, arrays(), SERIES, frames())


# -- indistinguishable: equal, and of the same types, attributes, dtypes and names ----------


def _float_bits(value: float) -> bytes:
    return struct.pack("<d", value)


def same(a: Any, b: Any) -> bool:
    """True if no function could tell ``a`` from ``b`` by its value (identity aside)."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):  # an np.memmap is an ndarray to a key
        return a.dtype == b.dtype and a.dtype.str == b.dtype.str and a.shape == b.shape and a.tobytes() == b.tobytes()
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return _float_bits(a) == _float_bits(b)
    if isinstance(a, complex):
        return same(a.real, b.real) and same(a.imag, b.imag)
    if isinstance(a, (pd.Series, pd.DataFrame, pd.Index)):
        return _same_pandas(a, b)
    if isinstance(a, (set, frozenset)):
        if not _same_state(a, b):
            return False
        return sorted(map(_token, a)) == sorted(map(_token, b))
    if isinstance(a, dict):
        if not _same_state(a, b) or set(map(_token, a)) != set(map(_token, b)):
            return False
        if isinstance(a, collections.OrderedDict) and list(map(_token, a)) != list(map(_token, b)):
            return False
        by_token = {_token(k): v for k, v in b.items()}
        return all(same(v, by_token[_token(k)]) for k, v in a.items())
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and _same_state(a, b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if dataclasses.is_dataclass(a):
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, enum.Enum):
        return a is b
    return bool(a == b) and repr(a) == repr(b)


def _token(value: Any) -> str:
    """A text that tells apart what ``same`` tells apart, for hashable values (set items, dict keys)."""
    if isinstance(value, float):
        return f"float:{_float_bits(value).hex()}"
    if isinstance(value, complex):
        return f"complex:{_token(value.real)}:{_token(value.imag)}"
    if isinstance(value, (tuple, frozenset)):
        inner = [_token(v) for v in value]
        return f"{type(value).__name__}:{sorted(inner) if isinstance(value, frozenset) else inner}"
    return f"{type(value).__qualname__}:{value!r}"


def _same_state(a: Any, b: Any) -> bool:
    """Compare what a subclass adds: its ``__dict__`` and slots."""
    slots = [s for cls in type(a).__mro__ for s in getattr(cls, "__slots__", ())]
    if any(same(getattr(a, s, None), getattr(b, s, None)) is False for s in slots):
        return False
    return same(getattr(a, "__dict__", {}), getattr(b, "__dict__", {})) if hasattr(a, "__dict__") else True


def _same_values(a: Any, b: Any) -> bool:
    """Exact equality of two pandas arrays of equal dtypes."""
    if len(a) != len(b):
        return False
    return all(
        (x is y)
        or (isinstance(x, float) and isinstance(y, float) and _float_bits(x) == _float_bits(y))
        or (type(x) is type(y) and not isinstance(x, float) and bool(x == y))
        for x, y in zip(_items(a), _items(b), strict=True)
    )


def _items(values: Any) -> list[Any]:
    return values.tolist() if hasattr(values, "tolist") else list(values)


def _same_pandas(a: Any, b: Any) -> bool:
    if isinstance(a, pd.Index):
        if type(a) is not type(b) or str(a.dtype) != str(b.dtype) or a.dtype != b.dtype:
            return False
        if list(a.names) != list(b.names) or not all(same(x, y) for x, y in zip(a.names, b.names, strict=True)):
            return False
        return _same_values(a, b)
    if not same(a.attrs, b.attrs) or a.flags.allows_duplicate_labels != b.flags.allows_duplicate_labels:
        return False
    if not _same_pandas(a.index, b.index):
        return False
    if isinstance(a, pd.Series):
        if not same(a.name, b.name) or str(a.dtype) != str(b.dtype) or a.dtype != b.dtype:
            return False
        if isinstance(a.dtype, pd.CategoricalDtype) and not (
            a.dtype.ordered == b.dtype.ordered and list(a.dtype.categories) == list(b.dtype.categories)
        ):
            return False
        return _same_values(a.array, b.array)
    if not _same_pandas(a.columns, b.columns):
        return False
    return all(_same_pandas(a.iloc[:, i], b.iloc[:, i]) for i in range(a.shape[1]))


# -- rebuilding: the same value, reached another way ----------------------------------------


def rebuild(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """Return ``value`` built afresh: dicts and sets filled in reverse order, immutable values
    unshared (equal strings as distinct objects), arrays in another memory layout, frames
    from separate columns; one mutable object met twice stays one object."""
    memo = {} if memo is None else memo
    if id(value) in memo:
        return memo[id(value)]
    kind = type(value)
    if kind is str:
        return "".join(list(value)) if len(value) > 1 else value
    if kind is bytes:
        return b"".join([value[i : i + 1] for i in range(len(value))])
    if kind in (int, float, bool, complex, type(None)) or isinstance(value, enum.Enum):
        return value
    if kind is tuple:
        return tuple(rebuild(v, memo) for v in value)
    if isinstance(value, np.ndarray):
        copy = value.copy(order="F" if value.flags.c_contiguous and value.ndim > 1 else "C")
        copy.flags.writeable = not value.flags.writeable
        return copy
    if isinstance(value, pd.Series):
        made = pd.Series(
            value.array.copy(), index=rebuild(value.index, memo), name=rebuild(value.name, memo), dtype=value.dtype
        )
        made.attrs.update(rebuild(dict(value.attrs), memo))
        return made
    if isinstance(value, pd.Index):
        return value.copy(deep=True)
    if isinstance(value, pd.DataFrame):
        made = pd.DataFrame({i: value.iloc[:, i].copy() for i in range(value.shape[1])})
        made.columns = value.columns.copy(deep=True)
        made.index = value.index.copy(deep=True)
        made.attrs.update(rebuild(dict(value.attrs), memo))
        return made
    if kind is frozenset:
        return frozenset(rebuild(v, memo) for v in reversed(list(value)))
    if kind is SlotSet:  # its slot can be reassigned: one object, as a list is
        made = memo[id(value)] = SlotSet([rebuild(v, memo) for v in reversed(list(value))], rebuild(value.tag, memo))
        return made
    if kind is FrozenPoint:
        return FrozenPoint(rebuild(value.x, memo), rebuild(value.y, memo))
    if kind in (set, TaggedSet):
        made = kind()
        memo[id(value)] = made
        made.update(rebuild(v, memo) for v in reversed(list(value)))
        if kind is TaggedSet:
            made.tag = rebuild(value.tag, memo)
        return made
    if kind in (list, TaggedList):
        made = kind()
        memo[id(value)] = made
        made.extend(rebuild(v, memo) for v in value)
        if kind is TaggedList:
            made.tag = rebuild(value.tag, memo)
        return made
    if kind in (dict, AttrDict, collections.OrderedDict):
        made = kind()
        memo[id(value)] = made
        items = list(value.items())
        for k, v in items if kind is collections.OrderedDict else reversed(items):
            made[rebuild(k, memo)] = rebuild(v, memo)
        if kind is AttrDict:
            made.tag = rebuild(value.tag, memo)
        return made
    if kind is Point:
        made = Point(None, None)
        memo[id(value)] = made
        made.x, made.y = rebuild(value.x, memo), rebuild(value.y, memo)
        return made
    raise TypeError(f"rebuild does not know {kind}")


# -- keys, through the public API -------------------------------------------------------------


def probe(value: Any) -> Any:
    """The function whose keys are compared: any function would do."""
    return value


def key_function(directory: str) -> Any:
    return pkcache.Cache(directory).cached(probe)


def safe_key(function: Any, value: Any) -> str | None:
    """The key of ``function(value)``, or None where the value cannot be keyed (an unstable pickle)."""
    try:
        return function.cache_key(value)  # type: ignore[no-any-return]
    except pkcache.UnhashableArgumentError:
        return None


# -- near misses: the same value changed in one way a key must see ---------------------------

_OTHER_TAGS = ["z", None, 0]


def _scalar_variants(value: Any) -> list[Any]:
    if isinstance(value, bool):
        return [int(value), float(value), not value]
    if isinstance(value, int):
        return [float(value), complex(value), value + 1, str(value)]
    if isinstance(value, float):
        return [-value, int(value) if math.isfinite(value) else 0, complex(value)]
    if isinstance(value, str):
        return [value.encode(), value + "\0", value[::-1]]
    if isinstance(value, bytes):
        return [value.decode("latin-1"), bytearray(value)]
    return []


def _series_variants(series: pd.Series) -> list[Any]:
    found: list[Any] = [
        series.rename("renamed"),
        series.rename_axis("axis"),
        series.set_flags(allows_duplicate_labels=False),
    ]
    tagged = series.copy()
    tagged.attrs["extra"] = 1
    found.append(tagged)
    for dtype in ("int64", "Int64", "float64", "Float64", "object", "str", "string", "category", "boolean"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found.append(series.astype(dtype))
        except (TypeError, ValueError):  # not every dtype holds every value
            continue
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = list(series.dtype.categories)
        found.append(series.cat.set_categories([*categories, "unused"]))
        found.append(series.cat.set_categories(categories[::-1]))
        found.append(series.cat.as_ordered() if not series.dtype.ordered else series.cat.as_unordered())
    if len(series):
        found.append(series.set_axis(pd.Index([f"k{i}" for i in range(len(series))], name=series.index.name)))
    return found


def _frame_variants(frame: pd.DataFrame) -> list[Any]:
    renamed = frame.rename_axis(columns="other")
    found: list[Any] = [renamed, frame.rename_axis("idx"), frame.set_flags(allows_duplicate_labels=False)]
    tagged = frame.copy()
    tagged.attrs["extra"] = 1
    found.append(tagged)
    for i in range(frame.shape[1]):
        for column in _series_variants(frame.iloc[:, i]):
            if not isinstance(column, pd.Series) or len(column) != len(frame) or not column.index.equals(frame.index):
                continue
            changed = frame.copy()
            changed.isetitem(i, column)
            found.append(changed)
    return found


def _array_variants(array: np.ndarray) -> list[Any]:  # type: ignore[type-arg]
    found: list[Any] = []
    for dtype in ("int64", "float64", "float32", ">f8", "complex128", "bool"):
        if np.can_cast(array.dtype, dtype, casting="same_kind"):
            found.append(array.astype(dtype))
    if array.ndim:
        found += [array.reshape(-1, 1), array.T.copy(), array[::-1].copy(), array.tolist()]
    return found


def variants(value: Any, depth: int = 0) -> list[Any]:
    """Values that differ from ``value`` in one way (or not at all, where a change is a no-op)."""
    if isinstance(value, pd.Series):
        return _series_variants(value)
    if isinstance(value, pd.DataFrame):
        return _frame_variants(value)
    if isinstance(value, np.ndarray):
        return _array_variants(value)
    if depth > 2:
        return []
    found = _scalar_variants(value)
    kind = type(value)
    if kind in (AttrDict, TaggedList, TaggedSet):
        for tag in _OTHER_TAGS:
            made = rebuild(value)
            made.tag = tag
            found.append(made)
        found.append((dict if kind is AttrDict else list if kind is TaggedList else set)(value))
    if kind is SlotSet:
        found += [SlotSet(value, tag) for tag in _OTHER_TAGS] + [frozenset(value)]
    if isinstance(value, dict):
        found += [collections.OrderedDict(value), AttrDict(value), dict(reversed(list(value.items())))]
        for k, v in list(value.items())[:2]:
            for changed in variants(v, depth + 1)[:4]:
                made = dict(value)
                made[k] = changed
                found.append(made)
    if isinstance(value, (list, tuple)) and kind in (list, tuple):
        found += [tuple(value) if kind is list else list(value), TaggedList(value)]
        for i, v in enumerate(value[:2]):
            for changed in variants(v, depth + 1)[:4]:
                made = list(value)
                made[i] = changed
                found.append(kind(made))
        if len(value) == 2 and value[0] is value[1] and not isinstance(value[0], (str, bytes, int, float, tuple)):
            found.append(kind([value[0], rebuild(value[1])]))  # two equal objects instead of one twice
    if isinstance(value, (set, frozenset)) and kind in (set, frozenset):
        found += [frozenset(value) if kind is set else set(value), TaggedSet(value), SlotSet(value)]
    if kind in (Point, FrozenPoint):
        other = FrozenPoint if kind is Point else Point
        found += [other(value.x, value.y), kind(value.y, value.x)]
        found += [kind(changed, value.y) for changed in variants(value.x, depth + 1)[:4]]
    return found
