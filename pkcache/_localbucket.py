"""One function version's entries in a local directory: where each file is, and how it is read and written."""

from __future__ import annotations

import mmap
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._arriving import read_in_background
from ._atomic import write_atomic
from ._codec import Buffer, Stored
from ._locks import KeyLock
from ._memory import allocate

if TYPE_CHECKING:
    from ._localstore import DirectoryStore

ENTRY_SUFFIX = ".pkl"
KEY_LOCKS = ".locks"  # one file per function version; each key locks one byte of it
# One read returns a small entry whole: the hit path is open, read, close.
_FIRST_READ = 1 << 16
# Entries at least this large are read on a thread while the caller checks them.
_BACKGROUND_MIN = 4 << 20
# Fan-out: entries live in 256 sub-folders by the key's first two hex digits, so a
# million entries make folders of about 4,000 files.
_FANOUT = 2


class DirectoryBucket:
    """The entries of one function version: ``root/namespace/version/xx/KEY.pkl``."""

    def __init__(self, store: DirectoryStore, namespace: str, folder: str) -> None:
        self._store = store
        self._namespace = namespace
        self._folder = folder

    def _path(self, key: str) -> str:
        return f"{self._folder}/{key[:_FANOUT]}/{key}{ENTRY_SUFFIX}"

    def location(self, key: str) -> str:
        return self._path(key)

    def read(self, key: str, *, mmap_mode: str | None = None) -> Stored | None:
        try:
            fd = os.open(self._path(key), os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            head = os.read(fd, _FIRST_READ)
            if len(head) < _FIRST_READ:
                return head
            size = max(os.fstat(fd).st_size, len(head))
            if mmap_mode is not None:
                # Mapped, not read: pages come in as the caller touches them. "r" maps
                # read-only; "c" copy-on-write (writable, changes never reach the file).
                if mmap_mode == "r":
                    return memoryview(mmap.mmap(fd, size, prot=mmap.PROT_READ))
                prot = mmap.PROT_READ | mmap.PROT_WRITE
                return memoryview(mmap.mmap(fd, size, flags=mmap.MAP_PRIVATE, prot=prot))
            # A large entry: read it into one writable, page-aligned buffer, so that
            # arrays loaded from out-of-band buffers are writable and aligned as in the
            # file, and nothing is copied twice.
            view = allocate(size)
            view[: len(head)] = head
            if size >= _BACKGROUND_MIN:
                arriving = read_in_background(fd, view, len(head))
                fd = -1  # the reading thread closes it
                return arriving
            filled = len(head)
            while filled < size:
                count = os.readv(fd, [view[filled:]])
                if count == 0:
                    break
                filled += count
            return view if filled == size else bytes(view[:filled])
        finally:
            if fd >= 0:
                os.close(fd)

    def read_prefix(self, key: str, size: int) -> tuple[Buffer, int] | None:
        try:
            fd = os.open(self._path(key), os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            return os.read(fd, size), os.fstat(fd).st_size
        finally:
            os.close(fd)

    def write(
        self, key: str, segments: Sequence[Buffer], *, created: float, durable: bool = False, ttl: float | None = None
    ) -> None:
        # ttl is not needed here: readers check an entry's age, sweeps remove expired files.
        self._store.ensure_root()
        size = sum(memoryview(s).nbytes for s in segments)
        folder = f"{self._folder}/{key[:_FANOUT]}"
        replaced = write_atomic(folder, f"{key}{ENTRY_SUFFIX}", segments, durable=durable, modified=created)
        self._store.account(self._namespace, 0 if replaced else 1, size - replaced)

    def delete(self, key: str) -> bool:
        path = self._path(key)
        try:
            size = os.stat(path).st_size
            os.unlink(path)
        except FileNotFoundError:
            return False
        self._store.account(self._namespace, -1, -size)
        return True

    def lock(self, key: str) -> KeyLock:
        self._store.ensure_root()
        return KeyLock(f"{self._folder}/{KEY_LOCKS}", key)
