"""Which kind each type is, for the key pickler: immutable or tracked by identity, and which canonical form.

Worked out once per type (``KNOWN``); see ``tags`` for the kinds.
"""

from __future__ import annotations

import collections
import copyreg
import sys
import types

from .tags import (
    ARRAY,
    DICT,
    DICT_SUBCLASS,
    FROZEN,
    FROZENSET,
    IMMUTABLE,
    MUTABLE,
    NUMPY_DTYPE,
    PANDAS,
    PANDAS_DTYPE,
    PLAIN,
    SET,
    SET_SUBCLASS,
)

# Exact types that key by value through ``marshal``; a call whose arguments are all of
# these takes the fast path.
ATOMIC_TYPES = frozenset({int, float, str, bytes, bool, type(None), complex})
# ``marshal`` format 2 has no memo (unlike pickle and later marshal formats): equal plain
# values give equal bytes however they are shared or interned.
MARSHAL_VERSION = 2

# Exact types whose objects cannot change: they key by value, and one object passed
# twice keys as two equal ones. Every other object is tracked by identity.
_IMMUTABLE = frozenset(
    {
        *ATOMIC_TYPES,
        tuple,
        frozenset,
        range,
        slice,
        type(Ellipsis),
        type(NotImplemented),
        type,
        types.FunctionType,
        types.BuiltinFunctionType,
        types.ModuleType,
    }
)
# The same for types of modules that need not be imported to be named here.
_IMMUTABLE_NAMES = frozenset(
    {
        ("datetime", "date"),
        ("datetime", "datetime"),
        ("datetime", "time"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("decimal", "Decimal"),
        ("fractions", "Fraction"),
        ("uuid", "UUID"),
        ("pathlib", "PurePosixPath"),
        ("pathlib", "PureWindowsPath"),
        ("pathlib", "PosixPath"),
        ("pathlib", "WindowsPath"),
    }
)
_PLAIN = frozenset({str, bytes, int, float, bool, type(None), tuple})


KNOWN: dict[type, int] = {}  # the kind of each type met, worked out once per type


def classify(kind: type) -> int:
    if kind in _PLAIN:
        return PLAIN
    if kind is dict:
        return DICT
    if kind is set:
        return SET
    if kind is frozenset:
        return FROZENSET
    if kind in _IMMUTABLE or (kind.__module__, kind.__qualname__) in _IMMUTABLE_NAMES:
        return IMMUTABLE
    if kind in copyreg.dispatch_table:
        return MUTABLE  # pickled by its registered reducer, as pickle would
    if never_rebinds(kind):
        return FROZEN
    if issubclass(kind, collections.OrderedDict):
        return MUTABLE  # its order is part of its equality: pickled as it is
    if issubclass(kind, dict):
        return DICT_SUBCLASS
    if issubclass(kind, (set, frozenset)):
        plain_reduce = kind.__reduce__ in (set.__reduce__, frozenset.__reduce__)
        # A reduce of its own may order its items meaningfully: left as it is.
        return SET_SUBCLASS if plain_reduce and kind.__reduce_ex__ is object.__reduce_ex__ else MUTABLE
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        if kind is numpy.ndarray or kind is numpy.memmap:
            return ARRAY
        if issubclass(kind, numpy.dtype):
            return NUMPY_DTYPE
        if issubclass(kind, numpy.generic):
            return IMMUTABLE
    module = kind.__module__ or ""
    if module.partition(".")[0] == "pandas" and kind.__name__ in ("DataFrame", "Series", "Index", "RangeIndex"):
        return PANDAS
    pandas = sys.modules.get("pandas")
    if pandas is not None and issubclass(kind, pandas.api.extensions.ExtensionDtype):
        return PANDAS_DTYPE
    return MUTABLE


def never_rebinds(kind: type) -> bool:
    """True for classes whose instances cannot change what they hold: named tuples, frozen
    dataclasses, enums. (What they hold may be mutable; that is tracked in its turn.)"""
    if type(kind).__name__ in ("EnumType", "EnumMeta"):
        return True
    if issubclass(kind, tuple):
        return all(vars(c).get("__slots__", None) == () for c in kind.__mro__[: kind.__mro__.index(tuple)])
    params = getattr(kind, "__dataclass_params__", None)
    return bool(getattr(params, "frozen", False))
