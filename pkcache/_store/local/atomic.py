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
from collections.abc import Sequence

from ..buffers import Buffer

try:
    import fcntl
except ImportError:  # Windows: dead writers' temp files are found by age alone
    fcntl = None  # type: ignore[assignment]

TEMP_PREFIX = ".tmp-"
_NOFOLLOW = os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def write_atomic(
    folder: int, name: str, segments: Sequence[Buffer], *, durable: bool = False, modified: float | None = None
) -> int:
    """Write ``segments`` to ``name`` in the open folder ``folder`` atomically; return the size of the file it
    replaced (0 if none).

    This is the only way pkcache writes a file into a cache: a reader sees the old file
    or the whole new one, and a process killed at any instant leaves no partial ``name``.
    Where the kernel offers it, the file is written nameless (``O_TMPFILE``) and linked
    into place: one directory change instead of two, and a killed writer leaves nothing
    behind. Otherwise, and to replace an existing file, it is written under a temporary
    name (created with ``O_EXCL``) and moved with ``os.replace``, which replaces a link
    planted at ``name`` rather than writing through it; that temporary file is flocked
    while it is written, so a pruner can tell a live writer's file from a dead one's.
    ``modified`` sets the file's mtime exactly (the kernel's own stamp is only as fine
    as its clock tick, too coarse to order entries written in the same few milliseconds).
    """
    if _nameless.usable:
        fd = _open_nameless(folder)
        if fd is not None:
            try:
                _fill(fd, segments, durable=durable, modified=modified)
                # linkat(2) with AT_SYMLINK_FOLLOW through /proc gives the file its name;
                # it never follows a link at the new name (EEXIST instead).
                os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=folder)
            except FileExistsError:  # a replacement: the named way below
                pass
            else:
                _sync_folder(folder, durable)
                return 0
            finally:
                os.close(fd)
    return _write_named(folder, name, segments, durable=durable, modified=modified)


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


def _fill(fd: int, segments: Sequence[Buffer], *, durable: bool, modified: float | None) -> None:
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


def _sync_folder(folder: int, durable: bool) -> None:
    if durable:
        os.fsync(folder)


def _write_named(folder: int, name: str, segments: Sequence[Buffer], *, durable: bool, modified: float | None) -> int:
    temp = f"{TEMP_PREFIX}{name}-{os.getpid()}-{secrets.token_hex(4)}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600, dir_fd=folder)
    try:
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _fill(fd, segments, durable=durable, modified=modified)
        finally:
            os.close(fd)
        try:
            replaced = os.stat(name, dir_fd=folder, follow_symlinks=False).st_size
        except FileNotFoundError:
            replaced = 0
        os.replace(temp, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):  # a concurrent clear removed the folder
            os.unlink(temp, dir_fd=folder)
        raise
    _sync_folder(folder, durable)
    return replaced


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
