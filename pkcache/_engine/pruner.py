"""Automatic prunes too large for a caller to wait on: run by one thread of the process, off the call.

A store that finds a bound exceeded prunes at once while its scope holds few entries
(``SYNC_ENTRIES``: a scan of milliseconds), so small caches stay exactly within bounds
after each call. A larger scope's prune lists every entry (seconds at a million), so it
is handed to this thread and the caller returns: the bound may be exceeded by what is
stored meanwhile, and a process that exits first leaves it to the next store. Requests
for one scope coalesce: one prune runs and at most one more waits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

from .._forks import in_child, renew_guard
from .._log import logger

# Scopes with at most this many entries (by the running totals) are pruned in the call.
SYNC_ENTRIES = 1000
_IDLE_SECONDS = 30.0  # the thread ends after this long with nothing to do


class Pruner:
    """The process's queue of automatic prunes, one pending per scope, and the thread that runs them."""

    def __init__(self) -> None:
        self._pending: dict[Hashable, Callable[[], object]] = {}
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()
        self._wake = threading.Event()
        renew_guard(self)

    def submit(self, scope: Hashable, prune: Callable[[], object]) -> None:
        """Run ``prune`` on the pruning thread, replacing a request for ``scope`` that has not started."""
        with self._guard:
            self._pending[scope] = prune
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="pkcache-pruner", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            with self._guard:
                if self._pending:
                    scope = next(iter(self._pending))
                    prune = self._pending.pop(scope)
                else:
                    prune = None
                    self._wake.clear()
            if prune is None:
                if self._wake.wait(_IDLE_SECONDS):
                    continue
                with self._guard:
                    if not self._pending:
                        self._thread = None
                        return
                continue
            try:
                prune()
            except OSError as exc:  # the store is unreachable or read-only: the next store asks again
                logger.warning("automatic pruning of %s failed: %s", scope, exc)

    def forget(self) -> None:
        """In a forked child: no thread runs here, and the parent's requests are the parent's."""
        self._pending = {}
        self._thread = None
        self._wake = threading.Event()


PRUNER = Pruner()


def _forget_in_child() -> None:
    PRUNER.forget()


in_child(_forget_in_child)
