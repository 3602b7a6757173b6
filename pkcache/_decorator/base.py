"""What every cached function has, sync or async: its engine, found at the first call, and its methods.

A cached function is handed how to reach its cache (a ``CacheSource``: a ``Cache``, or
the default one resolved at the first call); it never imports the public face.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, cast

from .._errors import SecretError, UncacheableFunctionError
from .._housekeeping import usage as _usage
from .._keys.identity import function_name
from .._log import Warnings
from .._store.protocol import OwnsItsPlace
from .entry import Entry

if TYPE_CHECKING:
    from .._engine.cachelike import CacheSource
    from .._engine.context import FunctionContext
    from .._options import Options
    from .._reports import CacheInfo

P = ParamSpec("P")
R = TypeVar("R")

_RESOLVE_LOCK = threading.RLock()


def _disabled_by_environment() -> bool:
    return os.environ.get("PKCACHE_DISABLE", "").strip().lower() in {"1", "true", "yes", "on"}


class CachedBase(Generic[P, R]):
    """A function whose results are stored, keyed by its arguments: everything but the call itself."""

    def __init__(self, func: Callable[P, R], options: Options, source: CacheSource) -> None:
        functools.update_wrapper(cast("Callable[..., Any]", self), func)
        self.__wrapped__ = func
        self.name = function_name(func)
        self._options = options
        self._source = source
        self._context: FunctionContext | None = None
        self._admin_context: FunctionContext | None = None
        self._bypass = False
        self._hits = 0
        self._misses = 0
        self._warn = Warnings()
        # Built at decoration, not at the first call, so that a bad ignore= fails at once.
        from .._keys.binding import ArgumentBinder

        self._binder = ArgumentBinder(func, options.ignore, options.files, options.files_by)

    def __repr__(self) -> str:
        return f"<pkcache.cached {self.name}>"

    # -- the engine, found at the first call ---------------------------------------------

    def _build_context(self) -> FunctionContext:
        from .._engine.context import FunctionContext  # the working parts load at the first call, not at import

        cache = self._source.resolve()
        if isinstance(cache.store, OwnsItsPlace):
            cache.store.check()  # NotACacheError (an OSError) for a directory that is not a cache
        context = FunctionContext(self.__wrapped__, self.name, self._options, cache, self._warn, binder=self._binder)
        _usage.register(self)
        return context

    def _resolve(self) -> FunctionContext | None:
        """Build the engine at the first call, and again after its code changed; None to run uncached.

        None when caching is off or the cache is unusable. The engine is rebuilt when
        what its fingerprint was taken from changed in this process: a notebook cell
        redefined a helper, autoreload replaced the code, a captured variable was rebound.
        """
        with _RESOLVE_LOCK:  # threads making their first calls at once resolve it once
            self._forget_if_changed()
            if self._context is None and not self._bypass:
                self._bypass = _disabled_by_environment() or not self._options.enabled
                if not self._bypass:
                    self._context = self._admin_context or self._build_or_bypass()
            return self._context

    def _build_or_bypass(self) -> FunctionContext | None:
        try:
            return self._build_context()
        except UncacheableFunctionError as exc:
            exc.function = self.name
            self._warn("setup", "%s; running it uncached", exc)
        except (SecretError, OSError) as exc:  # a misconfigured secret, a cache that is not one: results still
            self._warn("setup", "cannot use the cache for %s, running uncached: %s", self.name, exc)
        self._bypass = True
        return None

    def _forget_if_changed(self) -> None:
        for attribute in ("_context", "_admin_context"):
            context: FunctionContext | None = getattr(self, attribute)
            if context is not None and context.watch.changed():
                context.flush_usage()
                setattr(self, attribute, None)

    def _require_context(self) -> FunctionContext:
        # The management methods work even with PKCACHE_DISABLE set: they inspect and
        # clear what is stored, they never store. Their engine is kept apart so that
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

    # -- management ------------------------------------------------------------------------

    def flush_usage(self) -> None:
        """Record this process's pending hits and misses in the cache now (also done at exit)."""
        for context in (self._context, self._admin_context):
            if context is not None:
                context.flush_usage()

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
