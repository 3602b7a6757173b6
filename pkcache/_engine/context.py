"""One cached function's working state: its key prefix, bucket, signer, usage and limits.

The decorator builds one on the first call and then only asks it for keys, lookups,
stores and locks; this is where keys, the entry codec, a store and the policies meet.
"""

from __future__ import annotations

import functools
import marshal
import pickle
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import _codec
from .._errors import EntryError, UnhashableArgumentError
from .._keys.binding import ArgumentBinder
from .._keys.fingerprint import fingerprint
from .._keys.identity import folder_name, global_reads
from .._keys.pickler import ATOMIC_TYPES, MARSHAL_VERSION, PICKLING_ERRORS, ArgumentHasher, new_hash
from .._log import Warnings, debugging, logger
from .._pruning import PruneReport, prune
from .._reports import CacheInfo
from .._secret import load_secret
from .._summary import summarize
from .._usage import UsageRecorder
from .miss import MISS

if TYPE_CHECKING:
    from .._cache import Cache
    from .._options import Options
    from .._store.protocol import Bucket, Lock


SWEEP_INTERVAL = 3600.0  # seconds between sweeps of a function's folder (see _sweep_due)
SWEEP_ASK_INTERVAL = 10.0
# What unpickling a verified entry can raise when the code it refers to has changed
# (a class renamed or moved, a module gone): the entry is unusable here, so it is a miss.
_UNPICKLE_ERRORS = (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, TypeError, ValueError)


class FunctionContext:
    """Everything per-function that the hot path needs, resolved once."""

    def __init__(
        self,
        func: Callable[..., Any],
        name: str,
        options: Options,
        cache: Cache,
        warn: Warnings,
        *,
        binder: ArgumentBinder,
    ) -> None:
        self.func = func
        self.name = name
        self.options = options
        self.cache = cache
        self.warn = warn
        self.binder = binder
        self.namespace = folder_name(name)
        # The version folder changes with the code (the function's, its layers', the
        # functions it captures or calls) and with version=, so old results are misses
        # after an edit, yet come back if the edit is reverted. Captured data goes into
        # every key instead: functions made by one factory share a version.
        found = fingerprint(func, options.depends_on, options.version)
        self.version = found.code
        self.helpers = found.helpers
        self.watch = found.watch
        self._prefix_bytes = b"pkcache-key-2\0%s\0%s\0%s\0" % (name.encode(), self.version.encode(), found.values)
        self._prefix_plain = self._prefix_bytes + b"m"
        self._key_func = options.key
        self._values = self.binder.values
        self._ttl = options.ttl
        # What the function's folder says of it; a store that has to make the folder
        # writes it first, so that the folder is recognisably pkcache's from the start.
        self.manifest = {
            "name": name,
            "current_version": self.version,
            "depends_on": self.helpers,
            **options.limits.describe(),
        }
        self.bucket: Bucket = cache.store.bucket(self.namespace, self.version, self.manifest)
        # With mmap_mode, the store maps large entries instead of reading them.
        self._read = (
            functools.partial(self.bucket.read, mmap_mode=options.mmap_mode) if options.mmap_mode else self.bucket.read
        )
        if options.secret is not None or options.secret_file is not None:
            self.signer = _codec.Signer(load_secret(options.secret, options.secret_file))
        else:
            self.signer = cache.signer
        self.usage = UsageRecorder()
        self.manifest_written = False
        self._next_sweep_ask = 0.0
        # Scripts and notebooks: where a global set in one cell and read in another gives
        # stale results. (Module constants of libraries are left alone.)
        reads = sorted({name for f in found.main_functions for name in global_reads(f)})
        if reads:
            self._warn_of_globals(reads)

    def _warn_of_globals(self, reads: list[str]) -> None:
        """Warn once per function and cache (not once per process: workers, reruns) of the globals it reads."""
        self.manifest["globals_read"] = reads  # recorded with the manifest: the next process stays quiet
        try:
            recorded = self.cache.store.read_manifest(self.namespace) or {}
        except OSError:  # the store cannot be read: say it now
            recorded = {}
        if recorded.get("globals_read") == reads:
            return
        logger.warning(
            "%s() reads the global variable(s) %s, which are not part of its cache key: a new value will not "
            "make its stored results misses. Pass them as arguments, or bump version= when they change.",
            self.name,
            ", ".join(reads),
        )

    # -- keys -------------------------------------------------------------------------

    def key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        key_func = self._key_func
        values = key_func(*args, **kwargs) if key_func is not None else self._values(args, kwargs)
        if type(values) is tuple and ATOMIC_TYPES.issuperset(map(type, values)):
            # Plain values: one hash over the prefix and their canonical bytes (see _keys).
            # (digest().hex(): blake3's own hexdigest() costs a quarter of a microsecond more.)
            plain = marshal.dumps(values, MARSHAL_VERSION)
            return new_hash(self._prefix_plain + plain).digest().hex()  # type: ignore[no-any-return]
        canonical = ArgumentHasher(new_hash(self._prefix_bytes + b"p"))
        try:
            canonical.feed(values)
        except PICKLING_ERRORS as exc:
            raise self._unhashable(args, kwargs, exc) from exc
        return canonical.hexdigest()

    def _unhashable(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], error: BaseException
    ) -> UnhashableArgumentError:
        if self.options.key is not None:
            return UnhashableArgumentError(self.name, "<key= result>", str(error))
        for name, value in self.binder.named(args, kwargs):
            try:
                ArgumentHasher(new_hash()).feed(value)
            except PICKLING_ERRORS as exc:
                return UnhashableArgumentError(self.name, name, str(exc))
        return UnhashableArgumentError(self.name, "?", str(error))

    # -- reading ----------------------------------------------------------------------

    def lookup(self, key: str) -> Any:
        """Return the stored value of ``key`` (recording the hit), or ``MISS``."""
        try:
            data = self._read(key)
        except OSError as exc:  # unreadable file or folder: recompute, as for a miss
            self.warn("read", "cannot read cache entry %s: %s", self.bucket.location(key), exc)
            return MISS
        if data is None:
            return MISS
        if type(data) is bytes:
            # The common case, a small entry, checked and loaded with the fewest calls.
            opened = _codec.open_small(key, data, self.signer)
            if opened is not None:
                created, stream = opened
                return MISS if self._expired(created) else self._loaded(key, len(data), pickle.loads, stream)
        return self._lookup_general(key, data)

    def _lookup_general(self, key: str, data: Any) -> Any:
        location = self.bucket.location(key)
        mmap_mode = self.options.mmap_mode
        try:
            # Mapped buffers are not hashed here: that would read them whole, which is
            # what mapping avoids. The MAC still covers everything that is unpickled.
            header = _codec.verify(key, data, self.signer, location, buffers=mmap_mode is None)
        except EntryError as exc:
            logger.warning("removing unusable cache entry %s: %s", location, exc.reason)
            self.discard(key)
            return MISS
        except OSError as exc:  # a large entry's read failed as it arrived: as in ``lookup``
            self.warn("read", "cannot read cache entry %s: %s", location, exc)
            return MISS
        if self._expired(header.created):
            return MISS
        return self._loaded(key, header.total_len, _codec.load_value, data, header)

    def as_stored(self, key: str, value: Any) -> Any:
        """With ``mmap_mode``, the just-stored result as a hit returns it (mapped), else ``value``.

        So that behaviour never depends on whether a call was a hit: with ``"r"``, the
        computing call's arrays are read-only too. (A small entry is never mapped: a hit
        returns a copy, as the computing call returns the body's own object.)
        """
        try:
            data = self._read(key)
            if data is None or type(data) is bytes:
                return value
            header = _codec.verify(key, data, self.signer, self.bucket.location(key), buffers=False)
            return _codec.load_value(data, header)
        except (OSError, EntryError, *_UNPICKLE_ERRORS) as exc:  # removed or replaced meanwhile: the body's own
            logger.debug("returning the computed result of %s, not the stored one: %s", self.name, exc)
            return value

    def _expired(self, created: float) -> bool:
        return self._ttl is not None and time.time() - created > self._ttl

    def _loaded(self, key: str, size: int, load: Callable[..., Any], *args: Any) -> Any:
        """Unpickle a verified entry with ``load(*args)``, recording the hit; ``MISS`` if it cannot be."""
        try:
            value = load(*args)
        except _UNPICKLE_ERRORS as exc:
            location = self.bucket.location(key)
            logger.warning("cannot unpickle %s (%s: %s); recomputing", location, type(exc).__name__, exc)
            return MISS
        if self.usage.hit(key):  # the tally is due to be flushed
            self.flush_usage()
        if debugging():
            logger.debug("hit %s (key %s): %d bytes", self.name, key[:12], size)
        return value

    def discard(self, key: str) -> None:
        try:
            self.bucket.delete(key)
        except OSError as exc:  # a read-only cache: the entry stays, and stays a miss
            logger.debug("could not remove %s: %s", self.bucket.location(key), exc)

    def is_stored(self, key: str) -> bool:
        """True if an entry stored for ``key`` would load: whole, signed with this secret, unexpired.

        It reads the entry and checks it as a hit would, short of unpickling it.
        """
        try:
            data = self._read(key)
        except OSError:  # unreadable: a call would recompute, so it is not cached
            return False
        if data is None:
            return False
        location = self.bucket.location(key)
        try:
            header = _codec.verify(key, data, self.signer, location, buffers=self.options.mmap_mode is None)
        except (EntryError, OSError):  # OSError: a large entry's read failed as it arrived
            return False
        return not self._expired(header.created)

    # -- writing ----------------------------------------------------------------------

    def acquire_lock(self, key: str) -> tuple[Lock | None, Any]:
        """Wait for ``key``'s lock (up to ``lock_timeout``): (lock, MISS), or (None, value) if it got stored meanwhile.

        While it waits, it looks for the entry every ``RECHECK`` seconds, so a value stored
        by a holder it cannot see release (a forked child's parent) ends the wait. (None,
        MISS) means compute without the lock: it cannot be made (a read-only cache, a
        folder removed under us) or is held too long; nothing deadlocks.
        """
        found: list[Any] = []
        try:
            lock = self.bucket.lock(key)
            if lock.acquire(self.options.lock_timeout, lambda: self._stored_meanwhile(key, found)):
                return lock, MISS
        except OSError as exc:
            self.warn("lock", "cannot lock %s: %s; computing without a lock", self.bucket.location(key), exc)
            return None, MISS
        if found:
            return None, found[0]
        self._warn_timeout()
        return None, MISS

    async def acquire_lock_async(self, key: str) -> tuple[Lock | None, Any]:
        """Like ``acquire_lock``, waiting with ``asyncio.sleep`` so the event loop keeps running."""
        found: list[Any] = []
        try:
            lock = self.bucket.lock(key)
            if await lock.acquire_async(self.options.lock_timeout, lambda: self._stored_meanwhile(key, found)):
                return lock, MISS
        except OSError as exc:
            self.warn("lock", "cannot lock %s: %s; computing without a lock", self.bucket.location(key), exc)
            return None, MISS
        if found:
            return None, found[0]
        self._warn_timeout()
        return None, MISS

    def _stored_meanwhile(self, key: str, found: list[Any]) -> bool:
        value = self.lookup(key)
        if value is MISS:
            return False
        found.append(value)
        return True

    def _warn_timeout(self) -> None:
        timeout = self.options.lock_timeout
        self.warn("timeout", "waited %ss for another process computing %s(); computing anyway", timeout, self.name)

    def keep(self, key: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any], seconds: float) -> Any:
        """Store what the body returned, unless ``store_if`` says not to; return what the caller gets."""
        store_if = self.options.store_if
        if store_if is not None and not store_if(value, seconds):
            if debugging():
                logger.debug("miss %s (key %s): body %.3f s, not stored (store_if)", self.name, key[:12], seconds)
            return value
        self.store(key, value, args=args, kwargs=kwargs, seconds=seconds)
        return self.as_stored(key, value) if self.options.mmap_mode else value

    def store(self, key: str, value: Any, *, args: tuple[Any, ...], kwargs: dict[str, Any], seconds: float) -> None:
        """Store a computed value; any trouble is a warning, and the caller keeps its value."""
        created = time.time()
        meta = {
            "function": self.name,
            "key": key,
            "version": self.version,
            "args": summarize(self.binder.named(args, kwargs)),
            "created": created,
            "compute_seconds": round(seconds, 6),
            "python": f"{sys.version_info[0]}.{sys.version_info[1]}",
        }
        try:
            encoded = _codec.encode(key, value, meta, self.signer, created)
        except PICKLING_ERRORS as exc:
            self.warn("pickle", "result of %s() cannot be pickled (%s); returned, not stored", self.name, exc)
            return
        try:
            self.bucket.write(key, encoded.segments, created=created, durable=self.options.durable, ttl=self._ttl)
            self._write_manifest()
            self.enforce_limits()
            if debugging():
                size = encoded.size
                logger.debug("miss %s (key %s): body %.3f s, stored %d bytes", self.name, key[:12], seconds, size)
        except OSError as exc:  # read-only or full disk: the caller still gets its result
            self.warn(
                "write",
                "cannot store result of %s() in %s: %s; returned, not stored",
                self.name,
                self.cache.location,
                exc,
            )

    def _write_manifest(self) -> None:
        if self.manifest_written:
            return
        store = self.cache.store
        manifest = self.manifest
        recorded = store.read_manifest(self.namespace) or {}
        if {k: recorded.get(k) for k in manifest} != manifest:
            store.write_manifest(self.namespace, {**manifest, "updated": time.time()})
        self.cache.record_config()
        self.manifest_written = True

    # -- usage and limits -------------------------------------------------------------

    def miss(self) -> None:
        if self.usage.miss():  # a worker process: recorded now, in case it is killed
            self.flush_usage()

    def flush_usage(self) -> None:
        """Append this process's pending hits and misses to the shared usage log."""
        record = self.usage.take()
        if record is None:
            return
        try:
            self.cache.store.append_usage(self.namespace, record)
        except OSError as exc:  # read-only cache: the statistics are lost, nothing else
            logger.debug("cannot record usage of %s: %s", self.name, exc)

    def enforce_limits(self) -> PruneReport:
        """Prune this function, then the whole cache, where a limit is now exceeded."""
        report = PruneReport()
        store = self.cache.store
        limits = self.options.limits
        if (limits.bounded and limits.exceeded_by(store.totals(self.namespace))) or self._sweep_due():
            self.flush_usage()
            report = report.plus(prune(store, self.namespace, limits.low_water()))
        cache_limits = self.cache.limits
        if cache_limits.bounded and cache_limits.exceeded_by(store.totals(None)):
            self.cache.flush_usage()
            report = report.plus(prune(store, None, cache_limits.low_water()))
        return report

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
        ttl = self.options.ttl
        interval = SWEEP_INTERVAL if ttl is None else min(max(ttl, 60.0), SWEEP_INTERVAL)
        self._next_sweep_ask = now + min(interval, SWEEP_ASK_INTERVAL)
        return self.cache.store.claim_sweep(self.namespace, interval)

    def info(self, hits: int, misses: int) -> CacheInfo:
        self.flush_usage()
        store = self.cache.store
        entries = list(store.entries(self.namespace))
        usage = store.read_usage(self.namespace)
        manifest = store.read_manifest(self.namespace) or {}
        current = manifest.get("current_version", self.version)
        return CacheInfo(
            hits,
            misses,
            len(entries),
            sum(e.size for e in entries),
            stale=sum(e.version != current for e in entries),
            total_hits=usage.hits,
            total_misses=usage.misses,
            limits=self.options.limits.describe(),
        )
