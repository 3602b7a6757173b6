"""The one way pkcache writes a file into a cache, and the one way it reclaims a dead writer's."""

from __future__ import annotations

import contextlib
import errno
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
    """Write ``segments`` to ``folder/name`` atomically; return the size of the file it replaced (0 if none).

    This is the only way pkcache writes a file into a cache: a reader sees the old file
    or the whole new one, and a process killed at any instant leaves no partial ``name``.
    Where the kernel offers it, the file is written nameless (``O_TMPFILE``) and linked
    into place: one directory change instead of two, and a killed writer leaves nothing
    behind. Otherwise, and to replace an existing file, it is written under a temporary
    name and moved with ``os.replace``; that temporary file is flocked while it is
    written, so a pruner can tell a live writer's file from a dead one's. ``modified``
    sets the file's mtime exactly (the kernel's own stamp is only as fine as its clock
    tick, too coarse to order entries written in the same few milliseconds).
    """
    final = f"{folder}/{name}"
    if _nameless.usable:
        fd = _open_nameless(folder)
        if fd is not None:
            try:
                _fill(fd, segments, durable=durable, modified=modified)
                # linkat(2) with AT_SYMLINK_FOLLOW through /proc gives the file its name;
                # src_dir_fd is only there to make os.link call linkat rather than link.
                os.link(f"/proc/self/fd/{fd}", final, src_dir_fd=fd)
            except FileExistsError:  # a replacement: the named way below
                pass
            else:
                _sync_folder(folder, durable)
                return 0
            finally:
                os.close(fd)
    return _write_named(folder, final, name, segments, durable=durable, modified=modified)


class _Nameless:
    """Whether nameless files work here; switched off for the process at the first refusal."""

    usable = bool(getattr(os, "O_TMPFILE", 0)) and os.path.isdir("/proc/self/fd")


_nameless = _Nameless()


def _open_nameless(folder: str) -> int | None:
    flags = os.O_WRONLY | os.O_TMPFILE
    try:
        return os.open(folder, flags, 0o600)
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)
        return os.open(folder, flags, 0o600)
    except IsADirectoryError:  # EISDIR: this file system has no O_TMPFILE
        _nameless.usable = False
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
            raise
        _nameless.usable = False
    return None


def _fill(fd: int, segments: Sequence[Buffer], *, durable: bool, modified: float | None) -> None:
    for segment in segments:
        view = memoryview(segment).cast("B")
        while view:
            view = view[os.write(fd, view) :]
    if modified is not None:
        os.utime(fd, (modified, modified))
    if durable:
        os.fsync(fd)


def _sync_folder(folder: str, durable: bool) -> None:
    if durable:
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _write_named(
    folder: str, final: str, name: str, segments: Sequence[Buffer], *, durable: bool, modified: float | None
) -> int:
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
            _fill(fd, segments, durable=durable, modified=modified)
        finally:
            os.close(fd)
        try:
            replaced = os.stat(final).st_size
        except FileNotFoundError:
            replaced = 0
        os.replace(temp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):  # a concurrent clear removed the folder
            os.unlink(temp)
        raise
    _sync_folder(folder, durable)
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
