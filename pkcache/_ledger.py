"""Running totals (entries, bytes) of a cache folder, shared by every process that writes it.

Writers add to the totals as they store and delete, so a write can tell whether a limit
is exceeded without listing the folder; an exact prune corrects any drift (a writer
killed between its store and its update, files removed by hand).
"""

from __future__ import annotations

import contextlib
import os
import struct
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

    @contextlib.contextmanager
    def _locked(self) -> Iterator[int]:
        # Opened per use, not kept: an open descriptor would keep the file system busy
        # (no read-only remount, no unmount) and would share its flock with forked children.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fcntl is None:
                import filelock

                with filelock.FileLock(self.path + ".lock"):
                    yield fd
                return
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd  # closing the descriptor releases the flock
        finally:
            os.close(fd)

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
