"""Small entries this process read lately, kept verified: a hit on one costs no read, and mostly no ``stat``.

Each is kept with its store's stamp of the file it came from (``_store.protocol.Stamps``)
and served again only while a fresh stamp equals the kept one: an entry refreshed,
invalidated, pruned or damaged by any process is read again (and checked again), never
served from here. The stamp is taken again only when the store's count of changes made
by pkcache (in any process) has moved since, or ``RESTAMP`` seconds after it was last
taken, for what other programs may have done to the file. What is kept is the verified
pickle stream, not the value: every hit unpickles a fresh copy, so a caller mutating its
result never changes the next hit's.

One budget for the process, in bytes of kept streams; the oldest kept go first.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Hashable
from typing import NamedTuple

from .._forks import renew_guard

BUDGET = 32 << 20  # bytes of pickle streams kept, for the whole process

# Each reader of one function version (with its own signer and options) keeps under
# its own token: what one verified is never served to another.
tokens = itertools.count(1)


# A kept entry is served without a stat while its store's change count stands (see
# ``Stamps.changes``), for at most this many seconds after its stamp was last taken: what
# other programs do to its file (removing, replacing, editing it) is seen within that.
RESTAMP = 1.0


class Kept(NamedTuple):
    stamp: Hashable
    created: float
    stream: bytes
    changes: int | None  # the store's change count, read before the stamp was taken
    stamped: float  # when (time.monotonic)


class Recent:
    """The kept entries of the process, by (reader's token, key)."""

    def __init__(self, budget: int) -> None:
        self.kept: dict[tuple[int, str], Kept] = {}
        self.budget = budget
        self.size = 0
        self._guard = threading.Lock()
        renew_guard(self)

    def keep(self, where: tuple[int, str], kept: Kept) -> None:
        size = len(kept.stream)
        if size > self.budget:
            return
        with self._guard:
            old = self.kept.pop(where, None)
            if old is not None:
                self.size -= len(old.stream)
            while self.size + size > self.budget and self.kept:
                self.size -= len(self.kept.pop(next(iter(self.kept))).stream)
            self.kept[where] = kept
            self.size += size

    def forget(self, where: tuple[int, str]) -> None:
        with self._guard:
            old = self.kept.pop(where, None)
            if old is not None:
                self.size -= len(old.stream)


RECENT = Recent(BUDGET)
