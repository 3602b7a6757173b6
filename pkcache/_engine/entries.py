"""Reading and writing one function version's entries: verified before anything is unpickled."""

from __future__ import annotations

import functools
import pickle
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import _codec
from .._errors import EntryError
from .._keys.pickler import PICKLING_ERRORS
from .._log import Warnings, debugging, logger
from .._store.protocol import Stamps
from .._summary import summarize
from .meta import MetaWriter
from .miss import MISS
from .recent import RECENT, RESTAMP, Kept, tokens

if TYPE_CHECKING:
    from .._options import Options
    from .._store.protocol import Bucket
    from .identity import FunctionIdentity

# What unpickling a verified entry can raise when the code it refers to has changed
# (a class renamed or moved, a module gone): the entry is unusable here, so it is a miss.
_UNPICKLE_ERRORS = (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, TypeError, ValueError)


class EntryIO:
    """Lookups and stores of one function version; ``hit(key)`` is told of every hit (usage)."""

    def __init__(
        self,
        identity: FunctionIdentity,
        bucket: Bucket,
        signer: _codec.Signer,
        options: Options,
        *,
        warn: Warnings,
        hit: Callable[[str], None],
    ) -> None:
        self._identity = identity
        self.name = identity.name
        self.bucket = bucket
        self.signer = signer
        self._options = options
        self._ttl = options.ttl
        self._warn = warn
        self._hit = hit
        # With mmap_mode, the store maps large entries instead of reading them.
        mmap_mode = options.mmap_mode
        self._read = functools.partial(bucket.read, mmap_mode=mmap_mode) if mmap_mode else bucket.read
        # Where the store can stamp entries, small ones are kept verified in memory
        # (``recent``) and served again while their stamp holds. (With mmap_mode, large
        # entries are mapped: read by ``bucket.read`` alone.)
        self._stamps = bucket if isinstance(bucket, Stamps) and not mmap_mode else None
        self._token = next(tokens)
        self._meta = MetaWriter(identity.name, identity.version)

    # -- reading ----------------------------------------------------------------------

    def lookup(self, key: str) -> Any:
        """Return the stored value of ``key`` (recording the hit), or ``MISS``."""
        stamps = self._stamps
        if stamps is None:
            return self._read_and_load(key)
        where = (self._token, key)
        kept = RECENT.kept.get(where)
        if kept is not None:
            changes, now = stamps.changes(), time.monotonic()
            if changes is None or changes != kept.changes or now - kept.stamped >= RESTAMP:
                if stamps.stamp(key) != kept.stamp:
                    RECENT.forget(where)
                    return self._read_and_load(key, changes)
                if changes is not None:  # else every hit takes the stamp, as where no count is kept
                    RECENT.keep(where, kept._replace(changes=changes, stamped=now))
            return MISS if self._expired(kept.created) else self._loaded(key, len(kept.stream), kept.stream)
        return self._read_and_load(key)

    def _read_and_load(self, key: str, changes: int | None = None) -> Any:
        """Read, check and load an entry; ``changes``, the store's change count if read before the read.

        Without one (a first read: on a miss it would be read for nothing), the entry is
        kept with none, and its first hit takes its stamp again, after reading the count.
        """
        stamp = None
        try:
            if self._stamps is not None:
                found = self._stamps.read_stamped(key)
                data, stamp = (None, None) if found is None else found
            else:
                data = self._read(key)
        except OSError as exc:  # unreadable file or folder: recompute, as for a miss
            self._warn("read", "cannot read cache entry %s: %s", self.bucket.location(key), exc)
            return MISS
        if data is None:
            return MISS
        if type(data) is bytes:
            # The common case, a small entry, checked and loaded with the fewest calls.
            opened = _codec.open_small(key, data, self.signer)
            if opened is not None:
                created, stream = opened
                if stamp is not None:
                    RECENT.keep((self._token, key), Kept(stamp, created, stream, changes, time.monotonic()))
                return MISS if self._expired(created) else self._loaded(key, len(data), stream)
        return self._lookup_general(key, data)

    def _lookup_general(self, key: str, data: Any) -> Any:
        location = self.bucket.location(key)
        mmap_mode = self._options.mmap_mode
        try:
            # Mapped buffers are not hashed here: that would read them whole, which is
            # what mapping avoids. The MAC still covers everything that is unpickled.
            header = _codec.verify(key, data, self.signer, location, buffers=mmap_mode is None)
        except EntryError as exc:
            logger.warning("removing unusable cache entry %s: %s", location, exc.reason)
            self.discard(key)
            return MISS
        except OSError as exc:  # a large entry's read failed as it arrived: as in ``lookup``
            self._warn("read", "cannot read cache entry %s: %s", location, exc)
            return MISS
        if self._expired(header.created):
            return MISS
        return self._loaded(key, header.total_len, data, header)

    def _expired(self, created: float) -> bool:
        return self._ttl is not None and time.time() - created > self._ttl

    def _loaded(self, key: str, size: int, data: Any, header: _codec.Header | None = None) -> Any:
        """Unpickle a verified entry (a small one's pickle stream, or ``data`` with its
        ``header``), recording the hit; ``MISS`` if it cannot be."""
        try:
            value = pickle.loads(data) if header is None else _codec.load_value(data, header)
        except _UNPICKLE_ERRORS as exc:
            location = self.bucket.location(key)
            logger.warning("cannot unpickle %s (%s: %s); recomputing", location, type(exc).__name__, exc)
            return MISS
        self._hit(key)
        if debugging():
            logger.debug("hit %s (key %s): %d bytes", self.name, key[:12], size)
        return value

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
            header = _codec.verify(key, data, self.signer, location, buffers=self._options.mmap_mode is None)
        except (EntryError, OSError):  # OSError: a large entry's read failed as it arrived
            return False
        return not self._expired(header.created)

    def discard(self, key: str) -> None:
        try:
            self.bucket.delete(key)
        except OSError as exc:  # a read-only cache: the entry stays, and stays a miss
            logger.debug("could not remove %s: %s", self.bucket.location(key), exc)

    # -- writing ----------------------------------------------------------------------

    def encode(
        self, key: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any], seconds: float
    ) -> tuple[_codec.Encoded, float] | None:
        """The signed entry of a result, and its creation time; None (with a warning) if it cannot be pickled."""
        created = time.time()
        meta = self._meta.encode(key, summarize(self._identity.binder.named(args, kwargs)), created, seconds)
        try:
            return _codec.encode_with_meta(key, value, meta, self.signer, created), created
        except PICKLING_ERRORS as exc:
            self._warn("pickle", "result of %s() cannot be pickled (%s); returned, not stored", self.name, exc)
            return None

    def write(self, key: str, encoded: _codec.Encoded, created: float) -> None:
        """Write an encoded entry; raises ``OSError`` (the caller warns and keeps its result)."""
        self.bucket.write(key, encoded.segments, created=created, durable=self._options.durable, ttl=self._ttl)
