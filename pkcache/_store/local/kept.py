"""The folders a bucket keeps open: its version folder and fan-out folders, for the writes of its misses.

Opening and closing the entry's fan-out folder was two of a small miss's system calls.
A bucket keeps its folders open instead, within a budget for the whole process (a
process with many cached functions must not run out of descriptors). A kept folder is
never checked before use (a stat): nothing can be made in a removed folder, so a write
into one fails, and its writer renews the folders and tries again. A descriptor is
closed only when no thread of the bucket is using it: closed under a user, its number
could be given to another file, and a write meant for the folder would land there.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from ..._forks import in_child, process_id, renew_guard
from .folders import open_folder

# Fan-out folders kept open in a process, all buckets together: four functions' worth.
FAN_BUDGET = 64


class _Budget:
    left = FAN_BUDGET
    guard = threading.Lock()

    @classmethod
    def take(cls) -> bool:
        with cls.guard:
            if cls.left <= 0:
                return False
            cls.left -= 1
            return True

    @classmethod
    def give(cls, count: int) -> None:
        with cls.guard:
            cls.left += count


def _fresh_budget_in_child() -> None:
    _Budget.guard = threading.Lock()
    _Budget.left = FAN_BUDGET  # the child keeps none of its parent's folders (see ``KeptFolders``)


in_child(_fresh_budget_in_child)


class KeptFolders:
    """One bucket's version folder and fan-out folders; ``opener`` opens (making it) the version folder.

    Each ``version`` or ``fan`` is paired with a ``release`` once the caller is done with
    the descriptor it got.
    """

    def __init__(self, opener: Callable[[], int]) -> None:
        self._opener = opener
        self._version = -1
        self._fans: dict[str, int] = {}
        self._retired: list[int] = []  # to close once no one uses them
        self._users = 0
        self._pid = 0
        self._guard = threading.Lock()
        renew_guard(self)

    def version(self, *, renew: bool = False) -> int:
        """The version folder's descriptor; ``renew`` after a name in it could not be made or opened."""
        with self._guard:
            fd = self._version_folder(renew)
            self._users += 1
            return fd

    def fan(self, name: str, *, renew: bool = False) -> int:
        """The descriptor of the fan-out folder ``name``, made if missing."""
        with self._guard:
            fd = self._fans.get(name, -1) if not renew and self._pid == process_id() else -1
            if fd < 0:
                try:
                    fd = open_folder(self._version_folder(renew), name, create=True)
                except FileNotFoundError:  # the version folder was removed: made anew
                    fd = open_folder(self._version_folder(True), name, create=True)
                if _Budget.take():
                    self._fans[name] = fd
                else:
                    self._retired.append(fd)  # used once
            self._users += 1
            return fd

    def release(self) -> None:
        with self._guard:
            self._users -= 1
            if not self._users:
                self._close_retired()

    def close(self) -> None:
        """Let every folder go (closed now if unused, else by its last user)."""
        with self._guard:
            self._retire()
            if not self._users:
                self._close_retired()

    def _version_folder(self, renew: bool) -> int:
        if self._pid != process_id():
            # A forked child: the descriptors are its parent's copies, left as they are.
            self._version, self._fans, self._retired, self._users = -1, {}, [], 0
            self._pid = process_id()
        if renew:
            self._retire()
        if self._version < 0:
            self._version = self._opener()
        return self._version

    def _retire(self) -> None:
        if self._version >= 0:
            self._retired.append(self._version)
        _Budget.give(len(self._fans))
        self._retired += self._fans.values()
        self._version, self._fans = -1, {}

    def __del__(self) -> None:
        # Unreachable, so unused: what it holds is closed, and its share of the budget returned.
        if self._pid == process_id():
            self._retire()
            self._close_retired()

    def _close_retired(self) -> None:
        retired, self._retired = self._retired, []
        for fd in retired:
            os.close(fd)
