"""``Cache``: a cache directory as an object, and the ``cached`` decorator bound to it."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from . import _listing, _maintenance, _usage
from ._decorator import CachedFunction, P, R, decorate, wrap
from ._errors import InvalidOptionError
from ._listing import entry_infos, recorded_limits, summarize
from ._log import logger
from ._options import (
    DEFAULT_LOCK_TIMEOUT,
    CacheOptions,
    check_bool,
    check_directory,
    check_secret,
    check_timeout,
    make_limits,
    options_from,
)
from ._policies import Limits
from ._reports import CacheStats, EntryInfo, FunctionSummary, VerifyReport
from ._store.open import default_location, is_url, open_store
from ._store.protocol import EntryStat

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._codec import Signer
    from ._pruning import PruneReport

# The codec, the stores, pruning and the secret load when a Cache is made or first
# used, not at ``import pkcache``.

Progress = _maintenance.Progress


class Cache:
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
        checked = check_directory(directory, "directory")
        self._secret = check_secret(secret, secret_file)
        location = checked if checked is not None else default_location()
        # A directory's path, or a server's URL (as given: it may hold a password).
        self.directory: Path | None = None if is_url(location) else Path(location).expanduser()
        self.url: str | None = str(location) if self.directory is None else None
        # max_size, max_entries and policy bound the whole directory; ttl is the default
        # of functions cached through this object.
        self.limits = make_limits(max_size=max_size, max_entries=max_entries, ttl=ttl, policy=policy)
        self.lock_timeout = check_timeout(lock_timeout, "lock_timeout")
        self.durable = check_bool(durable, "durable")
        self.store = open_store(self.directory or str(location))
        self.location = self.store.location
        self._signer: Signer | None = None
        self._config_recorded = False

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

    @property
    def signer(self) -> Signer:
        """The entry signer, made from the user's secret on first use."""
        if self._signer is None:
            from ._codec import Signer
            from ._secret import SECRET_ENV, load_secret

            if self.store.shared and self._secret == (None, None) and not os.environ.get(SECRET_ENV):
                logger.warning(
                    "%s is shared, but no shared secret is set: entries stored by other users or "
                    "machines will be refused (and replaced). Set %s (or secret_file=) to the same value everywhere",
                    self.location,
                    SECRET_ENV,
                )
            self._signer = Signer(load_secret(*self._secret))
        return self._signer

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

    # -- inspecting -------------------------------------------------------------------

    def functions(self) -> list[FunctionSummary]:
        """Return one summary per function with stored results, sorted by name."""
        self.flush_usage()
        return [summarize(self.store, f) for f in _listing.functions(self.store)]

    def entries(self, function: str | None = None) -> list[EntryInfo]:
        """Return every stored result, or those of functions matching ``function``, newest first."""
        found = entry_infos(self.store, _listing.matching(_listing.functions(self.store), function))
        return sorted(found, key=lambda e: e.created, reverse=True)

    def stats(self) -> CacheStats:
        """Return the totals of this directory."""
        summaries = self.functions()
        limits = self._directory_limits()
        return CacheStats(
            self.location,
            len(summaries),
            sum(s.entries for s in summaries),
            sum(s.size for s in summaries),
            sum(s.stale for s in summaries),
            hits=sum(s.hits for s in summaries),
            misses=sum(s.misses for s in summaries),
            limits={k: v for k, v in limits.describe().items() if v is not None and k != "ttl"}
            if limits.bounded
            else {},
        )

    def describe(self, key_prefix: str) -> dict[str, Any]:
        """Return the metadata of the entry whose key starts with ``key_prefix``; never unpickles.

        ``verified`` says whether its signature verifies: the metadata of an entry that
        does not is untrusted (``problem`` says why). Raises ``KeyError`` if no entry
        matches and ``InvalidOptionError`` if several do.
        """
        matches = [e for e in self.store.entries() if e.key.startswith(key_prefix.lower())]
        if not matches:
            raise KeyError(key_prefix)
        if len(matches) > 1:
            raise InvalidOptionError(f"key prefix {key_prefix!r} matches {len(matches)} entries; give more digits")
        return self.describe_entry(matches[0])

    def describe_entry(self, entry: EntryStat | EntryInfo, *, verify: bool = True) -> dict[str, Any]:
        """Return the metadata of one listed entry (as ``describe``), reading that entry alone.

        ``verify=False`` reads only its header and metadata (fast, for long listings):
        the result then has no ``verified``, and is untrusted.
        """
        stat = EntryStat(entry.namespace, entry.version, entry.key, entry.size, entry.created, entry.location)
        if not verify:
            return _listing.read_metadata(self.store, stat)
        return _listing.describe(self.store, stat, self.signer)

    # -- changing ---------------------------------------------------------------------

    def clear(
        self,
        function: str | None = None,
        *,
        older_than: float | None = None,
        stale: bool = False,
        progress: Progress | None = None,
    ) -> tuple[int, int]:
        """Remove stored results; returns (entries, bytes) removed.

        With no arguments, everything. ``function`` limits it to matching functions,
        ``older_than`` (seconds) to results written longer ago, ``stale`` to results of
        old code versions and expired ones. ``progress(what, done, total)`` is called as
        functions are done.
        """
        return _maintenance.clear(self.store, self._matching(function), older_than, stale=stale, progress=progress)

    def doomed(
        self, function: str | None = None, *, older_than: float | None = None, stale: bool = False
    ) -> list[EntryStat]:
        """Return what ``clear`` with the same arguments would remove."""
        found = self._matching(function)
        return [e for f in found for e in _maintenance.doomed(self.store, f.namespace, older_than, stale=stale)]

    def prune(
        self,
        function: str | None = None,
        *,
        max_size: int | str | None = None,
        max_entries: int | None = None,
        max_age: Any = None,
        policy: str | None = None,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> PruneReport:
        """Enforce limits now, exactly; return what was removed.

        With no limits given, each function's own limits (as its decorator recorded them)
        and then this cache's limits are enforced; expired entries and dead writers'
        temporary files always go. Given limits apply to each matching function when
        ``function`` is named, else to the whole directory as one pool. ``dry_run``
        removes nothing and returns what would be removed. ``progress(what, done,
        total)`` is called as functions are done.
        """
        self.flush_usage()
        given = make_limits(max_size=max_size, max_entries=max_entries, ttl=max_age, policy=policy)
        explicit = given.bounded or given.ttl is not None or policy is not None
        directory = given if explicit else self._directory_limits()
        return _maintenance.prune_all(
            self.store,
            self._matching(function),
            given if explicit else None,
            directory,
            named=function is not None,
            dry_run=dry_run,
            progress=progress,
        )

    def _directory_limits(self) -> Limits:
        if self.limits.bounded:
            return self.limits
        limits = recorded_limits(self.store.read_config() or {}, self.location)
        return Limits(limits.max_size, limits.max_entries, None, limits.policy)

    def record_config(self) -> None:
        """Record this cache's directory limits, so ``pkcache info`` and ``prune`` know them."""
        if self._config_recorded or not self.limits.bounded:
            return
        wanted = {
            "max_size": self.limits.max_size,
            "max_entries": self.limits.max_entries,
            "policy": self.limits.policy,
        }
        if self.store.read_config() != wanted:
            self.store.write_config(wanted)
        self._config_recorded = True

    def flush_usage(self) -> None:
        """Record every pending hit and miss of this process, so listings and pruning see them."""
        _usage.flush_all()

    def verify(self, *, progress: Progress | None = None) -> VerifyReport:
        """Check every entry's length and signature; remove and report the bad ones.

        ``progress(what, done, total)`` is called as entries are checked.

        Also reports, never touching them, what in the cache pkcache did not make
        (``foreign``), and settings that weaken it (``warnings``: a directory others can
        write, a secret others can read).
        """
        from ._secret import secret_warnings

        signer = self.signer  # a secret that cannot sign is an error here, before anything is read
        return _maintenance.verify(self.store, signer, secret_warnings(*self._secret), progress)

    def matching(self, function: str | None = None) -> dict[str, str]:
        """Return the functions ``function`` names (all if None), as {folder or namespace: function name}."""
        return {f.namespace: f.name for f in self._matching(function)}

    def _matching(self, function: str | None) -> list[_listing.Function]:
        return _listing.matching(_listing.functions(self.store), function)


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
