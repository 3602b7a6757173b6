"""Waiting for a key's lock, so that callers missing the same key at once compute it once."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._log import Warnings
from .miss import MISS

if TYPE_CHECKING:
    from .._store.protocol import Bucket, Lock


class KeyLocking:
    """A function's key locks: (lock, MISS) to compute, or (None, value) if the value got stored meanwhile.

    While a caller waits, it looks for the entry every ``RECHECK`` seconds (``lookup``),
    so a value stored by a holder it cannot see release (a forked child's parent) ends
    the wait. (None, MISS) means compute without the lock: it cannot be made (a
    read-only cache, a folder removed under us) or is held longer than ``timeout``;
    nothing deadlocks.
    """

    def __init__(self, name: str, bucket: Bucket, timeout: float, lookup: Callable[[str], Any], warn: Warnings) -> None:
        self._name = name
        self._bucket = bucket
        self._timeout = timeout
        self._lookup = lookup
        self._warn = warn

    def acquire(self, key: str) -> tuple[Lock | None, Any]:
        found: list[Any] = []
        try:
            lock = self._bucket.lock(key)
            # The usual case first: a free lock, taken without making the wait's callback.
            if lock.try_acquire() or lock.acquire(self._timeout, lambda: self._stored_meanwhile(key, found)):
                return lock, MISS
        except OSError as exc:
            return self._unlockable(key, exc)
        return self._gave_up(found)

    async def acquire_async(self, key: str) -> tuple[Lock | None, Any]:
        """Like ``acquire``, waiting with ``asyncio.sleep`` so the event loop keeps running."""
        found: list[Any] = []
        try:
            lock = self._bucket.lock(key)
            if await lock.acquire_async(self._timeout, lambda: self._stored_meanwhile(key, found)):
                return lock, MISS
        except OSError as exc:
            return self._unlockable(key, exc)
        return self._gave_up(found)

    def _stored_meanwhile(self, key: str, found: list[Any]) -> bool:
        value = self._lookup(key)
        if value is MISS:
            return False
        found.append(value)
        return True

    def _unlockable(self, key: str, error: OSError) -> tuple[None, Any]:
        self._warn("lock", "cannot lock %s: %s; computing without a lock", self._bucket.location(key), error)
        return None, MISS

    def _gave_up(self, found: list[Any]) -> tuple[None, Any]:
        if found:
            return None, found[0]
        message = "waited %ss for another process computing %s(); computing anyway"
        self._warn("timeout", message, self._timeout, self._name)
        return None, MISS
