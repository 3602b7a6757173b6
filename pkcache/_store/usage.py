"""The usage records a store keeps for a function: calls, and per entry its hits and last read.

Records come from files or keys others can write: each is checked for form and range
before anything of it is counted.
"""

from __future__ import annotations

import json
from collections.abc import Container
from typing import Any

from .._log import logger


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

    def summary(self, live_keys: Container[str] | None) -> dict[str, Any]:
        """Return a summary record keeping the totals but only the keys still stored (None: all)."""
        keys = self.keys if live_keys is None else {k: v for k, v in self.keys.items() if k in live_keys}
        return {"hits": self.hits, "misses": self.misses, "keys": keys}

    @classmethod
    def from_lines(cls, lines: list[bytes]) -> Usage:
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
