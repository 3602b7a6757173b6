"""Turn call arguments into a key that is the same in every process, on every run.

The rule: two calls share a key only if their arguments are indistinguishable to the
function. A miss costs a recomputation; a wrong hit silently returns another call's
result, so wherever an exact canonical form is not known the full pickle is used.

- Plain values (str, bytes, numbers, None and tuples of them) key by value.
- Everything else is pickled (protocol 5) into a hash by a pickler without a memo, so
  that sharing of equal immutable objects never changes a key; mutable objects are
  tracked by identity instead (``f(x, x)`` passes one list twice, which the body can
  tell from two equal lists).
- Dicts and sets, subclasses included, are pickled with their items in a canonical
  order, and nothing else changes: a subclass keeps its class, attributes, slots and
  custom reduce. ``OrderedDict`` keeps its order, because its equality does.
- numpy arrays and pandas objects have canonical forms of their own (``_arrays``).

Large buffers reach the hash out-of-band, without being copied into the pickle stream.
"""

from __future__ import annotations

import functools
import io
import pickle
import types
from collections.abc import Callable
from typing import Any

from .hashes import new_hash, parallel_hash
from .kinds import KNOWN, classify
from .tags import (
    ARRAY,
    CLASS,
    DICT,
    DICT_SUBCLASS,
    FROZENSET,
    FUNCTION,
    IMMUTABLE,
    NUMPY_DTYPE,
    PANDAS,
    PANDAS_DTYPE,
    PLAIN,
    REDUCE,
    REF,
    SET,
    SET_SUBCLASS,
    TRACKED,
)

PROTOCOL = 5
# Errors pickle raises for objects it cannot serialize (lambdas, open files, generators,
# local classes). AttributeError is "Can't pickle local object" before Python 3.14.
PICKLING_ERRORS = (pickle.PicklingError, TypeError, AttributeError, RecursionError, ValueError)


def _sort_key_for(items: list[Any]) -> Callable[[Any], Any] | None:
    """Return None when ``sorted`` alone orders ``items`` canonically, else a byte-key function."""
    first = type(items[0]) if items else None
    if first in (str, int, bytes) and all(type(item) is first for item in items):
        return None
    return canonical_bytes


def _sorted(items: list[Any], key: Callable[[Any], Any] | None = None) -> list[Any]:
    """Sort hashable items canonically (by their canonical bytes when types are mixed)."""
    order = _sort_key_for([key(i) for i in items] if key is not None else items)
    if order is None:
        return sorted(items, key=key)
    if key is None:
        return sorted(items, key=order)
    return sorted(items, key=lambda item: order(key(item)))


class CanonicalPickler(pickle.Pickler):
    """A pickler whose stream is the same for indistinguishable values, whatever their history.

    ``buffers`` receives large buffers (numpy arrays) out-of-band; without it they go
    into the stream. ``functions``, when given, replaces every function, method, partial
    and local class met by a token it returns (code fingerprinting uses it; arguments
    pickle functions by reference, as pickle does).
    """

    def __init__(
        self,
        file: Any,
        buffers: Callable[[memoryview], None] | None = None,
        functions: Callable[[Any], Any] | None = None,
    ) -> None:
        super().__init__(file, PROTOCOL, buffer_callback=None if buffers is None else self._out_of_band)
        self.fast = True  # no memo: see the module docstring; identity is tracked in _seen
        self._buffers = buffers
        self._functions = functions
        self._seen: dict[int, int] = {}
        self._keep: list[Any] = []  # holds what _seen counts, so that no id is reused meanwhile

    def _out_of_band(self, buffer: pickle.PickleBuffer) -> bool:
        assert self._buffers is not None
        self._buffers(buffer.raw())
        return False

    def _track(self, obj: Any) -> Any:
        """Return a reference to ``obj`` if it was pickled before, else note it and return None."""
        index = self._seen.get(id(obj))
        if index is not None:
            return (REF, index)
        self._seen[id(obj)] = len(self._keep)
        self._keep.append(obj)
        return None

    def persistent_id(self, obj: Any) -> Any:
        kind = type(obj)
        if self._functions is not None and kind in _FUNCTION_TYPES:
            return (FUNCTION, self._functions(obj))
        what = KNOWN.get(kind)
        if what is None:
            what = KNOWN[kind] = classify(kind)
        if what == PLAIN:
            return None
        if what < TRACKED:
            return self._value_form(what, obj)
        reference = self._track(obj)
        if reference is not None:
            return reference
        return self._object_form(what, obj)

    def _value_form(self, what: int, obj: Any) -> Any:
        """The canonical form of an object that cannot change (None: as pickle writes it)."""
        if what == IMMUTABLE:
            if self._functions is not None and type(obj) is type and "<locals>" in obj.__qualname__:
                return (CLASS, self._functions(obj))
            return None
        if what == FROZENSET:
            return (SET, True, tuple(_sorted(list(obj))))
        if what == NUMPY_DTYPE:
            # numpy may share a dtype object between arrays or not: key it by its full
            # description instead (byte order, unit, fields and metadata included).
            from .arrays import simple_dtype

            simple = simple_dtype(obj)
            if simple is not None:
                return (NUMPY_DTYPE, simple)
            _constructor, arguments, state = obj.__reduce__()
            return (NUMPY_DTYPE, arguments, state)
        # A pandas dtype keeps a cache of derived attributes in its state, filled as
        # they are first read: keyed with it, equal dtypes would differ.
        drop = ("_cache",) if what == PANDAS_DTYPE else ()
        return _reduced(obj, is_set=False, copy_state=True, drop=drop)

    def _object_form(self, what: int, obj: Any) -> Any:
        """The canonical form of an object met for the first time (None: as pickle writes it)."""
        if what == DICT:
            return (DICT, tuple((k, obj[k]) for k in _sorted(list(obj))))
        if what == SET:
            return (SET, False, tuple(_sorted(list(obj))))
        if what in (DICT_SUBCLASS, SET_SUBCLASS):
            return _reduced(obj, is_set=what == SET_SUBCLASS)
        if what == ARRAY:
            from .arrays import array_form

            return array_form(obj, self._buffers)
        if what == PANDAS:
            from .arrays import pandas_form

            return pandas_form(obj, _digest)
        return None  # pickled as pickle would, tracked by identity


# What ``functions`` replaces, when given: everything callable that has code or names a callee.
_FUNCTION_TYPES = frozenset(
    {
        types.FunctionType,
        types.MethodType,
        types.BuiltinFunctionType,
        types.BuiltinMethodType,
        types.MethodWrapperType,
        types.WrapperDescriptorType,
        types.MethodDescriptorType,
        functools.partial,
    }
)


def _reduced(obj: Any, *, is_set: bool, copy_state: bool = False, drop: tuple[str, ...] = ()) -> Any:
    """A dict or set subclass as pickle would write it, with only its items put in canonical order.

    ``copy_state`` pickles an immutable object's ``__dict__`` as a copy, so that the same
    object met twice is not taken for one mutable dict passed twice.
    """
    reduced = obj.__reduce_ex__(PROTOCOL)
    if not isinstance(reduced, tuple):
        return None  # pickled by name: nothing to order
    parts = list(reduced) + [None] * (6 - len(reduced))
    constructor, arguments, state, list_items, dict_items, setter = parts
    if is_set:
        # set.__reduce__ is (class, (list of items,), state): only that list is reordered.
        arguments = (_sorted(list(arguments[0])), *arguments[1:])
    if copy_state and type(state) is dict:
        state = {k: v for k, v in state.items() if k not in drop} or None
    if list_items is not None:
        list_items = list(list_items)
    if dict_items is not None:
        dict_items = _sorted(list(dict_items), key=lambda item: item[0])
    return (REDUCE, constructor, arguments, state, list_items, dict_items, setter)


class _HashSink:
    """A write-only file whose writes go into a hash (no copy of the pickle stream is kept)."""

    def __init__(self, hasher: Any) -> None:
        self.write = hasher.update


class ArgumentHasher:
    """Hash values canonically: the pickle stream and out-of-band buffers, separately."""

    def __init__(self, prefix: Any, functions: Callable[[Any], Any] | None = None) -> None:
        self._stream = prefix
        self._buffers: Any = None
        self._functions = functions

    def _take_buffer(self, raw: memoryview) -> None:
        if self._buffers is None:
            # Large buffers (arrays, frames) are hashed on every core, without a copy.
            self._buffers = parallel_hash()
        self._buffers.update(raw.nbytes.to_bytes(8, "little"))
        self._buffers.update(raw)

    def feed(self, value: Any) -> None:
        CanonicalPickler(_HashSink(self._stream), self._take_buffer, self._functions).dump(value)

    def digest(self) -> bytes:
        if self._buffers is None:
            return self._stream.digest()  # type: ignore[no-any-return]
        return new_hash(self._stream.digest() + self._buffers.digest()).digest()

    def hexdigest(self) -> str:
        return self.digest().hex()


def _digest(value: Any) -> bytes:
    hasher = ArgumentHasher(new_hash())
    hasher.feed(value)
    return hasher.digest()


def canonical_bytes(value: Any) -> bytes:
    """Return the canonical pickle of ``value`` (buffers in-band); used to order keys and elements."""
    sink = io.BytesIO()
    CanonicalPickler(sink).dump(value)
    return sink.getvalue()
