"""Files named by arguments (``files=``): keyed by the file, not by the text of its path.

By default a path is keyed by its text: ``"data.csv"`` and ``Path("data.csv")`` are two
keys, and an edited file is the same key. A parameter listed in ``files=`` keys by the
file instead: its resolved absolute path with its size and modification time in
nanoseconds (``files_by="stat"``), or with a digest of its contents (``"content"``, for
file systems whose times are too coarse to tell two writes apart).
"""

from __future__ import annotations

import os
from typing import Any

_MISSING = "missing"  # a file that is not there: the body raises its own error, nothing is stored


def stamp(value: Any, by: str) -> Any:
    """What a files= argument keys by: a stamp per path (a list of paths: a tuple of stamps)."""
    if isinstance(value, (str, os.PathLike)):
        return _stamp_one(os.fspath(value), by)
    if isinstance(value, (list, tuple)):
        return tuple(stamp(item, by) for item in value)
    return value  # None, or anything else: keyed as it is


def _stamp_one(path: str | bytes, by: str) -> tuple[Any, ...]:
    resolved = os.fsdecode(os.path.realpath(path))
    try:
        info = os.stat(resolved)
    except OSError:  # absent or unreadable: the body meets it and raises its own error
        return ("pkcache-file", _MISSING, resolved)
    if by == "stat":
        return ("pkcache-file", resolved, info.st_size, info.st_mtime_ns)
    import blake3

    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    try:
        hasher.update_mmap(resolved)
    except OSError:
        return ("pkcache-file", _MISSING, resolved)
    return ("pkcache-file", resolved, info.st_size, hasher.digest())
