"""Canonical forms of numpy arrays and pandas objects, for the key pickler in ``_keys``.

An array keys by what its values are: dtype, shape and C-order bytes. Its flags (read-only
or writable), memory layout (strided, Fortran order) and being a ``np.memmap`` do not
change the key, so a mapped result passed on downstream hits as the array it equals.

A pandas object keys by column, not by its pickle (whose block layout depends on how
the frame was built): each column's pandas dtype (``Int64`` is not ``int64``, a
categorical's categories and order are part of it) and values, every name (the index's,
``columns.name``, level names), ``attrs`` and ``flags``. What has no exact fast form
here, an unusual index or extension array, is pickled whole.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable
from typing import Any

import blake3

from .tags import ARRAY, FRAME, INDEX, RANGE_INDEX, SERIES, STRINGS


def array_form(array: Any, buffers: Callable[[memoryview], None] | None) -> Any:
    """The persistent id of an ndarray (or memmap): dtype, shape and its C-order bytes."""
    if array.dtype.hasobject:
        return None  # objects pickle one by one, through the key pickler
    import numpy as np

    flat: Any = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    raw = memoryview(flat)
    if buffers is None:
        return (ARRAY, array.dtype, array.shape, bytes(raw))
    buffers(raw)
    return (ARRAY, array.dtype, array.shape, raw.nbytes)


def _strings(values: Any, *, text: bool) -> Any:
    """An object array of strings (and missing values) as one digest, or None if it may hold anything else.

    ``text`` says the array is known to hold nothing else (a pandas string column);
    otherwise pandas checks, at C speed. The strings are then pickled in one pass by a
    plain pickler: no per-item hook, yet exact (a ``str`` subclass pickles as itself).
    """
    import pandas as pd

    if not text and pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        return None  # other objects, containers maybe: pickled one by one, canonically
    sink = io.BytesIO()
    pickler = pickle.Pickler(sink, 5)
    pickler.fast = True  # no memo: equal strings pickle alike however they are shared
    pickler.dump(values.tolist())
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    hasher.update(sink.getbuffer())
    return (STRINGS, len(values), hasher.digest())


def _values(dtype: Any, array: Any) -> Any:
    """The values of one column or index (``array`` is its ``.array``), as exactly as they are."""
    import numpy as np
    import pandas as pd

    if isinstance(dtype, np.dtype):
        values = np.asarray(array)
        if dtype.kind == "O":
            return _strings(values, text=False) or values
        return values
    # Extension arrays pickle with internal caches, flags and the bytes under their
    # missing values: keyed that way, equal arrays would be misses. The common kinds
    # key by their public values instead; the dtype beside them says the rest.
    if isinstance(dtype, pd.CategoricalDtype):
        return array.codes  # the categories and their order are in the dtype
    if isinstance(dtype, pd.StringDtype):
        return _strings(array.to_numpy(dtype=object), text=True)  # missing values are NA or NaN
    if type(dtype).__name__ in _MASKED_DTYPES:
        missing = np.asarray(array.isna(), dtype=bool)
        filler = False if dtype.numpy_dtype.kind == "b" else 0
        return (missing, array.to_numpy(dtype=dtype.numpy_dtype, na_value=filler))
    if isinstance(dtype, (pd.DatetimeTZDtype, pd.PeriodDtype)) or dtype.kind in "mM":
        return array.asi8  # time zone, unit and frequency are in the dtype; NaT is one number
    if isinstance(dtype, pd.SparseDtype):
        return np.asarray(array)  # dense: the same values have several sparse layouts
    return array  # any other extension array: its own pickle, dtype and all


_MASKED_DTYPES = frozenset(
    {f"{kind}Dtype" for kind in ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64")}
    | {"Float32Dtype", "Float64Dtype", "BooleanDtype"}
)


def _column(series: Any, digest: Callable[[Any], bytes]) -> bytes:
    """Digest one column: its dtype, then its values (numeric ones as raw memory, without a pickler)."""
    import numpy as np

    dtype = series.dtype
    values = _values(dtype, series.array)
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    hasher.update(simple_dtype(dtype) or b"d" + digest(dtype))
    if type(values) is np.ndarray and not values.dtype.hasobject:
        hasher.update(b"a%d:" % values.size)
        hasher.update(np.ascontiguousarray(values).reshape(-1).view(np.uint8).data)
    elif type(values) is tuple and type(values[0]) is int and values[0] == STRINGS:
        hasher.update(b"s%d:" % values[1] + values[2])
    else:
        hasher.update(b"p" + digest(values))
    return hasher.digest()


def simple_dtype(dtype: Any) -> bytes | None:
    """A numpy dtype without fields, subarrays or metadata as its ``str`` ('<f8', '|b1', '<M8[ns]'), else None."""
    import numpy as np

    simple = isinstance(dtype, np.dtype) and dtype.fields is None and dtype.subdtype is None
    if simple and dtype.metadata is None:
        return b"n" + str(dtype.str).encode()
    return None


def _index(index: Any) -> Any:
    kind = type(index).__name__
    if kind == "RangeIndex":
        return (RANGE_INDEX, index.start, index.stop, index.step, index.name)
    if kind == "Index":
        return (INDEX, index.name, index.dtype, _values(index.dtype, index.array))
    return None  # MultiIndex, DatetimeIndex, ...: pickled whole (their Index levels take the forms here)


def pandas_form(obj: Any, digest: Callable[[Any], bytes]) -> Any:
    """The persistent id of a DataFrame, Series, Index or RangeIndex.

    Each part is hashed on its own (``digest``), so that arrays two columns happen to
    share inside pandas are not mistaken for one object passed twice.
    """
    kind = type(obj).__name__
    if kind in ("Index", "RangeIndex"):
        return _index(obj)
    meta = (digest(obj.index), digest(obj.attrs), obj.flags.allows_duplicate_labels)
    if kind == "Series":
        return (SERIES, digest(obj.name), *meta, _column(obj, digest))
    columns = tuple(_column(obj.iloc[:, i], digest) for i in range(obj.shape[1]))
    return (FRAME, digest(obj.columns), *meta, columns)
