"""What a function folder holds: every entry's key, size and time, from one listing and the entry index.

The listing decides what exists: ``scandir`` gives each name with its type and inode,
no ``stat`` needed, and only regular files with an entry's name count. The entry index
(``index``) gives the size and time of each listed entry whose inode it recorded; the
rest are ``stat``ed, and a census that had to ``stat`` many, or found the index mostly
superseded records, is worth a rewrite of the index (``records``). At a million entries
this is a listing's cost (under a second here) instead of a million ``stat``s.
"""

from __future__ import annotations

import errno
import functools
import operator
import os
import stat
import sys
from array import array
from collections.abc import Callable
from itertools import repeat
from pathlib import Path
from typing import NamedTuple

from ..._log import logger
from ..protocol import EntryColumns, TempFile
from . import index, layout, scan
from .folders import ABSENT, DIRECTORY_FLAGS

_NAME_LENGTH = 64 + len(layout.ENTRY_SUFFIX)
_NAME = operator.attrgetter("name")
_KEY = operator.itemgetter(slice(0, 64))
_REGULAR = functools.partial(os.DirEntry.is_file, follow_symlinks=False)  # a regular file, not a link to one
_ORDERED_MIN = 10_000  # fewer entries fit in the processor's caches whatever their order


class Census:
    """The entries of one function folder, column by column, and what a rewrite of its index would hold."""

    def __init__(self, namespace: str, snapshot: index.Snapshot | None) -> None:
        self.namespace = namespace
        self.read = snapshot  # None if the index cannot be read (a link in its place): never rewritten
        self.snapshot = snapshot if snapshot is not None and snapshot.valid else None  # what entries are matched to
        self.versions: list[str] = []
        self.keys: list[str] = []
        self.sizes: list[int] = []
        self.created: list[float] = []
        self.folders: list[str] = []
        self.temps: list[TempFile] = []
        self._inodes: list[int] = []
        self._raw_versions = array("Q")  # each entry's version, as the word its record holds
        self._raw_keys: list[bytes] = []  # each folder's keys, raw, end to end
        self._stated = 0  # entries whose size and time came from a stat
        self._in_order = 0  # listed entries whose record came right after the one before (``index.in_order``)

    def columns(self, *, temps: bool) -> EntryColumns:
        """The entries listed, and with ``temps`` the writers' temp files seen (when ``add_version`` looked)."""
        folders, keys, suffix = self.folders, self.keys, layout.ENTRY_SUFFIX
        locate: Callable[[int], str] = lambda at: f"{folders[at]}{os.sep}{keys[at]}{suffix}"  # noqa: E731
        found = self.temps if temps else None
        return EntryColumns(self.namespace, self.versions, keys, self.sizes, self.created, locate=locate, temps=found)

    @property
    def stated(self) -> int:
        return self._stated

    def worth_rewriting(self) -> bool:
        """True if the index is worth rewriting: not in its form, many entries had no record of their inode,
        most records are superseded (every store appends one; removals leave theirs behind), or most are in
        another order than the listing's (see ``index.in_order``). The rewrite keeps them in the listing's."""
        if self.read is None:
            return False
        if not self.read.valid:
            return True
        listed = len(self.keys)
        superseded = len(self.read) > 2 * listed + 1024
        scattered = listed > _ORDERED_MIN and self._in_order < listed // 2
        return self.stated > max(16, listed // 64) or superseded or scattered

    def records(self) -> bytes:
        """The index of exactly the entries listed, as their records or a stat said, in listing order."""
        keys = b"".join(self._raw_keys)
        return index.packed(self._raw_versions, keys, self._inodes, self.sizes, self.created)

    # -- listing ---------------------------------------------------------------------------

    def add_version(self, folder: Path, *, temps: bool) -> None:
        for fan in scan.subdirs(folder, layout.is_fan):
            self._add_folder(fan, temps=temps)

    def _add_folder(self, folder: Path, *, temps: bool) -> None:
        try:
            fd = os.open(folder, DIRECTORY_FLAGS)
        except ABSENT:  # removed by a concurrent clear
            return
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            logger.debug("not listing %s: a link in a folder's place, not pkcache's", folder)
            return
        try:
            with os.scandir(fd) as listing:
                items = list(listing)
            names = list(map(_NAME, items))
            if _all_files(items, names):  # as a rule: no temp file, link or folder among them
                found = items
            else:
                found = [i for i in items if len(i.name) == _NAME_LENGTH and i.is_file(follow_symlinks=False)]
                if temps:
                    self.temps += scan.temps_among(folder, names, fd)
                names = list(map(_NAME, found))
            self._add_entries(folder, fd, _entry_files(found, names))
        finally:
            os.close(fd)

    def _add_entries(self, folder: Path, fd: int, listed: _Listed) -> None:
        version, keys = folder.parent.name, listed.keys
        raw_version = index.raw_name(version)
        count, inodes = len(keys), listed.inodes
        if self.snapshot is None:
            sizes, created, unmatched = [0] * count, [0.0] * count, list(range(count))
        else:
            sizes, created, unmatched, in_order = self.snapshot.match(raw_version, listed.raw, inodes)
            self._in_order += in_order
        gone: list[int] = []
        for at in unmatched:  # no record of this inode: stat it
            try:
                info = os.stat(f"{keys[at]}{layout.ENTRY_SUFFIX}", dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:  # removed since the listing
                gone.append(at)
                continue
            if not stat.S_ISREG(info.st_mode):  # replaced by a link since the listing: not pkcache's
                gone.append(at)
                continue
            sizes[at], created[at], inodes[at] = info.st_size, info.st_mtime, info.st_ino
            self._stated += 1
        raw = listed.raw
        if gone:
            keep = sorted(set(range(count)) - set(gone))
            keys = [keys[at] for at in keep]
            sizes = [sizes[at] for at in keep]
            created = [created[at] for at in keep]
            inodes = [inodes[at] for at in keep]
            raw = bytes.fromhex("".join(keys))
            count = len(keep)
        self.keys += keys
        self.sizes += sizes
        self.created += created
        self._inodes += inodes
        self._raw_keys.append(raw)
        self._raw_versions += array("Q", [int.from_bytes(raw_version, sys.byteorder)]) * count
        self.versions += repeat(version, count)
        self.folders += repeat(str(folder), count)


class _Listed(NamedTuple):
    """A folder's entry files: their keys, as text and as raw bytes end to end, and their inodes."""

    keys: list[str]
    raw: bytes
    inodes: list[int]


def _all_files(items: list[os.DirEntry[str]], names: list[str]) -> bool:
    """True if every listed item is a regular file with a name as long as an entry's.

    Mapped over the whole listing at once, not tested item by item: a folder holds
    thousands (a third of a second per million, item by item). The type comes with the
    listing: no ``stat``.
    """
    return all(map(_NAME_LENGTH.__eq__, map(len, names))) and all(map(_REGULAR, items))


def _entry_files(found: list[os.DirEntry[str]], names: list[str]) -> _Listed:
    """The listed regular files (``found``, named ``names``) named as entries (64 lowercase hex digits, ``.pkl``)."""
    joined = "".join(names)
    suffix = layout.ENTRY_SUFFIX
    if all(joined[64 + at :: _NAME_LENGTH] == suffix[at] * len(found) for at in range(len(suffix))):
        keys = list(map(_KEY, names))
        hexed = "".join(keys)
        try:
            raw = bytes.fromhex(hexed)
        except ValueError:
            raw = b""
        if raw.hex() == hexed:
            return _Listed(keys, raw, list(map(os.DirEntry.inode, found)))
    # A name not of pkcache's form among them: sort them out one by one.
    found = [i for i in found if layout.is_entry_file(i.name)]
    keys = [i.name[:64] for i in found]
    return _Listed(keys, bytes.fromhex("".join(keys)), [i.inode() for i in found])
