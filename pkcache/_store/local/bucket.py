"""One function version's entries in a local directory: where each file is, and how it is read and written."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from ..buffers import Buffer, Stored
from . import index
from .atomic import write_atomic
from .folders import ABSENT, Root, open_file, open_folder
from .kept import KeptFolders
from .keylock import KeyLock
from .layout import ENTRY_SUFFIX, FANS, KEY_LOCKS, is_version
from .mounts import is_local
from .reading import read_rest
from .stamps import Stamp, stamp_of, trusted_stamp

# One read returns a small entry whole: the hit path is open, read, close.
_FIRST_READ = 1 << 16
_READ = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
# Fan-out: entries live in 16 sub-folders by the key's first hex digit, all made with
# the version folder, so that no store pays a mkdir (a journaled metadata change: a
# quarter of a small miss on some disks, when 256 folders were made on first use). A
# million entries make folders of about 62,000 files: directories are indexed (ext4's
# htree, XFS and APFS B-trees), so a lookup by name does not slow down.
_FANOUT = 1


class Directory(Protocol):
    """What a bucket needs of its cache directory (a ``DirectoryStore``)."""

    root: Path
    folders: Root
    location: str

    def namespace_folder(
        self, namespace: str, *, create: bool, manifest: dict[str, Any] | None = None
    ) -> AbstractContextManager[int]: ...

    def account(self, namespace: str, count: int, size: int, records: bytes = b"") -> None: ...

    def change_counter(self, namespace: str) -> Callable[[], int | None]: ...


class DirectoryBucket:
    """The entries of one function version: ``root/namespace/version/xx/KEY.pkl``.

    Reads go by path (the hit path: open, read, close), never following a link at the
    entry's name; a planted file is refused by its signature. Writes, deletions and
    locks go through folders opened without following links (``_localfs``), made as
    needed: the function's folder with ``manifest`` inside from the start.
    """

    def __init__(self, store: Directory, namespace: str, version: str, manifest: dict[str, Any] | None) -> None:
        self._store = store
        self._namespace = namespace
        self._version = version
        # Entries are listed only in version folders of pkcache's form (``layout``): others get no records.
        self._raw_version = index.raw_name(version) if is_version(version) else None
        self._manifest = manifest
        self._folder = f"{store.root}/{namespace}/{version}"
        self._locks_path = f"{self._folder}/{KEY_LOCKS}"
        self._folders = KeptFolders(self._open_version)
        self._counter = store.change_counter(namespace)

    def _path(self, key: str) -> str:
        return f"{self._folder}/{key[:_FANOUT]}/{key}{ENTRY_SUFFIX}"

    def location(self, key: str) -> str:
        return self._path(key)

    def _open_version(self) -> int:
        """The version folder, made (with its fan-out folders) if missing: for ``KeptFolders``."""
        with self._store.namespace_folder(self._namespace, create=True, manifest=self._manifest) as folder:
            fd = open_folder(folder, self._version, create=True)
        try:
            _make_fans(fd)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def read(self, key: str, *, mmap_mode: str | None = None) -> Stored | None:
        found = self._read(key, mmap_mode, stamped=False)
        return None if found is None else found[0]

    def read_stamped(self, key: str) -> tuple[Stored, Stamp | None] | None:
        """``read``, with a small entry's stamp (see ``stamps``)."""
        return self._read(key, None, stamped=True)

    def _read(self, key: str, mmap_mode: str | None, *, stamped: bool) -> tuple[Stored, Stamp | None] | None:
        try:
            fd = os.open(self._path(key), _READ)
        except FileNotFoundError:
            return None
        try:
            head = os.read(fd, _FIRST_READ)
            if len(head) < _FIRST_READ:
                # Stamped only on a local file system: a network client's stat may be seconds old.
                if not stamped or not is_local(self._store.location):
                    return head, None
                return head, trusted_stamp(os.fstat(fd))
            stored = read_rest(fd, head, mmap_mode)
            fd = -1  # closed by read_rest, or by its reading thread
            return stored, None
        finally:
            if fd >= 0:
                os.close(fd)

    def changes(self) -> int | None:
        """A count of the changes pkcache made to this function's entries, in any process (see ``Stamps``)."""
        try:
            return self._counter()
        except OSError:  # no ledger there (yet), a link in its place, a read-only cache: look at the files
            return None

    def stamp(self, key: str) -> Stamp | None:
        try:
            return stamp_of(os.stat(self._path(key), follow_symlinks=False))
        except OSError:  # gone, or unreadable: a read will say which
            return None

    def read_prefix(self, key: str, size: int) -> tuple[Buffer, int] | None:
        try:
            fd = os.open(self._path(key), _READ)
        except FileNotFoundError:
            return None
        try:
            return os.read(fd, size), os.fstat(fd).st_size
        finally:
            os.close(fd)

    def write(
        self, key: str, segments: Sequence[Buffer], *, created: float, durable: bool = False, ttl: float | None = None
    ) -> None:
        # ttl is not needed here: readers check an entry's age, sweeps remove expired files.
        size = sum(memoryview(s).nbytes for s in segments)
        counted = False

        def record(inode: int) -> None:
            # Counted, and recorded in the entry index, before the file has its name: a
            # writer killed after naming it leaves no entry without its record (``index``).
            nonlocal counted
            raw_version = self._raw_version
            entry = b"" if raw_version is None else index.stored(raw_version, key, inode, size, created)
            self._store.account(self._namespace, 1, size, entry)
            counted = True

        try:
            replaced = self._write_in(key, segments, durable=durable, created=created, record=record, renew=False)
            if replaced is None:
                # A kept folder was removed (a clear, maybe made anew by another process):
                # nothing was made in it; the folders are opened anew, once.
                replaced = self._write_in(key, segments, durable=durable, created=created, record=record, renew=True)
        except BaseException:
            if counted:  # counted, never named: take it off again
                self._store.account(self._namespace, -1, -size)
            raise
        if replaced is None:
            raise FileNotFoundError(errno.ENOENT, "its folder was removed while it was written", self._path(key))
        if replaced:  # it took an entry's place: one entry, not two
            self._store.account(self._namespace, -1, -replaced)

    def _write_in(
        self,
        key: str,
        segments: Sequence[Buffer],
        *,
        durable: bool,
        created: float,
        record: Callable[[int], None],
        renew: bool,
    ) -> int | None:
        """Write in the entry's fan-out folder; the size it replaced, or None if the folder was gone first."""
        folder = self._folders.fan(key[:_FANOUT], renew=renew)
        try:
            written = write_atomic(
                folder, f"{key}{ENTRY_SUFFIX}", segments, durable=durable, modified=created, before_naming=record
            )
            return written.replaced
        except OSError:
            # Nothing can be made in a removed folder (ENOENT, or EPERM for a nameless
            # file): said only if that is why, and only if nothing was recorded yet.
            if os.fstat(folder).st_nlink == 0:
                return None
            raise
        finally:
            self._folders.release()

    def delete(self, key: str) -> bool:
        name = f"{key}{ENTRY_SUFFIX}"
        try:
            folder = self._store.folders.open_folder((self._namespace, self._version, key[:_FANOUT]), create=False)
            try:
                size = os.stat(name, dir_fd=folder, follow_symlinks=False).st_size
                os.unlink(name, dir_fd=folder)
            finally:
                os.close(folder)
        except ABSENT:
            return False
        self._store.account(self._namespace, -1, -size)
        return True

    def lock(self, key: str) -> KeyLock:
        return KeyLock(self._locks_path, key, self._open_locks)

    def close(self) -> None:
        """Close the folders this bucket keeps open; reopened on use."""
        self._folders.close()

    def _open_locks(self) -> int:
        for renew in (False, True):
            folder = self._folders.version(renew=renew)
            try:
                return open_file(folder, KEY_LOCKS, os.O_RDWR | os.O_CREAT)
            except FileNotFoundError:  # the version folder was removed: made anew, once
                if renew:
                    raise
            finally:
                self._folders.release()
        raise AssertionError("unreachable")


def _make_fans(version: int) -> None:
    """Make the version folder's fan-out folders that are missing (once per process and version)."""
    for fan in FANS:
        with contextlib.suppress(FileExistsError):
            os.mkdir(fan, 0o700, dir_fd=version)
