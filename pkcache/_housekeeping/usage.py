"""Reads and misses, recorded cheaply on the hot path and shared across processes.

A hit adds to an in-memory tally; the tally is appended to the function's usage log at
most once a second (on a later call), before this process prunes or reports, and at
exit. Pruning folds the log into a summary. The eviction policies read last access and
hit counts from here, so process A's pruning sees how often process B read an entry.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
import weakref
from typing import Any

from .._forks import in_child

FLUSH_INTERVAL = 1.0


class UsageRecorder:
    """The in-memory tally of one cached function in this process."""

    def __init__(self) -> None:
        self.hits: dict[str, list[float]] = {}
        self.misses = 0
        self.last_flush = time.time()  # the wall clock, which ``hit`` reads anyway
        self.lock = threading.Lock()
        _RECORDERS.add(self)

    def forget(self) -> None:
        """Drop the pending tally without recording it (a forked child's copy of its parent's)."""
        self.lock = threading.Lock()
        self.hits = {}
        self.misses = 0

    def hit(self, key: str) -> bool:
        """Count a read of ``key``; True when the tally is due to be flushed."""
        now = time.time()
        # Under the lock: a thread flushing the taken tally must not see it change size.
        with self.lock:
            slot = self.hits.get(key)
            if slot is None:
                self.hits[key] = [1, now]
            else:
                slot[0] += 1
                slot[1] = now
        # One clock read does for both; a clock set back or forward makes a flush due,
        # never postpones it.
        return _WorkerExit.eager or not 0.0 <= now - self.last_flush <= FLUSH_INTERVAL

    def miss(self) -> bool:
        """Count a call that runs the body; True when the tally is due to be flushed."""
        with self.lock:
            self.misses += 1
        return _WorkerExit.eager

    def take(self) -> dict[str, Any] | None:
        """Return the pending tally as a log record and start a new one; None if empty."""
        with self.lock:
            self.last_flush = time.time()
            if not self.hits and not self.misses:
                return None
            record = {"h": self.hits, "m": self.misses}
            self.hits = {}
            self.misses = 0
            return record


_RECORDERS: weakref.WeakSet[UsageRecorder] = weakref.WeakSet()
_LIVE: weakref.WeakSet[Any] = weakref.WeakSet()


def register(flushable: Any) -> None:
    """Flush ``flushable`` (anything with ``flush_usage()``) when the interpreter exits."""
    _LIVE.add(flushable)
    _flush_when_a_worker_ends()


@atexit.register
def flush_all() -> None:
    """Flush every registered function's pending usage (at exit, and before pruning or listing)."""
    for flushable in list(_LIVE):
        flushable.flush_usage()


class _WorkerExit:
    """How a worker process's tallies outlive it.

    Pool workers leave by ``os._exit`` (no ``atexit`` handler runs) after running
    ``multiprocessing``'s finalizers, where pkcache flushes; and ``Pool.__exit__``
    terminates them, running nothing (Ray stops its workers likewise). So a worker
    process (a ``multiprocessing`` child, any forked one, a Ray worker) flushes its
    tally at every call instead of once a second: an append of a few microseconds,
    small beside what sending a task to a worker costs.
    """

    registered_in = 0  # the process whose finalizers have ours
    eager = False  # this process flushes at every call


def _flush_when_a_worker_ends(_: object = None) -> None:
    if _WorkerExit.registered_in == os.getpid():
        return
    if "RAY_RAYLET_PID" in os.environ:  # set by Ray in the worker processes it starts
        _WorkerExit.eager = True
    util = sys.modules.get("multiprocessing.util")
    if util is None:
        return
    _WorkerExit.registered_in = os.getpid()
    if sys.modules["multiprocessing"].parent_process() is not None:
        _WorkerExit.eager = True
    util.Finalize(None, flush_all, exitpriority=10)
    # A forked worker's finalizers are cleared as it starts: it registers its own.
    util.register_after_fork(_WorkerExit, _flush_when_a_worker_ends)


def _forget_parents_tallies() -> None:
    # A forked child's pending tallies are its parent's, who records them: recording
    # them here too would count each of those hits twice.
    for recorder in list(_RECORDERS):
        recorder.forget()
    _WorkerExit.eager = True


in_child(_forget_parents_tallies)
