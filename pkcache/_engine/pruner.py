"""Automatic prunes too large for a caller to wait on: run by a pruning process, off the call.

A store that finds a bound exceeded prunes at once while its scope holds few entries
(``SYNC_ENTRIES``: a scan of milliseconds), so small caches stay exactly within bounds
after each call. A larger scope's prune lists every entry (seconds at a million), so it
is handed to a new interpreter, which prunes and exits, and the caller returns. A
process, not a thread: a thread would hold the caller's GIL through its sorting and
bookkeeping, and each of the caller's system calls could then wait a whole switch
interval for it back (measured: a miss's p99.9 went from 8 to 38 ms at 100,000 entries).
The pruning process also finishes when the caller exits first.

While one runs for a scope, stores in that scope start no other: the bound may be
exceeded by what is stored meanwhile, and the next store after it ends asks again. Where
no interpreter can be started (a frozen application), or the last one failed, the store
prunes in the call, as a small scope does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable

from .._forks import in_child, renew_guard
from .._log import logger

# Scopes with at most this many entries (by the running totals) are pruned in the call.
SYNC_ENTRIES = 1000

_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The child finds this very pkcache first, whatever the caller's working directory holds.
_CHILD = f"import sys; sys.path.insert(0, {_PACKAGE_PARENT!r}); from pkcache._engine.pruner import main; main()"


class Pruner:
    """The pruning processes this process started, one per scope at a time."""

    def __init__(self) -> None:
        self._running: dict[tuple[str, str | None], subprocess.Popen[bytes]] = {}
        self._failed: set[tuple[str, str | None]] = set()
        self._guard = threading.Lock()
        renew_guard(self)

    def submit(
        self, location: str, namespace: str | None, limits: dict[str, object], prune: Callable[[], object]
    ) -> None:
        """Prune ``namespace`` of the store at ``location`` to ``limits`` in a pruning process (else ``prune()``)."""
        scope = (location, namespace)
        with self._guard:
            running = self._running.get(scope)
            if running is not None:
                status = running.poll()
                if status is None:
                    return  # one is pruning this scope now
                del self._running[scope]
                if status != 0:
                    logger.warning("a pruning process for %s failed (status %s); pruning in the call", location, status)
                    self._failed.add(scope)
            if scope not in self._failed and not getattr(sys, "frozen", False) and sys.executable:
                started = _start(location, namespace, limits)
                if started is not None:
                    self._running[scope] = started
                    return
                self._failed.add(scope)
        prune()

    def forget(self) -> None:
        """In a forked child: the parent's pruning processes are the parent's to reap."""
        self._running = {}


def _start(location: str, namespace: str | None, limits: dict[str, object]) -> subprocess.Popen[bytes] | None:
    # What to prune goes through a pipe, not the command line: a URL may hold a password.
    job = json.dumps({"location": location, "namespace": namespace, "limits": limits}).encode()
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, start_new_session=True
        )
    except OSError as exc:
        logger.warning("cannot start a pruning process (%s); pruning in the call", exc)
        return None
    assert child.stdin is not None
    try:
        child.stdin.write(job)
        child.stdin.close()
    except OSError as exc:  # it died at once: reaped at the next submit, which prunes in the call
        logger.debug("pruning process gone before its job: %s", exc)
    return child


def main() -> None:
    """The pruning process: read the job from stdin, prune, exit."""
    from .._housekeeping.policies import Limits
    from .._housekeeping.pruning import prune
    from .._store.open import open_store

    job = json.loads(sys.stdin.buffer.read())
    if hasattr(os, "nice"):
        os.nice(5)  # maintenance: the cache's users come first
    try:
        prune(open_store(job["location"]), job["namespace"], Limits(**job["limits"]))
    except OSError as exc:  # the cache was removed or became unreachable meanwhile: as a failed prune in the call
        logger.warning("automatic pruning of %s failed: %s", job["location"], exc)


PRUNER = Pruner()


def _forget_in_child() -> None:
    PRUNER.forget()


in_child(_forget_in_child)
