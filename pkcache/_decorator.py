"""``@cached``: compose keys, the entry codec and a store around one function."""

from __future__ import annotations

import functools
import inspect
import logging
import os
import pickle
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, ParamSpec, TypeVar, cast, overload

from . import _codec
from ._binding import ArgumentBinder, summarize
from ._errors import EntryError, UnhashableArgumentError
from ._identity import code_fingerprint, folder_name, function_name
from ._keys import ATOMIC_TYPES, PICKLING_ERRORS, PROTOCOL, ArgumentHasher, new_hash

if TYPE_CHECKING:
    from ._cache import Cache
    from ._options import Options
    from ._store import Bucket

logger = logging.getLogger("pkcache")

P = ParamSpec("P")
R = TypeVar("R")

DISABLE_ENV = "PKCACHE_DISABLE"
# What unpickling a verified entry can raise when the code it refers to has changed
# (a class renamed or moved, a module gone): the entry is unusable here, so it is a miss.
_UNPICKLE_ERRORS = (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, TypeError, ValueError)
_MISS: Any = object()
_RESOLVE_LOCK = threading.RLock()


class CacheInfo(NamedTuple):
    """What ``f.cache_info()`` reports."""

    hits: int  # calls answered from the cache, in this process
    misses: int  # calls that ran the body, in this process
    entries: int  # stored results of this function, on disk
    size: int  # bytes those results take on disk


class _Context(NamedTuple):
    """Everything per-function that the hot path needs, resolved on first call."""

    cache: Cache
    bucket: Bucket
    namespace: str
    version: str
    prefix: Any  # hash state primed with the function's identity and version
    signer: _codec.Signer


def _disabled() -> bool:
    return os.environ.get(DISABLE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


class CachedFunction(Generic[P, R]):
    """A function whose results are stored on disk, keyed by its arguments."""

    def __init__(self, func: Callable[P, R], options: Options, cache: Cache | None) -> None:
        functools.update_wrapper(self, func)
        self.__wrapped__ = func
        self._options = options
        self._cache = cache
        self._binder = ArgumentBinder(func, options.ignore)
        self.name = function_name(func)
        self._context: _Context | None = None
        self._admin_context: _Context | None = None
        self._bypass = False
        self._manifest_written = False
        self._hits = 0
        self._misses = 0
        self._warned: set[str] = set()

    def __repr__(self) -> str:
        return f"<pkcache.cached {self.name}>"

    # -- resolution -------------------------------------------------------------------

    def _resolve(self) -> _Context | None:
        """Build the per-function context; None when the cache is off or unusable."""
        with _RESOLVE_LOCK:  # threads making their first calls at once resolve it once
            if self._context is None and not self._bypass:
                self._bypass = _disabled()
                if not self._bypass:
                    try:
                        self._context = self._admin_context or self._build_context()
                    except OSError as exc:  # e.g. no secret can be created: run uncached
                        self._warn("setup", "cannot use the cache for %s, running uncached: %s", self.name, exc)
                        self._bypass = True
            return self._context

    def _build_context(self) -> _Context:
        from ._cache import default_cache

        cache = self._cache if self._cache is not None else default_cache()
        namespace = folder_name(self.name)
        # The version folder changes with the code and with version=, so old results are
        # misses after an edit, yet come back if the edit is reverted.
        code = code_fingerprint(self.__wrapped__)
        version = "v-" + new_hash(f"{code}\0{self._options.version!r}".encode()).hexdigest()[:16]
        prefix = new_hash(f"pkcache-key-1\0{self.name}\0{version}\0".encode())
        return _Context(cache, cache.store.bucket(namespace, version), namespace, version, prefix, cache.signer)

    # -- keys -------------------------------------------------------------------------

    def _key(self, context: _Context, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        key_func = self._options.key
        values = key_func(*args, **kwargs) if key_func is not None else self._binder.values(args, kwargs)
        hasher = context.prefix.copy()
        if type(values) is tuple and ATOMIC_TYPES.issuperset(map(type, values)):
            hasher.update(pickle.dumps(values, PROTOCOL))
            return str(hasher.hexdigest())
        canonical = ArgumentHasher(hasher)
        try:
            canonical.feed(values)
        except PICKLING_ERRORS as exc:
            raise self._unhashable(args, kwargs, exc) from exc
        return canonical.hexdigest()

    def _unhashable(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], error: BaseException
    ) -> UnhashableArgumentError:
        if self._options.key is not None:
            return UnhashableArgumentError(self.name, "<key= result>", str(error))
        for name, value in self._binder.named(args, kwargs):
            try:
                ArgumentHasher(new_hash()).feed(value)
            except PICKLING_ERRORS as exc:
                return UnhashableArgumentError(self.name, name, str(exc))
        return UnhashableArgumentError(self.name, "?", str(error))

    # -- reading and writing ----------------------------------------------------------

    def _lookup(self, context: _Context, key: str) -> Any:
        bucket = context.bucket
        try:
            data = bucket.read(key)
        except OSError as exc:  # unreadable file or folder: recompute, as for a miss
            self._warn("read", "cannot read cache entry %s: %s", bucket.location(key), exc)
            return _MISS
        if data is None:
            return _MISS
        location = bucket.location(key)
        try:
            header = _codec.verify(key, data, context.signer, location)
            ttl = self._options.ttl
            if ttl is not None and time.time() - header.created > ttl:
                return _MISS
            return _codec.load_value(data, header, location)
        except EntryError as exc:
            logger.warning("pkcache: removing unusable cache entry %s", exc)
            self._discard(bucket, key)
        except _UNPICKLE_ERRORS as exc:
            logger.warning("pkcache: cannot unpickle %s (%s: %s); recomputing", location, type(exc).__name__, exc)
        return _MISS

    def _discard(self, bucket: Bucket, key: str) -> None:
        try:
            bucket.delete(key)
        except OSError as exc:  # a read-only cache: the entry stays, and stays a miss
            logger.debug("pkcache: could not remove %s: %s", bucket.location(key), exc)

    def _store(
        self,
        context: _Context,
        key: str,
        value: Any,
        *,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        seconds: float,
    ) -> None:
        created = time.time()
        meta = {
            "function": self.name,
            "key": key,
            "version": context.version,
            "args": summarize(self._binder.named(args, kwargs)),
            "created": created,
            "compute_seconds": round(seconds, 6),
            "python": f"{sys.version_info[0]}.{sys.version_info[1]}",
        }
        try:
            encoded = _codec.encode(key, value, meta, context.signer, created)
        except PICKLING_ERRORS as exc:
            self._warn("pickle", "result of %s() cannot be pickled (%s); returned, not stored", self.name, exc)
            return
        try:
            context.bucket.write(key, encoded.segments, durable=self._options.durable)
            self._write_manifest(context)
        except OSError as exc:  # read-only or full disk: the caller still gets its result
            self._warn(
                "write",
                "cannot store result of %s() in %s: %s; returned, not stored",
                self.name,
                context.cache.directory,
                exc,
            )

    def _write_manifest(self, context: _Context) -> None:
        if self._manifest_written:
            return
        store = context.cache.store
        manifest = store.read_manifest(context.namespace) or {}
        if manifest.get("name") != self.name or manifest.get("current_version") != context.version:
            store.write_manifest(
                context.namespace, {"name": self.name, "current_version": context.version, "updated": time.time()}
            )
        self._manifest_written = True

    def _warn(self, topic: str, message: str, *args: object) -> None:
        # The first trouble of each kind is a warning; repeats go to debug, not a flood.
        level = logging.DEBUG if topic in self._warned else logging.WARNING
        self._warned.add(topic)
        logger.log(level, "pkcache: " + message, *args)

    def _compute(
        self, context: _Context, key: str, args: tuple[Any, ...], kwargs: dict[str, Any], *, force: bool
    ) -> Any:
        lock = self._lock(context, key)
        try:
            if lock is not None and not force:
                value = self._lookup(context, key)  # filled while we waited for the lock
                if value is not _MISS:
                    self._hits += 1
                    return value
            self._misses += 1
            start = time.perf_counter()
            value = self.__wrapped__(*args, **kwargs)
            self._store(context, key, value, args=args, kwargs=kwargs, seconds=time.perf_counter() - start)
            return value
        finally:
            if lock is not None:
                lock.release()

    def _lock(self, context: _Context, key: str) -> Any:
        try:
            lock = context.bucket.lock(key)
            if lock.acquire(self._options.lock_timeout):
                return lock
        except OSError as exc:  # cannot create a lock file (read-only cache): compute unlocked
            self._warn("lock", "cannot lock %s: %s; computing without a lock", context.bucket.location(key), exc)
            return None
        self._warn(
            "timeout",
            "waited %ss for another process computing %s(); computing anyway",
            self._options.lock_timeout,
            self.name,
        )
        return None

    # -- the public surface -----------------------------------------------------------

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        context = self._context or self._resolve()
        if context is None:
            return self.__wrapped__(*args, **kwargs)
        key = self._key(context, args, kwargs)
        value = self._lookup(context, key)
        if value is not _MISS:
            self._hits += 1
            return value  # type: ignore[no-any-return]
        return self._compute(context, key, args, kwargs, force=False)  # type: ignore[no-any-return]

    def refresh(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run the body, store its result (replacing any stored one) and return it."""
        context = self._context or self._resolve()
        if context is None:
            return self.__wrapped__(*args, **kwargs)
        return self._compute(context, self._key(context, args, kwargs), args, kwargs, force=True)  # type: ignore[no-any-return]

    def cache_key(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """Return the hex key this call maps to."""
        context = self._require_context()
        return self._key(context, args, kwargs)

    def is_cached(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Return True if a complete, unexpired result is stored for this call; never runs the body."""
        context = self._require_context()
        key = self._key(context, args, kwargs)
        try:
            found = context.bucket.read_prefix(key, _codec.PREFIX_SIZE)
        except OSError:  # unreadable: a call would recompute, so it is not cached
            return False
        if found is None:
            return False
        head, size = found
        try:
            header = _codec.read_header(head, context.bucket.location(key))
        except EntryError:
            return False
        ttl = self._options.ttl
        return size == header.total_len and (ttl is None or time.time() - header.created <= ttl)

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Remove the stored result of this call; True if there was one."""
        context = self._require_context()
        return context.bucket.delete(self._key(context, args, kwargs))

    def cache_clear(self) -> int:
        """Remove every stored result of this function (all code versions); reset the counters."""
        context = self._require_context()
        self._hits = self._misses = 0
        self._manifest_written = False
        count, _size = context.cache.store.remove_namespace(context.namespace)
        return count

    def cache_info(self) -> CacheInfo:
        """Return hits and misses of this process, and the entries and bytes on disk."""
        context = self._require_context()
        entries = list(context.cache.store.entries(context.namespace))
        return CacheInfo(self._hits, self._misses, len(entries), sum(e.size for e in entries))

    def _require_context(self) -> _Context:
        # The management methods work even with PKCACHE_DISABLE set: they inspect and
        # clear what is on disk, they never store. Their context is kept apart so that
        # calling one does not switch caching on for a disabled function.
        if self._context is not None:
            return self._context
        with _RESOLVE_LOCK:
            if self._admin_context is None:
                self._admin_context = self._build_context()
            return self._admin_context

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
            inspect.markcoroutinefunction(self)

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Any:  # type: ignore[override]
        context = self._context or self._resolve()
        if context is None:
            return await self.__wrapped__(*args, **kwargs)  # type: ignore[misc]
        key = self._key(context, args, kwargs)
        value = self._lookup(context, key)
        if value is not _MISS:
            self._hits += 1
            return value
        return await self._compute_async(context, key, args, kwargs, force=False)

    async def refresh(self, *args: P.args, **kwargs: P.kwargs) -> Any:  # type: ignore[override]
        context = self._context or self._resolve()
        if context is None:
            return await self.__wrapped__(*args, **kwargs)  # type: ignore[misc]
        return await self._compute_async(context, self._key(context, args, kwargs), args, kwargs, force=True)

    async def _compute_async(
        self, context: _Context, key: str, args: tuple[Any, ...], kwargs: dict[str, Any], *, force: bool
    ) -> Any:
        lock = None
        try:
            candidate = context.bucket.lock(key)
            if await candidate.acquire_async(self._options.lock_timeout):
                lock = candidate
            else:
                self._warn(
                    "timeout",
                    "waited %ss for another process computing %s(); computing anyway",
                    self._options.lock_timeout,
                    self.name,
                )
        except OSError as exc:  # cannot create a lock file (read-only cache): compute unlocked
            self._warn("lock", "cannot lock %s: %s; computing without a lock", context.bucket.location(key), exc)
        try:
            if lock is not None and not force:
                value = self._lookup(context, key)
                if value is not _MISS:
                    self._hits += 1
                    return value
            self._misses += 1
            start = time.perf_counter()
            value = await self.__wrapped__(*args, **kwargs)  # type: ignore[misc]
            self._store(context, key, value, args=args, kwargs=kwargs, seconds=time.perf_counter() - start)
            return value
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

    def refresh(self, *args: Any, **kwargs: Any) -> R:
        return self.__func__.refresh(self.__self__, *args, **kwargs)

    def cache_key(self, *args: Any, **kwargs: Any) -> str:
        return self.__func__.cache_key(self.__self__, *args, **kwargs)

    def is_cached(self, *args: Any, **kwargs: Any) -> bool:
        return self.__func__.is_cached(self.__self__, *args, **kwargs)

    def invalidate(self, *args: Any, **kwargs: Any) -> bool:
        return self.__func__.invalidate(self.__self__, *args, **kwargs)

    def cache_clear(self) -> int:
        return self.__func__.cache_clear()

    def cache_info(self) -> CacheInfo:
        return self.__func__.cache_info()


def wrap(func: Callable[P, R], options: Options, cache: Cache | None) -> CachedFunction[P, R]:
    """Return the cached version of ``func``; staticmethod and classmethod objects keep their kind."""
    if isinstance(func, (staticmethod, classmethod)):
        inner = wrap(func.__func__, options, cache)
        return type(func)(inner)  # type: ignore[return-value]
    if inspect.iscoroutinefunction(func):
        return AsyncCachedFunction(cast("Callable[P, R]", func), options, cache)
    return CachedFunction(func, options, cache)
