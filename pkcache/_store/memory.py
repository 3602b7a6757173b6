"""Memory for large entries: anonymous, page-aligned, writable, and cheap to fault in."""

from __future__ import annotations

import mmap

_POPULATE = getattr(mmap, "MAP_POPULATE", 0)  # Linux only
_HUGEPAGE = getattr(mmap, "MADV_HUGEPAGE", None)  # Linux only
# Below this, huge pages cannot help (they are 2 MiB).
_HUGE_MIN = 4 << 20


def allocate(size: int) -> memoryview:
    """Return ``size`` bytes of fresh anonymous memory, page-aligned and writable.

    Faulting memory in 4 KiB pages is what a large hit spends most on, and huge pages
    cut that to about a third (docs/performance.md).
    Where the kernel offers them on request (``madvise`` mode, a common default), the
    mapping asks for huge pages and is faulted in as it is filled; elsewhere it is
    pre-faulted in one call (``MAP_POPULATE``).
    """
    if _HUGEPAGE is not None and size >= _HUGE_MIN:
        data = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        try:
            data.madvise(_HUGEPAGE)
        except OSError:  # huge pages switched off ("never"): fault in the usual pages at once
            data.close()
        else:
            return memoryview(data)
    return memoryview(mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _POPULATE))
