"""What a store must do; the decorator and ``Cache`` talk to stores only through this.

A store keeps byte entries under (namespace, version, key): the namespace is a function's
folder name, the version its code version. It knows paths, bytes, locks and metadata;
it knows nothing of functions, pickling or signatures.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ._codec import Buffer
from ._locks import KeyLock


@dataclass(frozen=True)
class EntryStat:
    """One stored entry as a listing sees it: where it is, how big, when it was written."""

    namespace: str
    version: str
    key: str
    size: int
    created: float
    location: str


class Bucket(Protocol):
    """The entries of one namespace and version; built once per cached function."""

    def read(self, key: str) -> Buffer | None:
        """Return the entry's bytes, or None if there is none."""

    def read_prefix(self, key: str, size: int) -> tuple[Buffer, int] | None:
        """Return up to ``size`` leading bytes and the entry's full size, or None."""

    def write(self, key: str, segments: Sequence[Buffer], *, durable: bool = False) -> None:
        """Store an entry atomically: readers see the old entry, or the whole new one."""

    def delete(self, key: str) -> bool:
        """Remove an entry; True if there was one."""

    def lock(self, key: str) -> KeyLock:
        """Return an unacquired lock for computing ``key``."""

    def location(self, key: str) -> str:
        """Return a human-readable location of the entry, for messages."""


class Store(Protocol):
    """A place that holds namespaces of entries (a directory, later a server)."""

    location: str

    def bucket(self, namespace: str, version: str) -> Bucket:
        """Return the bucket for one namespace and version."""

    def namespaces(self) -> list[str]:
        """Return every namespace that holds entries or a manifest."""

    def entries(self, namespace: str | None = None) -> Iterator[EntryStat]:
        """Yield every entry, or those of one namespace."""

    def read_manifest(self, namespace: str) -> dict[str, Any] | None:
        """Return a namespace's manifest (what the decorator recorded), or None."""

    def write_manifest(self, namespace: str, manifest: dict[str, Any]) -> None:
        """Replace a namespace's manifest atomically."""

    def remove(self, entry: EntryStat) -> bool:
        """Remove one listed entry; True if it was there."""

    def remove_namespace(self, namespace: str) -> tuple[int, int]:
        """Remove a namespace and everything in it; return (entries, bytes) removed."""
