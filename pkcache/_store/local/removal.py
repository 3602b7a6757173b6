"""Removing a function folder's own files: only names of pkcache's forms, never through a link."""

from __future__ import annotations

import contextlib
import os

from . import layout
from .folders import open_folder
from .scan import names


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
