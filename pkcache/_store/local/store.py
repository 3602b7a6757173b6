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
import stat
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..._errors import UnsafePathError
from ..._log import logger
from ..._usage import Usage
from ..protocol import EntryStat, TempFile
from . import layout
from .atomic import TEMP_PREFIX, remove_dead_temp_file, write_atomic
from .bucket import DirectoryBucket
from .folders import ABSENT, Root, open_file, open_folder, read_small
from .keylock import KeyLock
from .ledger import Ledger

_APPEND = os.O_WRONLY | os.O_APPEND | os.O_CREAT


class DirectoryStore:
    """A cache directory. Nothing is created on disk until the first write."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().absolute()
        self.location = str(self.root)
        self.shared = False
        self.folders = Root(self.location)
        self._ledgers: dict[str | None, Ledger] = {}

    def shared_warning(self) -> str | None:
        """What other users can do here, if the directory's mode lets them write to it."""
        return shared_directory_warning(self.root)

    def check(self) -> bool:
        """Raise ``NotACacheError`` if the directory is someone else's; True if it exists."""
        return self.folders.open(create=False) is not None

    def bucket(self, namespace: str, version: str, manifest: dict[str, Any] | None = None) -> DirectoryBucket:
        _warn_if_shared(self.root)
        return DirectoryBucket(self, namespace, version, manifest)

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
            if create and not _has_manifest(fd):
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
                write_atomic(folder, layout.MANIFEST, [_manifest_bytes(manifest)])
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
        for name in _folder_names(root):
            manifest = self.read_manifest(name)
            if manifest is not None:
                found[name] = manifest
        return dict(sorted(found.items()))

    def namespaces(self) -> list[str]:
        _warn_if_shared(self.root)
        return list(self.manifests())

    def entries(self, namespace: str | None = None) -> Iterator[EntryStat]:
        for ns in [namespace] if namespace is not None else self.namespaces():
            for version in _subdirs(self.root / ns, layout.is_version):
                for fan in _subdirs(version, layout.is_fan):
                    yield from _entries_in(ns, version.name, fan)

    def foreign(self) -> list[str]:
        """Everything in the directory that pkcache did not make (never touched, only reported)."""
        root = self.folders.open(create=False)
        if root is None:
            return []
        found = []
        for item in _listing(self.root):
            if item.is_dir(follow_symlinks=False) and not item.name.startswith("."):
                if self.read_manifest(item.name) is None:
                    found.append(item.path)
                    continue
                found += _foreign_in_namespace(Path(item.path))
            elif not layout.is_root_file(item.name) or item.is_symlink():
                found.append(item.path)
        return sorted(found)

    # -- running totals -----------------------------------------------------------------

    def _ledger(self, namespace: str | None) -> Ledger:
        ledger = self._ledgers.get(namespace)
        if ledger is None:
            path = str(self.root if namespace is None else self.root / namespace) + "/" + layout.LEDGER
            ledger = self._ledgers[namespace] = Ledger(path, lambda: self._open_in(namespace, layout.LEDGER, os.O_RDWR))
        return ledger

    def _open_in(self, namespace: str | None, name: str, flags: int, *, create: bool = True) -> int:
        """Open ``name`` (made if ``create``) in a function's folder or the root, never through a link.

        The root must be pkcache's already: housekeeping never marks a directory.
        """
        parts = () if namespace is None else (namespace,)
        if not self.folders.owned():
            raise FileNotFoundError(errno.ENOENT, "not a pkcache cache yet", self.location)
        folder = self.folders.open_folder(parts, create=False)
        try:
            return open_file(folder, name, flags | (os.O_CREAT if create else 0))
        finally:
            os.close(folder)

    def close(self) -> None:
        """Close the descriptors this store keeps open (its running totals); reopened on use."""
        for ledger in self._ledgers.values():
            ledger.close()
        self.folders.close()

    def account(self, namespace: str, count: int, size: int) -> None:
        """Add a store's or a removal's effect to the namespace's and the directory's totals."""
        for scope in (namespace, None):
            with self._totals_kept(scope):
                self._ledger(scope).add(count, size)

    def totals(self, namespace: str | None = None) -> tuple[int, int]:
        """Return the running (entries, bytes) of a namespace or of the whole directory."""
        with self._totals_kept(namespace):
            return self._ledger(namespace).read()
        return 0, 0

    def correct_totals(self, namespace: str | None, counted: tuple[int, int], since: tuple[int, int]) -> None:
        """Replace drifting totals by an exact count (see ``Ledger.correct``)."""
        with self._totals_kept(namespace):
            self._ledger(namespace).correct(counted, since)

    @contextlib.contextmanager
    def _totals_kept(self, namespace: str | None) -> Iterator[None]:
        """Running totals are a convenience: a missing folder (cleared meanwhile) means nothing to count,
        and a link planted at the totals file is refused with a warning, not followed or raised."""
        try:
            yield
        except ABSENT:
            pass
        except UnsafePathError as exc:
            logger.warning("running totals of %s not kept: %s", namespace or self.location, exc)

    # -- manifests, configuration, usage ------------------------------------------------

    def read_manifest(self, namespace: str) -> dict[str, Any] | None:
        """The function folder's manifest, or None if it has none in pkcache's form (then it is not pkcache's)."""
        manifest = self._read_json((namespace,), layout.MANIFEST)
        return manifest if manifest is not None and layout.is_manifest(manifest) else None

    def write_manifest(self, namespace: str, manifest: dict[str, Any]) -> None:
        with self.namespace_folder(namespace, create=True, manifest=manifest) as folder:
            write_atomic(folder, layout.MANIFEST, [_manifest_bytes(manifest)])

    def read_config(self) -> dict[str, Any] | None:
        return self._read_json((), layout.CONFIG)

    def write_config(self, config: dict[str, Any]) -> None:
        with self.folders.folder(create=True) as root:
            write_atomic(root, layout.CONFIG, [json.dumps(config, indent=1).encode()])

    def _read_json(self, parts: tuple[str, ...], name: str) -> dict[str, Any] | None:
        try:
            with self.folders.folder(*parts, create=False) as folder:
                raw = read_small(folder, name)
        except ABSENT:
            return None
        except UnsafePathError as exc:
            logger.warning("ignoring %s/%s: %s", self.location, "/".join((*parts, name)), exc)
            return None
        if raw is None:
            return None
        try:
            value = json.loads(raw)
        except ValueError as exc:  # garbled: callers fall back to defaults
            logger.warning("ignoring unreadable %s: %s", "/".join((self.location, *parts, name)), exc)
            return None
        return value if isinstance(value, dict) else None

    def append_usage(self, namespace: str, record: dict[str, Any]) -> None:
        """Append one usage record; ``O_APPEND`` keeps concurrent appenders' lines whole."""
        line = json.dumps(record, separators=(",", ":")).encode() + b"\n"
        fd = self._open_in(namespace, layout.USAGE_LOG, _APPEND)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def read_usage(self, namespace: str) -> Usage:
        try:
            with self.folders.folder(namespace, create=False) as folder:
                lines = _lines(folder, layout.USAGE_SUMMARY) + _lines(folder, layout.USAGE_LOG)
        except ABSENT:
            return Usage()
        return Usage.from_lines(lines)

    def compact_usage(self, namespace: str, live_keys: set[str] | None) -> None:
        """Fold the usage log into the summary, forgetting entries no longer stored (unless ``live_keys`` is None)."""
        try:
            with self.folders.folder(namespace, create=False) as folder:
                self._compact(folder, live_keys)
        except ABSENT:  # cleared meanwhile
            return

    @staticmethod
    def _compact(folder: int, live_keys: set[str] | None) -> None:
        rotated = f"{layout.USAGE_LOG}.{os.getpid()}-{secrets.token_hex(4)}"
        try:
            os.rename(layout.USAGE_LOG, rotated, src_dir_fd=folder, dst_dir_fd=folder)
        except FileNotFoundError:
            if live_keys is None:
                return  # nothing to fold, nothing to forget
            rotated = layout.USAGE_LOG  # no log: rewrite the summary alone
        usage = Usage.from_lines(_lines(folder, layout.USAGE_SUMMARY) + _lines(folder, rotated))
        summary = json.dumps(usage.summary(live_keys), separators=(",", ":")).encode()
        write_atomic(folder, layout.USAGE_SUMMARY, [summary])
        if rotated != layout.USAGE_LOG:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(rotated, dir_fd=folder)

    def claim_sweep(self, namespace: str, interval: float) -> bool:
        """True (and the time noted) if the namespace was last swept more than ``interval`` s ago."""
        try:
            fd = self._open_in(namespace, layout.SWEPT, os.O_RDONLY | os.O_EXCL)
        except FileExistsError:
            fd = self._open_in(namespace, layout.SWEPT, os.O_RDONLY, create=False)
            if time.time() - os.fstat(fd).st_mtime < interval:
                os.close(fd)
                return False
        try:
            os.utime(fd)
            return True
        finally:
            os.close(fd)

    # -- removal ------------------------------------------------------------------------

    def prune_lock(self, namespace: str | None) -> KeyLock:
        """Return the lock that makes pruning a namespace (or the directory) one process at a time."""
        where = self.root if namespace is None else self.root / namespace
        opener = lambda: self._open_in(namespace, layout.PRUNE_LOCK, os.O_RDWR)  # noqa: E731
        return KeyLock(f"{where}/{layout.PRUNE_LOCK}", "", opener)

    def remove_entries(self, entries: Iterable[EntryStat]) -> tuple[int, int]:
        removed: dict[str, list[int]] = {}  # namespace -> [entries, bytes] actually unlinked
        by_folder: dict[tuple[str, str, str], list[EntryStat]] = {}
        for entry in entries:
            by_folder.setdefault((entry.namespace, entry.version, entry.key[:2]), []).append(entry)
        for parts, found in by_folder.items():
            try:
                folder = self.folders.open_folder(parts, create=False)
            except ABSENT:  # removed by someone else, who counted them
                continue
            try:
                for entry in found:
                    with contextlib.suppress(FileNotFoundError):  # removed by someone else, who counted it
                        os.unlink(layout.entry_name(entry.key), dir_fd=folder)
                        tally = removed.setdefault(entry.namespace, [0, 0])
                        tally[0] += 1
                        tally[1] += entry.size
            finally:
                os.close(folder)
        # One update of the running totals per namespace, not one per entry: a prune
        # removing 100,000 entries would otherwise take 200,000 ledger locks.
        for namespace, (count, size) in removed.items():
            self.account(namespace, -count, -size)
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
                _remove_namespace_files(folder)
        except ABSENT:
            pass
        with contextlib.suppress(OSError):  # not empty: something foreign stays, and its folder
            root = self.folders.open(create=False)
            if root is not None:
                os.rmdir(namespace, dir_fd=root)
        ledger = self._ledgers.pop(namespace, None)
        if ledger is not None:
            ledger.close()
        return removed

    def temp_files(self, namespace: str | None = None) -> Iterator[TempFile]:
        """Yield the temporary files of writers, live or dead."""
        for ns in [namespace] if namespace is not None else self.namespaces():
            for version in _subdirs(self.root / ns, layout.is_version):
                for fan in _subdirs(version, layout.is_fan):
                    yield from _temps_in(fan)

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


def _has_manifest(folder: int) -> bool:
    raw = read_small(folder, layout.MANIFEST)
    try:
        manifest = json.loads(raw) if raw is not None else None
    except ValueError:  # garbled: not a manifest
        return False
    return isinstance(manifest, dict) and layout.is_manifest(manifest)


def _manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return json.dumps(layout.mark_manifest(manifest), indent=1).encode()


def _remove_namespace_files(folder: int) -> None:
    """Remove pkcache's own files and emptied version folders from an open function folder."""
    for version in _names(folder):
        if not layout.is_version(version):
            continue
        with contextlib.suppress(OSError):  # a link or a file in its place: not ours
            version_fd = open_folder(folder, version, create=False)
            try:
                for fan in _names(version_fd):
                    if layout.is_fan(fan):
                        _remove_fan_litter(version_fd, fan)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(layout.KEY_LOCKS, dir_fd=version_fd)
            finally:
                os.close(version_fd)
            os.rmdir(version, dir_fd=folder)
    for name in _names(folder):
        if layout.is_namespace_file(name) and name != layout.MANIFEST:
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                os.unlink(name, dir_fd=folder)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(layout.MANIFEST, dir_fd=folder)  # last: until now, the folder was still pkcache's


def _remove_fan_litter(version: int, fan: str) -> None:
    with contextlib.suppress(OSError):
        folder = open_folder(version, fan, create=False)
        try:
            for name in _names(folder):
                if layout.is_entry_file(name) or layout.is_temp(name):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(name, dir_fd=folder)
        finally:
            os.close(folder)
        os.rmdir(fan, dir_fd=version)


def _names(folder: int) -> list[str]:
    try:
        return os.listdir(folder)
    except ABSENT:
        return []


def _listing(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as listing:
            return list(listing)
    except ABSENT:  # removed by a concurrent clear
        return []


def _folder_names(root: int) -> list[str]:
    with os.scandir(root) as listing:
        return [e.name for e in listing if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)]


def _subdirs(folder: Path, valid: Any) -> list[Path]:
    return [Path(e.path) for e in _listing(folder) if valid(e.name) and e.is_dir(follow_symlinks=False)]


def _foreign_in_namespace(folder: Path) -> list[str]:
    found = []
    for item in _listing(folder):
        if item.is_dir(follow_symlinks=False) and layout.is_version(item.name):
            for inner in _listing(Path(item.path)):
                if inner.is_dir(follow_symlinks=False) and layout.is_fan(inner.name):
                    found += [
                        e.path
                        for e in _listing(Path(inner.path))
                        if e.is_symlink() or not (layout.is_entry_file(e.name) or layout.is_temp(e.name))
                    ]
                elif inner.name != layout.KEY_LOCKS or inner.is_symlink():
                    found.append(inner.path)
        elif item.is_symlink() or not layout.is_namespace_file(item.name):
            found.append(item.path)
    return found


def _entries_in(namespace: str, version: str, folder: Path) -> Iterator[EntryStat]:
    for item in _listing(folder):
        if not layout.is_entry_file(item.name):
            continue
        try:
            info = item.stat(follow_symlinks=False)
        except FileNotFoundError:  # removed between listing and stat
            continue
        if stat.S_ISREG(info.st_mode):
            yield EntryStat(namespace, version, layout.key_of(item.name), info.st_size, info.st_mtime, item.path)


def _temps_in(folder: Path) -> Iterator[TempFile]:
    for item in _listing(folder):
        if not layout.is_temp(item.name):
            continue
        try:
            info = item.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        yield TempFile(item.path, info.st_size, info.st_mtime)


def _lines(folder: int, name: str) -> list[bytes]:
    try:
        fd = open_file(folder, name, os.O_RDONLY)
    except ABSENT:
        return []
    except UnsafePathError as exc:
        logger.warning("ignoring %s: %s", name, exc)
        return []
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks).splitlines()
    finally:
        os.close(fd)


_WARNED_SHARED: set[Path] = set()


def shared_directory_warning(root: Path) -> str | None:
    """What others can do in the cache directory, if its mode lets them write to it; else None."""
    try:
        mode = root.stat().st_mode
    except OSError:  # not created yet: pkcache will create it private
        return None
    if not mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None
    who = "other users" if mode & stat.S_IWOTH else "the members of its group"
    return (
        f"cache directory {root} can be written by {who} (mode {oct(stat.S_IMODE(mode))}): they can delete or "
        "replace any entry (wiping or filling the cache, costing recomputations) and plant files, which are "
        "refused unless signed with your secret; links they plant are not followed. Use a private directory "
        "(chmod 700) unless you share it, and your secret, with them"
    )


def _warn_if_shared(root: Path) -> None:
    """Warn, once per directory and process, when other users can write into the cache."""
    if root in _WARNED_SHARED:
        return
    message = shared_directory_warning(root)
    if message is None and not root.exists():
        return
    _WARNED_SHARED.add(root)
    if message is not None:
        logger.warning("%s", message)
