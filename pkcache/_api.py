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
from ._options import CacheOptions, check_path, options_from


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

    Use bare (``@cached``) or with options (``@cached(ttl="1d")``). Every option is
    checked here, at decoration: a bad one raises ``InvalidOptionError`` (a
    ``ValueError``) or ``InvalidOptionTypeError`` (also a ``TypeError``), naming it.

    - ``store``: a directory or a Redis URL; default ``$PKCACHE_URL``, else
      ``$PKCACHE_DIR``, else the user's cache folder. ``cache_dir``: the same, a directory.
    - ``ttl``: seconds, a ``timedelta`` or ``"2h"``; an older result is a miss.
    - ``ignore``: parameters left out of the key.
    - ``version``: a str or int; changing it makes old results misses.
    - ``key``: a callable with ``func``'s signature, hashed instead of the arguments.
    - ``lock_timeout``: seconds to wait for another caller computing the same key.
    - ``durable``: fsync each entry before it becomes visible.
    - ``max_size``, ``max_entries``, ``policy``: bounds on this function's stored
      results, and what goes first (``"lru"``, ``"lfu"``, ``"fifo"``).
    - ``depends_on``: functions whose code the results depend on.
    - ``secret``, ``secret_file``: sign this function's entries with this secret.
    - ``mmap_mode``: ``"r"`` or ``"c"``: return large arrays memory-mapped.
    - ``enabled``: ``False`` never reads or stores.
    - ``store_if``: ``(result, seconds) -> bool``: store only the results it accepts.
    - ``files``, ``files_by``: parameters holding paths, keyed by the files' size and
      mtime (``"stat"``) or content (``"content"``) instead of the path's text.

    The options reference (``docs/options.md``) says more of each.
    """
    directory = check_path("cache_dir", cache_dir)
    location = check_path("store", store)
    if directory is not None and location is not None:
        raise InvalidOptionError("give cache_dir= or store=, not both")
    checked = options_from(dict(options))
    location = location if location is not None else directory
    # A store named here is opened now, so that a bad URL or a missing extra fails at decoration;
    # the default one is found at the first call (the environment may change until then).
    source = Cache.shared(location) if location is not None else DEFAULT
    return decorate(func, lambda f: wrap(f, checked, source))
