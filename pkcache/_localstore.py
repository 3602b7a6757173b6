"""The local directory store: one signed file per entry, fanned out, written atomically."""

from __future__ import annotations

import contextlib
import json
import logging
import mmap
import os
import secrets
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ._codec import Buffer
from ._locks import KeyLock
from ._store import EntryStat

logger = logging.getLogger("pkcache")

ENTRY_SUFFIX = ".pkl"
LOCK_SUFFIX = ".lock"
TEMP_PREFIX = ".tmp-"
MANIFEST = "function.json"
_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n# This file marks a pkcache cache directory; backup tools skip it.\n"
)
# One read returns a small entry whole: the hit path is open, read, close.
_FIRST_READ = 1 << 16
# Fan-out: entries live in 256 sub-folders by the key's first two hex digits, so a
# million entries make folders of about 4,000 files.
_FANOUT = 2


def write_atomic(folder: str, name: str, segments: Sequence[Buffer], *, durable: bool = False) -> None:
    """Write ``segments`` to ``folder/name`` through a temporary file and ``os.replace``.

    This is the only way pkcache writes a file into a cache: a reader sees the old file
    or the whole new one, and a process killed at any instant leaves no partial ``name``.
    """
    temp = f"{folder}/{TEMP_PREFIX}{name}-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            for segment in segments:
                view = memoryview(segment).cast("B")
                while view:
                    view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, f"{folder}/{name}")
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


class DirectoryBucket:
    """The entries of one function version: ``root/namespace/version/xx/KEY.pkl``."""

    def __init__(self, store: DirectoryStore, folder: str) -> None:
        self._store = store
        self._folder = folder

    def _path(self, key: str) -> str:
        return f"{self._folder}/{key[:_FANOUT]}/{key}{ENTRY_SUFFIX}"

    def location(self, key: str) -> str:
        return self._path(key)

    def read(self, key: str) -> Buffer | None:
        try:
            fd = os.open(self._path(key), os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            head = os.read(fd, _FIRST_READ)
            if len(head) < _FIRST_READ:
                return head
            # A large entry: read it into one writable, page-aligned buffer, so that
            # arrays loaded from out-of-band buffers are writable and aligned as in the
            # file, and nothing is copied twice.
            size = max(os.fstat(fd).st_size, len(head))
            data = mmap.mmap(-1, size)
            view = memoryview(data)
            view[: len(head)] = head
            filled = len(head)
            while filled < size:
                count = os.readv(fd, [view[filled:]])
                if count == 0:
                    break
                filled += count
            return view if filled == size else bytes(view[:filled])
        finally:
            os.close(fd)

    def read_prefix(self, key: str, size: int) -> tuple[Buffer, int] | None:
        try:
            fd = os.open(self._path(key), os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            return os.read(fd, size), os.fstat(fd).st_size
        finally:
            os.close(fd)

    def write(self, key: str, segments: Sequence[Buffer], *, durable: bool = False) -> None:
        self._store.ensure_root()
        write_atomic(f"{self._folder}/{key[:_FANOUT]}", f"{key}{ENTRY_SUFFIX}", segments, durable=durable)

    def delete(self, key: str) -> bool:
        try:
            os.unlink(self._path(key))
        except FileNotFoundError:
            return False
        return True

    def lock(self, key: str) -> KeyLock:
        folder = f"{self._folder}/{key[:_FANOUT]}"
        self._store.ensure_root()
        os.makedirs(folder, exist_ok=True)
        return KeyLock(f"{folder}/{key}{LOCK_SUFFIX}")


class DirectoryStore:
    """A cache directory. Nothing is created on disk until the first write."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().absolute()
        self.location = str(self.root)
        self._root_ready = False

    def ensure_root(self) -> None:
        """Create the cache directory (mode 0700) and its CACHEDIR.TAG, once per process."""
        if self._root_ready:
            return
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        tag = self.root / "CACHEDIR.TAG"
        if not tag.exists():
            write_atomic(str(self.root), tag.name, [_CACHEDIR_TAG.encode()])
        self._root_ready = True

    def bucket(self, namespace: str, version: str) -> DirectoryBucket:
        return DirectoryBucket(self, f"{self.root}/{namespace}/{version}")

    def namespaces(self) -> list[str]:
        try:
            with os.scandir(self.root) as listing:
                return sorted(e.name for e in listing if e.is_dir(follow_symlinks=False) and not e.name.startswith("."))
        except FileNotFoundError:
            return []

    def entries(self, namespace: str | None = None) -> Iterator[EntryStat]:
        for ns in [namespace] if namespace is not None else self.namespaces():
            for version_dir in _subdirs(self.root / ns):
                for fan_dir in _subdirs(version_dir):
                    yield from _entries_in(ns, version_dir.name, fan_dir)

    def read_manifest(self, namespace: str) -> dict[str, Any] | None:
        try:
            manifest = json.loads((self.root / namespace / MANIFEST).read_bytes())
        except FileNotFoundError:
            return None
        except (ValueError, OSError) as exc:  # garbled or unreadable: the listing falls back to folder names
            logger.warning("pkcache: ignoring unreadable manifest of %s: %s", namespace, exc)
            return None
        return manifest if isinstance(manifest, dict) else None

    def write_manifest(self, namespace: str, manifest: dict[str, Any]) -> None:
        self.ensure_root()
        write_atomic(str(self.root / namespace), MANIFEST, [json.dumps(manifest, indent=1).encode()])

    def remove(self, entry: EntryStat) -> bool:
        try:
            os.unlink(entry.location)
        except FileNotFoundError:
            return False
        return True

    def remove_namespace(self, namespace: str) -> tuple[int, int]:
        removed = [e for e in self.entries(namespace) if self.remove(e)]
        # Whatever is left (temp files of a live writer, lock files, the manifest) goes
        # with the folder; a writer racing with this loses its store, never its result.
        shutil.rmtree(self.root / namespace, ignore_errors=True)
        return len(removed), sum(e.size for e in removed)


def _subdirs(folder: Path) -> list[Path]:
    try:
        with os.scandir(folder) as listing:
            return [Path(e.path) for e in listing if e.is_dir(follow_symlinks=False)]
    except (FileNotFoundError, NotADirectoryError):  # removed by a concurrent clear
        return []


def _entries_in(namespace: str, version: str, folder: Path) -> Iterator[EntryStat]:
    try:
        with os.scandir(folder) as listing:
            found = [e for e in listing if e.name.endswith(ENTRY_SUFFIX) and not e.name.startswith(".")]
    except FileNotFoundError:
        return
    for item in found:
        try:
            info = item.stat(follow_symlinks=False)
        except FileNotFoundError:  # removed between listing and stat
            continue
        key = item.name[: -len(ENTRY_SUFFIX)]
        yield EntryStat(namespace, version, key, info.st_size, info.st_mtime, item.path)
