"""Memory for large entries: anonymous, page-aligned, writable, and cheap to fault in."""

from __future__ import annotations

import contextlib
import mmap
import sys

_POPULATE = getattr(mmap, "MAP_POPULATE", 0)  # Linux only
_HUGEPAGE = getattr(mmap, "MADV_HUGEPAGE", None)  # Linux only
# MADV_POPULATE_WRITE (Linux 5.14); Python's mmap module names it from 3.13 at the earliest.
_POPULATE_WRITE = getattr(mmap, "MADV_POPULATE_WRITE", 23 if sys.platform == "linux" else None)
# Below this, huge pages cannot help (they are 2 MiB).
_HUGE_MIN = 4 << 20


def allocate(size: int) -> memoryview:
    """Return ``size`` bytes of fresh anonymous memory, page-aligned and writable.

    Faulting memory in 4 KiB pages is what a large hit spends most on, and huge pages
    cut that to about a third (docs/performance.md). Where the kernel offers them on
    request (``madvise`` mode, a common default), the mapping asks for huge pages and is
    populated in one call before anything is read into it: faulted in piece by piece
    as a read fills it, a 100 MB hit now and then stalled for 100-400 ms while the
    kernel found huge pages (p99 of 240 hits: 160-400 ms, against 90-200 populated;
    docs/performance.md). Elsewhere it is pre-faulted at once (``MAP_POPULATE``).
    """
    if _HUGEPAGE is not None and size >= _HUGE_MIN:
        data = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        try:
            data.madvise(_HUGEPAGE)
        except OSError:  # huge pages switched off ("never"): fault in the usual pages at once
            data.close()
        else:
            _populate(data)
            return memoryview(data)
    return memoryview(mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _POPULATE))


def _populate(data: mmap.mmap) -> None:
    if _POPULATE_WRITE is None:
        return
    # A kernel before 5.14 says EINVAL, and memory may be short: then it faults in as it is read.
    with contextlib.suppress(OSError):
        data.madvise(_POPULATE_WRITE)
