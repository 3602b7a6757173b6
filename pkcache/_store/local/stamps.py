"""An entry file's stamp: equal for two looks only if both saw the same bytes.

Entries are never written in place: each write makes a new file (a new inode) and links
it at the entry's name. So (inode, device, size, mtime, ctime) changes whenever the file
at a name does, with one gap: an inode number freed and reused at once by a new file
of the same size and times. Its ctime closes it. The kernel sets ctime itself (nobody
can set it back) whenever a file is made, linked, written or changed, to the clock's
current tick; a new file at the name got its ctime after the kept file was read (the
kept one could only be freed once the reader closed it). So a kept file whose ctime was
already ``TRUST_AGE_NS`` old when read cannot share its ctime with any later file,
however coarse the file system's timestamps (FAT's are 2 s). A file younger than that is
not vouched for: it is read again at every hit until it is old enough. Nor is any file
on a file system not known to be local (``mounts``): a network client's stat can be
seconds behind another machine's change.
"""

from __future__ import annotations

import os
import time

Stamp = tuple[int, int, int, int, int]

TRUST_AGE_NS = 2_000_000_000


def stamp_of(status: os.stat_result) -> Stamp:
    """The stamp of a file's ``stat``."""
    return (status.st_ino, status.st_dev, status.st_size, status.st_mtime_ns, status.st_ctime_ns)


def trusted_stamp(status: os.stat_result) -> Stamp | None:
    """The stamp of a file just read, or None if its ctime is under ``TRUST_AGE_NS`` old."""
    if status.st_ctime_ns >= time.time_ns() - TRUST_AGE_NS:
        return None
    return stamp_of(status)
