"""Each namespace's index on the server: its entries' sizes and times, listed page by page."""

from __future__ import annotations

import math
from collections.abc import Iterator

from ..._log import logger
from ..protocol import EntryStat
from .names import Names
from .scripts import FORGET
from .server import Server

BATCH = 1000  # index rows per HSCAN page and per pipeline


class Index:
    """The index hashes of every namespace under one prefix."""

    def __init__(self, server: Server, names: Names, location: str) -> None:
        self.server = server
        self.location = location
        self._names = names
        self._forget_script = server.client.register_script(FORGET)

    def entries(self, namespaces: list[str]) -> Iterator[EntryStat]:
        for ns in namespaces:
            rows: list[tuple[str, int, float]] = []
            cursor = None
            while cursor != 0:
                cursor, found = self.server.run(
                    self.server.client.hscan, self._names.key("i", ns), cursor or 0, count=BATCH
                )
                for field, row in found.items():
                    parsed = index_row(field, row)
                    if parsed is None:
                        logger.warning("ignoring an unreadable index row of %s in %s", ns, self.location)
                        continue
                    rows.append(parsed)
                if len(rows) >= BATCH or cursor == 0:
                    yield from self._present(ns, rows)
                    rows = []

    def _present(self, namespace: str, rows: list[tuple[str, int, float]]) -> Iterator[EntryStat]:
        """The rows whose entries exist; the index rows of entries Redis dropped are removed."""
        if not rows:
            return
        pipe = self.server.client.pipeline(transaction=False)
        for field, _size, _created in rows:
            pipe.exists(self._names.entry(namespace, field))
        exists = self.server.run(pipe.execute)
        gone = self.server.client.pipeline(transaction=False)
        dropped = 0
        for (field, size, created), there in zip(rows, exists, strict=True):
            if there:
                version, key = field.split(":", 1)
                yield EntryStat(
                    namespace, version, key, size, created, self._names.location(self.location, namespace, version, key)
                )
            else:
                self._forget_script(
                    keys=[self._names.entry(namespace, field), self._names.key("i", namespace)],
                    args=[field],
                    client=gone,
                )
                dropped += 1
        if dropped:
            self.server.run(gone.execute)


def index_row(field: bytes, row: bytes) -> tuple[str, int, float] | None:
    """An index row as (VERSION:KEY, size, created), or None if it is not one pkcache wrote."""
    try:
        size, created = row.split()
        name = field.decode()
        parsed = (name, int(size), float(created))
    except ValueError:  # UnicodeDecodeError included
        return None
    return parsed if ":" in name and parsed[1] >= 0 and math.isfinite(parsed[2]) else None
