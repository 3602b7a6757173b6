"""How cached functions and caches travel to worker processes: names, options and locations, never handles.

A cached function importable by its name (``mylib.square``) pickles by reference, like any
function: the worker imports the same cached function. A script's or notebook's
function is reached by name where the worker has the same ``__main__`` (multiprocessing's
fork, spawn and forkserver workers re-run or inherit the script) and otherwise rebuilt
from its function, options, store location and name, pickled by value with cloudpickle
(what loky, Dask and Ray use). Any other function (a closure, a lambda) is rebuilt the
same way through the engine's own pickler. A ``Cache`` pickles as its location and
options and opens its store lazily in the worker, one per location and process (see
``Cache.__reduce__``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._keys.identity import is_main_module

if TYPE_CHECKING:
    from .base import CachedBase


def lookup(module_name: str, qualname: str) -> Any:
    """Return the object ``module.qualname`` names in this process, or None."""
    module = sys.modules.get(module_name)
    if module is None and not is_main_module(module_name):
        import importlib

        try:
            module = importlib.import_module(module_name)
        except ImportError:
            return None
    target: Any = module
    for part in qualname.split("."):
        target = getattr(target, part, None)
        if target is None:
            return None
    return target


def reduce_function(
    function: CachedBase[Any, Any], restore: Callable[..., Any], restore_main: Callable[..., Any]
) -> Any:
    """The ``__reduce__`` of a cached function, rebuilt in a worker by ``restore`` or ``restore_main``."""
    module, qualname = function.__module__, getattr(function, "__qualname__", "")
    importable = lookup(module, qualname) is function
    if importable and not is_main_module(module):
        return qualname  # by reference, as pickle does for functions
    # How to reach the cache travels as it pickles itself: a Cache as its location and
    # options, the default one as the location the parent resolves it to.
    state = (function.__wrapped__, function._options, function._source, function.name)
    if not is_main_module(module):
        return (restore, state)
    # A script's or notebook's function: by name where the worker runs the same
    # __main__, else by value. Which one the worker has is only known there.
    try:
        import cloudpickle
    except ImportError:  # by name only: multiprocessing's workers have the same __main__
        by_value = None
    else:
        by_value = cloudpickle.dumps(state)
    return (restore_main, (qualname, function.name, by_value))


def by_value_state(qualname: str, name: str, by_value: bytes | None) -> tuple[Any, ...] | CachedBase[Any, Any]:
    """A script's cached function found by name in this worker's ``__main__``, else the state to rebuild it."""
    import pickle

    from .base import CachedBase

    found = lookup("__main__", qualname)
    if isinstance(found, CachedBase) and found.name == name:
        return found
    if by_value is None:
        raise pickle.UnpicklingError(
            f"cannot find the cached function {name} in this process's __main__; install cloudpickle "
            "to send functions of scripts and notebooks by value"
        )
    state: tuple[Any, ...] = pickle.loads(by_value)
    return state
