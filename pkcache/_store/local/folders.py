"""A cache directory on disk: pkcache's marker, and folders opened without following links.

A directory is a pkcache cache only if it holds pkcache's ``CACHEDIR.TAG`` (written
before anything else when pkcache makes the directory, or adopts an empty one); a
directory that exists, is not empty and has no such tag is someone else's, and every
operation on it is refused with ``NotACacheError`` before anything is read, written or
removed.

Below the root, every folder is opened with ``O_NOFOLLOW`` relative to its parent's
descriptor, and every file pkcache creates or writes is opened relative to its folder's
descriptor with ``O_NOFOLLOW`` (and ``O_CREAT | O_EXCL`` where it creates one): a link
planted by someone who can write a shared cache, where pkcache expects its own folder or
file, is refused (``UnsafePathError``), never followed. The root itself may be a link
(people keep caches on bigger disks).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import threading
from collections.abc import Iterator, Sequence

from ..._errors import NotACacheError, UnsafePathError
from ..._forks import process_id, renew_guard
from .atomic import write_atomic

TAG = "CACHEDIR.TAG"
_TAG_SIGNATURE = "Signature: 8a477f597d28d172789f06886806bc55\n"
_TAG_OWNER = "# This file marks a pkcache cache directory; backup tools skip it.\n"
TAG_TEXT = _TAG_SIGNATURE + _TAG_OWNER
_TAG_MAX = 4096
# A new cache is never committed, even when it is made inside a repository.
_GITIGNORE = ".gitignore"
_GITIGNORE_TEXT = "# Made by pkcache: a cache directory is never committed.\n*\n"

DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
# A path that does not exist, or runs through a file: either way there is nothing there.
ABSENT = (FileNotFoundError, NotADirectoryError)


def open_file(folder: int, name: str, flags: int, mode: int = 0o600) -> int:
    """Open ``name`` in the folder ``folder`` without following a link; raises ``UnsafePathError`` for one."""
    try:
        return os.open(name, flags | _FILE_FLAGS, mode, dir_fd=folder)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePathError(
                f"{name} is a symbolic link where pkcache keeps its own file; refusing to use it"
            ) from exc
        raise


def open_folder(parent: int, name: str, *, create: bool) -> int:
    """Open the sub-folder ``name`` of ``parent`` without following a link, making it (0700) if asked."""
    try:
        return os.open(name, DIRECTORY_FLAGS, dir_fd=parent)
    except FileNotFoundError:
        if not create:
            raise
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise UnsafePathError(
                f"{name} is not a folder pkcache made (a symbolic link or a file); refusing to write through it"
            ) from exc
        raise
    with contextlib.suppress(FileExistsError):  # made by another process meanwhile
        os.mkdir(name, 0o700, dir_fd=parent)
    return open_folder(parent, name, create=False)


def read_small(folder: int, name: str, limit: int = 1 << 20) -> bytes | None:
    """Read a small file of ``folder`` (a manifest, a tag), None if it is absent; never through a link."""
    try:
        fd = open_file(folder, name, os.O_RDONLY)
    except ABSENT:
        return None
    try:
        return os.read(fd, limit)
    finally:
        os.close(fd)


def is_pkcache_tag(data: bytes | None) -> bool:
    return data is not None and data.startswith(_TAG_SIGNATURE.encode()) and _TAG_OWNER.encode() in data


class Root:
    """The root of a cache directory: checked to be pkcache's, made on first write, reopened if removed."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = -1
        self._pid = 0
        self._marked = False
        self._guard = threading.Lock()
        renew_guard(self)

    def owned(self) -> bool:
        """True if the directory exists and carries pkcache's tag (raises ``NotACacheError`` if foreign)."""
        return self.open(create=False) is not None and self._marked

    def open(self, *, create: bool) -> int | None:
        """Return the root's descriptor (owned by this object); None if it does not exist and ``create`` is False.

        Raises ``NotACacheError`` for a directory that is someone else's, or a file.
        """
        with self._guard:
            fd = self._fd
            valid = fd >= 0 and self._pid == process_id() and os.fstat(fd).st_nlink > 0
            if valid and (self._marked or not create):
                return fd
            self._forget()
            opened = self._open_checked(create=create)
            if opened is None:
                return None
            self._fd, self._pid = opened, process_id()
            return opened

    def _forget(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0 and self._pid == process_id():
            os.close(fd)

    def close(self) -> None:
        with self._guard:
            self._forget()

    def _open_checked(self, *, create: bool) -> int | None:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            if not create:
                return None
            self._make()
            return self._open_checked(create=False)
        except NotADirectoryError as exc:
            if os.path.isfile(self.path):
                raise NotACacheError(self.path, "is a file, not a cache directory") from exc
            reason = f"cannot be a cache directory: part of it is a file ({exc.strerror})"
            raise NotACacheError(self.path, reason) from exc
        self._marked = False
        try:
            if is_pkcache_tag(read_small(fd, TAG, _TAG_MAX)):
                self._marked = True
                return fd
            if not _is_empty(fd):
                raise NotACacheError(self.path, "is not a pkcache cache directory; refusing to modify it")
            if create:  # an empty folder, made for the cache: adopt it, marking it first
                with contextlib.suppress(FileExistsError):  # another process adopted it meanwhile
                    write_atomic(fd, TAG, [TAG_TEXT.encode()])
                with contextlib.suppress(FileExistsError):
                    write_atomic(fd, _GITIGNORE, [_GITIGNORE_TEXT.encode()])
                if not is_pkcache_tag(read_small(fd, TAG, _TAG_MAX)):
                    raise NotACacheError(self.path, "is not a pkcache cache directory; refusing to modify it")
                self._marked = True
            return fd
        except BaseException:
            os.close(fd)
            raise

    def _make(self) -> None:
        """Make the root with its tag already inside: a half-made root never exists."""
        target = os.path.realpath(self.path)  # a link to a folder yet to be made stays a link
        parent = os.path.dirname(target)
        os.makedirs(parent, exist_ok=True)
        temp = os.path.join(parent, f".{os.path.basename(target)}.pkcache-{os.getpid()}-{secrets.token_hex(4)}")
        os.mkdir(temp, 0o700)
        try:
            fd = os.open(temp, os.O_RDONLY | os.O_DIRECTORY)
            try:
                write_atomic(fd, TAG, [TAG_TEXT.encode()])
                write_atomic(fd, _GITIGNORE, [_GITIGNORE_TEXT.encode()])
            finally:
                os.close(fd)
            os.rename(temp, target)
        except OSError as exc:
            for name in (TAG, _GITIGNORE):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(temp, name))
            with contextlib.suppress(OSError):
                os.rmdir(temp)
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            # Another process made it first: its tag is checked when it is opened.

    @contextlib.contextmanager
    def folder(self, *parts: str, create: bool) -> Iterator[int]:
        """Open ``root/parts...`` for the ``with`` block, each folder without following links.

        Raises ``FileNotFoundError`` if a part is missing and ``create`` is False (or the
        root is), ``UnsafePathError`` for a link or file on the way.
        """
        fd = self.open_folder(parts, create=create)
        try:
            yield fd
        finally:
            os.close(fd)

    def open_folder(self, parts: Sequence[str], *, create: bool) -> int:
        """Return a new descriptor of ``root/parts...`` (the caller closes it); see ``folder``."""
        for attempt in range(2):
            root = self.open(create=create)
            if root is None:
                raise FileNotFoundError(errno.ENOENT, "no cache directory", self.path)
            try:
                return _descend(root, parts, create=create)
            except FileNotFoundError:
                # The root was removed (and maybe made anew) while we held it: once more.
                if attempt or not create:
                    raise
                with self._guard:
                    self._forget()
        raise AssertionError("unreachable")


def _descend(root: int, parts: Sequence[str], *, create: bool) -> int:
    fd = os.dup(root)
    try:
        for part in parts:
            child = open_folder(fd, part, create=create)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _is_empty(fd: int) -> bool:
    with os.scandir(fd) as listing:
        return next(iter(listing), None) is None
