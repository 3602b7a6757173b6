"""Locks on a Redis server: one computation per key across machines, never blocked for long by a dead one.

A lock is a key set with ``SET NX PX lease`` to a token only its holder knows. While
held, a thread of the holder's process renews the lease every third of it; a holder
that dies (or loses the server) stops renewing, and its lock expires by itself within
one lease. Releasing deletes the key only if it still holds the holder's token (a
script, so it cannot delete a lock someone else took after an expiry) and publishes on
the lock's channel: waiters, subscribed to it, try again at once instead of polling.
They still look every ``_MAX_WAIT`` seconds, to catch a lease that ran out.
"""

from __future__ import annotations

import contextlib
import functools
import secrets
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import redis

from ..._log import logger
from ..lock import BaseLock
from ..shared import Renewals
from .scripts import ACQUIRE, RELEASE, RENEW

if TYPE_CHECKING:
    from .server import Server

_MAX_WAIT = 0.5  # longest wait between attempts without a wake-up


class Leases(Renewals):
    """Renews the leases of the Redis locks this process holds (see ``Renewals``)."""

    THREAD_NAME = "pkcache-redis-leases"

    def __init__(self, server: Server, lease: float) -> None:
        super().__init__(lease)
        self.server = server
        client = server.client
        self.acquire_script = client.register_script(ACQUIRE)
        self.release_script = client.register_script(RELEASE)
        self._renew = client.register_script(RENEW)

    def hold_key(self, key: str, token: str) -> None:
        self.hold(key, functools.partial(self._renew_key, key, token))

    def _renew_key(self, key: str, token: str) -> None:
        try:
            if not self._renew(keys=[key], args=[token, int(self.lease * 1000)]):
                logger.warning("lost the Redis lock %s (its lease ran out)", key)
                self.drop(key)
        except redis.RedisError as exc:  # the server is away: the lease may run out
            logger.debug("cannot renew the Redis lock %s: %s", key, exc)


class RedisLock(BaseLock):
    """An exclusive lock on one name on the server.

    Waiting, it listens for the release on the lock's channel, and tries again at least
    every ``_MAX_WAIT`` seconds (a lease that ran out publishes nothing).

    Given ``entry``, the key of the entry it guards, acquiring it also reads that entry,
    kept for ``take_entry``. ``on_acquire`` and ``on_release`` run when it is taken and
    given up, in the thread that does so.
    """

    FIRST_POLL = MAX_POLL = _MAX_WAIT  # a wait ends early at the release's message
    ASYNC_POLL = (0.001, 0.05)  # no subscription in the event loop: polls instead

    def __init__(
        self,
        server: Server,
        key: str,
        leases: Leases,
        *,
        entry: str | None = None,
        on_acquire: Callable[[RedisLock], None] | None = None,
        on_release: Callable[[RedisLock], None] | None = None,
    ) -> None:
        self._server = server
        self._key = key
        self._channel = key + ":released"
        self._leases = leases
        self._token: str | None = None
        self._entry = entry
        self._fetched: list[bytes | None] = []
        self._on_acquire = on_acquire
        self._on_release = on_release

    def try_acquire(self) -> bool:
        token = secrets.token_hex(16)
        lease_ms = int(self._leases.lease * 1000)
        if self._entry is not None:
            taken = self._server.run(self._leases.acquire_script, keys=[self._key, self._entry], args=[token, lease_ms])
            if not taken:
                return False
            self._fetched = [taken[1]]
        elif not self._server.run(self._server.client.set, self._key, token, nx=True, px=lease_ms):
            return False
        self._took(token)
        return True

    def _took(self, token: str) -> None:
        self._token = token
        self._leases.hold_key(self._key, token)
        if self._on_acquire is not None:
            self._on_acquire(self)

    def _gave_up(self) -> str | None:
        token, self._token = self._token, None
        if token is None:
            return None
        self._fetched = []
        self._leases.drop(self._key)
        if self._on_release is not None:
            self._on_release(self)
        return token

    def take_entry(self) -> list[bytes | None]:
        """The entry as read when the lock was taken, once: ``[bytes or None]``, then ``[]``."""
        fetched, self._fetched = self._fetched, []
        return fetched

    def hand_off(self) -> tuple[str, str, str] | None:
        """Give the lock to a script that will release it: returns (key, channel, token), or None if not held."""
        token = self._gave_up()
        return None if token is None else (self._key, self._channel, token)

    def take_back(self, handed: tuple[str, str, str]) -> None:
        """Hold the lock again after the script it was handed to failed."""
        self._took(handed[2])

    @contextlib.contextmanager
    def _waiting(self) -> Iterator[Callable[[float], None]]:
        # Subscribed before the next attempt, so a release between the two is not missed;
        # a wait ends at the release's message, or after _MAX_WAIT at most.
        pubsub = self._server.run(self._server.client.pubsub, ignore_subscribe_messages=True)
        try:
            self._server.run(pubsub.subscribe, self._channel)
            yield lambda seconds: self._server.run(pubsub.get_message, timeout=seconds)
        finally:
            pubsub.close()

    def release(self) -> None:
        token = self._gave_up()
        if token is None:
            return
        try:
            self._leases.release_script(keys=[self._key, self._channel], args=[token])
        except redis.RedisError as exc:  # the lease runs out by itself
            logger.debug("cannot release the Redis lock %s: %s", self._key, exc)
