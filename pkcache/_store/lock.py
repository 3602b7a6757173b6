"""What every store's lock shares: the wait for it, written once (as filelock's ``BaseFileLock``).

A store's lock says how to try once (``try_acquire``), how to let go (``release``) and,
if it can do better than sleeping, how to wait between attempts (``_waiting``: a Redis
lock listens for its release). The loop here does the rest: backoff between attempts,
the timeout, the event loop's turn for async callers, and a look at the store every
``RECHECK`` seconds through ``ready`` (the holder may have stored the result without
the waiter seeing the release: a forked child waiting on what its parent computes).
"""

from __future__ import annotations

import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from types import TracebackType

RECHECK = 0.5

Ready = Callable[[], bool]


class _Schedule:
    """When to try again, and when to look at the store; None once the wait is over."""

    def __init__(self, timeout: float, ready: Ready | None, first: float, most: float) -> None:
        self.deadline = time.monotonic() + timeout
        self.ready = ready
        self.next_look = time.monotonic() + RECHECK
        self.delay = first
        self.most = most

    def pause(self) -> float | None:
        now = time.monotonic()
        if now >= self.deadline:
            return None
        if self.ready is not None and now >= self.next_look:
            if self.ready():
                return None
            self.next_look = time.monotonic() + RECHECK
        pause = min(self.delay, self.deadline - now)
        self.delay = min(self.delay * 2, self.most)
        return pause


class BaseLock(ABC):
    """An exclusive lock, across threads and processes (and machines, for a shared store)."""

    FIRST_POLL = 0.001  # seconds between the first attempts, doubling up to MAX_POLL
    MAX_POLL = 0.02
    ASYNC_POLL: tuple[float, float] | None = None  # (first, most) for async waits; None: as above

    @abstractmethod
    def try_acquire(self) -> bool:
        """Make one attempt; True if the lock is now held by this object."""

    @abstractmethod
    def release(self) -> None:
        """Release the lock if held; never raises for a lock that is already gone."""

    @contextlib.contextmanager
    def _waiting(self) -> Iterator[Callable[[float], None]]:
        """How to wait up to some seconds between attempts, for the duration of one ``acquire``."""
        yield time.sleep

    def acquire(self, timeout: float, ready: Ready | None = None) -> bool:
        """Wait up to ``timeout`` seconds; False if the lock could not be had in time.

        ``ready``, called every ``RECHECK`` seconds while waiting, ends the wait (False)
        when it returns True: the caller looks whether what the lock guards is there.
        """
        if self.try_acquire():
            return True
        schedule = _Schedule(timeout, ready, self.FIRST_POLL, self.MAX_POLL)
        with self._waiting() as wait:
            while not self.try_acquire():
                pause = schedule.pause()
                if pause is None:
                    return False
                wait(pause)
        return True

    async def acquire_async(self, timeout: float, ready: Ready | None = None) -> bool:
        """Like ``acquire``, waiting with ``asyncio.sleep`` so the event loop keeps running."""
        import asyncio  # only async callers pay for importing it

        first, most = self.ASYNC_POLL or (self.FIRST_POLL, self.MAX_POLL)
        schedule = _Schedule(timeout, ready, first, most)
        while not self.try_acquire():
            pause = schedule.pause()
            if pause is None:
                return False
            await asyncio.sleep(pause)
        return True

    def __enter__(self) -> BaseLock:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
