"""The one way pkcache writes a file into a cache, and the one way it reclaims a dead writer's.

Both work on an open folder (a descriptor from ``_localfs``), never on a path: nothing
here follows a link.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

from ..buffers import Buffer

try:
    import fcntl
except ImportError:  # Windows: dead writers' temp files are found by age alone
    fcntl = None  # type: ignore[assignment]

TEMP_PREFIX = ".tmp-"
_NOFOLLOW = os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class Written(NamedTuple):
    """What a write did: the size of the file it replaced (0 if none), and the new file's inode."""

    replaced: int
    inode: int


def write_atomic(
    folder: int,
    name: str,
    segments: Sequence[Buffer],
    *,
    durable: bool = False,
    modified: float | None = None,
    before_naming: Callable[[int], None] | None = None,
) -> Written:
    """Write ``segments`` to ``name`` in the open folder ``folder`` atomically; say what it replaced.

    This is the only way pkcache writes a file into a cache: a reader sees the old file
    or the whole new one, and a process killed at any instant leaves no partial ``name``.
    Where the kernel offers it, the file is written nameless (``O_TMPFILE``) and linked
    into place: one directory change instead of two, and a killed writer leaves nothing
    behind; to replace an existing file, the nameless file is linked at a temporary name
    and moved over it. Otherwise it is written under a temporary name (created with
    ``O_EXCL``) and moved. ``os.replace`` replaces a link planted at ``name`` rather than
    writing through it. A temporary name's file is flocked first, so a pruner can tell a
    live writer's file from a dead one's. ``modified`` sets the file's mtime exactly (the
    kernel's own stamp is only as fine as its clock tick, too coarse to order entries
    written in the same few milliseconds). ``before_naming(inode)`` is called once the
    file is whole, before it has its name: the entry index records it there, so that no
    file pkcache named lacks its record, whenever its writer is killed.
    """
    if _nameless.usable:
        fd = _open_nameless(folder)
        if fd is not None:
            try:
                inode = _fill(fd, segments, durable=durable, modified=modified)
                if before_naming is not None:
                    before_naming(inode)
                try:
                    # linkat(2) with AT_SYMLINK_FOLLOW through /proc gives the file its name;
                    # it never follows a link at the new name (EEXIST instead).
                    os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=folder)
                    replaced = 0
                except FileExistsError:  # a replacement
                    replaced = _move_over(folder, name, fd)
            finally:
                os.close(fd)
            _sync_folder(folder, durable)
            return Written(replaced, inode)
    return _write_named(folder, name, segments, durable=durable, modified=modified, before_naming=before_naming)


def _move_over(folder: int, name: str, fd: int) -> int:
    """Give the nameless file ``fd`` a temporary name and move it over ``name``; return the replaced size."""
    temp = _temp_name(name)
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.link(f"/proc/self/fd/{fd}", temp, dst_dir_fd=folder)
    return _replace(folder, temp, name)


def _temp_name(name: str) -> str:
    return f"{TEMP_PREFIX}{name}-{os.getpid()}-{secrets.token_hex(4)}"


def _replace(folder: int, temp: str, name: str) -> int:
    try:
        try:
            replaced = os.stat(name, dir_fd=folder, follow_symlinks=False).st_size
        except FileNotFoundError:
            replaced = 0
        os.replace(temp, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):  # a concurrent clear removed the folder
            os.unlink(temp, dir_fd=folder)
        raise
    return replaced


class _Nameless:
    """Whether nameless files work here; switched off for the process at the first refusal."""

    usable = bool(getattr(os, "O_TMPFILE", 0)) and os.path.isdir("/proc/self/fd")


_nameless = _Nameless()


def _open_nameless(folder: int) -> int | None:
    try:
        return os.open(".", os.O_WRONLY | os.O_TMPFILE | getattr(os, "O_CLOEXEC", 0), 0o600, dir_fd=folder)
    except IsADirectoryError:  # EISDIR: this file system has no O_TMPFILE
        _nameless.usable = False
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
            raise
        _nameless.usable = False
    return None


# At most this many segments per writev(2) (POSIX's IOV_MAX is at least 1024).
_SEGMENTS_PER_CALL = 1024


def _fill(fd: int, segments: Sequence[Buffer], *, durable: bool, modified: float | None) -> int:
    """Write the segments to ``fd``; return its inode (for the entry index, see ``index``)."""
    # One writev for a small entry's header, pickle and signature: one system call, not three.
    views = [view for view in (memoryview(s).cast("B") for s in segments) if view.nbytes]
    while views:
        written = os.writev(fd, views[:_SEGMENTS_PER_CALL])
        while views and written >= views[0].nbytes:  # drop what is written whole, keep a part-written rest
            written -= views.pop(0).nbytes
        if written:
            views[0] = views[0][written:]
    if modified is not None:
        os.utime(fd, (modified, modified))
    if durable:
        os.fsync(fd)
    return os.fstat(fd).st_ino


def _sync_folder(folder: int, durable: bool) -> None:
    if durable:
        os.fsync(folder)


def _write_named(
    folder: int,
    name: str,
    segments: Sequence[Buffer],
    *,
    durable: bool,
    modified: float | None,
    before_naming: Callable[[int], None] | None,
) -> Written:
    temp = _temp_name(name)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600, dir_fd=folder)
    try:
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            inode = _fill(fd, segments, durable=durable, modified=modified)
        finally:
            os.close(fd)
        if before_naming is not None:
            before_naming(inode)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp, dir_fd=folder)
        raise
    replaced = _replace(folder, temp, name)
    _sync_folder(folder, durable)
    return Written(replaced, inode)


def remove_dead_temp_file(folder: int, name: str, modified: float, grace: float) -> bool:
    """Remove the temp file ``name`` of ``folder`` if older than ``grace`` seconds and its writer is gone.

    A live writer holds a flock on its temp file, so one that can be locked is a dead
    writer's. ``grace`` covers the instant between a writer's create and its flock.
    """
    if time.time() - modified < grace or not name.startswith(TEMP_PREFIX):
        return False
    try:
        fd = os.open(name, os.O_RDONLY | _NOFOLLOW, dir_fd=folder)
    except OSError:  # gone (its writer finished), or a link someone planted: not ours to touch
        return False
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # a live writer holds it
                return False
        os.unlink(name, dir_fd=folder)
        return True
    except FileNotFoundError:  # its writer finished (renamed it) meanwhile
        return False
    finally:
        os.close(fd)
