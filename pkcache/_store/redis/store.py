"""The Redis store: one server's entries, shared by every machine that reaches it.

Keys, all under a prefix (``pkcache`` unless the URL says ``?prefix=``)::

    P:e:NS:VERSION:KEY    an entry: the same signed bytes as a local file
    P:i:NS                hash "VERSION:KEY" -> "size created": the namespace's index
    P:t:NS, P:t           hashes n, b: running totals of a namespace, and of everything
    P:ns                  set of namespaces
    P:m:NS, P:config      JSON manifests and settings
    P:ul:NS, P:us:NS      usage log (list) and summary
    P:sw:NS               a sweep claim that expires by itself
    P:l:..., P:pl:NS      locks (see ``_redislock``)

An entry and its index row are written by one server-side script, so listings,
totals and pruning work as on a directory. A ttl is Redis's own expiry on the entry;
the index rows of entries Redis dropped (expired, or evicted by a server that evicts)
are skipped and removed when the index is listed.

Every Redis failure becomes a ``StoreError``, an ``OSError``: the callers already
treat those as "recompute, warn, carry on" (see ``_redisserver``).
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Iterator
from typing import Any

from ..._errors import EntryTooLargeError, InvalidOptionError, StoreError
from ..._log import logger
from ..._units import format_size
from ..buffers import Buffer
from ..protocol import EntryStat
from ..shared import lease_option, plus, remove_in_batches
from ..usage import Usage
from .bucket import RedisBucket
from .index import BATCH, Index, index_row
from .lock import Leases, RedisLock
from .names import Names
from .records import Records
from .scripts import PUT, REMOVE, RETIRE
from .server import Server, display_url, split_url

DEFAULT_PREFIX = "pkcache"
_DEFAULT_MAX_VALUE = 512 << 20  # Redis's default proto-max-bulk-len


class RedisStore:
    """A Redis server (or one database and prefix of it) as a cache store."""

    def __init__(self, url: str) -> None:
        try:
            redis_url, own = split_url(url)
            self.location = display_url(url)
            self.server = Server(redis_url, self.location)
        except ValueError as exc:  # a malformed URL (not echoed: it may hold a password)
            raise InvalidOptionError(f"bad Redis URL: {exc}") from exc
        self.shared = True
        self.prefix = own.get("prefix") or DEFAULT_PREFIX
        self._names = Names(self.prefix)
        self.records = Records(self.server, self._names, self.location)
        self.index = Index(self.server, self._names, self.location)
        self._leases = Leases(self.server, lease_option(own.get("lease"), "a Redis URL"))
        client = self.server.client
        self._put = client.register_script(PUT)
        self._remove = client.register_script(REMOVE)
        self._retire = client.register_script(RETIRE)
        self._max_value: int | None = None

    def entry_location(self, namespace: str, version: str, key: str) -> str:
        """An entry's location as messages and listings show it."""
        return self._names.location(self.location, namespace, version, key)

    def manifests(self) -> dict[str, dict[str, Any]]:
        """Every namespace's manifest (an empty one where none was written), by namespace."""
        return {ns: self.read_manifest(ns) or {} for ns in self.namespaces()}

    def bucket(self, namespace: str, version: str, manifest: dict[str, Any] | None = None) -> RedisBucket:
        return RedisBucket(self, namespace, version)

    def lock(
        self,
        name: str,
        *,
        entry: str | None = None,
        on_acquire: Callable[[RedisLock], None] | None = None,
        on_release: Callable[[RedisLock], None] | None = None,
    ) -> RedisLock:
        """Return a lock on ``name``; see ``RedisLock`` for ``entry`` and the callbacks."""
        lock_key = f"{self.prefix}:{name}"
        return RedisLock(self.server, lock_key, self._leases, entry=entry, on_acquire=on_acquire, on_release=on_release)

    # -- entries ------------------------------------------------------------------------

    def check_size(self, size: int, location: str) -> None:
        """Refuse an entry the server would refuse (``proto-max-bulk-len``), saying so."""
        if self._max_value is None:
            try:
                found = self.server.run(self.server.client.config_get, "proto-max-bulk-len")
                self._max_value = int(found.get("proto-max-bulk-len", _DEFAULT_MAX_VALUE))
            except StoreError as exc:  # CONFIG is often disabled on managed servers
                logger.debug("cannot read proto-max-bulk-len (%s); assuming Redis's default", exc)
                self._max_value = _DEFAULT_MAX_VALUE
        if size > self._max_value:
            raise EntryTooLargeError(
                f"{location}: the entry is {format_size(size)}, over the largest value the Redis server "
                f"accepts ({format_size(self._max_value)}, its proto-max-bulk-len)"
            )

    def put(
        self,
        namespace: str,
        field: str,
        key: str,
        value: Buffer,
        *,
        created: float,
        expire_ms: int | None,
        release: tuple[str, str, str] | None = None,
    ) -> None:
        """Store an entry, its index row and its totals at once (one round trip).

        ``release``, a lock handed off by its holder (``RedisLock.hand_off``), is
        released in the same round trip.
        """
        keys = [key, self._names.key("i", namespace), *self._names.totals(namespace), self._names.key("ns")]
        size = memoryview(value).nbytes
        args: list[Any] = [value, field, f"{size} {created!r}", expire_ms or 0, namespace]
        if release is not None:
            lock_key, channel, token = release
            keys += [lock_key, channel]
            args.append(token)
        self.server.run(self._put, keys=keys, args=args)

    def remove(self, namespace: str, field: str) -> tuple[int, int, int]:
        """Remove one entry; returns (existed, counted in the totals, size)."""
        existed, counted, size = self.server.run(self._remove, keys=self._names.removal(namespace, field), args=[field])
        return int(existed), int(counted), int(size)

    def namespaces(self) -> list[str]:
        members = self.server.run(self.server.client.smembers, self._names.key("ns"))
        found = []
        for member in members:
            try:
                found.append(member.decode())
            except UnicodeDecodeError:  # not written by pkcache: skipped, never a crash of the caller
                logger.warning("ignoring a namespace that is not UTF-8 in %s: %r", self.location, member)
        return sorted(found)

    def entries(self, namespace: str | None = None) -> Iterator[EntryStat]:
        return self.index.entries([namespace] if namespace is not None else self.namespaces())

    # -- running totals and usage: the namespaces' records --------------------------------

    def totals(self, namespace: str | None = None) -> tuple[int, int]:
        return self.records.totals(namespace)

    def correct_totals(self, namespace: str | None, counted: tuple[int, int], since: tuple[int, int]) -> None:
        self.records.correct_totals(namespace, counted, since)

    def read_manifest(self, namespace: str) -> dict[str, Any] | None:
        return self.records.read_manifest(namespace)

    def write_manifest(self, namespace: str, manifest: dict[str, Any]) -> None:
        self.records.write_manifest(namespace, manifest)

    def read_config(self) -> dict[str, Any] | None:
        return self.records.read_config()

    def write_config(self, config: dict[str, Any]) -> None:
        self.records.write_config(config)

    def append_usage(self, namespace: str, record: dict[str, Any]) -> None:
        self.records.append_usage(namespace, record)

    def read_usage(self, namespace: str) -> Usage:
        return self.records.read_usage(namespace)

    def compact_usage(self, namespace: str, live_keys: Container[str] | None) -> None:
        self.records.compact_usage(namespace, live_keys)

    def claim_sweep(self, namespace: str, interval: float) -> bool:
        return self.records.claim_sweep(namespace, interval)

    # -- removal --------------------------------------------------------------------------

    def prune_lock(self, namespace: str | None) -> RedisLock:
        return self.lock(f"pl:{namespace or ''}")

    def remove_entries(self, entries: Iterable[EntryStat]) -> tuple[int, int]:
        return remove_in_batches(entries, BATCH, self._remove_batch)

    def _remove_batch(self, entries: list[EntryStat]) -> tuple[int, int]:
        if not entries:
            return 0, 0
        pipe = self.server.client.pipeline(transaction=False)
        for e in entries:
            field = f"{e.version}:{e.key}"
            self._remove(keys=self._names.removal(e.namespace, field), args=[field], client=pipe)
        results = self.server.run(pipe.execute)
        counted = [(int(c), int(s)) for _existed, c, s in results]
        return sum(c for c, _ in counted), sum(s for _, s in counted)

    def remove_namespace(self, namespace: str) -> tuple[int, int]:
        removed = (0, 0)
        # Until the index is empty: a writer racing with this either lands before (and is
        # removed) or after (and its entry stays, indexed and counted).
        while True:
            found = self.server.run(self.server.client.hkeys, self._names.key("i", namespace))
            if not found:
                break
            fields = [index_row(f, b"0 0") for f in found]
            garbage = [f for f, parsed in zip(found, fields, strict=True) if parsed is None]
            if garbage:  # rows pkcache did not write: dropped from the index, nothing else touched
                self.server.run(self.server.client.hdel, self._names.key("i", namespace), *garbage)
            good = [_stat(namespace, parsed[0]) for parsed in fields if parsed is not None]
            removed = plus(removed, self._remove_batch(good))
        keys = [self._names.key(kind, namespace) for kind in ("i", "t")] + [self._names.key("t")]
        self.server.run(self._retire, keys=keys)
        pipe = self.server.client.pipeline(transaction=True)
        pipe.delete(*(self._names.key(kind, namespace) for kind in ("m", "ul", "us", "sw")))
        pipe.srem(self._names.key("ns"), namespace)
        self.server.run(pipe.execute)
        return removed

    def close(self) -> None:
        """Stop renewing leases and close the connections; both come back on use."""
        self._leases.stop()
        self.server.client.close()


def _stat(namespace: str, field: str) -> EntryStat:
    version, key = field.split(":", 1)
    return EntryStat(namespace, version, key, 0, 0.0, "")
