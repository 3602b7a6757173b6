"""Reading the entry index whole, and rewriting it, under the ledger's lock (see ``index``)."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets

from .atomic import write_atomic
from .index import RECORD_SIZE, Opener, Snapshot, well_formed
from .layout import INDEX
from .ledger import Epoch, Held, Ledger


def read_from(fd: int, size: int) -> bytes:
    """The first ``size`` bytes of an open index (as many as were whole when its size was taken)."""
    chunks = []
    offset = 0
    while offset < size:
        chunk = os.pread(fd, min(size - offset, 1 << 24), offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def read_snapshot(ledger: Ledger, opener: Opener) -> Snapshot:
    """The folder's index as it stands (empty if it has none yet).

    How much of it is records is read under the ledger's lock, so that only whole
    records are read. Raises ``OSError`` if it cannot be read (``UnsafePathError`` for a
    link in its place).
    """

    def take(held: Held) -> tuple[int, int, Epoch]:
        try:
            fd = opener(os.O_RDONLY)
        except FileNotFoundError:
            return -1, 0, held.epoch()
        return fd, held.indexed(), held.epoch()

    fd, length, epoch = ledger.locked(take)
    if fd < 0:
        return Snapshot(b"", epoch)
    try:
        return Snapshot(read_from(fd, length), epoch)
    finally:
        os.close(fd)


def rewrite(ledger: Ledger, folder: int, snapshot: Snapshot, records: bytes, opener: Opener) -> bool:
    """Replace the index by ``records`` (what ``snapshot`` held that still counts), keeping what was
    appended since; False if it was rewritten meanwhile, or its folder made anew.

    The new index is written beside the old first; only its last records and the swap
    happen under the ledger's lock, so writers wait for a few appends, not for the whole.
    The generation advances before the swap: a writer that sees it opens the index anew.
    """
    staging = f"{INDEX}.{os.getpid()}-{secrets.token_hex(4)}"
    write_atomic(folder, staging, [records])

    def swap(held: Held) -> bool:
        if held.epoch() != snapshot.epoch:
            return False
        try:
            fd = opener(os.O_RDONLY)
        except FileNotFoundError:
            tail = b""
        else:
            try:
                tail = read_from(fd, held.indexed())[snapshot.size :]
            finally:
                os.close(fd)
        if tail and not well_formed(tail, len(tail) // RECORD_SIZE):
            tail = b""  # not whole records: their entries are stat'ed instead
        if tail:
            fd = os.open(staging, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
            try:
                if os.write(fd, tail) != len(tail):
                    raise OSError(errno.ENOSPC, "the entry index is full")
            finally:
                os.close(fd)
        held.advance()
        os.replace(staging, INDEX, src_dir_fd=folder, dst_dir_fd=folder)
        held.set_indexed(len(records) + len(tail))
        return True

    swapped = False
    try:
        swapped = ledger.locked(swap)
    finally:
        if not swapped:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(staging, dir_fd=folder)
    return swapped
