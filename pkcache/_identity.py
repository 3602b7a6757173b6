"""Name a function the same way in every process, and fingerprint what its code does."""

from __future__ import annotations

import os
import re
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def function_name(func: Callable[..., Any]) -> str:
    """Return ``module.qualname``, or ``script.py:qualname`` for a function of a ``__main__`` script.

    A script's folder is left out so that the name is the same on every machine. In a
    notebook the kernel names cells after temporary files that change on every run: the
    notebook's own path (``JPY_SESSION_NAME``, set by Jupyter) names them instead, so a
    cell's function keeps its results across kernel restarts, and two notebooks do not
    share a ``load()``.
    """
    module = getattr(func, "__module__", None) or "__main__"
    qualname = getattr(func, "__qualname__", None) or getattr(func, "__name__", repr(func))
    if module == "__main__":
        main_file = getattr(sys.modules.get("__main__"), "__file__", None)
        label = os.path.basename(main_file) if main_file else os.environ.get("JPY_SESSION_NAME") or "__main__"
        return f"{label}:{qualname}"
    return f"{module}.{qualname}"


def global_reads(func: Callable[..., Any]) -> list[str]:
    """Return the module-level variables ``func`` reads that are not functions, classes or modules.

    Such a read is not part of the key: in a notebook, re-running the cell that sets the
    variable changes what the function returns, but not its stored result.
    """
    import dis

    code = getattr(func, "__code__", None)
    namespace = getattr(func, "__globals__", None)
    if code is None or namespace is None:
        return []
    found = []
    pending = [code]
    while pending:
        current = pending.pop()
        for instruction in dis.get_instructions(current):
            if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME") and instruction.argval in namespace:
                value = namespace[instruction.argval]
                if not callable(value) and not isinstance(value, types.ModuleType):
                    found.append(str(instruction.argval))
        pending.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
    return sorted(set(found))


def folder_name(name: str) -> str:
    """Return a readable, filesystem-safe folder name for a function, unique per name."""
    readable = _UNSAFE_NAME.sub("_", name).strip("._") or "function"
    digest = _new_hash()
    digest.update(name.encode())
    return f"{readable[:80]}-{digest.hexdigest()[:8]}"


def _new_hash() -> Any:
    from ._keys import new_hash  # pickling machinery loads at the first call, not at import

    return new_hash()


def _feed_const(hasher: Any, const: object) -> None:
    if isinstance(const, types.CodeType):
        hasher.update(b"code:")
        _feed_code(hasher, const)
    elif isinstance(const, tuple):
        hasher.update(b"tuple:%d:" % len(const))
        for item in const:
            _feed_const(hasher, item)
    elif isinstance(const, frozenset):
        # Set constants (``x in {"a", "b"}``) iterate in PYTHONHASHSEED order: sort them.
        parts = []
        for item in const:
            sub = _new_hash()
            _feed_const(sub, item)
            parts.append(sub.digest())
        hasher.update(b"frozenset:%d:" % len(parts) + b"".join(sorted(parts)))
    else:
        text = f"{type(const).__name__}:{const!r}".encode("utf-8", "surrogatepass")
        hasher.update(b"%d:" % len(text) + text)


def _feed_code(hasher: Any, code: types.CodeType) -> None:
    # What the code does, not where it sits: bytecode, constants and names, but no
    # line numbers, positions or file names, so moving a function or adding a comment
    # above it keeps its fingerprint.
    for raw in (code.co_code, getattr(code, "co_exceptiontable", b"")):
        hasher.update(b"%d:" % len(raw) + raw)
    for names in (code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars):
        text = "\0".join(names).encode()
        hasher.update(b"%d:" % len(text) + text)
    counts = (code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount, code.co_flags)
    hasher.update(repr(counts).encode())
    for const in code.co_consts:
        _feed_const(hasher, const)


def code_fingerprint(func: Callable[..., Any]) -> str:
    """Return a hex digest of the function's bytecode, constants and closure values."""
    import importlib.util

    hasher = _new_hash()
    hasher.update(importlib.util.MAGIC_NUMBER)
    code = getattr(func, "__code__", None)
    if code is None:  # a builtin or a callable object: name it, there is no code to read
        hasher.update(repr(type(func)).encode())
        return str(hasher.hexdigest())
    _feed_code(hasher, code)
    _feed_value(hasher, getattr(func, "__defaults__", None))
    _feed_value(hasher, getattr(func, "__kwdefaults__", None))
    # A closure's captured values change what the function returns (a factory that
    # makes one cached function per setting), so they are part of its fingerprint.
    for cell in getattr(func, "__closure__", None) or ():
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell: the enclosing variable is not bound yet
            hasher.update(b"empty-cell")
            continue
        _feed_value(hasher, value)
    return str(hasher.hexdigest())


def _feed_value(hasher: Any, value: object) -> None:
    from ._keys import PICKLING_ERRORS, ArgumentHasher

    value_hasher = ArgumentHasher(_new_hash())
    try:
        value_hasher.feed(value)
    except PICKLING_ERRORS:  # e.g. a captured lock or lambda: fall back to its type
        hasher.update(repr(type(value)).encode())
    else:
        hasher.update(value_hasher.hexdigest().encode())


def _referenced_names(code: types.CodeType) -> Iterator[str]:
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _referenced_names(const)


def _package(func: Callable[..., Any]) -> str:
    return str(getattr(func, "__module__", None) or "__main__").split(".")[0]


def _unwrap(value: object) -> object:
    # A cached helper is tracked by the code of the function it wraps.
    wrapped = getattr(value, "__wrapped__", None)
    return wrapped if isinstance(wrapped, types.FunctionType) else value


def dependencies(func: Callable[..., Any], explicit: tuple[Callable[..., Any], ...] = ()) -> list[types.FunctionType]:
    """Return the functions whose code ``func``'s results depend on, besides its own.

    That is every function in ``explicit`` (``depends_on=``), and every module-level
    function of ``func``'s own top-level package that ``func``, a nested function, or
    such a function refers to by a global name, transitively. Methods, functions of
    other packages, functions reached as attributes (``module.helper``) and functions
    passed as arguments are not found: list those in ``depends_on``.
    """
    package = _package(func)
    found: dict[int, types.FunctionType] = {}
    pending: list[object] = [func, *(_unwrap(f) for f in explicit)]
    for item in explicit:
        target = _unwrap(item)
        if isinstance(target, types.FunctionType):
            found[id(target)] = target
    while pending:
        current = pending.pop()
        code = getattr(current, "__code__", None)
        namespace = getattr(current, "__globals__", None)
        if code is None or namespace is None:
            continue
        for name in _referenced_names(code):
            value = _unwrap(namespace.get(name))
            if (
                isinstance(value, types.FunctionType)
                and value is not func
                and id(value) not in found
                and _package(value) == package
            ):
                found[id(value)] = value
                pending.append(value)
    return sorted(found.values(), key=lambda f: (function_name(f), id(f)))
