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


def read_from(fd: int, end: int, start: int = 0) -> bytearray:
    """The bytes ``start`` to ``end`` of an open index (``end``: its size when all of it was whole).

    Read straight into one buffer, which a snapshot then extends in place: a million
    records (72 MB) joined from pieces, then copied to add one, cost a tenth of a second.
    """
    found = bytearray(max(end - start, 0))
    done = 0
    with memoryview(found) as view, open(fd, "rb", buffering=0, closefd=False) as file:
        while done < len(found):
            file.seek(start + done)
            got = file.readinto(view[done:])
            if not got:
                break
            done += got
    del found[done:]  # shorter than the ledger said: what there is
    return found


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
        return Snapshot(bytearray(), epoch)
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
                tail = bytes(read_from(fd, held.indexed(), snapshot.size))
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
