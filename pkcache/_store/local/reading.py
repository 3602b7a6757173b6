"""Reading an entry larger than one read: memory-mapped, or read into memory of its own."""

from __future__ import annotations

import mmap
import os

from ..arriving import read_in_background
from ..buffers import Stored
from ..memory import allocate

# Entries at least this large are read on a thread while the caller checks them.
_BACKGROUND_MIN = 4 << 20


def read_rest(fd: int, head: bytes, mmap_mode: str | None) -> Stored:
    """The rest of an entry larger than one read; ``fd`` is closed here (or by the reading thread)."""
    try:
        size = max(os.fstat(fd).st_size, len(head))
        if mmap_mode is not None:
            # Mapped, not read: pages come in as the caller touches them. "r" maps
            # read-only; "c" copy-on-write (writable, changes never reach the file).
            if mmap_mode == "r":
                return memoryview(mmap.mmap(fd, size, prot=mmap.PROT_READ))
            prot = mmap.PROT_READ | mmap.PROT_WRITE
            return memoryview(mmap.mmap(fd, size, flags=mmap.MAP_PRIVATE, prot=prot))
        # Read into one writable, page-aligned buffer, so that arrays loaded from
        # out-of-band buffers are writable and aligned as in the file, and nothing
        # is copied twice.
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
