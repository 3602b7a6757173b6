"""What a store must do; the decorator and ``Cache`` talk to stores only through this.

A store keeps byte entries under (namespace, version, key): the namespace is a function's
folder name, the version its code version. It knows paths, bytes, locks and metadata;
it knows nothing of functions, pickling or signatures.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Hashable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

from .lock import BaseLock

if TYPE_CHECKING:
    from .buffers import Buffer, Stored
    from .usage import Usage


class EntryStat(NamedTuple):
    """One stored entry as a listing sees it: where it is, how big, when it was written."""

    namespace: str
    version: str
    key: str
    size: int
    created: float
    location: str


class TempFile(NamedTuple):
    """A writer's temporary file: live while its writer runs, litter once it died."""

    location: str
    size: int
    modified: float


class EntryColumns:
    """A namespace's entries column by column: a prune of a million entries cannot afford an object each.

    ``temps`` are the writers' temporary files the same listing saw (None if it did not look).
    """

    __slots__ = ("_locate", "created", "keys", "namespace", "sizes", "temps", "versions")

    def __init__(
        self,
        namespace: str,
        versions: list[str],
        keys: list[str],
        sizes: list[int],
        created: list[float],
        *,
        locate: Callable[[int], str],
        temps: list[TempFile] | None = None,
    ) -> None:
        self.namespace = namespace
        self.versions = versions
        self.keys = keys
        self.sizes = sizes
        self.created = created
        self._locate = locate
        self.temps = temps

    @classmethod
    def of(cls, namespace: str, entries: Iterable[EntryStat]) -> EntryColumns:
        """The columns of listed entries (for a store that lists them one by one)."""
        listed = list(entries)
        locations = [e.location for e in listed]
        return cls(
            namespace,
            [e.version for e in listed],
            [e.key for e in listed],
            [e.size for e in listed],
            [e.created for e in listed],
            locate=locations.__getitem__,
        )

    def __len__(self) -> int:
        return len(self.keys)

    def entry(self, at: int) -> EntryStat:
        location = self._locate(at)
        return EntryStat(self.namespace, self.versions[at], self.keys[at], self.sizes[at], self.created[at], location)

    def entries(self) -> Iterator[EntryStat]:
        return map(self.entry, range(len(self.keys)))


Lock = BaseLock  # every store's lock is one: the wait is written once (see ``lock``)


class Bucket(Protocol):
    """The entries of one namespace and version; built once per cached function."""

    def read(self, key: str, *, mmap_mode: str | None = None) -> Stored | None:
        """Return the entry's bytes, or None if there is none.

        ``mmap_mode`` ("r" or "c") asks for a large entry memory-mapped rather than read.
        A large entry may come back still arriving (``_arriving.Arriving``).
        """

    def read_prefix(self, key: str, size: int) -> tuple[Buffer, int] | None:
        """Return up to ``size`` leading bytes and the entry's full size, or None."""

    def write(
        self, key: str, segments: Sequence[Buffer], *, created: float, durable: bool = False, ttl: float | None = None
    ) -> None:
        """Store an entry atomically: readers see the old entry, or the whole new one.

        ``created`` is the entry's creation time, as listings and policies will see it;
        ``ttl`` (seconds after ``created``) lets a store drop the entry by itself.
        """

    def delete(self, key: str) -> bool:
        """Remove an entry; True if there was one."""

    def lock(self, key: str) -> Lock:
        """Return an unacquired lock for computing ``key``."""

    def location(self, key: str) -> str:
        """Return a human-readable location of the entry, for messages."""


class Store(Protocol):
    """A place that holds namespaces of entries (a directory, a server): what every store can honour."""

    location: str
    shared: bool  # reached by other machines: entries must be signed with a shared secret

    def bucket(self, namespace: str, version: str, manifest: dict[str, Any] | None = None) -> Bucket:
        """Return the bucket for one namespace and version.

        ``manifest`` is what the store records of the namespace if a write has to make it.
        """

    def namespaces(self) -> list[str]:
        """Return every namespace that holds entries or a manifest."""

    def manifests(self) -> dict[str, dict[str, Any]]:
        """Return every namespace's manifest, by namespace, sorted."""

    def entries(self, namespace: str | None = None) -> Iterator[EntryStat]:
        """Yield every entry, or those of one namespace."""

    def read_manifest(self, namespace: str) -> dict[str, Any] | None:
        """Return a namespace's manifest (what the decorator recorded), or None."""

    def write_manifest(self, namespace: str, manifest: dict[str, Any]) -> None:
        """Replace a namespace's manifest atomically."""

    def remove_entries(self, entries: Iterable[EntryStat]) -> tuple[int, int]:
        """Remove listed entries; return (entries, bytes) of those that were still there."""

    def remove_namespace(self, namespace: str) -> tuple[int, int]:
        """Remove a namespace and everything in it; return (entries, bytes) removed."""

    def totals(self, namespace: str | None = None) -> tuple[int, int]:
        """Return running (entries, bytes) of a namespace, or of everything; may drift high."""

    def correct_totals(self, namespace: str | None, counted: tuple[int, int], since: tuple[int, int]) -> None:
        """Replace running totals by an exact count taken since ``since`` was read."""

    def prune_lock(self, namespace: str | None) -> Lock:
        """Return the lock held while pruning a namespace (or everything)."""

    def read_config(self) -> dict[str, Any] | None:
        """Return the store-wide settings recorded by a limited ``Cache``, or None."""

    def write_config(self, config: dict[str, Any]) -> None:
        """Replace the store-wide settings."""

    def append_usage(self, namespace: str, record: dict[str, Any]) -> None:
        """Record hits and misses of a namespace (see ``_usage``)."""

    def read_usage(self, namespace: str) -> Usage:
        """Return a namespace's recorded usage."""

    def compact_usage(self, namespace: str, live_keys: Container[str] | None) -> None:
        """Fold recorded usage into a summary that keeps only ``live_keys`` (None: every key)."""

    def claim_sweep(self, namespace: str, interval: float) -> bool:
        """True, and noted, if the namespace's expired entries were last swept over ``interval`` s ago."""

    def close(self) -> None:
        """Let go of what the store holds open (descriptors, connections); it reopens on use."""


# Optional capabilities: a store that has one says so by having its methods, and
# callers ask with isinstance (these protocols are runtime-checkable). No store fakes
# one with no-ops.


@runtime_checkable
class OwnsItsPlace(Protocol):
    """A store in a place that could also hold what is not pkcache's (a directory)."""

    def check(self) -> bool:
        """Raise ``NotACacheError`` if the place is someone else's; True if it exists."""

    def foreign(self) -> list[str]:
        """Return the locations of what is in the store's place but was not made by pkcache."""

    def shared_warning(self) -> str | None:
        """Return what others can do to the store that its owner may not expect, if anything."""


@runtime_checkable
class ListsInColumns(Protocol):
    """A store that lists a namespace's entries column by column, without an object per entry (a directory)."""

    def entry_columns(self, namespace: str, *, tidy: bool = False) -> EntryColumns:
        """Return the namespace's entries; ``tidy`` lets the store rewrite what keeps its listings fast
        (a pruner, which lists every entry anyway, asks for it)."""


@runtime_checkable
class CoarseTimes(Protocol):
    """A store whose listings give creation times to the second only (an object store)."""

    def exact_times(self, entries: list[EntryStat]) -> list[EntryStat]:
        """Return ``entries`` with exact creation times wherever listed times tie (for eviction order)."""


@runtime_checkable
class LeavesTempFiles(Protocol):
    """A store whose writers leave temporary files behind when they are killed (a directory)."""

    def temp_files(self, namespace: str | None = None) -> Iterator[TempFile]:
        """Yield writers' temporary files."""

    def remove_dead_temp_file(self, temp: TempFile, grace: float) -> bool:
        """Remove a dead writer's temp file older than ``grace`` seconds."""


@runtime_checkable
class Stamps(Protocol):
    """A bucket that can tell with one cheap call whether an entry is still the very bytes it read.

    A stamp is equal for two reads only if they gave the same bytes (a directory: the
    file's inode, size and times). The engine keeps small verified entries with their
    stamp, and serves one again only while the entry's stamp now is the one it kept.
    """

    def read_stamped(self, key: str) -> tuple[Stored, Hashable | None] | None:
        """``read(key)``, with the stamp of what was read if it is small bytes the store can vouch for.

        The stamp is None for a large entry, and for one too recent to vouch for (a
        directory: written within the file system's timestamp granularity, see there).
        """

    def stamp(self, key: str) -> Hashable | None:
        """The stamp of the entry stored for ``key`` now; None if there is none (or it cannot be seen)."""

    def changes(self) -> int | None:
        """A number that changes whenever pkcache, in any process, stores or removes an entry of the
        bucket's namespace, cheaper to read than a stamp; None if it cannot be had. While it stands, every
        kept stamp still holds, but for what other programs do (a reader still takes stamps now and then)."""
