"""The local directory store: one signed file per entry, fanned out, written atomically."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import stat
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ._atomic import TEMP_PREFIX, remove_dead_temp_file, write_atomic
from ._ledger import Ledger
from ._localbucket import ENTRY_SUFFIX, DirectoryBucket
from ._locks import KeyLock
from ._log import logger
from ._store import EntryStat, TempFile
from ._usage import Usage

# A path that does not exist, or runs through a file: either way there is nothing there.
_ABSENT = (FileNotFoundError, NotADirectoryError)

MANIFEST = "function.json"
CONFIG = "pkcache.json"
LEDGER = ".ledger"
PRUNE_LOCK = ".prune.lock"
SWEPT = ".swept"
USAGE_LOG = "usage.log"
USAGE_SUMMARY = "usage.json"
_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n# This file marks a pkcache cache directory; backup tools skip it.\n"
)


class DirectoryStore:
    """A cache directory. Nothing is created on disk until the first write."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().absolute()
        self.location = str(self.root)
        self.shared = False
        self._root_ready = False
        self._ledgers: dict[str | None, Ledger] = {}

    def ensure_root(self) -> None:
        """Create the cache directory (mode 0700) and its CACHEDIR.TAG, once per process."""
        if self._root_ready:
            return
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        tag = self.root / "CACHEDIR.TAG"
        if not tag.exists():
            write_atomic(str(self.root), tag.name, [_CACHEDIR_TAG.encode()])
        self._root_ready = True

    def _folder(self, namespace: str | None) -> Path:
        return self.root if namespace is None else self.root / namespace

    def bucket(self, namespace: str, version: str) -> DirectoryBucket:
        _warn_if_shared(self.root)
        return DirectoryBucket(self, namespace, f"{self.root}/{namespace}/{version}")

    def namespaces(self) -> list[str]:
        _warn_if_shared(self.root)
        try:
            with os.scandir(self.root) as listing:
                return sorted(e.name for e in listing if e.is_dir(follow_symlinks=False) and not e.name.startswith("."))
        except _ABSENT:
            return []

    def entries(self, namespace: str | None = None) -> Iterator[EntryStat]:
        for ns in [namespace] if namespace is not None else self.namespaces():
            for version_dir in _subdirs(self.root / ns):
                for fan_dir in _subdirs(version_dir):
                    yield from _entries_in(ns, version_dir.name, fan_dir)

    # -- running totals -----------------------------------------------------------------

    def _ledger(self, namespace: str | None) -> Ledger:
        ledger = self._ledgers.get(namespace)
        if ledger is None:
            ledger = self._ledgers[namespace] = Ledger(str(self._folder(namespace) / LEDGER))
        return ledger

    def close(self) -> None:
        """Close the descriptors this store keeps open (its running totals); reopened on use."""
        for ledger in self._ledgers.values():
            ledger.close()

    def account(self, namespace: str, count: int, size: int) -> None:
        """Add a store's or a removal's effect to the namespace's and the directory's totals."""
        for scope in (namespace, None):
            with contextlib.suppress(*_ABSENT):  # the namespace was cleared meanwhile: nothing to count
                self._ledger(scope).add(count, size)

    def totals(self, namespace: str | None = None) -> tuple[int, int]:
        """Return the running (entries, bytes) of a namespace or of the whole directory."""
        try:
            return self._ledger(namespace).read()
        except _ABSENT:
            return 0, 0

    def correct_totals(self, namespace: str | None, counted: tuple[int, int], since: tuple[int, int]) -> None:
        """Replace drifting totals by an exact count (see ``Ledger.correct``)."""
        with contextlib.suppress(*_ABSENT):
            self._ledger(namespace).correct(counted, since)

    # -- manifests, configuration, usage ------------------------------------------------

    def read_manifest(self, namespace: str) -> dict[str, Any] | None:
        return _read_json(self.root / namespace / MANIFEST)

    def write_manifest(self, namespace: str, manifest: dict[str, Any]) -> None:
        self.ensure_root()
        write_atomic(str(self.root / namespace), MANIFEST, [json.dumps(manifest, indent=1).encode()])

    def read_config(self) -> dict[str, Any] | None:
        return _read_json(self.root / CONFIG)

    def write_config(self, config: dict[str, Any]) -> None:
        self.ensure_root()
        write_atomic(str(self.root), CONFIG, [json.dumps(config, indent=1).encode()])

    def append_usage(self, namespace: str, record: dict[str, Any]) -> None:
        """Append one usage record; ``O_APPEND`` keeps concurrent appenders' lines whole."""
        line = json.dumps(record, separators=(",", ":")).encode() + b"\n"
        path = self.root / namespace / USAGE_LOG
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except FileNotFoundError:
            self.ensure_root()
            path.parent.mkdir(exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def read_usage(self, namespace: str) -> Usage:
        folder = self.root / namespace
        return Usage.from_lines(_read_lines(folder / USAGE_SUMMARY) + _read_lines(folder / USAGE_LOG))

    def compact_usage(self, namespace: str, live_keys: set[str] | None) -> None:
        """Fold the usage log into the summary, forgetting entries no longer stored (unless ``live_keys`` is None)."""
        folder = self.root / namespace
        rotated = folder / f"{USAGE_LOG}.{os.getpid()}-{secrets.token_hex(4)}"
        try:
            os.rename(folder / USAGE_LOG, rotated)
        except FileNotFoundError:
            if live_keys is None:
                return  # nothing to fold, nothing to forget
            rotated = folder / USAGE_LOG  # no log: rewrite the summary alone
        usage = Usage.from_lines(_read_lines(folder / USAGE_SUMMARY) + _read_lines(rotated))
        summary = json.dumps(usage.summary(live_keys), separators=(",", ":")).encode()
        with contextlib.suppress(FileNotFoundError):  # cleared meanwhile
            write_atomic(str(folder), USAGE_SUMMARY, [summary])
        if rotated.name != USAGE_LOG:
            rotated.unlink(missing_ok=True)

    def claim_sweep(self, namespace: str, interval: float) -> bool:
        """True (and the time noted) if the namespace was last swept more than ``interval`` s ago."""
        marker = self.root / namespace / SWEPT
        try:
            if time.time() - marker.stat().st_mtime < interval:
                return False
        except FileNotFoundError:
            pass
        marker.touch()
        return True

    # -- removal ------------------------------------------------------------------------

    def prune_lock(self, namespace: str | None) -> KeyLock:
        """Return the lock that makes pruning a namespace (or the directory) one process at a time."""
        self.ensure_root()
        return KeyLock(str(self._folder(namespace) / PRUNE_LOCK), "")

    def remove_entries(self, entries: Iterable[EntryStat]) -> tuple[int, int]:
        removed: dict[str, list[int]] = {}  # namespace -> [entries, bytes] actually unlinked
        for entry in entries:
            try:
                os.unlink(entry.location)
            except FileNotFoundError:  # removed by someone else, who counted it
                continue
            tally = removed.setdefault(entry.namespace, [0, 0])
            tally[0] += 1
            tally[1] += entry.size
        # One update of the running totals per namespace, not one per entry: a prune
        # removing 100,000 entries would otherwise take 200,000 ledger locks.
        for namespace, (count, size) in removed.items():
            self.account(namespace, -count, -size)
        return sum(t[0] for t in removed.values()), sum(t[1] for t in removed.values())

    def remove_namespace(self, namespace: str) -> tuple[int, int]:
        removed = self.remove_entries(list(self.entries(namespace)))
        # Whatever is left (temp files of a live writer, lock files, the manifest) goes
        # with the folder; a writer racing with this loses its store, never its result.
        shutil.rmtree(self.root / namespace, ignore_errors=True)
        self._ledgers.pop(namespace, None)
        return removed

    def temp_files(self, namespace: str | None = None) -> Iterator[TempFile]:
        """Yield the temporary files of writers, live or dead."""
        for ns in [namespace] if namespace is not None else self.namespaces():
            for version_dir in _subdirs(self.root / ns):
                for fan_dir in _subdirs(version_dir):
                    yield from _temps_in(fan_dir)

    def remove_dead_temp_file(self, temp: TempFile, grace: float) -> bool:
        return remove_dead_temp_file(temp.location, temp.modified, grace)


_WARNED_SHARED: set[Path] = set()


def _warn_if_shared(root: Path) -> None:
    """Warn, once per directory and process, when other users can write into the cache."""
    if root in _WARNED_SHARED:
        return
    try:
        mode = root.stat().st_mode
    except OSError:  # not created yet: pkcache will create it private
        return
    _WARNED_SHARED.add(root)
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        logger.warning(
            "pkcache: cache directory %s can be written by other users (mode %s); entries they plant are "
            "refused unless signed with your secret, but they can delete or fill it: use a private directory",
            root,
            oct(stat.S_IMODE(mode)),
        )


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_bytes())
    except _ABSENT:
        return None
    except (ValueError, OSError) as exc:  # garbled or unreadable: callers fall back to defaults
        logger.warning("pkcache: ignoring unreadable %s: %s", path, exc)
        return None
    return value if isinstance(value, dict) else None


def _read_lines(path: Path) -> list[bytes]:
    try:
        return path.read_bytes().splitlines()
    except _ABSENT:
        return []


def _subdirs(folder: Path) -> list[Path]:
    try:
        with os.scandir(folder) as listing:
            return [Path(e.path) for e in listing if e.is_dir(follow_symlinks=False)]
    except _ABSENT:  # removed by a concurrent clear
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


def _temps_in(folder: Path) -> Iterator[TempFile]:
    try:
        with os.scandir(folder) as listing:
            found = [e for e in listing if e.name.startswith(TEMP_PREFIX)]
    except FileNotFoundError:
        return
    for item in found:
        try:
            info = item.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        yield TempFile(item.path, info.st_size, info.st_mtime)
