"""A progress line on a terminal for commands that run a while."""

from __future__ import annotations

import argparse
import os
import sys
import time

PROGRESS_ENV = "PKCACHE_PROGRESS_AFTER"


class Progress:
    """A progress line on standard error, for a terminal only, once a command has run for a while.

    A second by default; ``$PKCACHE_PROGRESS_AFTER`` seconds if set (0: at once).
    """

    _EVERY = 0.1

    def __init__(self) -> None:
        try:
            after = float(os.environ.get(PROGRESS_ENV, "1"))
        except ValueError:  # not a number: the default
            after = 1.0
        self._start = time.monotonic()
        self._next = self._start + after
        self._shown = False

    def __call__(self, what: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self._EVERY
        self._shown = True
        sys.stderr.write(f"\r{what}: {done:,} of {total:,}")
        sys.stderr.flush()

    def finish(self) -> None:
        if self._shown:
            sys.stderr.write("\r\x1b[K")  # the summary line takes its place
            sys.stderr.flush()


def progress_for(args: argparse.Namespace) -> Progress | None:
    return Progress() if sys.stderr.isatty() and not args.json else None
