"""A namespace's small records in the object store: manifest, settings, usage, sweep claim, totals.

Objects cannot be appended to or counted atomically, so usage is one small object per
flush (a prune folds them into a summary), and running totals are a listing's count,
kept in this process for ``TOTALS_FRESH`` seconds plus what this process wrote since:
limits bite within seconds of another machine's writes, as they do of this one's at once.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Container
from typing import Any

from ..._forks import renew_guard
from ..._log import logger
from ..usage import Usage
from . import names
from .client import Client, Refused, Unsupported

TOTALS_FRESH = 10.0


class Records:
    """The records of every namespace under one prefix."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._totals: dict[str | None, tuple[float, int, int]] = {}  # scope -> (listed at, entries, bytes)
        self._guard = threading.Lock()
        renew_guard(self)

    # -- running totals -------------------------------------------------------------------

    def totals(self, namespace: str | None, count: Callable[[str | None], tuple[int, int]]) -> tuple[int, int]:
        """Entries and bytes of a namespace (or all), from a listing at most TOTALS_FRESH s old.

        ``count`` lists the scope: ``count(namespace) -> (entries, bytes)``.
        """
        with self._guard:
            known = self._totals.get(namespace)
        if known is not None and time.monotonic() - known[0] < TOTALS_FRESH:
            return known[1], known[2]
        entries, size = count(namespace)
        with self._guard:
            self._totals[namespace] = (time.monotonic(), entries, size)
        return entries, size

    def correct_totals(self, namespace: str | None, counted: tuple[int, int]) -> None:
        with self._guard:
            self._totals[namespace] = (time.monotonic(), *counted)

    def changed(self, namespace: str, entries: int, size: int) -> None:
        """Count this process's own write (+) or removal (-) in the totals it keeps."""
        with self._guard:
            for scope in (namespace, None):
                known = self._totals.get(scope)
                if known is not None:
                    self._totals[scope] = (known[0], max(known[1] + entries, 0), max(known[2] + size, 0))

    def forget_totals(self) -> None:
        with self._guard:
            self._totals.clear()

    # -- manifests and settings -----------------------------------------------------------

    def read_json(self, path: str) -> dict[str, Any] | None:
        raw = self.client.read(path)
        if raw is None:
            return None
        try:
            value = json.loads(raw)
        except ValueError as exc:  # garbled: callers fall back to defaults
            logger.warning("ignoring unreadable %s in %s: %s", path, self.client.location, exc)
            return None
        return value if isinstance(value, dict) else None

    def write_json(self, path: str, value: dict[str, Any]) -> None:
        self.client.put(path, json.dumps(value).encode())

    # -- usage ----------------------------------------------------------------------------

    def append_usage(self, namespace: str, record: dict[str, Any]) -> None:
        name = f"{names.usage_records(namespace)}/{time.time_ns():020d}-{secrets.token_hex(4)}"
        self.client.put(name, json.dumps(record, separators=(",", ":")).encode())

    def _usage_lines(self, namespace: str) -> tuple[list[bytes], list[str]]:
        """The summary and every record, as lines; and the records' paths."""
        summary = self.client.read(names.usage_summary(namespace))
        paths = sorted(o["path"] for o in self.client.listing(names.usage_records(namespace)))
        lines = [summary] if summary else []
        for path in paths:
            line = self.client.read(path)
            if line is not None:
                lines.append(line)
        return lines, paths

    def read_usage(self, namespace: str) -> Usage:
        return Usage.from_lines(self._usage_lines(namespace)[0])

    def compact_usage(self, namespace: str, live_keys: Container[str] | None) -> None:
        """Fold the usage records into the summary, forgetting entries no longer stored."""
        lines, paths = self._usage_lines(namespace)
        if not paths and live_keys is None:
            return
        folded = json.dumps(Usage.from_lines(lines).summary(live_keys), separators=(",", ":"))
        self.client.put(names.usage_summary(namespace), folded.encode())
        self.client.delete(paths)  # records written after the listing stay for the next fold

    def claim_sweep(self, namespace: str, interval: float) -> bool:
        """Claim the namespace's sweep if the last claim is over ``interval`` s old (by the server's clock)."""
        path = names.sweep(namespace)
        meta = self.client.head(path)
        try:
            if meta is None:
                self.client.put(path, b"", mode="create")
                return True
            if time.time() - meta["last_modified"].timestamp() < interval:
                return False
            self.client.put(path, b"", mode={"e_tag": meta["e_tag"]})
        except (Refused, FileNotFoundError):  # another process claimed it first
            return False
        except Unsupported:  # a server without conditional writes: two sweeps at once are harmless
            self.client.put(path, b"")
        return True
