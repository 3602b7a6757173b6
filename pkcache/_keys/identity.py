"""Name a function the same way in every process, and find the globals it reads."""

from __future__ import annotations

import functools
import os
import re
import sys
import types
from collections.abc import Callable
from typing import Any

_UNSAFE_NAME = r"[^A-Za-z0-9._-]+"  # compiled (and cached) by re at first use, not at import


def function_name(func: Callable[..., Any]) -> str:
    """Return ``module.qualname``, or ``script.py:qualname`` for a function of a ``__main__`` script.

    A script's folder is left out so that the name is the same on every machine. A
    script's functions are ``script.py:name`` in worker processes too, where
    ``multiprocessing`` (spawn, forkserver) imports the script as ``__mp_main__``. In a
    notebook the kernel names cells after temporary files that change on every run: the
    notebook's own path (``JPY_SESSION_NAME``, set by Jupyter) names them instead, so a
    cell's function keeps its results across kernel restarts, and two notebooks do not
    share a ``load()``. A ``functools.partial`` is named after its function (its
    arguments go into the keys), a callable object after its class.
    """
    while isinstance(func, functools.partial):
        func = func.func
    if isinstance(func, types.MethodType):
        func = func.__func__
    qualname = getattr(func, "__qualname__", None)
    if not isinstance(qualname, str):  # a callable object: named after its class
        return function_name(type(func))
    module = getattr(func, "__module__", None) or "__main__"
    if module in _MAIN_MODULES:
        namespace = getattr(func, "__globals__", None) or vars(sys.modules.get(module) or sys.modules["__main__"])
        main_file = namespace.get("__file__")
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
    readable = re.sub(_UNSAFE_NAME, "_", name).strip("._") or "function"
    digest = _new_hash()
    digest.update(name.encode())
    return f"{readable[:80]}-{digest.hexdigest()[:8]}"


def _new_hash() -> Any:
    from .hashes import new_hash  # pickling machinery loads at the first call, not at import

    return new_hash()


_MAIN_MODULES = ("__main__", "__mp_main__")


def is_main_module(module: str) -> bool:
    """True for the module of a script or notebook (``__mp_main__`` in multiprocessing's workers)."""
    return module in _MAIN_MODULES


def module_package(func: object) -> str:
    """Return the top-level package ``func`` belongs to; a script's or notebook's is ``__main__``."""
    package = str(getattr(func, "__module__", None) or "__main__").partition(".")[0]
    return "__main__" if package in _MAIN_MODULES else package
