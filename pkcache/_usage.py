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

from ._forks import in_child
from ._log import logger

FLUSH_INTERVAL = 1.0


class Usage:
    """Totals of a function's calls, and per entry its hit count and last read time."""

    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0
        self.keys: dict[str, list[float]] = {}  # key -> [hits, last access]

    def add_record(self, record: object) -> None:
        """Fold in one record: a logged tally (``h``, ``m``) or a summary (``hits``, ``misses``, ``keys``).

        Raises ``ValueError`` for a record not of that form, adding nothing of it: the
        file it comes from is untrusted, and a value out of range must not reach a caller.
        """
        if not isinstance(record, dict):
            raise ValueError("not a JSON object")
        if "keys" in record:
            hits, misses, per_key = _count(record.get("hits")), _count(record.get("misses")), record["keys"]
        else:
            misses, per_key = _count(record.get("m", 0)), record.get("h", {})
            hits = None
        if not isinstance(per_key, dict):
            raise ValueError("per-key tallies are not an object")
        parsed = [(key, _count(pair[0]), _time(pair[1])) for key, pair in per_key.items() if _pair(pair)]
        if len(parsed) != len(per_key):
            raise ValueError("a per-key tally is not [count, time]")
        self.hits += sum(count for _key, count, _last in parsed) if hits is None else hits
        self.misses += misses
        for key, count, last in parsed:
            slot = self.keys.setdefault(key, [0, 0.0])
            slot[0] += count
            slot[1] = max(slot[1], last)

    def summary(self, live_keys: set[str] | None) -> dict[str, Any]:
        """Return a summary record keeping the totals but only the keys still stored (None: all)."""
        keys = self.keys if live_keys is None else {k: v for k, v in self.keys.items() if k in live_keys}
        return {"hits": self.hits, "misses": self.misses, "keys": keys}

    @classmethod
    def from_lines(cls, lines: list[bytes]) -> Usage:
        import json

        usage = cls()
        skipped = 0
        for line in lines:
            try:
                usage.add_record(json.loads(line))
            except ValueError:  # a torn line (a killed writer), or one pkcache did not write
                skipped += 1
        if skipped:
            logger.warning("ignored %d unreadable or out-of-range usage record(s)", skipped)
        return usage


_LARGEST = 1 << 62


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < _LARGEST:
        raise ValueError(f"not a count: {value!r}")
    return int(value)


def _time(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1e12:
        raise ValueError(f"not a time: {value!r}")
    return float(value)


def _pair(value: object) -> bool:
    return isinstance(value, list) and len(value) == 2


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
