"""``Cache``: a cache directory as an object, and the ``cached`` decorator bound to it."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, overload

from ._decorator.calls import CachedFunction, P, R, decorate, wrap
from ._housekeeping.admin import StoreAdmin
from ._options import DEFAULT_LOCK_TIMEOUT, CacheOptions, check, check_path, check_secrets, make_limits, options_from
from ._store.open import default_location, is_url, open_store

if TYPE_CHECKING:
    from pathlib import Path

    from typing_extensions import Unpack


# The codec, the stores, pruning and the secret load when a Cache is made or first
# used, not at ``import pkcache``.


class Cache(StoreAdmin):
    """A cache directory or Redis server: the decorator bound to it, and listing, clearing and checking it.

    ``directory`` is a path, or a Redis URL (``redis://host:6379/0``) to share results
    between machines; default ``$PKCACHE_URL``, else ``$PKCACHE_DIR``, else the user's
    cache folder. Creating a ``Cache`` touches nothing: a directory is made (mode 0700)
    on the first store, a server is connected to on first use.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        max_size: int | str | None = None,
        max_entries: int | None = None,
        ttl: Any = None,
        policy: str | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        durable: bool = False,
        secret: str | bytes | None = None,
        secret_file: str | os.PathLike[str] | None = None,
    ) -> None:
        checked = check_path("directory", directory)
        self._secret = check_secrets(secret, secret_file)
        location = checked if checked is not None else default_location()
        from pathlib import Path  # imported here: ``import pkcache`` stays quick (docs/performance.md)

        # A directory's path, or a server's URL (as given: it may hold a password).
        self.directory: Path | None = None if is_url(location) else Path(location).expanduser()
        self.url: str | None = str(location) if self.directory is None else None
        # max_size, max_entries and policy bound the whole directory; ttl is the default
        # of functions cached through this object.
        limits = make_limits(max_size=max_size, max_entries=max_entries, ttl=ttl, policy=policy)
        self.lock_timeout: float = check("lock_timeout", lock_timeout)
        self.durable: bool = check("durable", durable)
        super().__init__(open_store(self.directory or str(location)), limits, self._secret)

    def __repr__(self) -> str:
        return f"pkcache.Cache({self.location!r})"

    def __reduce__(self) -> Any:
        # Location and options only, at any time: the worker opens its own store on first use.
        return (_restore, (self.pickle_location(), self.settings()))

    def resolve(self) -> Cache:
        """The cache a function cached through this one stores in: this one (see ``CacheSource``)."""
        return self

    @classmethod
    def shared(cls, location: str | os.PathLike[str] | None = None, **settings: Any) -> Cache:
        """The process's one ``Cache`` of a location and settings (of the default location if None).

        Cached functions share it, so a process opens each store once.
        """
        from pathlib import Path

        if location is None:
            location = default_location()
        place: str | Path = location if is_url(location) else Path(location).expanduser()
        with _SHARED_LOCK:
            key = (place, tuple(sorted(settings.items())))
            cache = _SHARED.get(key)
            if cache is None:
                cache = _SHARED[key] = cls(place, **settings)
            return cache

    def close(self) -> None:
        """Close what this cache holds open (descriptors, connections); they reopen on use."""
        self.store.close()

    def pickle_location(self) -> str:
        """The location a worker process opens: the directory, or the URL as given."""
        return self.url if self.url is not None else str(self.directory)

    def settings(self) -> dict[str, Any]:
        """The options this cache was made with, as ``Cache(...)`` takes them."""
        secret, secret_file = self._secret
        return {
            "max_size": self.limits.max_size,
            "max_entries": self.limits.max_entries,
            "ttl": self.limits.ttl,
            "policy": self.limits.policy,
            "lock_timeout": self.lock_timeout,
            "durable": self.durable,
            "secret": secret,
            "secret_file": secret_file,
        }

    @overload
    def cached(self, func: Callable[P, R], /) -> CachedFunction[P, R]: ...
    @overload
    def cached(
        self, func: None = None, /, **options: Unpack[CacheOptions]
    ) -> Callable[[Callable[P, R]], CachedFunction[P, R]]: ...
    def cached(self, func: Callable[P, R] | None = None, /, **options: Unpack[CacheOptions]) -> Any:
        """Cache ``func``'s results in this directory; see ``pkcache.cached`` for the options.

        ``ttl``, ``lock_timeout`` and ``durable`` default to this cache's.
        """
        defaults = {"ttl": self.limits.ttl, "lock_timeout": self.lock_timeout, "durable": self.durable}
        checked = options_from(dict(options), defaults)
        return decorate(func, lambda f: wrap(f, checked, self))

    def cache(
        self,
        func: Callable[..., Any] | None = None,
        ignore: Iterable[str] | None = None,
        verbose: object = None,
        mmap_mode: object = False,
        cache_validation_callback: object = None,
    ) -> Any:
        """joblib's ``Memory.cache``, for libraries that take a ``Memory`` (scikit-learn's ``memory=``).

        Same as ``cached(func, ignore=..., mmap_mode=...)``; ``verbose`` is ignored (pkcache
        logs through the ``pkcache`` logger), and ``cache_validation_callback`` is refused
        with what to use instead (``store_if=``, ``ttl=``).
        """
        from ._joblib import joblib_options

        return self.cached(func, **joblib_options(ignore, verbose, mmap_mode, cache_validation_callback))


_SHARED: dict[tuple[Any, ...], Cache] = {}
_SHARED_LOCK = threading.Lock()


def _restore(location: str, settings: dict[str, Any]) -> Cache:
    """A pickled ``Cache`` in a worker: the process's shared one of that location and settings."""
    return Cache.shared(location, **settings)


class DefaultCache:
    """How ``pkcache.cached`` reaches its cache: the default one, as of the function's first call.

    Pickled (to a worker process), it becomes the cache the default location names here,
    so that the worker stores where the parent does.
    """

    def resolve(self) -> Cache:
        return Cache.shared(None)

    def __reduce__(self) -> Any:
        return (_restore, (str(default_location()), {}))


DEFAULT = DefaultCache()
