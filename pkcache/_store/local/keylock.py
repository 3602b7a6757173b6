"""Per-key inter-process locks: one computation per missing key, never a deadlock.

A key's lock is one byte of a shared lock file, locked with ``fcntl.lockf`` at an offset
derived from the key: no file is created or removed per key, which on a miss saves two
file-system metadata operations (a per-key lock file, as ``filelock`` uses, costs both;
docs/performance.md has the figures). Record locks belong to a process, not a thread, so a
per-key ``threading.Lock`` makes threads of one process exclude each other too. The
kernel releases a dead process's locks, so a killed holder never blocks anyone.

Where ``fcntl`` is missing (Windows), ``filelock`` locks one file per key instead.
"""

from __future__ import annotations

import errno
import os
import threading
import weakref
from collections.abc import Callable
from typing import ClassVar

from ..._forks import in_child, process_id, renew_guard
from ..lock import BaseLock

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

_CONTENDED = {errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK}


class LockFile:
    """A file whose bytes are locks, opened once per process and kept open while in use or lately used.

    Record locks are dropped when *any* descriptor of the file is closed by the process
    that holds them, so this is the only place that opens it, and it closes it only when
    no lock of this process needs it. The ``IDLE_KEPT`` lock files used last stay open
    when idle (each miss would otherwise open and close one); an idle one is checked to
    still have a name before it is used again (its folder may have been cleared, and a
    lock on a file nobody else can open excludes nobody). ``close_idle`` lets them go (a
    descriptor keeps the file system busy: no read-only remount, no unmount).
    """

    IDLE_KEPT = 8

    _instances: ClassVar[weakref.WeakValueDictionary[str, LockFile]] = weakref.WeakValueDictionary()
    _instances_lock: ClassVar[threading.Lock] = threading.Lock()
    _idle: ClassVar[dict[str, LockFile]] = {}  # the lately used, oldest first (under _instances_lock)

    def __init__(self, path: str, opener: Callable[[], int] | None = None) -> None:
        self.path = path
        self._opener = opener or (lambda: _open_path(path))
        self._fd: int | None = None
        self._pid = 0
        self._users = 0
        self._guard = threading.Lock()
        renew_guard(self)

    @classmethod
    def at(cls, path: str, opener: Callable[[], int] | None = None) -> LockFile:
        """Return the process's one ``LockFile`` for ``path``; ``opener`` opens (and creates) it."""
        with cls._instances_lock:
            lock_file = cls._instances.get(path)
            if lock_file is None:
                lock_file = cls._instances[path] = cls(path, opener)
            return lock_file

    def open(self) -> int:
        """Return the descriptor, opening it if needed; pair each call with ``close``."""
        with self._guard:
            fd = self._fd
            # A forked child inherits the descriptor but not the locks: it opens its own.
            if fd is not None and (self._pid != process_id() or (not self._users and os.fstat(fd).st_nlink == 0)):
                self._forget()
            if self._fd is None:
                self._fd = self._opener()
                self._pid = process_id()
                self._users = 0
            self._users += 1
            return self._fd

    def close(self) -> None:
        """Give back a descriptor from ``open``; idle, it stays open while among the ``IDLE_KEPT`` last used."""
        with self._guard:
            self._users -= 1
            if self._users:
                return
        with LockFile._instances_lock:
            idle = LockFile._idle
            if next(reversed(idle.values()), None) is self:
                return  # the last used already: the usual case of a miss after a miss
            idle.pop(self.path, None)
            idle[self.path] = self
            evicted = [idle.pop(path) for path in list(idle)[: max(len(idle) - self.IDLE_KEPT, 0)]]
        for lock_file in evicted:
            lock_file._close_if_idle()

    def _close_if_idle(self) -> None:
        with self._guard:
            if not self._users:
                self._forget()

    def _forget(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None and self._pid == process_id():
            os.close(fd)

    @classmethod
    def close_idle(cls, under: str = "") -> None:
        """Close the idle lock files whose path starts with ``under``."""
        with cls._instances_lock:
            found = [cls._idle.pop(path) for path in list(cls._idle) if path.startswith(under)]
        for lock_file in found:
            lock_file._close_if_idle()


def _open_path(path: str) -> int:
    """Open a lock file by path, making its folder: for locks outside a cache (tests, tools)."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)


class _ThreadLocks:
    """One ``threading.Lock`` per key lock of this process, so its threads exclude each other."""

    def __init__(self) -> None:
        self.locks: weakref.WeakValueDictionary[tuple[str, int], threading.Lock] = weakref.WeakValueDictionary()
        self._guard = threading.Lock()
        renew_guard(self)

    def get(self, path: str, offset: int) -> threading.Lock:
        with self._guard:
            lock = self.locks.get((path, offset))
            if lock is None:
                lock = self.locks[(path, offset)] = threading.Lock()
            return lock


_THREAD_LOCKS = _ThreadLocks()


def _thread_lock(path: str, offset: int) -> threading.Lock:
    return _THREAD_LOCKS.get(path, offset)


def _fresh_locks_in_child() -> None:
    # The parent's other threads may hold some of these: the child starts with none held.
    _THREAD_LOCKS.locks = weakref.WeakValueDictionary()
    LockFile._instances_lock = threading.Lock()
    LockFile._idle = {}
    for lock_file in list(LockFile._instances.values()):
        lock_file._fd, lock_file._users = None, 0  # the child opens its own (the parent's stays open there)


in_child(_fresh_locks_in_child)


class KeyLock(BaseLock):
    """An exclusive lock on one key (one byte of a lock file), for threads and processes of one machine."""

    def __init__(self, path: str, key: str, opener: Callable[[], int] | None = None) -> None:
        self.path = path
        self._opener = opener
        self.offset = int(key[:15], 16) if key else 0  # 60 bits of the key's hash
        self._thread_lock = _thread_lock(path, self.offset)
        self._held = False
        self._fallback: object | None = None
        self._lock_file: LockFile | None = None
        self._fd = -1

    def try_acquire(self) -> bool:
        """Make one attempt; True if the lock is now held by this object."""
        if not self._thread_lock.acquire(blocking=False):
            return False
        try:
            acquired = self._lock_process()
        except BaseException:
            self._thread_lock.release()
            raise
        if not acquired:
            self._thread_lock.release()
            return False
        self._held = True
        return True

    def _lock_process(self) -> bool:
        if fcntl is None:
            return self._lock_portable()
        lock_file = LockFile.at(self.path, self._opener)
        fd = lock_file.open()
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, self.offset, os.SEEK_SET)
        except OSError as exc:
            lock_file.close()
            if exc.errno in _CONTENDED:
                return False
            raise
        self._lock_file = lock_file  # holds a use of the descriptor (and so the lock) until release
        self._fd = fd
        return True

    def _lock_portable(self) -> bool:
        import filelock

        lock = filelock.FileLock(f"{self.path}.{self.offset:015x}")
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            return False
        self._fallback = lock
        return True

    def release(self) -> None:
        if not self._held:
            return
        self._held = False
        try:
            if self._fallback is not None:
                self._fallback.release()  # type: ignore[attr-defined]
                self._fallback = None
            elif self._lock_file is not None:
                lock_file, self._lock_file = self._lock_file, None
                try:
                    fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, self.offset, os.SEEK_SET)
                finally:
                    lock_file.close()
        finally:
            self._thread_lock.release()
