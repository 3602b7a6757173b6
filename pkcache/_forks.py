"""What a forked child must not inherit: locks held by the parent's other threads, and pending state.

``fork`` copies one thread. A lock that another thread of the parent held at that
instant stays held in the child, by nobody: a child computing the same key would wait
out its whole ``lock_timeout``. Objects register their locks (or a reset function)
here, and the child gets fresh ones.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from typing import Any


class _Process:
    id = os.getpid()


def process_id() -> int:
    """This process's id without a system call (a store's every use checks it): renewed in a forked child.

    Python's ``os.fork`` (and so multiprocessing, loky, Dask's forking) runs the at-fork
    hooks; a C-level ``fork`` that skips them leaves CPython itself in an unusable state.
    """
    return _Process.id


_LOCKED: weakref.WeakSet[Any] = weakref.WeakSet()  # objects whose ``_guard`` is a threading.Lock
_RESETS: list[Callable[[], None]] = []


def renew_guard(obj: Any) -> None:
    """Give ``obj`` a fresh ``_guard`` lock in every forked child."""
    _LOCKED.add(obj)


def in_child(reset: Callable[[], None]) -> None:
    """Run ``reset`` (a module-level function) in every forked child, in registration order."""
    _RESETS.append(reset)


def _after_fork_in_child() -> None:
    _Process.id = os.getpid()
    for obj in list(_LOCKED):
        obj._guard = threading.Lock()
    for reset in _RESETS:
        reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
