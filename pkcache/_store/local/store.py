"""The local directory store: one signed file per entry, fanned out, written atomically.

Only what pkcache made is pkcache's: the root carries pkcache's ``CACHEDIR.TAG``
(``_localfs``), a function's folder carries its manifest from the moment it exists,
and below that only names of pkcache's own forms count (``_layout``). Listing, clearing
and pruning touch nothing else; ``verify`` reports everything else as foreign.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import weakref
from collections.abc import Callable, Container, Iterable, Iterator
from pathlib import Path
from typing import Any

from ..._errors import UnsafePathError
from ..protocol import EntryColumns, EntryStat, TempFile
from ..usage import Usage
from . import layout, scan
from .atomic import TEMP_PREFIX, remove_dead_temp_file, write_atomic
from .bucket import DirectoryBucket
from .census import Census
from .folders import ABSENT, Root, open_folder
from .jsonfiles import has_manifest, manifest_bytes, read_json
from .keylock import KeyLock, LockFile
from .records import Records
from .removal import remove_entry_files, remove_namespace_files
from .sharing import shared_directory_warning, warn_if_shared


class DirectoryStore:
    """A cache directory. Nothing is created on disk until the first write."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().absolute()
        self.location = str(self.root)
        self.shared = False
        self.folders = Root(self.location)
        self.records = Records(self.root, self.folders)
        self._buckets: weakref.WeakSet[DirectoryBucket] = weakref.WeakSet()

    def shared_warning(self) -> str | None:
        """What other users can do here, if the directory's mode lets them write to it."""
        return shared_directory_warning(self.root)

    def check(self) -> bool:
        """Raise ``NotACacheError`` if the directory is someone else's; True if it exists."""
        return self.folders.open(create=False) is not None

    def bucket(self, namespace: str, version: str, manifest: dict[str, Any] | None = None) -> DirectoryBucket:
        warn_if_shared(self.root)
        bucket = DirectoryBucket(self, namespace, version, manifest)
        self._buckets.add(bucket)
        return bucket

    @contextlib.contextmanager
    def namespace_folder(
        self, namespace: str, *, create: bool, manifest: dict[str, Any] | None = None
    ) -> Iterator[int]:
        """A function's folder for the ``with`` block; made, with ``manifest`` already inside, if ``create``."""
        try:
            fd = self.folders.open_folder((namespace,), create=False)
        except FileNotFoundError:
            if not create:
                raise
            self._make_namespace(namespace, manifest or {})
            fd = self.folders.open_folder((namespace,), create=False)
        try:
            if create and not has_manifest(fd):
                raise UnsafePathError(
                    f"{self.root / namespace} has no pkcache manifest: it is not pkcache's; refusing to write in it"
                )
            yield fd
        finally:
            os.close(fd)

    def _make_namespace(self, namespace: str, manifest: dict[str, Any]) -> None:
        """Make a function's folder whole: manifest first, then renamed into place."""
        root = self.folders.open(create=True)
        if root is None:  # made, and removed again at once (a concurrent clear of the whole cache)
            raise FileNotFoundError(errno.ENOENT, "the cache directory was removed", self.location)
        temp = f"{TEMP_PREFIX}{namespace}-{os.getpid()}-{secrets.token_hex(4)}"
        os.mkdir(temp, 0o700, dir_fd=root)
        try:
            folder = open_folder(root, temp, create=False)
            try:
                write_atomic(folder, layout.MANIFEST, [manifest_bytes(manifest)])
            finally:
                os.close(folder)
            os.rename(temp, namespace, src_dir_fd=root, dst_dir_fd=root)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(f"{temp}/{layout.MANIFEST}", dir_fd=root)
                os.rmdir(temp, dir_fd=root)
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            # Made by another process meanwhile, manifest and all.

    # -- listing ------------------------------------------------------------------------

    def manifests(self) -> dict[str, dict[str, Any]]:
        """Every function folder's manifest, by folder name: the folders that are pkcache's."""
        root = self.folders.open(create=False)
        if root is None:
            return {}
        found = {}
        for name in scan.folder_names(root):
            manifest = self.read_manifest(name)
            if manifest is not None:
                found[name] = manifest
        return dict(sorted(found.items()))

    def namespaces(self) -> list[str]:
        warn_if_shared(self.root)
        return list(self.manifests())

    def entries(self, namespace: str | None = None) -> Iterator[EntryStat]:
        for ns in [namespace] if namespace is not None else self.namespaces():
            yield from self.entry_columns(ns).entries()

    def entry_columns(self, namespace: str, *, tidy: bool = False) -> EntryColumns:
        """A namespace's entries from one listing and its entry index (``census``); with ``tidy``, the
        temporary files seen too, and the index rewritten if that would spare later listings many stats."""
        census = Census(namespace, self.records.index_snapshot(namespace))
        for version in scan.subdirs(self.root / namespace, layout.is_version):
            census.add_version(version, temps=tidy)
        if tidy and census.read is not None and census.worth_rewriting():
            self.records.rewrite_index(namespace, census.read, census.records())
        return census.columns(temps=tidy)

    def foreign(self) -> list[str]:
        """Everything in the directory that pkcache did not make (never touched, only reported)."""
        root = self.folders.open(create=False)
        if root is None:
            return []
        found = []
        for item in scan.listing(self.root):
            if item.is_dir(follow_symlinks=False) and not item.name.startswith("."):
                if self.read_manifest(item.name) is None:
                    found.append(item.path)
                    continue
                found += scan.foreign_in_namespace(Path(item.path))
            elif not layout.is_root_file(item.name) or item.is_symlink():
                found.append(item.path)
        return sorted(found)

    # -- running totals and usage: the function folders' records ----------------------

    def account(self, namespace: str, count: int, size: int, records: bytes = b"") -> None:
        self.records.account(namespace, count, size, records)

    def totals(self, namespace: str | None = None) -> tuple[int, int]:
        return self.records.totals(namespace)

    def change_counter(self, namespace: str) -> Callable[[], int | None]:
        return self.records.change_counter(namespace)

    def correct_totals(self, namespace: str | None, counted: tuple[int, int], since: tuple[int, int]) -> None:
        self.records.correct_totals(namespace, counted, since)

    def append_usage(self, namespace: str, record: dict[str, Any]) -> None:
        self.records.append_usage(namespace, record)

    def read_usage(self, namespace: str) -> Usage:
        return self.records.read_usage(namespace)

    def compact_usage(self, namespace: str, live_keys: Container[str] | None) -> None:
        self.records.compact_usage(namespace, live_keys)

    def claim_sweep(self, namespace: str, interval: float) -> bool:
        return self.records.claim_sweep(namespace, interval)

    def prune_lock(self, namespace: str | None) -> KeyLock:
        return self.records.prune_lock(namespace)

    def close(self) -> None:
        """Close the descriptors this store keeps open (running totals, folders, idle key locks, its root);
        reopened on use."""
        self.records.close()
        for bucket in list(self._buckets):
            bucket.close()
        LockFile.close_idle(under=f"{self.location}/")
        self.folders.close()

    # -- manifests, configuration, usage ------------------------------------------------

    def read_manifest(self, namespace: str) -> dict[str, Any] | None:
        """The function folder's manifest, or None if it has none in pkcache's form (then it is not pkcache's)."""
        manifest = read_json(self.folders, (namespace,), layout.MANIFEST)
        return manifest if manifest is not None and layout.is_manifest(manifest) else None

    def write_manifest(self, namespace: str, manifest: dict[str, Any]) -> None:
        with self.namespace_folder(namespace, create=True, manifest=manifest) as folder:
            write_atomic(folder, layout.MANIFEST, [manifest_bytes(manifest)])

    def read_config(self) -> dict[str, Any] | None:
        return read_json(self.folders, (), layout.CONFIG)

    def write_config(self, config: dict[str, Any]) -> None:
        with self.folders.folder(create=True) as root:
            write_atomic(root, layout.CONFIG, [json.dumps(config, indent=1).encode()])

    # -- removal ------------------------------------------------------------------------

    def remove_entries(self, entries: Iterable[EntryStat]) -> tuple[int, int]:
        removed = remove_entry_files(self.folders, entries)
        # One update of the running totals per namespace, not one per entry: a prune
        # removing 100,000 entries would otherwise take 200,000 ledger locks.
        for namespace, (count, size) in removed.items():
            self.records.account(namespace, -count, -size)
        return sum(t[0] for t in removed.values()), sum(t[1] for t in removed.values())

    def remove_namespace(self, namespace: str) -> tuple[int, int]:
        """Remove a function folder's entries and pkcache's own files in it, and the folder if nothing is left.

        Anything else in it (a file a person put there) stays, and so does the folder.
        """
        if self.read_manifest(namespace) is None:
            return 0, 0  # not pkcache's
        removed = self.remove_entries(list(self.entries(namespace)))
        try:
            with self.folders.folder(namespace, create=False) as folder:
                remove_namespace_files(folder)
        except ABSENT:
            pass
        with contextlib.suppress(OSError):  # not empty: something foreign stays, and its folder
            root = self.folders.open(create=False)
            if root is not None:
                os.rmdir(namespace, dir_fd=root)
        self.records.forget(namespace)
        return removed

    def temp_files(self, namespace: str | None = None) -> Iterator[TempFile]:
        """Yield the temporary files of writers, live or dead."""
        for ns in [namespace] if namespace is not None else self.namespaces():
            for version in scan.subdirs(self.root / ns, layout.is_version):
                for fan in scan.subdirs(version, layout.is_fan):
                    yield from scan.temps_in(fan)

    def remove_dead_temp_file(self, temp: TempFile, grace: float) -> bool:
        path = Path(temp.location)
        try:
            relative = path.parent.relative_to(self.root).parts
        except ValueError:
            return False  # not in this cache
        try:
            with self.folders.folder(*relative, create=False) as folder:
                return remove_dead_temp_file(folder, path.name, temp.modified, grace)
        except (*ABSENT, UnsafePathError):
            return False
