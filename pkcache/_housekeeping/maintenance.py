"""Clearing, pruning and verifying a store, for ``Cache``: what they remove, and the progress they report."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .._errors import EntryError, ForgedEntryError
from .._reports import VerifyReport
from .._store.protocol import EntryStat, OwnsItsPlace, Store
from . import listing as _listing
from .candidates import Listed
from .listing import recorded_limits
from .pruning import PruneReport, plan, prune, temp_files_only

if TYPE_CHECKING:
    from .._codec import Signer
    from .policies import Limits

Progress = Callable[[str, int, int], None]  # (what is being done, how many done, of how many)


def doomed(store: Store, namespace: str, older_than: float | None, *, stale: bool) -> list[EntryStat]:
    """The entries of a namespace older than ``older_than`` seconds, or stale or expired ones if ``stale``."""
    now = time.time()
    found = Listed(store, [namespace], now=now, max_age=None, tidy=False)
    picked = {*found.stale, *found.expired} if stale else range(len(found))
    created = found.created
    return [found.entry(at) for at in sorted(picked) if older_than is None or now - created[at] > older_than]


def clear(
    store: Store,
    found: list[_listing.Function],
    older_than: float | None,
    *,
    stale: bool,
    progress: Progress | None,
) -> tuple[int, int]:
    count = size = 0
    for done, function in enumerate(found):
        if progress is not None:
            progress("clearing functions", done, len(found))
        if older_than is None and not stale:
            removed, removed_size = store.remove_namespace(function.namespace)
        else:
            removed, removed_size = store.remove_entries(doomed(store, function.namespace, older_than, stale=stale))
        count, size = count + removed, size + removed_size
    return count, size


def prune_all(
    store: Store,
    found: list[_listing.Function],
    given: Limits | None,
    directory: Limits,
    *,
    named: bool,
    dry_run: bool,
    progress: Progress | None,
) -> PruneReport:
    """Prune each function (by ``given`` limits if ``named``, else its own), then the store by ``directory``."""
    run = plan if dry_run else prune
    report = PruneReport()
    for done, function in enumerate(found):
        if progress is not None:
            progress("pruning functions", done, len(found))
        limits = given if given is not None and named else recorded_limits(function.manifest, function.namespace)
        # Temp files once, store-wide, unless pruning named functions: a writer killed
        # before its first entry left them where no function is listed yet.
        report = report.plus(run(store, function.namespace, limits, temps=named))
    if named:
        return report
    if directory.bounded or directory.ttl is not None:
        return report.plus(run(store, None, directory))
    return report.plus(temp_files_only(store, dry_run=dry_run))


def verify(store: Store, signer: Signer, warnings: list[str], progress: Progress | None) -> VerifyReport:
    """Check every entry's length and signature; remove and report the bad ones, and what is foreign."""
    from .._codec import verify as check

    checked = 0
    corrupt: list[str] = []
    failed: list[str] = []
    bad: list[EntryStat] = []
    listed = list(store.entries())
    for entry in listed:
        if progress is not None:
            progress("verifying entries", checked, len(listed))
        checked += 1
        data = store.bucket(entry.namespace, entry.version).read(entry.key)
        if data is None:  # removed while we looked
            continue
        try:
            check(entry.key, data, signer, entry.location)
        except ForgedEntryError:
            failed.append(entry.location)
            bad.append(entry)
        except EntryError:
            corrupt.append(entry.location)
            bad.append(entry)
    store.remove_entries(bad)
    foreign: list[str] = []
    if isinstance(store, OwnsItsPlace):
        foreign = store.foreign()
        warnings = [w for w in (store.shared_warning(),) if w] + warnings
    return VerifyReport(checked, corrupt, failed, foreign=foreign, warnings=warnings)
