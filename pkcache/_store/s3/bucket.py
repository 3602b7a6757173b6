"""One function version's entries in an object store: read, written and locked per key.

A large entry is never held twice in memory. Writing, its pieces (the pickle stream and
the arrays' own memory) are cut into parts and uploaded as a multipart upload, part by
part, without being joined first; the server makes the object visible only when the
upload completes, so a writer killed midway leaves no entry. Reading, it streams into
fresh memory on a thread while the caller checks the bytes already in (``Arriving``),
so the digests are verified as the parts arrive.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Protocol

from ..._errors import StoreError
from ..arriving import Arriving
from ..buffers import Buffer, Stored
from ..memory import allocate
from . import names
from .client import Client
from .lock import ObjectLock

LARGE = 1 << 16  # entries this large stream into fresh memory, writable and aligned as from a file
PART = 8 << 20  # multipart part size: S3 wants >= 5 MiB; larger parts cost memory in flight
CONCURRENT_PARTS = 4  # parts uploading at once: at most this many PART copies in memory
_CHUNK = 4 << 20  # the smallest piece a download hands over at a time


class Objects(Protocol):
    """What a bucket needs of its store (an ``S3Store``)."""

    client: Client

    def entry_location(self, namespace: str, version: str, key: str) -> str: ...

    def lock(self, path: str) -> ObjectLock: ...

    def wrote(self, namespace: str, size: int) -> None: ...


class ObjectBucket:
    """The entries of one function version in the object store."""

    def __init__(self, store: Objects, namespace: str, version: str) -> None:
        self._store = store
        self._client = store.client
        self._namespace = namespace
        self._version = version

    def _path(self, key: str) -> str:
        return names.entry(self._namespace, self._version, key)

    def location(self, key: str) -> str:
        return self._store.entry_location(self._namespace, self._version, key)

    def read(self, key: str, *, mmap_mode: str | None = None) -> Stored | None:
        # mmap_mode cannot map a remote object: a large entry arrives in fresh memory.
        try:
            got = self._client.get(self._path(key))
        except FileNotFoundError:
            return None
        size = int(got.meta["size"])
        if size < LARGE:
            return bytes(self._client.run(lambda _store: got.bytes()))
        return _download(self._client, got, allocate(size))

    def read_prefix(self, key: str, size: int) -> tuple[Buffer, int] | None:
        try:
            got = self._client.get(self._path(key), range=(0, size))
        except FileNotFoundError:
            return None
        total = int(got.meta["size"])
        return bytes(self._client.run(lambda _store: got.bytes())), total

    def write(
        self, key: str, segments: Sequence[Buffer], *, created: float, durable: bool = False, ttl: float | None = None
    ) -> None:
        # durable: an object store acknowledges a write once it is stored. ttl: the
        # entry's header carries its creation time, checked on every read, and sweeps
        # remove expired entries (S3 has no per-object expiry).
        views = [memoryview(s).cast("B") for s in segments]
        size = sum(v.nbytes for v in views)
        # Listings give times to the second; eviction order needs the exact one.
        attributes = {names.CREATED: repr(created)}
        if size <= PART:
            data = b"".join(views) if len(views) > 1 else views[0]
            self._client.put(self._path(key), data, use_multipart=False, attributes=attributes)
        else:
            self._client.put(
                self._path(key),
                _parts(views),
                use_multipart=True,
                chunk_size=PART,
                max_concurrency=CONCURRENT_PARTS,
                attributes=attributes,
            )
        self._store.wrote(self._namespace, size)

    def delete(self, key: str) -> bool:
        path = self._path(key)
        if self._client.head(path) is None:
            return False
        self._client.delete(path)
        return True

    def lock(self, key: str) -> ObjectLock:
        return self._store.lock(names.key_lock(self._namespace, self._version, key))


def _parts(views: list[memoryview]) -> list[memoryview]:
    """The segments in pieces of at most PART bytes, without copying them."""
    return [view[start : start + PART] for view in views for start in range(0, view.nbytes, PART)]


def _download(client: Client, got: Any, view: memoryview) -> Arriving:
    """Fill ``view`` from a download on a new thread; the caller checks what is in meanwhile."""
    arriving = Arriving(view, 0)

    def run() -> None:
        error: OSError | None = None
        done = 0
        try:
            stream = got.stream(min_chunk_size=_CHUNK)
            while done < len(view):
                try:
                    chunk = client.run(lambda _store: next(stream))
                except StopIteration:
                    break
                count = min(len(chunk), len(view) - done)
                view[done : done + count] = memoryview(chunk)[:count]
                done += count
                if not arriving.advance(done):
                    break
        except StoreError as exc:  # passed to the waiting caller, which treats it as any read error
            error = exc
        finally:
            arriving.end(error)

    threading.Thread(target=run, name="pkcache-s3-read", daemon=True).start()
    return arriving
