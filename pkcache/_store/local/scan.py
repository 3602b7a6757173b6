"""Reading a cache directory's tree: what is in it, by pkcache's own name forms, never through a link."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from ..._errors import UnsafePathError
from ..._log import logger
from ..protocol import TempFile
from . import layout
from .folders import ABSENT, open_file


def names(folder: int | Path) -> list[str]:
    try:
        return os.listdir(folder)
    except ABSENT:
        return []


def listing(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as listing:
            return list(listing)
    except ABSENT:  # removed by a concurrent clear
        return []


def folder_names(root: int) -> list[str]:
    with os.scandir(root) as listing:
        return [e.name for e in listing if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)]


def subdirs(folder: Path, valid: Callable[[str], bool]) -> list[Path]:
    return [Path(e.path) for e in listing(folder) if valid(e.name) and e.is_dir(follow_symlinks=False)]


def foreign_in_namespace(folder: Path) -> list[str]:
    found = []
    for item in listing(folder):
        if item.is_dir(follow_symlinks=False) and layout.is_version(item.name):
            for inner in listing(Path(item.path)):
                if inner.is_dir(follow_symlinks=False) and layout.is_fan(inner.name):
                    found += [
                        e.path
                        for e in listing(Path(inner.path))
                        if e.is_symlink() or not (layout.is_entry_file(e.name) or layout.is_temp(e.name))
                    ]
                elif inner.name != layout.KEY_LOCKS or inner.is_symlink():
                    found.append(inner.path)
        elif item.is_symlink() or not layout.is_namespace_file(item.name):
            found.append(item.path)
    return found


def temps_in(folder: Path) -> Iterator[TempFile]:
    return temps_among(folder, names(folder))


def temps_among(folder: Path, listed: list[str], dir_fd: int | None = None) -> Iterator[TempFile]:
    """The writers' temp files among the names ``listed`` of ``folder`` (open as ``dir_fd``, if given)."""
    # Names only (no directory entry objects): a fan-out folder holds thousands of entries
    # and, at most, a few temp files, which alone start with a dot.
    for name in [n for n in listed if n[:1] == "." and layout.is_temp(n)]:
        path = os.path.join(folder, name)
        try:
            info = os.stat(path if dir_fd is None else name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:  # its writer finished meanwhile
            continue
        if stat.S_ISREG(info.st_mode):
            yield TempFile(path, info.st_size, info.st_mtime)


def read_lines(folder: int, name: str) -> list[bytes]:
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
