"""What a cache holds, as listings show it, read once per listing from the store's metadata.

Metadata files are untrusted: a value of the wrong type or out of range (a negative
bound, a policy that does not exist, ``1e999``) is ignored with a warning, never passed
on to raise in the caller.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from .._log import logger
from .._reports import EntryInfo, FunctionSummary
from .._store.protocol import EntryColumns, ListsInColumns
from .policies import POLICIES, Limits

if TYPE_CHECKING:
    from .._codec import Signer
    from .._store.protocol import EntryStat, Store


class Function(NamedTuple):
    """A function with a folder (or namespace) in a cache, and what its manifest says."""

    name: str
    namespace: str
    manifest: dict[str, Any]

    @property
    def current_version(self) -> str | None:
        version = self.manifest.get("current_version")
        return version if isinstance(version, str) else None


def functions(store: Store) -> list[Function]:
    """Every function of the store, by name; each manifest is read once."""
    found = []
    for namespace, manifest in store.manifests().items():
        name = manifest.get("name")
        found.append(Function(name if isinstance(name, str) else namespace, namespace, manifest))
    return sorted(found, key=lambda f: f.name)


def matching(found: list[Function], pattern: str | None) -> list[Function]:
    """The functions ``pattern`` names: the full name, its last part (``load`` for ``pkg.data.load``), a glob."""
    if pattern is None:
        return found
    return [f for f in found if _name_matches(f.name, pattern) or f.namespace == pattern]


def _name_matches(name: str, pattern: str) -> bool:
    if name == pattern or name.endswith(("." + pattern, ":" + pattern)):
        return True
    import fnmatch  # imported here: ``import pkcache`` stays quick

    return fnmatch.fnmatchcase(name, pattern)


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and value > 0 else None


def recorded_limits(record: dict[str, Any], where: str) -> Limits:
    """The limits a manifest or configuration records; any unusable value is ignored, with a warning."""
    policy = record.get("policy")
    limits = Limits(
        _count(record.get("max_size")),
        _count(record.get("max_entries")),
        _seconds(record.get("ttl")),
        policy if isinstance(policy, str) and policy in POLICIES else "lru",  # a list is unhashable
    )
    for field, kept in zip(("max_size", "max_entries", "ttl", "policy"), limits, strict=True):
        if record.get(field) is not None and record.get(field) != kept:
            logger.warning("ignoring %s=%r recorded in %s: not a usable value", field, record[field], where)
    return limits


def summarize(store: Store, function: Function) -> FunctionSummary:
    """A function's row of ``pkcache list``: from its entries' columns, never an object per entry
    (a million of them were two thirds of listing a million entries)."""
    usage = store.read_usage(function.namespace)
    current = function.current_version
    if isinstance(store, ListsInColumns):
        columns = store.entry_columns(function.namespace)
    else:
        columns = EntryColumns.of(function.namespace, store.entries(function.namespace))
    versions, created = columns.versions, columns.created
    limits = recorded_limits(function.manifest, function.namespace)
    return FunctionSummary(
        function.name,
        function.namespace,
        entries=len(columns),
        size=sum(columns.sizes),
        stale=0 if current is None else len(versions) - versions.count(current),
        newest=max(created, default=None),
        oldest=min(created, default=None),
        hits=usage.hits,
        misses=usage.misses,
        limits={k: v for k, v in limits.describe().items() if v and (k != "policy" or limits.bounded)},
    )


def entry_infos(store: Store, found: list[Function]) -> Iterator[EntryInfo]:
    for function in found:
        current = function.current_version
        for entry in store.entries(function.namespace):
            stale = current is not None and entry.version != current
            fields = (entry.key, entry.size, entry.created, entry.version, stale, entry.location)
            yield EntryInfo(function.name, *fields, namespace=entry.namespace)


_META_GUESS = 4096  # an entry's header and metadata fit in this, but for very long argument summaries


def read_metadata(store: Store, entry: EntryStat) -> dict[str, Any]:
    """An entry's metadata (untrusted: not verified), with its size, location and completeness; never unpickles.

    Raises ``KeyError`` if the entry is gone, ``EntryError`` or ``ValueError`` if it has no readable metadata.
    """
    from .._codec import HEADER_SIZE, read_header, read_meta

    bucket = store.bucket(entry.namespace, entry.version)
    data = bucket.read_prefix(entry.key, _META_GUESS)
    if data is None:
        raise KeyError(entry.key)
    header = read_header(data[0], entry.location)
    if HEADER_SIZE + header.meta_len > len(data[0]) and header.meta_len <= 1 << 20:
        data = bucket.read_prefix(entry.key, HEADER_SIZE + header.meta_len) or data
    head, size = data
    meta = read_meta(head, header)
    meta.update(size=size, location=entry.location, complete=size == header.total_len)
    return meta


def describe(store: Store, entry: EntryStat, signer: Signer) -> dict[str, Any]:
    """An entry's metadata, with ``verified`` (False: the signature does not verify); never unpickles."""
    from .._codec import verify
    from .._errors import EntryError

    meta = read_metadata(store, entry)
    whole = store.bucket(entry.namespace, entry.version).read(entry.key)
    try:
        if whole is None:
            raise KeyError(entry.key)
        verify(entry.key, whole, signer, entry.location)
    except EntryError as exc:
        meta.update(verified=False, problem=exc.reason)
    else:
        meta["verified"] = True
    return meta
