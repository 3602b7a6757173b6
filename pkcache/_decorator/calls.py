"""``@cached``: the call of a cached function, sync or async; the work happens in ``_engine``.

A call is the same steps either way (look up, wait for the key's lock, run the body,
keep its result); only the awaiting differs, so the steps are written once and the two
call paths only sequence them.
"""

from __future__ import annotations

import functools
import sys
import time
import types
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast, overload

from .._engine.miss import MISS
from .base import CachedBase
from .bound import BoundCachedFunction
from .pickling import by_value_state, reduce_function
from .switch import SWITCH

if TYPE_CHECKING:
    from .._engine.cachelike import CacheSource
    from .._engine.context import FunctionContext
    from .._options import Options
    from .._store.protocol import Lock

P = ParamSpec("P")
R = TypeVar("R")

__all__ = ["AsyncCachedFunction", "BoundCachedFunction", "CachedFunction", "wrap"]


class CachedFunction(CachedBase[P, R]):
    """A function whose results are stored, keyed by its arguments."""

    # -- the steps of a call, shared by the sync and async paths ---------------------------

    def _start(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[FunctionContext | None, str, Any]:
        """(None, "", MISS): run uncached; else (engine, key, the stored value or MISS)."""
        if SWITCH.any and SWITCH.off(self):  # pkcache.disabled()
            return None, "", MISS
        context = self._context
        if context is None or context.watch.changed():
            context = self._resolve()
            if context is None:
                return None, "", MISS
        key = context.key(args, kwargs)
        value = context.lookup(key)
        if value is not MISS:
            self._hits += 1
        return context, key, value

    def _start_refresh(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[FunctionContext | None, str]:
        context = None if SWITCH.any and SWITCH.off(self) else self._resolve()
        return context, (context.key(args, kwargs) if context is not None else "")

    def _locked(self, context: FunctionContext, key: str, lock: Lock | None, stored: Any, force: bool) -> Any:
        """With the key's lock (or without it, having waited): the value stored meanwhile, or MISS."""
        if force:
            return MISS
        if stored is MISS and lock is not None:
            stored = context.lookup(key)  # filled while we waited for the lock
        if stored is not MISS:
            self._hits += 1
        return stored

    def _run(self, context: FunctionContext) -> float:
        """Count a miss; return the time the body starts."""
        self._misses += 1
        context.miss()
        return time.perf_counter()

    # -- the sync path ----------------------------------------------------------------------

    def __reduce__(self) -> Any:
        # By name when importable, else by value: options and how to reach the cache,
        # never the open files, mappings and locks of this process (see _pickling).
        return reduce_function(self, restore_function, restore_main_function)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        context, key, value = self._start(args, kwargs)
        if context is None:
            return self.__wrapped__(*args, **kwargs)
        if value is not MISS:
            return cast("R", value)
        return self._compute(context, key, args, kwargs, force=False)

    def refresh(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run the body, store its result (replacing any stored one) and return it."""
        context, key = self._start_refresh(args, kwargs)
        if context is None:
            return self.__wrapped__(*args, **kwargs)
        return self._compute(context, key, args, kwargs, force=True)

    def _compute(self, context: FunctionContext, key: str, args: Any, kwargs: Any, *, force: bool) -> R:
        lock, stored = context.acquire_lock(key)
        try:
            value = self._locked(context, key, lock, stored, force)
            if value is not MISS:
                return cast("R", value)
            start = self._run(context)
            value = self.__wrapped__(*args, **kwargs)
            return cast("R", context.keep(key, value, args, kwargs, time.perf_counter() - start))
        finally:
            if lock is not None:
                lock.release()

    @overload
    def __get__(self, instance: None, owner: type) -> CachedFunction[P, R]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> BoundCachedFunction[R]: ...
    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return BoundCachedFunction(self, instance)


class AsyncCachedFunction(CachedFunction[P, R]):
    """A cached ``async def`` function: the awaited result is what is stored."""

    def __init__(self, func: Callable[P, R], options: Options, source: CacheSource) -> None:
        super().__init__(func, options, source)
        self._body = cast("Callable[..., Awaitable[Any]]", func)
        if sys.version_info >= (3, 12):
            import inspect

            inspect.markcoroutinefunction(self)

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Any:  # type: ignore[override]
        context, key, value = self._start(args, kwargs)
        if context is None:
            return await self._body(*args, **kwargs)
        if value is not MISS:
            return value
        return await self._compute_async(context, key, args, kwargs, force=False)

    async def refresh(self, *args: P.args, **kwargs: P.kwargs) -> Any:  # type: ignore[override]
        context, key = self._start_refresh(args, kwargs)
        if context is None:
            return await self._body(*args, **kwargs)
        return await self._compute_async(context, key, args, kwargs, force=True)

    async def _compute_async(self, context: FunctionContext, key: str, args: Any, kwargs: Any, *, force: bool) -> Any:
        lock, stored = await context.acquire_lock_async(key)
        try:
            value = self._locked(context, key, lock, stored, force)
            if value is not MISS:
                return value
            start = self._run(context)
            value = await self._body(*args, **kwargs)
            return context.keep(key, value, args, kwargs, time.perf_counter() - start)
        finally:
            if lock is not None:
                lock.release()


_CO_COROUTINE = 0x80


def _is_coroutine_function(func: object) -> bool:
    code = getattr(func, "__code__", None)
    if code is not None:
        return bool(code.co_flags & _CO_COROUTINE)
    import inspect  # a callable object or a partial: let inspect decide

    return inspect.iscoroutinefunction(func)


def wrap(func: Callable[P, R], options: Options, source: CacheSource) -> CachedFunction[P, R]:
    """Return the cached version of ``func``; staticmethod and classmethod objects keep their kind.

    A bound method (``cached(obj.method)``) and a callable object are cached as their
    function with the instance as first argument, so the instance is part of every key.
    """
    if isinstance(func, (staticmethod, classmethod)):
        inner = wrap(func.__func__, options, source)
        return cast("CachedFunction[P, R]", type(func)(inner))
    if isinstance(func, types.MethodType):
        return cast("CachedFunction[P, R]", BoundCachedFunction(wrap(func.__func__, options, source), func.__self__))
    call = getattr(type(func), "__call__", None)  # noqa: B004 - the class's, not the instance's
    if not isinstance(func, (type, types.FunctionType, functools.partial)) and isinstance(call, types.FunctionType):
        return cast("CachedFunction[P, R]", BoundCachedFunction(wrap(call, options, source), func))
    if _is_coroutine_function(func):
        return AsyncCachedFunction(func, options, source)
    return CachedFunction(func, options, source)


def restore_function(func: Any, options: Options, source: CacheSource, name: str) -> Any:
    """Rebuild a cached function in a worker, reaching its cache as the parent did."""
    restored = wrap(func, options, source)
    restored.name = name  # as the parent named it: a worker has no notebook name of its own
    return restored


def restore_main_function(qualname: str, name: str, by_value: bytes | None) -> Any:
    """Find a script's cached function by name in this worker's ``__main__``, else rebuild it."""
    found = by_value_state(qualname, name, by_value)
    return found if isinstance(found, CachedBase) else restore_function(*found)


def decorate(func: Any, make: Callable[[Any], Any]) -> Any:
    """Apply ``make`` to ``func``, or return ``make`` for the ``@cached(...)`` form."""
    if func is None:
        return make
    if not callable(func) and not isinstance(func, (staticmethod, classmethod)):
        raise TypeError(f"cached() takes a function, not {type(func).__name__}")
    return make(func)
