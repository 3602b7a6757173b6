"""``@cached``: the callable surface of a cached function; the work happens in ``_context``."""

from __future__ import annotations

import functools
import os
import sys
import threading
import time
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, overload

from . import _usage
from ._engine.miss import MISS
from ._entry import Entry
from ._errors import SecretError, UncacheableFunctionError
from ._keys.identity import function_name
from ._log import Warnings
from ._reports import CacheInfo
from ._store.protocol import OwnsItsPlace
from ._switch import SWITCH

if TYPE_CHECKING:
    from ._cache import Cache
    from ._engine.context import FunctionContext
    from ._options import Options

P = ParamSpec("P")
R = TypeVar("R")

_RESOLVE_LOCK = threading.RLock()

__all__ = ["AsyncCachedFunction", "BoundCachedFunction", "CacheInfo", "CachedFunction", "wrap"]


def _disabled() -> bool:
    return os.environ.get("PKCACHE_DISABLE", "").strip().lower() in {"1", "true", "yes", "on"}


class CachedFunction(Generic[P, R]):
    """A function whose results are stored on disk, keyed by its arguments."""

    def __init__(self, func: Callable[P, R], options: Options, cache: Cache | None) -> None:
        functools.update_wrapper(self, func)
        self.__wrapped__ = func
        self.name = function_name(func)
        self._options = options
        self._cache = cache
        self._context: FunctionContext | None = None
        self._admin_context: FunctionContext | None = None
        self._bypass = False
        self._hits = 0
        self._misses = 0
        self._warn = Warnings()
        # Built at decoration, not at the first call, so that a bad ignore= fails at once.
        from ._keys.binding import ArgumentBinder

        self._binder = ArgumentBinder(func, options.ignore, options.files, options.files_by)

    def __repr__(self) -> str:
        return f"<pkcache.cached {self.name}>"

    def __reduce__(self) -> Any:
        # By name when importable, else by value: options and store location, never
        # the open files, mappings and locks of this process (see _pickling).
        from ._pickling import reduce_function

        return reduce_function(self)

    # -- resolution -------------------------------------------------------------------

    def _build_context(self) -> FunctionContext:
        from ._api import default_cache
        from ._engine.context import FunctionContext  # the working parts load at the first call, not at import

        cache = self._cache if self._cache is not None else default_cache()
        if isinstance(cache.store, OwnsItsPlace):
            cache.store.check()  # NotACacheError (an OSError) for a directory that is not a cache
        context = FunctionContext(self.__wrapped__, self.name, self._options, cache, self._warn, binder=self._binder)
        _usage.register(self)
        return context

    def _resolve(self) -> FunctionContext | None:
        """Build the per-function context on first call, and again after its code changed.

        None when the cache is off or unusable. A context is rebuilt when what its
        fingerprint was taken from changed in this process: a notebook cell redefined a
        helper, autoreload replaced the code, a captured variable was rebound.
        """
        with _RESOLVE_LOCK:  # threads making their first calls at once resolve it once
            self._forget_if_changed()
            if self._context is None and not self._bypass:
                self._bypass = _disabled() or not self._options.enabled
                if not self._bypass:
                    try:
                        self._context = self._admin_context or self._build_context()
                    except UncacheableFunctionError as exc:
                        exc.function = self.name
                        self._warn("setup", "%s; running it uncached", exc)
                        self._bypass = True
                    except SecretError as exc:  # the secret is misconfigured: the caller still gets results
                        self._warn("setup", "cannot use the cache for %s, running uncached: %s", self.name, exc)
                        self._bypass = True
                    except OSError as exc:  # e.g. no secret can be created: run uncached
                        self._warn("setup", "cannot use the cache for %s, running uncached: %s", self.name, exc)
                        self._bypass = True
            return self._context

    def _forget_if_changed(self) -> None:
        for attribute in ("_context", "_admin_context"):
            context: FunctionContext | None = getattr(self, attribute)
            if context is not None and context.watch.changed():
                context.flush_usage()
                setattr(self, attribute, None)

    def _require_context(self) -> FunctionContext:
        # The management methods work even with PKCACHE_DISABLE set: they inspect and
        # clear what is on disk, they never store. Their context is kept apart so that
        # calling one does not switch caching on for a disabled function.
        context = self._context
        if context is not None and not context.watch.changed():
            return context
        with _RESOLVE_LOCK:
            self._forget_if_changed()
            if self._context is not None:
                return self._context
            if self._admin_context is None:
                try:
                    self._admin_context = self._build_context()
                except UncacheableFunctionError as exc:
                    exc.function = self.name
                    raise
            return self._admin_context

    def flush_usage(self) -> None:
        """Record this process's pending hits and misses in the cache now (also done at exit)."""
        for context in (self._context, self._admin_context):
            if context is not None:
                context.flush_usage()

    # -- computing --------------------------------------------------------------------

    def _compute(self, context: FunctionContext, key: str, args: Any, kwargs: Any, *, force: bool) -> Any:
        lock, stored = context.acquire_lock(key)
        if stored is not MISS and not force:  # another process stored it while we waited
            self._hits += 1
            return stored
        try:
            if lock is not None and not force:
                value = context.lookup(key)  # filled while we waited for the lock
                if value is not MISS:
                    self._hits += 1
                    return value
            self._misses += 1
            context.miss()
            start = time.perf_counter()
            value = self.__wrapped__(*args, **kwargs)
            return context.keep(key, value, args, kwargs, time.perf_counter() - start)
        finally:
            if lock is not None:
                lock.release()

    # -- the public surface -----------------------------------------------------------

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        if SWITCH.any and SWITCH.off(self):  # pkcache.disabled()
            return self.__wrapped__(*args, **kwargs)
        context = self._context
        if context is None or context.watch.changed():
            context = self._resolve()
        if context is None:
            return self.__wrapped__(*args, **kwargs)
        key = context.key(args, kwargs)
        value = context.lookup(key)
        if value is not MISS:
            self._hits += 1
            return value  # type: ignore[no-any-return]
        return self._compute(context, key, args, kwargs, force=False)  # type: ignore[no-any-return]

    def refresh(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run the body, store its result (replacing any stored one) and return it."""
        context = None if SWITCH.any and SWITCH.off(self) else self._resolve()
        if context is None:
            return self.__wrapped__(*args, **kwargs)
        return self._compute(context, context.key(args, kwargs), args, kwargs, force=True)  # type: ignore[no-any-return]

    def cache_key(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """Return the hex key this call maps to."""
        return self._require_context().key(args, kwargs)

    def entry(self, *args: P.args, **kwargs: P.kwargs) -> Entry[R]:
        """The stored result of this call, as an object: ``get(default)``, ``put(value)``, ``exists()``.

        ``f.entry(x).get()`` reads the result without running the body (one read: no race
        with an eviction between a check and a call); ``f.entry(x).put(value)`` stores a
        given result, signed like any other.
        """
        context = self._require_context()
        return Entry(context, context.key(args, kwargs), args, kwargs)

    def is_cached(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Return True if a complete, unexpired result is stored for this call; never runs the body."""
        context = self._require_context()
        return context.is_stored(context.key(args, kwargs))

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Remove the stored result of this call; True if there was one."""
        context = self._require_context()
        return context.remove(context.key(args, kwargs))

    def cache_clear(self) -> int:
        """Remove every stored result of this function (all code versions); reset the counters."""
        context = self._require_context()
        self._hits = self._misses = 0
        return context.clear()

    def cache_info(self) -> CacheInfo:
        """Return hits and misses (this process and all), entries, bytes, stale entries and limits."""
        return self._require_context().info(self._hits, self._misses)

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

    def __init__(self, func: Callable[P, R], options: Options, cache: Cache | None) -> None:
        super().__init__(func, options, cache)
        if sys.version_info >= (3, 12):
            import inspect

            inspect.markcoroutinefunction(self)

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Any:  # type: ignore[override]
        if SWITCH.any and SWITCH.off(self):  # pkcache.disabled()
            return await self.__wrapped__(*args, **kwargs)  # type: ignore[misc]
        context = self._context
        if context is None or context.watch.changed():
            context = self._resolve()
        if context is None:
            return await self.__wrapped__(*args, **kwargs)  # type: ignore[misc]
        key = context.key(args, kwargs)
        value = context.lookup(key)
        if value is not MISS:
            self._hits += 1
            return value
        return await self._compute_async(context, key, args, kwargs, force=False)

    async def refresh(self, *args: P.args, **kwargs: P.kwargs) -> Any:  # type: ignore[override]
        context = None if SWITCH.any and SWITCH.off(self) else self._resolve()
        if context is None:
            return await self.__wrapped__(*args, **kwargs)  # type: ignore[misc]
        return await self._compute_async(context, context.key(args, kwargs), args, kwargs, force=True)

    async def _compute_async(self, context: FunctionContext, key: str, args: Any, kwargs: Any, *, force: bool) -> Any:
        lock, stored = await context.acquire_lock_async(key)
        if stored is not MISS and not force:  # another process stored it while we waited
            self._hits += 1
            return stored
        try:
            if lock is not None and not force:
                value = context.lookup(key)
                if value is not MISS:
                    self._hits += 1
                    return value
            self._misses += 1
            context.miss()
            start = time.perf_counter()
            value = await self.__wrapped__(*args, **kwargs)  # type: ignore[misc]
            return context.keep(key, value, args, kwargs, time.perf_counter() - start)
        finally:
            if lock is not None:
                lock.release()


class BoundCachedFunction(Generic[R]):
    """A cached method bound to its instance: ``obj.method.invalidate(x)`` includes ``obj``."""

    def __init__(self, function: CachedFunction[Any, R], instance: object) -> None:
        self.__func__ = function
        self.__self__ = instance
        functools.update_wrapper(self, function.__wrapped__)

    def __call__(self, *args: Any, **kwargs: Any) -> R:
        return self.__func__(self.__self__, *args, **kwargs)

    def __reduce__(self) -> Any:
        return (BoundCachedFunction, (self.__func__, self.__self__))

    @property
    def name(self) -> str:
        return self.__func__.name

    def refresh(self, *args: Any, **kwargs: Any) -> R:
        return self.__func__.refresh(self.__self__, *args, **kwargs)

    def cache_key(self, *args: Any, **kwargs: Any) -> str:
        return self.__func__.cache_key(self.__self__, *args, **kwargs)

    def is_cached(self, *args: Any, **kwargs: Any) -> bool:
        return self.__func__.is_cached(self.__self__, *args, **kwargs)

    def entry(self, *args: Any, **kwargs: Any) -> Entry[R]:
        return self.__func__.entry(self.__self__, *args, **kwargs)

    def invalidate(self, *args: Any, **kwargs: Any) -> bool:
        return self.__func__.invalidate(self.__self__, *args, **kwargs)

    def cache_clear(self) -> int:
        return self.__func__.cache_clear()

    def cache_info(self) -> CacheInfo:
        return self.__func__.cache_info()


_CO_COROUTINE = 0x80


def _is_coroutine_function(func: object) -> bool:
    code = getattr(func, "__code__", None)
    if code is not None:
        return bool(code.co_flags & _CO_COROUTINE)
    import inspect  # a callable object or a partial: let inspect decide

    return inspect.iscoroutinefunction(func)


def wrap(func: Callable[P, R], options: Options, cache: Cache | None) -> CachedFunction[P, R]:
    """Return the cached version of ``func``; staticmethod and classmethod objects keep their kind.

    A bound method (``cached(obj.method)``) and a callable object are cached as their
    function with the instance as first argument, so the instance is part of every key.
    """
    if isinstance(func, (staticmethod, classmethod)):
        inner = wrap(func.__func__, options, cache)
        return type(func)(inner)  # type: ignore[return-value]
    if isinstance(func, types.MethodType):
        return BoundCachedFunction(wrap(func.__func__, options, cache), func.__self__)  # type: ignore[return-value]
    call = getattr(type(func), "__call__", None)  # noqa: B004 - the class's, not the instance's
    if not isinstance(func, (type, types.FunctionType, functools.partial)) and isinstance(call, types.FunctionType):
        return BoundCachedFunction(wrap(call, options, cache), func)  # type: ignore[return-value]
    if _is_coroutine_function(func):
        return AsyncCachedFunction(func, options, cache)
    return CachedFunction(func, options, cache)
