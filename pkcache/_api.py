"""``pkcache.cached``: the decorator on the default cache, and the shared ``Cache`` per location."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    from typing_extensions import Unpack

from ._cache import DEFAULT, Cache
from ._decorator.calls import CachedFunction, P, R, decorate, wrap
from ._errors import InvalidOptionError
from ._options import CacheOptions, check_directory, options_from


def cache_for(location: str | os.PathLike[str] | None) -> Cache:
    """Return the shared ``Cache`` of a directory or Redis URL (the default one when None)."""
    return Cache.shared(location)


def default_cache() -> Cache:
    """Return the cache of ``$PKCACHE_URL``, ``$PKCACHE_DIR`` or the user's cache folder, as of now."""
    return Cache.shared(None)


@overload
def cached(func: Callable[P, R], /) -> CachedFunction[P, R]: ...
@overload
def cached(
    func: None = None,
    /,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    store: str | os.PathLike[str] | None = None,
    **options: Unpack[CacheOptions],
) -> Callable[[Callable[P, R]], CachedFunction[P, R]]: ...
def cached(
    func: Callable[P, R] | None = None,
    /,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    store: str | os.PathLike[str] | None = None,
    **options: Unpack[CacheOptions],
) -> Any:
    """Store ``func``'s results on disk; a later call with the same arguments returns the stored one.

    Use bare (``@cached``) or with options (``@cached(ttl="1d")``):

    - ``store``: where results go: a directory, or a Redis URL (``"redis://host:6379/0"``)
      shared by every machine that reaches it; default ``$PKCACHE_URL``, else
      ``$PKCACHE_DIR``, else the user's cache folder. ``cache_dir`` is the same for a directory.
    - ``ttl``: seconds, a ``timedelta`` or ``"2h"``; an older result is a miss.
    - ``ignore``: parameter names left out of the key.
    - ``version``: a str or int; changing it makes old results misses.
    - ``key``: a function with ``func``'s signature whose return value is hashed instead of the arguments.
    - ``lock_timeout``: seconds to wait for another caller computing the same key before computing anyway.
    - ``secret`` / ``secret_file``: sign this function's entries with this secret
      instead of ``$PKCACHE_SECRET`` or the user's secret file.
    - ``mmap_mode``: ``"r"`` returns large array results memory-mapped read-only (``"c"``:
      copy-on-write) instead of read into memory; their raw bytes are then not re-hashed.
    - ``durable``: fsync each entry before it becomes visible (survives power loss; slower).
    - ``max_size`` (bytes or ``"500MB"``), ``max_entries``: bounds on this function's stored
      results, enforced as it stores; ``policy`` picks what goes first: ``"lru"`` (default),
      ``"lfu"`` or ``"fifo"``. Results of old code versions always go first.
    - ``depends_on``: functions whose code the result depends on; editing one makes old
      results misses. Module-level functions of the same package that ``func`` calls by
      name are tracked without being listed.

    Raises ``InvalidOptionError`` (a ``ValueError``) or ``InvalidOptionTypeError`` (also a
    ``TypeError``) at once for a bad option.
    """
    directory = check_directory(cache_dir, "cache_dir")
    location = check_directory(store, "store")
    if directory is not None and location is not None:
        raise InvalidOptionError("give cache_dir= or store=, not both")
    checked = options_from(dict(options))
    location = location if location is not None else directory
    # A store named here is opened now, so that a bad URL or a missing extra fails at decoration;
    # the default one is found at the first call (the environment may change until then).
    source = Cache.shared(location) if location is not None else DEFAULT
    return decorate(func, lambda f: wrap(f, checked, source))
