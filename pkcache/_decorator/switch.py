"""Caching turned off at run time, for the whole process or for some functions: ``pkcache.disabled()``."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from .._forks import renew_guard


class _Switch:
    """What is off now, in every thread; ``any`` is the one flag a call reads when nothing is."""

    def __init__(self) -> None:
        self.any = False
        self._everywhere = 0
        self._functions: dict[int, int] = {}  # id of a cached function -> how many blocks turned it off
        self._guard = threading.Lock()
        renew_guard(self)

    def off(self, function: object) -> bool:
        return self._everywhere > 0 or id(function) in self._functions

    def change(self, targets: list[Any], step: int) -> None:
        with self._guard:
            if not targets:
                self._everywhere += step
            for target in targets:
                count = self._functions.get(id(target), 0) + step
                if count:
                    self._functions[id(target)] = count
                else:
                    del self._functions[id(target)]
            self.any = self._everywhere > 0 or bool(self._functions)


SWITCH = _Switch()


def _target(function: Any) -> Any:
    # A bound cached method is its function's switch; staticmethod and classmethod wrap one.
    inner = getattr(function, "__func__", function)
    if not hasattr(inner, "cache_info"):
        raise TypeError(f"pkcache.disabled() takes cached functions, not {type(function).__name__}")
    return inner


@contextlib.contextmanager
def disabled(*functions: Any) -> Iterator[None]:
    """Within the block, cached functions run their bodies and store nothing: all of them, or those given.

    It holds in every thread of the process while the block runs (blocks nest, and may
    overlap across threads); ``PKCACHE_DISABLE=1`` does the same for a whole run.
    """
    targets = [_target(f) for f in functions]
    SWITCH.change(targets, +1)
    try:
        yield
    finally:
        SWITCH.change(targets, -1)
