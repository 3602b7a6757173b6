"""A namespace's small records on the server: running totals, manifest, configuration, usage, sweep claim."""

from __future__ import annotations

import json
from collections.abc import Container
from typing import Any

from ..._log import logger
from ..usage import Usage
from .names import Names
from .scripts import CORRECT
from .server import Server


class Records:
    """The records of every namespace under one prefix."""

    def __init__(self, server: Server, names: Names, location: str) -> None:
        self.server = server
        self.location = location
        self._names = names
        self._correct_script = server.client.register_script(CORRECT)

    def totals(self, namespace: str | None = None) -> tuple[int, int]:
        n, b = self.server.run(self.server.client.hmget, self._names.key("t", namespace), ["n", "b"])
        try:
            return max(int(n or 0), 0), max(int(b or 0), 0)
        except ValueError:  # not numbers: a prune's exact count corrects them
            logger.warning("ignoring unreadable running totals in %s", self.location)
            return 0, 0

    def correct_totals(self, namespace: str | None, counted: tuple[int, int], since: tuple[int, int]) -> None:
        self.server.run(self._correct_script, keys=[self._names.key("t", namespace)], args=[*counted, *since])

    def read_manifest(self, namespace: str) -> dict[str, Any] | None:
        return self._read_json(self._names.key("m", namespace))

    def write_manifest(self, namespace: str, manifest: dict[str, Any]) -> None:
        pipe = self.server.client.pipeline(transaction=True)
        pipe.set(self._names.key("m", namespace), json.dumps(manifest))
        pipe.sadd(self._names.key("ns"), namespace)
        self.server.run(pipe.execute)

    def read_config(self) -> dict[str, Any] | None:
        return self._read_json(self._names.key("config"))

    def write_config(self, config: dict[str, Any]) -> None:
        self.server.run(self.server.client.set, self._names.key("config"), json.dumps(config))

    def _read_json(self, key: str) -> dict[str, Any] | None:
        raw = self.server.run(self.server.client.get, key)
        if raw is None:
            return None
        try:
            value = json.loads(raw)
        except ValueError as exc:  # garbled: callers fall back to defaults
            logger.warning("ignoring unreadable %s in %s: %s", key, self.location, exc)
            return None
        return value if isinstance(value, dict) else None

    def append_usage(self, namespace: str, record: dict[str, Any]) -> None:
        self.server.run(
            self.server.client.rpush, self._names.key("ul", namespace), json.dumps(record, separators=(",", ":"))
        )

    def read_usage(self, namespace: str) -> Usage:
        pipe = self.server.client.pipeline(transaction=True)
        pipe.get(self._names.key("us", namespace))
        pipe.lrange(self._names.key("ul", namespace), 0, -1)
        summary, log = self.server.run(pipe.execute)
        return Usage.from_lines(([summary] if summary else []) + list(log))

    def compact_usage(self, namespace: str, live_keys: Container[str] | None) -> None:
        """Fold the usage log into the summary, forgetting entries no longer stored."""
        pipe = self.server.client.pipeline(transaction=True)
        pipe.lrange(self._names.key("ul", namespace), 0, -1)
        pipe.delete(self._names.key("ul", namespace))
        taken, _ = self.server.run(pipe.execute)  # appends made after this stay in the log
        summary = self.server.run(self.server.client.get, self._names.key("us", namespace))
        usage = Usage.from_lines(([summary] if summary else []) + list(taken))
        folded = json.dumps(usage.summary(live_keys), separators=(",", ":"))
        self.server.run(self.server.client.set, self._names.key("us", namespace), folded)

    def claim_sweep(self, namespace: str, interval: float) -> bool:
        claim = self.server.client.set
        return bool(
            self.server.run(claim, self._names.key("sw", namespace), "1", nx=True, px=max(1, int(interval * 1000)))
        )
