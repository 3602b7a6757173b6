"""What a code object does, fed to a hash: bytecode, constants and names; no line numbers or file names."""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Any

from .hashes import new_hash


def _feed_const(hasher: Any, const: object) -> None:
    if isinstance(const, types.CodeType):
        hasher.update(b"code:")
        feed_code(hasher, const)
    elif isinstance(const, tuple):
        hasher.update(b"tuple:%d:" % len(const))
        for item in const:
            _feed_const(hasher, item)
    elif isinstance(const, frozenset):
        # Set constants (``x in {"a", "b"}``) iterate in PYTHONHASHSEED order: sort them.
        parts = []
        for item in const:
            sub = new_hash()
            _feed_const(sub, item)
            parts.append(sub.digest())
        hasher.update(b"frozenset:%d:" % len(parts) + b"".join(sorted(parts)))
    else:
        text = f"{type(const).__name__}:{const!r}".encode("utf-8", "surrogatepass")
        hasher.update(b"%d:" % len(text) + text)


def feed_code(hasher: Any, code: types.CodeType) -> None:
    """Feed what ``code`` does: bytecode, constants and names; no line numbers, positions or file names."""
    for raw in (code.co_code, getattr(code, "co_exceptiontable", b"")):
        hasher.update(b"%d:" % len(raw) + raw)
    for names in (code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars):
        text = "\0".join(names).encode()
        hasher.update(b"%d:" % len(text) + text)
    counts = (code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount, code.co_flags)
    hasher.update(repr(counts).encode())
    for const in code.co_consts:
        _feed_const(hasher, const)


def referenced_names(code: types.CodeType) -> Iterator[str]:
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from referenced_names(const)
