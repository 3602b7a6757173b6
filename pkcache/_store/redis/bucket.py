"""One function version's entries on a Redis server: read, written and locked per key."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from ..buffers import Buffer
from ..memory import allocate
from .lock import RedisLock
from .server import Server

_LARGE = 1 << 16  # entries this large are returned writable and aligned, as from a file


class Entries(Protocol):
    """What a bucket needs of its server's entries (a ``RedisStore``)."""

    server: Server
    prefix: str

    def entry_location(self, namespace: str, version: str, key: str) -> str: ...

    def check_size(self, size: int, location: str) -> None: ...

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
    ) -> None: ...

    def remove(self, namespace: str, field: str) -> tuple[int, int, int]: ...

    def lock(
        self,
        name: str,
        *,
        entry: str | None = None,
        on_acquire: Callable[[RedisLock], None] | None = None,
        on_release: Callable[[RedisLock], None] | None = None,
    ) -> RedisLock: ...


class RedisBucket:
    """The entries of one function version on the server."""

    def __init__(self, store: Entries, namespace: str, version: str) -> None:
        self._store = store
        self._run = store.server.run
        self._get = store.server.client.get
        self._namespace = namespace
        self._version = version
        self._prefix = f"{store.prefix}:e:{namespace}:{version}:"
        # The locks this thread holds, by key: their entry, read while taking them, is
        # not read again, and a store releases them in its own round trip.
        self._local = threading.local()

    def location(self, key: str) -> str:
        return self._store.entry_location(self._namespace, self._version, key)

    def read(self, key: str, *, mmap_mode: str | None = None) -> Buffer | None:
        lock = self._held().get(key)
        fetched = lock.take_entry() if lock is not None else []
        data: bytes | None = fetched[0] if fetched else self._run(self._get, self._prefix + key)
        if data is None or len(data) < _LARGE or mmap_mode == "r":
            return data
        # Arrays loaded from a large entry are writable and aligned, as from the local
        # store; with mmap_mode="r" they stay read-only, and the copy is saved.
        view = allocate(len(data))
        view[:] = data
        return view

    def read_prefix(self, key: str, size: int) -> tuple[Buffer, int] | None:
        pipe = self._store.server.client.pipeline(transaction=True)
        pipe.getrange(self._prefix + key, 0, size - 1)
        pipe.strlen(self._prefix + key)
        head, total = self._run(pipe.execute)
        return None if not total else (head, int(total))

    def write(
        self, key: str, segments: Sequence[Buffer], *, created: float, durable: bool = False, ttl: float | None = None
    ) -> None:
        # durable: the server's appendfsync setting decides (docs/redis.md).
        value = segments[0] if len(segments) == 1 else b"".join(segments)
        size = memoryview(value).nbytes
        self._store.check_size(size, self.location(key))
        expire_ms = None
        if ttl is not None:
            expire_ms = max(1, int((created + ttl - time.time()) * 1000))
        field = f"{self._version}:{key}"
        lock = self._held().get(key)
        handed = lock.hand_off() if lock is not None else None
        try:
            self._store.put(
                self._namespace, field, self._prefix + key, value, created=created, expire_ms=expire_ms, release=handed
            )
        except BaseException:
            if lock is not None and handed is not None:
                lock.take_back(handed)
            raise

    def delete(self, key: str) -> bool:
        lock = self._held().get(key)
        if lock is not None:
            lock.take_entry()  # stale now
        existed, _counted, _size = self._store.remove(self._namespace, f"{self._version}:{key}")
        return bool(existed)

    def lock(self, key: str) -> RedisLock:
        name = f"l:{self._namespace}:{self._version}:{key}"

        def held(lock: RedisLock) -> None:
            self._held()[key] = lock

        def released(lock: RedisLock) -> None:
            self._held().pop(key, None)

        return self._store.lock(name, entry=self._prefix + key, on_acquire=held, on_release=released)

    def _held(self) -> dict[str, RedisLock]:
        locks: dict[str, RedisLock] | None = getattr(self._local, "locks", None)
        if locks is None:
            locks = self._local.locks = {}
        return locks
