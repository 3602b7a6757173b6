"""One cached function's working parts, built at its first call: identity, entries, locks, housekeeping.

The decorator asks this object for keys, lookups, locks and stores, and nothing else:
each concern lives in its own object (``identity``, ``entries``, ``locking``,
``housekeeping``); the hot path's methods are bound straight to them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import _codec
from .._log import Warnings, debugging, logger
from .._secret import load_secret
from .entries import EntryIO
from .housekeeping import Housekeeping
from .identity import FunctionIdentity
from .locking import KeyLocking

if TYPE_CHECKING:
    from .._keys.binding import ArgumentBinder
    from .._options import Options
    from .._reports import CacheInfo
    from .cachelike import CacheLike


class FunctionContext:
    """Everything per-function that the hot path needs, resolved once (again if ``watch`` says so)."""

    def __init__(
        self,
        func: Callable[..., Any],
        name: str,
        options: Options,
        cache: CacheLike,
        warn: Warnings,
        *,
        binder: ArgumentBinder,
    ) -> None:
        self.name = name
        self.options = options
        self._warn = warn
        self.identity = FunctionIdentity(func, name, options, binder)
        self.watch = self.identity.watch
        self.housekeeping = Housekeeping(self.identity, cache, options)
        bucket = cache.store.bucket(self.identity.namespace, self.identity.version, self.housekeeping.manifest)
        if options.secret is not None or options.secret_file is not None:
            signer = _codec.Signer(load_secret(options.secret, options.secret_file))
        else:
            signer = cache.signer
        self.entries = EntryIO(self.identity, bucket, signer, options, warn=warn, hit=self.housekeeping.hit)
        self.locking = KeyLocking(name, bucket, options.lock_timeout, self.entries.lookup, warn)
        self._location = cache.location
        # The hot path, bound straight to the objects that do the work.
        self.key = self.identity.key
        self.lookup = self.entries.lookup
        self.is_stored = self.entries.is_stored
        self.acquire_lock = self.locking.acquire
        self.acquire_lock_async = self.locking.acquire_async
        self.miss = self.housekeeping.miss
        self.flush_usage = self.housekeeping.flush_usage
        self.enforce_limits = self.housekeeping.enforce_limits

    def keep(self, key: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any], seconds: float) -> Any:
        """Store what the body returned, unless ``store_if`` says not to; return what the caller gets."""
        store_if = self.options.store_if
        if store_if is not None and not store_if(value, seconds):
            if debugging():
                logger.debug("miss %s (key %s): body %.3f s, not stored (store_if)", self.name, key[:12], seconds)
            return value
        self.store(key, value, args=args, kwargs=kwargs, seconds=seconds)
        return self.entries.as_stored(key, value) if self.options.mmap_mode else value

    def store(self, key: str, value: Any, *, args: tuple[Any, ...], kwargs: dict[str, Any], seconds: float) -> None:
        """Store a result; any trouble is a warning, and the caller keeps its value."""
        encoded = self.entries.encode(key, value, args, kwargs, seconds)
        if encoded is None:
            return
        entry, created = encoded
        try:
            self.entries.write(key, entry, created)
            self.housekeeping.after_write()
        except OSError as exc:  # read-only or full disk: the caller still gets its result
            message = "cannot store result of %s() in %s: %s; returned, not stored"
            self._warn("write", message, self.name, self._location, exc)
            return
        if debugging():
            logger.debug("miss %s (key %s): body %.3f s, stored %d bytes", self.name, key[:12], seconds, entry.size)

    def remove(self, key: str) -> bool:
        """Remove one stored result; True if there was one."""
        return self.entries.bucket.delete(key)

    def location(self, key: str) -> str:
        return self.entries.bucket.location(key)

    def info(self, hits: int, misses: int) -> CacheInfo:
        return self.housekeeping.info(hits, misses)

    def clear(self) -> int:
        """Remove every stored result of the function (all code versions); returns how many."""
        return self.housekeeping.clear()
