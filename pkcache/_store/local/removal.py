"""Removing entries and a function folder's own files: only names of pkcache's forms, never through a link."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from ..protocol import EntryStat
from . import layout
from .folders import ABSENT, Root, open_folder
from .scan import names

# Folders are emptied on this many threads at once when there are many entries to remove:
# a removal waits on the file system (78 us each in folders of 62,000 entries here), and
# two threads in two folders removed them at 48 us each, one thread at 78.
_REMOVERS = 4
_MANY = 1000

Folder = tuple[str, str, str]  # namespace, version, fan


def remove_entry_files(folders: Root, entries: Iterable[EntryStat]) -> dict[str, list[int]]:
    """Remove listed entry files; return, by namespace, [entries, bytes] of those that were still there."""
    by_folder: dict[Folder, list[EntryStat]] = {}
    for entry in entries:
        fan = os.path.basename(os.path.dirname(entry.location))  # one hex digit, or 0.1's two
        if not layout.is_fan(fan):
            continue  # not listed by this store: never pkcache's to remove
        by_folder.setdefault((entry.namespace, entry.version, fan), []).append(entry)
    groups = list(by_folder.items())
    count = sum(len(found) for _, found in groups)
    workers = min(_REMOVERS, os.cpu_count() or 1, len(groups)) if count >= _MANY else 1
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            done = list(pool.map(lambda group: _empty(folders, *group), groups))
    else:
        done = [_empty(folders, *group) for group in groups]
    removed: dict[str, list[int]] = {}
    for (namespace, _version, _fan), (gone, size) in zip(by_folder, done, strict=True):
        tally = removed.setdefault(namespace, [0, 0])
        tally[0] += gone
        tally[1] += size
    return {namespace: tally for namespace, tally in removed.items() if tally[0]}


def _empty(folders: Root, parts: Folder, found: list[EntryStat]) -> tuple[int, int]:
    try:
        folder = folders.open_folder(parts, create=False)
    except ABSENT:  # removed by someone else, who counted them
        return 0, 0
    gone = size = 0
    try:
        for entry in found:
            with contextlib.suppress(FileNotFoundError):  # removed by someone else, who counted it
                os.unlink(layout.entry_name(entry.key), dir_fd=folder)
                gone += 1
                size += entry.size
    finally:
        os.close(folder)
    return gone, size


def remove_namespace_files(folder: int) -> None:
    """Remove pkcache's own files and emptied version folders from an open function folder."""
    for version in names(folder):
        if not layout.is_version(version):
            continue
        with contextlib.suppress(OSError):  # a link or a file in its place: not ours
            version_fd = open_folder(folder, version, create=False)
            try:
                for fan in names(version_fd):
                    if layout.is_fan(fan):
                        _remove_fan_litter(version_fd, fan)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(layout.KEY_LOCKS, dir_fd=version_fd)
            finally:
                os.close(version_fd)
            os.rmdir(version, dir_fd=folder)
    for name in names(folder):
        if layout.is_namespace_file(name) and name != layout.MANIFEST:
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                os.unlink(name, dir_fd=folder)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(layout.MANIFEST, dir_fd=folder)  # last: until now, the folder was still pkcache's


def _remove_fan_litter(version: int, fan: str) -> None:
    with contextlib.suppress(OSError):
        folder = open_folder(version, fan, create=False)
        try:
            for name in names(folder):
                if layout.is_entry_file(name) or layout.is_temp(name):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(name, dir_fd=folder)
        finally:
            os.close(folder)
        os.rmdir(fan, dir_fd=version)
