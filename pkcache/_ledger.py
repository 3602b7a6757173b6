"""Running totals (entries, bytes) of a cache folder, shared by every process that writes it.

Writers add to the totals as they store and delete, so a write can tell whether a limit
is exceeded without listing the folder; an exact prune corrects any drift (a writer
killed between its store and its update, files removed by hand).
"""

from __future__ import annotations

import contextlib
import os
import struct
import threading
from collections.abc import Iterator

try:
    import fcntl
except ImportError:  # Windows: filelock guards the totals file instead
    fcntl = None  # type: ignore[assignment]

_TOTALS = struct.Struct("<qq")


class Ledger:
    """An (entries, bytes) pair in a small file, updated under an exclusive lock."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._pid = 0
        self._inode: tuple[int, int] | None = None
        self._guard = threading.Lock()

    def _descriptor(self) -> int:
        # Kept open: opening it anew for every store costs more than the update itself.
        # Reopened in a forked child (which shares the parent's flock otherwise), and when
        # the file was replaced (its folder cleared and made anew by another process).
        try:
            current = os.stat(self.path)
            inode: tuple[int, int] | None = (current.st_dev, current.st_ino)
        except FileNotFoundError:
            inode = None
        if self._fd is None or self._pid != os.getpid() or inode != self._inode:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            # Forget it before reopening: if the open fails, a later call must not close
            # this number again (another thread may have been given it meanwhile).
            self._fd = None
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            stat = os.fstat(self._fd)
            self._pid, self._inode = os.getpid(), (stat.st_dev, stat.st_ino)
        return self._fd

    @contextlib.contextmanager
    def _locked(self) -> Iterator[int]:
        with self._guard:
            fd = self._descriptor()
            if fcntl is None:
                import filelock

                with filelock.FileLock(self.path + ".lock"):
                    yield fd
                return
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield fd
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    @staticmethod
    def _read(fd: int) -> tuple[int, int]:
        data = os.pread(fd, _TOTALS.size, 0)
        if len(data) != _TOTALS.size:
            return 0, 0
        count, size = _TOTALS.unpack(data)
        return max(count, 0), max(size, 0)

    def add(self, count: int, size: int) -> tuple[int, int]:
        """Add to the totals; return the new (entries, bytes)."""
        with self._locked() as fd:
            total_count, total_size = self._read(fd)
            totals = (max(total_count + count, 0), max(total_size + size, 0))
            os.pwrite(fd, _TOTALS.pack(*totals), 0)
            return totals

    def read(self) -> tuple[int, int]:
        """Return the current (entries, bytes)."""
        with self._locked() as fd:
            return self._read(fd)

    def correct(self, counted: tuple[int, int], since: tuple[int, int]) -> None:
        """Set the totals from an exact count, keeping what writers added since ``since`` was read.

        Entries stored during the count may be in it and in the writers' additions:
        the totals can come out high, never low, so a limit is never missed.
        """
        with self._locked() as fd:
            now = self._read(fd)
            totals = (max(counted[0] + now[0] - since[0], 0), max(counted[1] + now[1] - since[1], 0))
            os.pwrite(fd, _TOTALS.pack(*totals), 0)

    def close(self) -> None:
        with self._guard:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None
