"""What keeps a function's results in bounds and accounted for: manifest, usage tallies, limits, sweeps."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .._housekeeping.pruning import prune
from .._housekeeping.usage import UsageRecorder
from .._log import logger
from .._reports import CacheInfo
from .pruner import PRUNER, SYNC_ENTRIES

if TYPE_CHECKING:
    from .._housekeeping.policies import Limits
    from .._options import Options
    from .cachelike import CacheLike
    from .identity import FunctionIdentity

SWEEP_INTERVAL = 3600.0  # seconds between sweeps of a function's folder (see _sweep_due)
SWEEP_ASK_INTERVAL = 10.0


class Housekeeping:
    """A function's manifest, its hit and miss tallies, and the limits enforced as it stores."""

    def __init__(self, identity: FunctionIdentity, cache: CacheLike, options: Options) -> None:
        self._identity = identity
        self._cache = cache
        self._options = options
        self.namespace = identity.namespace
        # What the function's folder says of it; a store that has to make the folder
        # writes it first, so that the folder is recognisably pkcache's from the start.
        self.manifest: dict[str, Any] = {
            "name": identity.name,
            "current_version": identity.version,
            "depends_on": identity.helpers,
            **options.limits.describe(),
        }
        self.usage = UsageRecorder()
        self._manifest_written = False
        self._next_sweep_ask = 0.0
        if identity.globals_read:
            self._warn_of_globals(identity.globals_read)

    def _warn_of_globals(self, reads: list[str]) -> None:
        """Warn once per function and cache (not once per process: workers, reruns) of the globals it reads."""
        self.manifest["globals_read"] = reads  # recorded with the manifest: the next process stays quiet
        try:
            recorded = self._cache.store.read_manifest(self.namespace) or {}
        except OSError:  # the store cannot be read: say it now
            recorded = {}
        if recorded.get("globals_read") == reads:
            return
        logger.warning(
            "%s() reads the global variable(s) %s, which are not part of its cache key: a new value will not "
            "make its stored results misses. Pass them as arguments, or bump version= when they change.",
            self._identity.name,
            ", ".join(reads),
        )

    def after_write(self) -> None:
        """What a store does after writing an entry: the manifest once, then limits and sweeps."""
        if not self._manifest_written:
            store = self._cache.store
            recorded = store.read_manifest(self.namespace) or {}
            if {k: recorded.get(k) for k in self.manifest} != self.manifest:
                store.write_manifest(self.namespace, {**self.manifest, "updated": time.time()})
            self._cache.record_config()
            self._manifest_written = True
        self.enforce_limits()

    # -- usage ----------------------------------------------------------------------------

    def hit(self, key: str) -> None:
        if self.usage.hit(key):  # the tally is due to be flushed
            self.flush_usage()

    def miss(self) -> None:
        if self.usage.miss():  # a worker process: recorded now, in case it is killed
            self.flush_usage()

    def flush_usage(self) -> None:
        """Append this process's pending hits and misses to the shared usage log."""
        record = self.usage.take()
        if record is None:
            return
        try:
            self._cache.store.append_usage(self.namespace, record)
        except OSError as exc:  # read-only cache: the statistics are lost, nothing else
            logger.debug("cannot record usage of %s: %s", self._identity.name, exc)

    # -- limits ---------------------------------------------------------------------------

    def enforce_limits(self) -> None:
        """Prune this function, then the whole cache, where a limit is now exceeded (see ``pruner``)."""
        store = self._cache.store
        limits = self._options.limits
        totals = store.totals(self.namespace) if limits.bounded else None
        if (totals is not None and limits.exceeded_by(totals)) or self._sweep_due():
            self.flush_usage()
            entries = (totals or store.totals(self.namespace))[0]
            self._prune(self.namespace, limits.low_water(), entries)
        cache_limits = self._cache.limits
        if cache_limits.bounded:
            everything = store.totals(None)
            if cache_limits.exceeded_by(everything):
                self._cache.flush_usage()
                self._prune(None, cache_limits.low_water(), everything[0])

    def _prune(self, namespace: str | None, limits: Limits, entries: int) -> None:
        store = self._cache.store
        if entries <= SYNC_ENTRIES:
            prune(store, namespace, limits)
        else:
            location = self._cache.pickle_location()
            PRUNER.submit(location, namespace, limits._asdict(), lambda: prune(store, namespace, limits))

    def _sweep_due(self) -> bool:
        # A sweep now and then, shared by all processes through the store: it removes
        # expired entries (misses already, but they fill the disk when keys do not
        # repeat) and dead writers' temporary files, even where no bound ever bites.
        # At most once per ttl (and minute), and at least once an hour. The store is
        # asked at most every SWEEP_ASK_INTERVAL s by this process (a stat or a round
        # trip saved on most stores), which delays a sweep by at most that.
        now = time.monotonic()
        if now < self._next_sweep_ask:
            return False
        ttl = self._options.ttl
        interval = SWEEP_INTERVAL if ttl is None else min(max(ttl, 60.0), SWEEP_INTERVAL)
        self._next_sweep_ask = now + min(interval, SWEEP_ASK_INTERVAL)
        return self._cache.store.claim_sweep(self.namespace, interval)

    # -- reporting and clearing -----------------------------------------------------------

    def info(self, hits: int, misses: int) -> CacheInfo:
        self.flush_usage()
        store = self._cache.store
        entries = list(store.entries(self.namespace))
        usage = store.read_usage(self.namespace)
        manifest = store.read_manifest(self.namespace) or {}
        current = manifest.get("current_version", self._identity.version)
        return CacheInfo(
            hits,
            misses,
            len(entries),
            sum(e.size for e in entries),
            stale=sum(e.version != current for e in entries),
            total_hits=usage.hits,
            total_misses=usage.misses,
            limits=self._options.limits.describe(),
        )

    def clear(self) -> int:
        """Remove every stored result of the function (all code versions), and this process's tallies."""
        self.usage.take()
        self._manifest_written = False
        count, _size = self._cache.store.remove_namespace(self.namespace)
        return count
