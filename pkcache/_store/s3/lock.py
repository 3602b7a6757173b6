"""Locks on object storage alone: one computation per key across machines, from conditional writes.

Taking a lock creates its object with ``If-None-Match: *``: of several machines, the
server lets exactly one create it. While held, a thread of the holder's process
rewrites the object every third of the lease with ``If-Match`` on the version it wrote
last, which gives it a new version (ETag). A holder that dies stops rewriting; a
waiter that has seen the same version for a whole lease (timed by its own clock, so
machines' clocks never need to agree) takes the lock over with ``If-Match`` on that
version, which again only one waiter can do. Releasing deletes the object if it is
still the holder's version.

Some S3-compatible servers ignore or refuse conditional writes. The first lock a store
takes learns which (a probe object created twice); on such a server pkcache says so
once and computes without the cross-machine lock: a duplicate computation, never a
wrong result (entries are whole objects, signed).
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from typing import Any

from ..._errors import StoreError
from ..._forks import renew_guard
from ..._log import logger
from ..lock import BaseLock
from ..shared import Renewals
from . import names
from .client import Client, Refused, Unsupported

_counter = itertools.count()


class Leases(Renewals):
    """Renews this process's object locks (see ``Renewals``); knows if conditional writes work."""

    THREAD_NAME = "pkcache-s3-leases"

    def __init__(self, client: Client, lease: float) -> None:
        super().__init__(lease)
        self.client = client
        self._conditional: bool | None = None

    def conditional(self) -> bool:
        """True if the server honours conditional creates; learnt once, warned about once."""
        if self._conditional is None:
            self._conditional = self._probe()
            if not self._conditional:
                logger.warning(
                    "the object store at %s does not support conditional writes (If-None-Match): "
                    "computing without the cross-machine lock, so two machines may compute one result at once",
                    self.client.location,
                )
        return self._conditional

    def _probe(self) -> bool:
        """Both conditions locks use must be honoured: a create refused, a stale version refused."""
        path = f"{names.PROBE}/{secrets.token_hex(8)}"
        try:
            written = self.client.put(path, b"probe 1", mode="create")
            for mode in ("create", {"e_tag": '"not-the-version"'}):
                try:
                    self.client.put(path, b"probe 2", mode=mode)
                except Refused:
                    continue
                return False  # the write went through: the condition was ignored
            self.client.put(path, b"probe 3", mode={"e_tag": written["e_tag"]})
            return True
        except (Unsupported, Refused):  # refused outright, or the right version refused
            return False
        finally:
            try:
                self.client.delete(path)
            except StoreError as exc:  # a stray probe object costs nothing
                logger.debug("cannot remove %s: %s", path, exc)


class ObjectLock(BaseLock):
    """An exclusive lock on one object name; see the module's description."""

    FIRST_POLL = 0.01
    MAX_POLL = 0.25

    def __init__(self, leases: Leases, path: str) -> None:
        self._leases = leases
        self._client = leases.client
        self.path = path
        self._token = secrets.token_hex(16)
        self._etag: str | None = None  # the version this holder wrote last; None: not held
        self._held = False
        self._seen: tuple[str, float] | None = None  # another holder's version, and since when
        self._guard = threading.Lock()  # a renewal and the release never overlap
        renew_guard(self)
        self._written_at = 0.0  # when this holder last wrote the lock (monotonic)

    def _body(self) -> bytes:
        return f"pkcache lock {self._token} {next(_counter)}".encode()

    def try_acquire(self) -> bool:
        if not self._leases.conditional():
            self._held = True  # no cross-machine lock on this server (warned once)
            return True
        try:
            written = self._client.put(self.path, self._body(), mode="create")
        except Refused:
            return self._take_over()
        return self._took(written)

    def _took(self, written: dict[str, Any]) -> bool:
        self._etag = written.get("e_tag")
        self._written_at = time.monotonic()
        self._held = True
        self._seen = None
        self._leases.hold(self.path, self.renew)
        return True

    def _take_over(self) -> bool:
        """Take the lock from a holder whose version has not changed for a whole lease."""
        meta = self._client.head(self.path)
        if meta is None:  # released meanwhile: the next attempt creates it
            return False
        etag = meta.get("e_tag")
        if etag is None:
            return False
        now = time.monotonic()
        if self._seen is None or self._seen[0] != etag:
            self._seen = (etag, now)
            return False
        if now - self._seen[1] < self._leases.lease:
            return False
        try:
            written = self._client.put(self.path, self._body(), mode={"e_tag": etag})
        except (Refused, FileNotFoundError, Unsupported):  # renewed, released or taken by another waiter
            return False
        logger.info("took over the lock %s from a holder whose lease ran out", self.path)
        return self._took(written)

    def renew(self) -> None:
        """Write a new version of a held lock (the lease thread calls this)."""
        with self._guard:
            etag = self._etag
            if etag is None:
                return
            try:
                written = self._client.put(self.path, self._body(), mode={"e_tag": etag})
            except (Refused, FileNotFoundError):
                logger.warning("lost the lock %s (its lease ran out and another process took it)", self.path)
                self._etag = None
                self._leases.drop(self.path, self.renew)
                return
            except (StoreError, Unsupported) as exc:  # the server is away: the lease may run out
                logger.debug("cannot renew the lock %s: %s", self.path, exc)
                return
            self._etag = written.get("e_tag")
            self._written_at = time.monotonic()

    def release(self) -> None:
        if not self._held:
            return
        self._held = False
        self._leases.drop(self.path, self.renew)
        with self._guard:
            etag, self._etag = self._etag, None
            if etag is None:
                return
            try:
                # Written within half a lease, the lock is still this holder's: nobody
                # can have taken it over. Later, look first (one more round trip).
                if time.monotonic() - self._written_at >= self._leases.lease / 2:
                    meta = self._client.head(self.path)
                    if meta is None or meta.get("e_tag") != etag:
                        return
                self._client.delete(self.path)
            except StoreError as exc:  # the lease runs out by itself
                logger.debug("cannot release the lock %s: %s", self.path, exc)
