"""The object store: a bucket and prefix of an S3-compatible server, shared by every machine that reaches it.

What is where under the prefix is in ``names``. Entries are the same signed bytes as a
local file, each one object; an object is visible whole or not at all. Listings, totals
and pruning work from the bucket's listing (see ``records`` for running totals).

Every failure talking to the server becomes a ``StoreError``, an ``OSError``: the
callers already treat those as "recompute, warn, carry on".
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Container, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..._errors import InvalidOptionError, StoreError
from ..._log import logger
from ..protocol import EntryStat, TempFile
from ..shared import lease_option, plus, remove_in_batches
from ..usage import Usage
from . import names
from .bucket import ObjectBucket
from .client import Client, Unsupported
from .lock import Leases, ObjectLock
from .multipart import abort, uploads
from .records import Records
from .url import Url

_BATCH = 1000  # objects per bulk delete
_TIME_READERS = 8  # requests at once for exact creation times


class S3Store:
    """A bucket (and prefix) of an S3-compatible server as a cache store."""

    def __init__(self, url: str) -> None:
        try:
            parsed = Url(url)
        except ValueError as exc:
            raise InvalidOptionError(f"bad object-store URL: {exc}") from exc
        self.location = parsed.display()
        self.shared = True
        self.client = Client(parsed, self.location)
        self.records = Records(self.client)
        self._leases = Leases(self.client, lease_option(parsed.lease, "an s3:// URL"))

    def entry_location(self, namespace: str, version: str, key: str) -> str:
        """An entry's location as messages and listings show it."""
        return f"{self.location.split('?')[0]}/{names.entry(namespace, version, key)}"

    def bucket(self, namespace: str, version: str, manifest: dict[str, Any] | None = None) -> ObjectBucket:
        return ObjectBucket(self, namespace, version)

    def lock(self, path: str) -> ObjectLock:
        return ObjectLock(self._leases, path)

    def wrote(self, namespace: str, size: int) -> None:
        self.records.changed(namespace, 1, size)

    # -- listing --------------------------------------------------------------------------

    def namespaces(self) -> list[str]:
        found = set()
        for meta in self.client.listing("m"):
            name = meta["path"].rsplit("/", 1)[-1].removesuffix(".json")
            if names.is_namespace(name):
                found.add(name)
        # Entries without a manifest (it is written after the first entry). Some servers
        # keep a "folder" once emptied: only one that still holds an entry counts.
        for name in self.client.folders("e"):
            if names.is_namespace(name) and name not in found and self.client.any(names.entries(name)):
                found.add(name)
        return sorted(found)

    def manifests(self) -> dict[str, dict[str, Any]]:
        return {ns: self.read_manifest(ns) or {} for ns in self.namespaces()}

    def entries(self, namespace: str | None = None) -> Iterator[EntryStat]:
        for meta in self.client.listing(names.entries(namespace) if namespace is not None else "e"):
            parsed = names.parse_entry(meta["path"])
            if parsed is None:
                logger.debug("ignoring %s in %s: not an entry pkcache wrote", meta["path"], self.location)
                continue
            ns, version, key = parsed
            yield EntryStat(
                ns, version, key, int(meta["size"]), meta["last_modified"].timestamp(), self.entry_location(*parsed)
            )

    def exact_times(self, entries: list[EntryStat]) -> list[EntryStat]:
        """Entries whose listed times tie (to the second) get the exact time written with them."""
        seconds = Counter(int(e.created) for e in entries)
        tied = [i for i, e in enumerate(entries) if seconds[int(e.created)] > 1]
        if not tied:
            return entries
        exact = list(entries)
        with ThreadPoolExecutor(_TIME_READERS) as pool:
            for i, created in zip(tied, pool.map(lambda i: self._created(entries[i]), tied), strict=True):
                if created is not None:
                    exact[i] = entries[i]._replace(created=created)
        return exact

    def _created(self, entry: EntryStat) -> float | None:
        meta = self.client.head(names.entry(entry.namespace, entry.version, entry.key))
        try:
            return float(meta["metadata"][names.CREATED]) if meta is not None else None
        except (KeyError, ValueError):  # not written by pkcache: the listed time stands
            return None

    def _count(self, namespace: str | None) -> tuple[int, int]:
        entries = size = 0
        for entry in self.entries(namespace):
            entries += 1
            size += entry.size
        return entries, size

    # -- records --------------------------------------------------------------------------

    def totals(self, namespace: str | None = None) -> tuple[int, int]:
        return self.records.totals(namespace, self._count)

    def correct_totals(self, namespace: str | None, counted: tuple[int, int], since: tuple[int, int]) -> None:
        self.records.correct_totals(namespace, counted)

    def read_manifest(self, namespace: str) -> dict[str, Any] | None:
        return self.records.read_json(names.manifest(namespace))

    def write_manifest(self, namespace: str, manifest: dict[str, Any]) -> None:
        self.records.write_json(names.manifest(namespace), manifest)

    def read_config(self) -> dict[str, Any] | None:
        return self.records.read_json(names.CONFIG)

    def write_config(self, config: dict[str, Any]) -> None:
        self.records.write_json(names.CONFIG, config)

    def append_usage(self, namespace: str, record: dict[str, Any]) -> None:
        self.records.append_usage(namespace, record)

    def read_usage(self, namespace: str) -> Usage:
        return self.records.read_usage(namespace)

    def compact_usage(self, namespace: str, live_keys: Container[str] | None) -> None:
        self.records.compact_usage(namespace, live_keys)

    def claim_sweep(self, namespace: str, interval: float) -> bool:
        return self.records.claim_sweep(namespace, interval)

    # -- removal --------------------------------------------------------------------------

    def prune_lock(self, namespace: str | None) -> ObjectLock:
        return self.lock(names.prune_lock(namespace))

    def remove_entries(self, entries: Iterable[EntryStat]) -> tuple[int, int]:
        return remove_in_batches(entries, _BATCH, self._remove_batch)

    def _remove_batch(self, entries: list[EntryStat]) -> tuple[int, int]:
        if not entries:
            return 0, 0
        self.client.delete([names.entry(e.namespace, e.version, e.key) for e in entries])
        for e in entries:
            self.records.changed(e.namespace, -1, -e.size)
        return len(entries), sum(e.size for e in entries)

    def remove_namespace(self, namespace: str) -> tuple[int, int]:
        removed = (0, 0)
        gone: set[str] = set()
        # Until the listing is empty: a writer racing with this either lands before (and
        # is removed) or after (and its entry stays). A server whose listings lag may
        # list what is gone: only entries not removed yet count as new.
        while True:
            found = [e for e in self.entries(namespace) if e.location not in gone]
            if not found:
                break
            removed = plus(removed, self.remove_entries(found))
            gone.update(e.location for e in found)
        records = [names.manifest(namespace), names.usage_summary(namespace), names.sweep(namespace)]
        records += [o["path"] for o in self.client.listing(names.usage_records(namespace))]
        self.client.delete(records)
        self.records.forget_totals()
        return removed

    # -- writers' leftovers: incomplete multipart uploads ------------------------------------

    def temp_files(self, namespace: str | None = None) -> Iterator[TempFile]:
        """Incomplete uploads of entries (a dead writer's, or a live one's still under way)."""
        scope = names.entries(namespace) if namespace is not None else "e"
        try:
            for key, upload_id, initiated in uploads(self.client, scope):
                yield TempFile(f"{key}?uploadId={upload_id}", 0, initiated)
        except (StoreError, Unsupported) as exc:  # a server without the request: its lifecycle rules clean up
            logger.warning("cannot list incomplete uploads: %s", exc)

    def remove_dead_temp_file(self, temp: TempFile, grace: float) -> bool:
        """Abort an upload older than ``grace`` s unless its writer still holds the key's lock."""
        if time.time() - temp.modified < grace:
            return False
        key, _, upload_id = temp.location.partition("?uploadId=")
        parsed = names.parse_entry(key.removeprefix(self.client.prefix))
        if parsed is not None:
            lock = self.client.head(names.key_lock(*parsed))
            if lock is not None and time.time() - lock["last_modified"].timestamp() < 2 * self._leases.lease + grace:
                return False  # renewed within a lease or two: its writer is alive
        return abort(self.client, key, upload_id)

    def close(self) -> None:
        """Stop renewing leases; the client's connections are pooled by boto3."""
        self._leases.stop()
