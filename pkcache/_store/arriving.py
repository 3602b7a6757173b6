"""A large entry still arriving: a buffer that a background thread fills from the front.

A full hit on a large entry makes two passes over its bytes: reading them, then checking
their digests. Run one after the other they cost the sum; here a thread reads while the
caller checks the bytes already in, so the check overlaps the read, on the other core
(docs/performance.md has the measurement).
"""

from __future__ import annotations

import os
import threading

# The reader reports progress every this many bytes. Larger pieces were no faster
# (docs/performance.md); the smallest lets the check start soonest.
_PIECE = 1 << 20


class Arriving:
    """A buffer being filled in order by a reader thread; ``wait`` for the bytes needed."""

    def __init__(self, view: memoryview, filled: int) -> None:
        self.view = view
        self._filled = filled
        self._ended = False
        self._error: OSError | None = None
        self._cancelled = False
        self._changed = threading.Condition()

    @property
    def filled(self) -> int:
        """How many leading bytes are in now (without waiting)."""
        return self._filled

    # -- the reader's side ---------------------------------------------------------------

    def advance(self, filled: int) -> bool:
        """Record that the first ``filled`` bytes are in; False once the reader should stop."""
        with self._changed:
            self._filled = filled
            self._changed.notify_all()
            return not self._cancelled

    def end(self, error: OSError | None = None) -> None:
        """Record that no more bytes will come (``error`` says why, if the read failed)."""
        with self._changed:
            self._ended = True
            self._error = error
            self._changed.notify_all()

    # -- the consumer's side -------------------------------------------------------------

    def wait(self, size: int) -> int:
        """Block until ``size`` bytes are in or the read ended; return how many are in.

        Fewer than ``size`` means the file was shorter than it said (truncated meanwhile).
        Raises the ``OSError`` the reader met.
        """
        with self._changed:
            while self._filled < size and not self._ended:
                self._changed.wait()
            if self._error is not None and self._filled < size:
                raise self._error
            return self._filled

    def cancel(self) -> None:
        """Ask the reader to stop early (the entry turned out to be unusable)."""
        with self._changed:
            self._cancelled = True


def read_in_background(fd: int, view: memoryview, filled: int) -> Arriving:
    """Fill ``view`` from ``fd`` (whose first ``filled`` bytes are in) on a new thread.

    The thread owns ``fd`` from now on and closes it when done.
    """
    arriving = Arriving(view, filled)

    def run() -> None:
        error: OSError | None = None
        done = filled
        try:
            while done < len(view):
                count = os.readv(fd, [view[done : done + _PIECE]])
                if count == 0:  # the file is shorter than when it was opened
                    break
                done += count
                if not arriving.advance(done):
                    break
        except OSError as exc:  # passed to the waiting caller, which treats it as any read error
            error = exc
        finally:
            os.close(fd)
            arriving.end(error)

    threading.Thread(target=run, name="pkcache-read", daemon=True).start()
    return arriving
