"""Whether a directory is on a local file system, where a ``stat`` sees every change at once.

A network file system's client caches attributes for seconds (NFS's ``actimeo``), so a
``stat`` there can show a file another machine has already replaced: entries on one are
never served from memory (``stamps``). Only Linux says which file system holds a path
(``/proc/self/mountinfo``); elsewhere, and for any type not named here, the answer is no.
"""

from __future__ import annotations

import functools
import os
import re

# File systems whose attributes are the kernel's own, current at every stat.
_LOCAL = frozenset(
    {"ext2", "ext3", "ext4", "xfs", "btrfs", "bcachefs", "f2fs", "jfs", "reiserfs", "zfs", "tmpfs", "ramfs", "overlay"}
)
_MOUNTINFO = "/proc/self/mountinfo"


def file_system_type(path: str, mountinfo: str) -> str | None:
    """The type of the file system holding ``path`` (made absolute, links resolved), from mountinfo's text."""
    target = os.path.realpath(path)
    best, found = -1, None
    for line in mountinfo.splitlines():
        fields = line.split(" ")
        try:
            mount = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            kind = fields[fields.index("-", 6) + 1]
        except (IndexError, ValueError):  # not a mountinfo line
            continue
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= best:  # the innermost mount, the last one over the same point
            best, found = len(mount), kind
    return found


@functools.lru_cache(maxsize=64)
def is_local(path: str) -> bool:
    """True if ``path`` is on a file system named local above (Linux only); asked once per path."""
    try:
        with open(_MOUNTINFO, encoding="utf-8", errors="replace") as f:
            mountinfo = f.read()
    except OSError:  # not Linux, or no /proc
        return False
    return file_system_type(path, mountinfo) in _LOCAL
