"""The one way pkcache writes a file into a cache, and the one way it reclaims a dead writer's."""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Sequence

from ._codec import Buffer

try:
    import fcntl
except ImportError:  # Windows: dead writers' temp files are found by age alone
    fcntl = None  # type: ignore[assignment]

TEMP_PREFIX = ".tmp-"


def write_atomic(
    folder: str, name: str, segments: Sequence[Buffer], *, durable: bool = False, modified: float | None = None
) -> int:
    """Write ``segments`` to ``folder/name`` through a temporary file and ``os.replace``.

    This is the only way pkcache writes a file into a cache: a reader sees the old file
    or the whole new one, and a process killed at any instant leaves no partial ``name``.
    The temporary file is flocked while it is written, so a pruner can tell a live
    writer's file from a dead one's. ``modified`` sets the file's mtime exactly (the
    kernel's own stamp is only as fine as its clock tick, too coarse to order entries
    written in the same few milliseconds). Returns the size of the file it replaced (0 if none).
    """
    temp = f"{folder}/{TEMP_PREFIX}{name}-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            for segment in segments:
                view = memoryview(segment).cast("B")
                while view:
                    view = view[os.write(fd, view) :]
            if modified is not None:
                os.utime(fd, (modified, modified))
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        final = f"{folder}/{name}"
        try:
            replaced = os.stat(final).st_size
        except FileNotFoundError:
            replaced = 0
        os.replace(temp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):  # a concurrent clear removed the folder
            os.unlink(temp)
        raise
    if durable:
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return replaced


def remove_dead_temp_file(location: str, modified: float, grace: float) -> bool:
    """Remove a temp file older than ``grace`` seconds whose writer is gone; True if removed.

    A live writer holds a flock on its temp file, so one that can be locked is a dead
    writer's. ``grace`` covers the instant between a writer's create and its flock.
    """
    if time.time() - modified < grace:
        return False
    try:
        fd = os.open(location, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # a live writer holds it
                return False
        os.unlink(location)
        return True
    except FileNotFoundError:  # its writer finished (renamed it) meanwhile
        return False
    finally:
        os.close(fd)
