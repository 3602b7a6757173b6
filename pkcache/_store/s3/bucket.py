"""One function version's entries in an object store: read, written and locked per key.

A large entry is never held twice in memory. Writing, its pieces (the pickle stream and
the arrays' own memory) are cut into parts and uploaded as a multipart upload, each part
copied only while it is sent; the server makes the object visible only when the upload
completes, so a writer killed midway leaves no entry. Reading, it streams into
fresh memory on a thread while the caller checks the bytes already in (``Arriving``),
so the digests are verified as the parts arrive.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

from ..arriving import Arriving
from ..buffers import Buffer, Stored
from ..memory import allocate
from . import names
from .client import Client, Got
from .lock import ObjectLock
from .multipart import upload

LARGE = 1 << 16  # entries this large stream into fresh memory, writable and aligned as from a file
PART = 8 << 20  # multipart part size: S3 wants >= 5 MiB; larger parts cost memory in flight
CONCURRENT_PARTS = 4  # parts uploading at once: at most this many PART copies in memory
_CHUNK = 1 << 20  # a download reports progress every this many bytes


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
        if got.size < LARGE:
            return got.read()
        return _download(got, allocate(got.size))

    def read_prefix(self, key: str, size: int) -> tuple[Buffer, int] | None:
        try:
            got = self._client.get(self._path(key), first=size)
        except FileNotFoundError:
            return None
        return got.read(), got.total

    def write(
        self, key: str, segments: Sequence[Buffer], *, created: float, durable: bool = False, ttl: float | None = None
    ) -> None:
        # durable: an object store acknowledges a write once it is stored. ttl: the
        # entry's header carries its creation time, checked on every read, and sweeps
        # remove expired entries (S3 has no per-object expiry).
        views = [memoryview(s).cast("B") for s in segments]
        size = sum(v.nbytes for v in views)
        # Listings give times to the second; eviction order needs the exact one.
        metadata = {names.CREATED: repr(created)}
        if size <= PART:
            self._client.put(self._path(key), b"".join(views), metadata=metadata)
        else:
            upload(self._client, self._path(key), _parts(views), metadata=metadata, concurrency=CONCURRENT_PARTS)
        self._store.wrote(self._namespace, size)

    def delete(self, key: str) -> bool:
        path = self._path(key)
        if self._client.head(path) is None:
            return False
        self._client.delete(path)
        return True

    def lock(self, key: str) -> ObjectLock:
        return self._store.lock(names.key_lock(self._namespace, self._version, key))


def _parts(views: list[memoryview]) -> list[list[memoryview]]:
    """The segments cut into parts of PART bytes (the last may be shorter), without copying.

    A part may span segments: S3 refuses parts under 5 MiB but the last, and the first
    segment (header and pickle stream) is often small.
    """
    parts: list[list[memoryview]] = [[]]
    room = PART
    for view in views:
        rest = view
        while rest.nbytes:
            if not room:
                parts.append([])
                room = PART
            piece, rest = rest[:room], rest[room:]
            parts[-1].append(piece)
            room -= piece.nbytes
    return parts


def _download(got: Got, view: memoryview) -> Arriving:
    """Fill ``view`` from a download on a new thread; the caller checks what is in meanwhile."""
    arriving = Arriving(view, 0)

    def run() -> None:
        error: OSError | None = None
        try:
            got.read_into(view, arriving.advance, _CHUNK)
        except OSError as exc:  # StoreError included: passed to the waiting caller, as any read error
            error = exc
        finally:
            arriving.end(error)

    threading.Thread(target=run, name="pkcache-s3-read", daemon=True).start()
    return arriving
