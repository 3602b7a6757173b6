"""What the stores that serve many machines (Redis, object storage) share: leases, batched removal."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable

from .._errors import InvalidOptionError, StoreError
from .._forks import renew_guard
from .protocol import EntryStat

DEFAULT_LEASE = 30.0  # seconds a lock outlives a holder that stopped renewing it


def lease_option(text: str | None, url_kind: str) -> float:
    """The ``?lease=`` of a store's URL in seconds (default ``DEFAULT_LEASE``); a bad one fails at once."""
    if text is None:
        return DEFAULT_LEASE
    try:
        lease = float(text)
    except ValueError:
        raise InvalidOptionError(f"lease= in {url_kind} must be a number of seconds, got {text!r}") from None
    if not lease > 0:
        raise InvalidOptionError(f"lease= in {url_kind} must be > 0 seconds, got {text!r}")
    return lease


def plus(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """The sum of two (entries, bytes) counts."""
    return a[0] + b[0], a[1] + b[1]


def remove_in_batches(
    entries: Iterable[EntryStat], size: int, remove: Callable[[list[EntryStat]], tuple[int, int]]
) -> tuple[int, int]:
    """Remove ``entries`` ``size`` at a time with ``remove(batch) -> (entries, bytes)``; return the sums."""
    removed = (0, 0)
    batch: list[EntryStat] = []
    for entry in entries:
        batch.append(entry)
        if len(batch) >= size:
            removed = plus(removed, remove(batch))
            batch = []
    return plus(removed, remove(batch)) if batch else removed


class Renewals:
    """Renews the leases of the locks this process holds, every third of a lease, from one daemon thread.

    Each held lock is a name and how to renew it once (which handles its own failures).
    A forked child holds none of its parent's locks: it starts with nothing to renew.
    """

    THREAD_NAME = "pkcache-leases"

    def __init__(self, lease: float) -> None:
        self.lease = lease
        self._held: dict[str, Callable[[], None]] = {}
        self._guard = threading.Lock()
        renew_guard(self)
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def hold(self, name: str, renew: Callable[[], None]) -> None:
        with self._guard:
            if self._pid != os.getpid():  # a forked child: the parent's locks are the parent's
                self._pid = os.getpid()
                self._held.clear()
                self._thread = None
            self._held[name] = renew
            if self._thread is None or not self._thread.is_alive():
                self._wake.clear()
                self._thread = threading.Thread(target=self._run, name=self.THREAD_NAME, daemon=True)
                self._thread.start()

    def drop(self, name: str, renew: Callable[[], None] | None = None) -> None:
        """Stop renewing ``name`` (given ``renew``, only if that is still how it is renewed)."""
        with self._guard:
            if renew is None or self._held.get(name) == renew:
                self._held.pop(name, None)

    def stop(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._wake.wait(self.lease / 3):
            with self._guard:
                held = list(self._held.values())
            for renew in held:
                renew()


class Outage:
    """After a connection failure, a server is left alone for ``RETRY_AFTER`` seconds.

    A cached function called in a loop then does not wait on a dead server at each call;
    the first call after the pause tries again, and caching resumes by itself.
    """

    RETRY_AFTER = 1.0

    def __init__(self, what: str) -> None:
        self.what = what  # "Redis at URL": how messages name the server
        self._until = 0.0

    def check(self) -> None:
        """Raise ``StoreError`` while the server is being left alone."""
        if self._until and time.monotonic() < self._until:
            raise StoreError(f"{self.what} is unreachable (retrying within {self.RETRY_AFTER:g}s)")

    def began(self) -> None:
        self._until = time.monotonic() + self.RETRY_AFTER

    def ended(self) -> None:
        self._until = 0.0
