"""Turn call arguments into a key that is the same in every process, on every run.

The arguments are pickled (protocol 5) into a hash instead of into memory. Containers
whose iteration order depends on insertion or on ``PYTHONHASHSEED`` (dicts, sets,
frozensets) are replaced, wherever they occur in the object graph, by their items in a
canonical order. Large buffers (numpy arrays and the like) reach the hash out-of-band,
without being copied into the pickle stream.
"""

from __future__ import annotations

import collections
import io
import pickle
from collections.abc import Callable
from typing import Any

import blake3

PROTOCOL = 5

# Exact types whose protocol-5 pickle is already canonical; a call whose arguments are
# all of these takes the fast path (one ``pickle.dumps``).
ATOMIC_TYPES = frozenset({int, float, str, bytes, bool, type(None), complex})

# Errors pickle raises for objects it cannot serialize (lambdas, open files, generators,
# local classes). AttributeError is "Can't pickle local object" before Python 3.14.
PICKLING_ERRORS = (pickle.PicklingError, TypeError, AttributeError, RecursionError)

_HASH = blake3.blake3


def _sort_key_for(items: list[Any]) -> Callable[[Any], Any] | None:
    """Return None when ``sorted`` alone orders ``items`` canonically, else a byte-key function."""
    first = type(items[0]) if items else None
    if first in (str, int, bytes) and all(type(item) is first for item in items):
        return None
    return canonical_bytes


def _column_digest(values: Any) -> bytes:
    """Digest one column's values: numeric ones as raw memory, strings joined, others pickled."""
    import numpy as np

    hasher = _HASH(max_threads=_HASH.AUTO)
    dtype = getattr(values, "dtype", None)
    hasher.update(str(dtype).encode() + b"\0")
    if isinstance(values, np.ndarray) and values.dtype.kind in "biufcmM":
        hasher.update(np.ascontiguousarray(values).reshape(-1).view(np.uint8).data)
        return hasher.digest()
    if isinstance(values, np.ndarray) and values.dtype.kind == "O":
        try:
            joined = "\0".join(values.tolist())
        except TypeError:  # not all strings: pickled element by element below
            joined = None
        # Joined with NUL, the strings are told apart as long as none contains NUL.
        if joined is not None and joined.count("\0") == max(len(values) - 1, 0):
            hasher.update(b"str:%d:" % len(values))
            hasher.update(joined.encode("utf-8", "surrogatepass"))
            return hasher.digest()
    hasher.update(canonical_bytes(values))
    return hasher.digest()


def _pandas_digest(obj: Any) -> bytes | None:
    """Digest a DataFrame or Series by column, or None for other pandas objects."""
    kind = type(obj).__name__
    if kind == "DataFrame":
        columns = [_column_digest(obj.iloc[:, i].to_numpy()) for i in range(obj.shape[1])]
        labels = canonical_bytes(list(obj.columns))
    elif kind == "Series":
        columns = [_column_digest(obj.to_numpy())]
        labels = canonical_bytes(obj.name)
    else:
        return None
    index = obj.index
    if type(index).__name__ == "RangeIndex":
        index_digest = canonical_bytes(("range", index.start, index.stop, index.step))
    else:
        index_digest = _column_digest(index.to_numpy())
    return _HASH(b"".join([kind.encode(), labels, index_digest, *columns])).digest()


_PANDAS_TYPES = frozenset({"DataFrame", "Series"})


class _CanonicalPickler(pickle.Pickler):
    """A pickler that writes dicts and sets in a canonical order wherever they occur."""

    def persistent_id(self, obj: Any) -> Any:
        kind = type(obj)
        if kind.__name__ in _PANDAS_TYPES and kind.__module__.partition(".")[0] == "pandas":
            # A frame's pickle goes element by element through this hook (slow) and its
            # block layout depends on how it was built: hash it by columns instead.
            digest = _pandas_digest(obj)
            if digest is not None:
                return ("pkcache:pandas", digest)
        if kind is dict or (isinstance(obj, dict) and not isinstance(obj, collections.OrderedDict)):
            keys = list(obj)
            order = _sort_key_for(keys)
            keys.sort(key=order)
            items = tuple((k, obj[k]) for k in keys)
            extra = getattr(obj, "default_factory", None) if kind is not dict else None
            return ("pkcache:dict", None if kind is dict else kind, extra, items)
        if kind is set or kind is frozenset:
            elements = list(obj)
            elements.sort(key=_sort_key_for(elements))
            return ("pkcache:set", kind is frozenset, tuple(elements))
        return None


class _HashSink:
    """A write-only file whose writes go into a hash (no copy of the pickle stream is kept)."""

    def __init__(self, hasher: Any) -> None:
        self.write = hasher.update


class ArgumentHasher:
    """Hash one value canonically: the pickle stream and out-of-band buffers, separately."""

    def __init__(self, prefix: Any) -> None:
        self._stream = prefix
        self._buffers: Any = None

    def _take_buffer(self, buffer: pickle.PickleBuffer) -> bool:
        if self._buffers is None:
            # Large buffers (arrays, frames) are hashed on every core, without a copy.
            self._buffers = _HASH(max_threads=_HASH.AUTO)
        raw = buffer.raw()
        self._buffers.update(raw.nbytes.to_bytes(8, "little"))
        self._buffers.update(raw)
        return False  # out-of-band: the buffer's bytes went into the hash, not the stream

    def feed(self, value: Any) -> None:
        pickler = _CanonicalPickler(_HashSink(self._stream), PROTOCOL, buffer_callback=self._take_buffer)
        pickler.dump(value)

    def hexdigest(self) -> str:
        if self._buffers is None:
            return self._stream.digest().hex()  # type: ignore[no-any-return]
        return _HASH(self._stream.digest() + self._buffers.digest()).digest().hex()


def canonical_bytes(value: Any) -> bytes:
    """Return the canonical pickle of ``value`` (buffers in-band); used to order keys and elements."""
    sink = io.BytesIO()
    _CanonicalPickler(sink, PROTOCOL).dump(value)
    return sink.getvalue()


def new_hash(data: bytes = b"") -> Any:
    """Return a fresh instance of the hash keys are made with."""
    return _HASH(data)
