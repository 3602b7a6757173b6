"""Running totals (entries, bytes) of a cache folder, shared by every process that writes it.

Writers add to the totals as they store and delete, so a write can tell whether a limit
is exceeded without listing the folder; an exact prune corrects any drift (a writer
killed between its store and its update, files removed by hand). The ledger's lock also
orders the records of the folder's entry index (``index``), and the ledger holds that
index's generation, which a rewrite of the index advances, and a count of every change
to the folder's entries, which lets a reader that kept entries skip looking at their
files while it stands (``changes``).
"""

from __future__ import annotations

import mmap
import os
import struct
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ..._forks import process_id

try:
    import fcntl
except ImportError:  # Windows: filelock guards the totals file instead
    fcntl = None  # type: ignore[assignment]

# Entries, bytes, the generation of the folder's entry index, how many changes the
# ledger has counted, and the length of the index's records. (Ledgers of earlier
# versions of 0.2 were the first two alone: the rest is added, zero, when opened.)
_TOTALS = struct.Struct("<qq")
_WORD = struct.Struct("<q")
_GENERATION_AT = _TOTALS.size
_CHANGES_AT = _GENERATION_AT + _WORD.size
_INDEXED_AT = _CHANGES_AT + _WORD.size  # bytes of whole records in the entry index
_SIZE = _INDEXED_AT + _WORD.size
# A reader of the change count looks whether the ledger file is still the folder's (a
# stat) at most this often: a ledger removed by hand, without a change counted, is seen
# within this many seconds.
RECHECK = 1.0

T = TypeVar("T")
# Which entry index a writer must append to: (how many times this process opened the
# ledger file, the index's generation). Either changing means the index file it holds
# open may no longer be the folder's.
Epoch = tuple[int, int]


def _allocate(fd: int) -> None:
    """Give a new totals file its bytes, really written: a write through a mapping of a
    file with no blocks behind it would be a SIGBUS on a full disk, not an OSError."""
    if os.fstat(fd).st_size >= _SIZE:
        return
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another process may be writing its first totals
    try:
        size = os.fstat(fd).st_size
        if size < _SIZE:  # only what is missing: a shorter ledger's totals stay
            os.pwrite(fd, bytes(_SIZE - size), size)
    finally:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)


def _count_change(totals: mmap.mmap) -> None:
    """Count one more change (under the lock): readers that kept entries look at their files again."""
    (changes,) = _WORD.unpack_from(totals, _CHANGES_AT)
    _WORD.pack_into(totals, _CHANGES_AT, (changes + 1) & 0x7FFF_FFFF_FFFF_FFFF)


class _Held:
    """A ledger's totals, held under its thread lock and its file lock for one read or update.

    A class rather than a generator-based context manager: every store updates two
    ledgers, and the generator's frame costs about as much as the update itself.
    """

    __slots__ = ("_fallback", "_fd", "_ledger")

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._fd = -1
        self._fallback: Any = None

    def __enter__(self) -> mmap.mmap:
        ledger = self._ledger
        ledger._guard.acquire()
        try:
            self._fd = ledger._descriptor()
            totals = ledger._map
            assert totals is not None
            if fcntl is None:
                import filelock

                self._fallback = filelock.FileLock(ledger.path + ".lock")
                self._fallback.acquire()
            else:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            ledger._guard.release()
            raise
        return totals

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self._fallback is not None:
                self._fallback.release()
            else:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._ledger._guard.release()

    # What the entry index keeps in the ledger, read and written while it is held.

    def epoch(self) -> Epoch:
        """Which index file is the folder's (see ``Epoch``)."""
        return self._ledger._opened, _WORD.unpack_from(self._totals(), _GENERATION_AT)[0]

    def advance(self) -> None:
        """Start a new generation of the index: writers holding the old file open it anew."""
        totals = self._totals()
        _WORD.pack_into(totals, _GENERATION_AT, _WORD.unpack_from(totals, _GENERATION_AT)[0] + 1)

    def indexed(self) -> int:
        """How many bytes of whole records the index holds."""
        return max(int(_WORD.unpack_from(self._totals(), _INDEXED_AT)[0]), 0)

    def set_indexed(self, length: int) -> None:
        _WORD.pack_into(self._totals(), _INDEXED_AT, length)

    def _totals(self) -> mmap.mmap:
        totals = self._ledger._map
        assert totals is not None  # held: mapped
        return totals


Held = _Held


class Ledger:
    """An (entries, bytes) pair in a small file, updated under an exclusive lock.

    ``opener`` opens (creating it if needed) the file for reading and writing; ``path``
    names it in messages and for the lock file of systems without ``fcntl``.
    """

    def __init__(self, path: str, opener: Callable[[], int] | None = None, *, counts_changes: bool = True) -> None:
        self.path = path
        self._opener = opener or (lambda: os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600))
        self._counts_changes = counts_changes  # a directory's ledger counts none: no reader asks it
        self._fd: int | None = None
        self._map: mmap.mmap | None = None
        self._pid = 0
        self._opened = 0
        self._recheck = 0.0
        self._guard = threading.Lock()

    def _descriptor(self) -> int:
        # Kept open: opening it anew for every store costs more than the update itself.
        # Reopened in a forked child (which shares the parent's flock otherwise), and when
        # the file was removed (its folder cleared, maybe made anew by another process):
        # an open file that lost its last name has no links left, which fstat tells
        # without walking the path.
        fd = self._fd
        if fd is not None and self._pid == process_id() and os.fstat(fd).st_nlink > 0:
            return fd
        self._forget()
        fd = self._opener()
        try:
            _allocate(fd)
            # The totals are read and written through a shared mapping: a write(2) would
            # update the file's mtime on every store, a journaled inode change that costs
            # tens of microseconds on a busy disk.
            self._map = mmap.mmap(fd, _SIZE)
            self._opened += 1
        except BaseException:
            os.close(fd)
            raise
        self._fd, self._pid = fd, process_id()
        return fd

    def _forget(self) -> None:
        # Forget the descriptor before anything can fail: a later call must not close
        # this number again (another thread may have been given it meanwhile).
        fd, self._fd = self._fd, None
        if self._map is not None:
            self._map.close()
            self._map = None
        if fd is not None and self._pid == process_id():
            os.close(fd)

    def _locked(self) -> _Held:
        return _Held(self)

    @staticmethod
    def _read(totals: mmap.mmap) -> tuple[int, int]:
        count, size = _TOTALS.unpack_from(totals, 0)
        return max(count, 0), max(size, 0)

    def add(self, count: int, size: int, then: Callable[[Held], None] | None = None) -> tuple[int, int]:
        """Add to the totals; return the new (entries, bytes). ``then(held)`` runs under the same lock."""
        held = self._locked()
        with held as totals:
            total_count, total_size = self._read(totals)
            new = (max(total_count + count, 0), max(total_size + size, 0))
            _TOTALS.pack_into(totals, 0, *new)
            if self._counts_changes:
                _count_change(totals)
            if then is not None:
                then(held)
            return new

    def locked(self, action: Callable[[Held], T]) -> T:
        """Return ``action(held)``, run holding the ledger's lock."""
        held = self._locked()
        with held:
            return action(held)

    def changes(self) -> int | None:
        """How many changes every process has counted here (every ``add``), read without the lock;
        None if the ledger was closed meanwhile."""
        totals = self._map
        if totals is None or self._pid != process_id() or time.monotonic() >= self._recheck:
            with self._guard:
                self._descriptor()  # reopened if its file was removed, and in a forked child
                self._recheck = time.monotonic() + RECHECK
                totals = self._map
        try:
            return int(_WORD.unpack_from(totals, _CHANGES_AT)[0])  # type: ignore[arg-type]
        except (ValueError, TypeError):  # closed by another thread (``close``) as it was read
            return None

    def read(self) -> tuple[int, int]:
        """Return the current (entries, bytes)."""
        with self._locked() as totals:
            return self._read(totals)

    def correct(self, counted: tuple[int, int], since: tuple[int, int]) -> None:
        """Set the totals from an exact count, keeping what writers added since ``since`` was read.

        Entries stored during the count may be in it and in the writers' additions:
        the totals can come out high, never low, so a limit is never missed.
        """
        with self._locked() as totals:
            now = self._read(totals)
            _TOTALS.pack_into(totals, 0, max(counted[0] + now[0] - since[0], 0), max(counted[1] + now[1] - since[1], 0))
            _count_change(totals)

    def close(self) -> None:
        with self._guard:
            self._forget()
