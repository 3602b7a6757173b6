"""Reads and misses, recorded cheaply on the hot path and shared across processes.

A hit adds to an in-memory tally; the tally is appended to the function's usage log at
most once a second (on a later call), before this process prunes or reports, and at
exit. Pruning folds the log into a summary. The eviction policies read last access and
hit counts from here, so process A's pruning sees how often process B read an entry.
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from typing import Any

from ._log import logger

FLUSH_INTERVAL = 1.0


class Usage:
    """Totals of a function's calls, and per entry its hit count and last read time."""

    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0
        self.keys: dict[str, list[float]] = {}  # key -> [hits, last access]

    def _merge_key(self, key: str, count: float, last: float) -> None:
        slot = self.keys.setdefault(key, [0, 0.0])
        slot[0] += int(count)
        slot[1] = max(slot[1], float(last))

    def add_record(self, record: dict[str, Any]) -> None:
        """Fold in one record: a logged tally (``h``, ``m``) or a summary (``hits``, ``misses``, ``keys``)."""
        if "keys" in record:
            self.hits += int(record["hits"])
            self.misses += int(record["misses"])
            for key, (count, last) in record["keys"].items():
                self._merge_key(key, count, last)
            return
        self.misses += int(record.get("m", 0))
        for key, (count, last) in record.get("h", {}).items():
            self.hits += int(count)
            self._merge_key(key, count, last)

    def summary(self, live_keys: set[str] | None) -> dict[str, Any]:
        """Return a summary record keeping the totals but only the keys still stored (None: all)."""
        keys = self.keys if live_keys is None else {k: v for k, v in self.keys.items() if k in live_keys}
        return {"hits": self.hits, "misses": self.misses, "keys": keys}

    @classmethod
    def from_lines(cls, lines: list[bytes]) -> Usage:
        import json

        usage = cls()
        for line in lines:
            try:
                usage.add_record(json.loads(line))
            except (ValueError, TypeError, KeyError, AttributeError) as exc:  # a torn or foreign line
                logger.debug("pkcache: skipping unreadable usage record: %s", exc)
        return usage


class UsageRecorder:
    """The in-memory tally of one cached function in this process."""

    def __init__(self) -> None:
        self.hits: dict[str, list[float]] = {}
        self.misses = 0
        self.last_flush = time.time()  # the wall clock, which ``hit`` reads anyway
        self.lock = threading.Lock()

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
        return not 0.0 <= now - self.last_flush <= FLUSH_INTERVAL

    def miss(self) -> None:
        with self.lock:
            self.misses += 1

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


_LIVE: weakref.WeakSet[Any] = weakref.WeakSet()


def register(flushable: Any) -> None:
    """Flush ``flushable`` (anything with ``flush_usage()``) when the interpreter exits."""
    _LIVE.add(flushable)


@atexit.register
def flush_all() -> None:
    """Flush every registered function's pending usage (at exit, and before pruning or listing)."""
    for flushable in list(_LIVE):
        flushable.flush_usage()
