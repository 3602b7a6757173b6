"""A store as its owner sees it: listing, inspecting, clearing, pruning and verifying its entries.

``Cache`` is one of these with the decorator bound to it; the CLI and the notebook
commands use these methods alone.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .._errors import InvalidOptionError
from .._log import logger
from .._options import make_limits
from .._store.protocol import EntryStat, Store
from .policies import Limits

if TYPE_CHECKING:
    from .._codec import Signer
    from .._reports import CacheStats, EntryInfo, FunctionSummary, VerifyReport
    from .listing import Function
    from .maintenance import Progress
    from .pruning import PruneReport

# Listing, clearing, pruning and their reports load at first use, not at ``import
# pkcache``, which makes a Cache of this class (docs/performance.md).


class StoreAdmin:
    """A store with its directory-wide limits and the secret its entries are signed with."""

    def __init__(self, store: Store, limits: Limits, secret: tuple[str | bytes | None, str | None]) -> None:
        self.store = store
        self.location = store.location
        # max_size, max_entries and policy bound the whole store; ttl is the default of
        # functions cached through it.
        self.limits = limits
        self._secret = secret
        self._signer: Signer | None = None
        self._config_recorded = False

    @property
    def signer(self) -> Signer:
        """The entry signer, made from the user's secret on first use."""
        if self._signer is None:
            from .._codec import Signer
            from .._secret import SECRET_ENV, load_secret

            if self.store.shared and self._secret == (None, None) and not os.environ.get(SECRET_ENV):
                logger.warning(
                    "%s is shared, but no shared secret is set: entries stored by other users or "
                    "machines will be refused (and replaced). Set %s (or secret_file=) to the same value everywhere",
                    self.location,
                    SECRET_ENV,
                )
            self._signer = Signer(load_secret(*self._secret))
        return self._signer

    # -- inspecting -------------------------------------------------------------------

    def functions(self) -> list[FunctionSummary]:
        """Return one summary per function with stored results, sorted by name."""
        from .listing import functions, summarize

        self.flush_usage()
        return [summarize(self.store, f) for f in functions(self.store)]

    def entries(self, function: str | None = None) -> list[EntryInfo]:
        """Return every stored result, or those of functions matching ``function``, newest first."""
        from .listing import entry_infos

        found = entry_infos(self.store, self._matching(function))
        return sorted(found, key=lambda e: e.created, reverse=True)

    def stats(self) -> CacheStats:
        """Return the totals of this directory."""
        from .._reports import CacheStats

        summaries = self.functions()
        limits = self._directory_limits()
        return CacheStats(
            self.location,
            len(summaries),
            sum(s.entries for s in summaries),
            sum(s.size for s in summaries),
            sum(s.stale for s in summaries),
            hits=sum(s.hits for s in summaries),
            misses=sum(s.misses for s in summaries),
            limits={k: v for k, v in limits.describe().items() if v is not None and k != "ttl"}
            if limits.bounded
            else {},
        )

    def describe(self, key_prefix: str) -> dict[str, Any]:
        """Return the metadata of the entry whose key starts with ``key_prefix``; never unpickles.

        ``verified`` says whether its signature verifies: the metadata of an entry that
        does not is untrusted (``problem`` says why). Raises ``KeyError`` if no entry
        matches and ``InvalidOptionError`` if several do.
        """
        matches = [e for e in self.store.entries() if e.key.startswith(key_prefix.lower())]
        if not matches:
            raise KeyError(key_prefix)
        if len(matches) > 1:
            raise InvalidOptionError(f"key prefix {key_prefix!r} matches {len(matches)} entries; give more digits")
        return self.describe_entry(matches[0])

    def describe_entry(self, entry: EntryStat | EntryInfo, *, verify: bool = True) -> dict[str, Any]:
        """Return the metadata of one listed entry (as ``describe``), reading that entry alone.

        ``verify=False`` reads only its header and metadata (fast, for long listings):
        the result then has no ``verified``, and is untrusted.
        """
        from .listing import describe, read_metadata

        stat = EntryStat(entry.namespace, entry.version, entry.key, entry.size, entry.created, entry.location)
        if not verify:
            return read_metadata(self.store, stat)
        return describe(self.store, stat, self.signer)

    # -- changing ---------------------------------------------------------------------

    def clear(
        self,
        function: str | None = None,
        *,
        older_than: float | None = None,
        stale: bool = False,
        progress: Progress | None = None,
    ) -> tuple[int, int]:
        """Remove stored results; returns (entries, bytes) removed.

        With no arguments, everything. ``function`` limits it to matching functions,
        ``older_than`` (seconds) to results written longer ago, ``stale`` to results of
        old code versions and expired ones. ``progress(what, done, total)`` is called as
        functions are done.
        """
        from .maintenance import clear

        return clear(self.store, self._matching(function), older_than, stale=stale, progress=progress)

    def doomed(
        self, function: str | None = None, *, older_than: float | None = None, stale: bool = False
    ) -> list[EntryStat]:
        """Return what ``clear`` with the same arguments would remove."""
        from .maintenance import doomed

        found = self._matching(function)
        return [e for f in found for e in doomed(self.store, f.namespace, older_than, stale=stale)]

    def prune(
        self,
        function: str | None = None,
        *,
        max_size: int | str | None = None,
        max_entries: int | None = None,
        max_age: Any = None,
        policy: str | None = None,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> PruneReport:
        """Enforce limits now, exactly; return what was removed.

        With no limits given, each function's own limits (as its decorator recorded them)
        and then this cache's limits are enforced; expired entries and dead writers'
        temporary files always go. Given limits apply to each matching function when
        ``function`` is named, else to the whole directory as one pool. ``dry_run``
        removes nothing and returns what would be removed. ``progress(what, done,
        total)`` is called as functions are done.
        """
        from .maintenance import prune_all

        self.flush_usage()
        given = make_limits(max_size=max_size, max_entries=max_entries, ttl=max_age, policy=policy)
        explicit = given.bounded or given.ttl is not None or policy is not None
        directory = given if explicit else self._directory_limits()
        return prune_all(
            self.store,
            self._matching(function),
            given if explicit else None,
            directory,
            named=function is not None,
            dry_run=dry_run,
            progress=progress,
        )

    def _directory_limits(self) -> Limits:
        from .listing import recorded_limits

        if self.limits.bounded:
            return self.limits
        limits = recorded_limits(self.store.read_config() or {}, self.location)
        return Limits(limits.max_size, limits.max_entries, None, limits.policy)

    def record_config(self) -> None:
        """Record this cache's directory limits, so ``pkcache info`` and ``prune`` know them."""
        if self._config_recorded or not self.limits.bounded:
            return
        wanted = {
            "max_size": self.limits.max_size,
            "max_entries": self.limits.max_entries,
            "policy": self.limits.policy,
        }
        if self.store.read_config() != wanted:
            self.store.write_config(wanted)
        self._config_recorded = True

    def flush_usage(self) -> None:
        """Record every pending hit and miss of this process, so listings and pruning see them."""
        from .usage import flush_all

        flush_all()

    def verify(self, *, progress: Progress | None = None) -> VerifyReport:
        """Check every entry's length and signature; remove and report the bad ones.

        ``progress(what, done, total)`` is called as entries are checked.

        Also reports, never touching them, what in the cache pkcache did not make
        (``foreign``), and settings that weaken it (``warnings``: a directory others can
        write, a secret others can read).
        """
        from .._secret import secret_warnings
        from .maintenance import verify

        signer = self.signer  # a secret that cannot sign is an error here, before anything is read
        return verify(self.store, signer, secret_warnings(*self._secret), progress)

    def matching(self, function: str | None = None) -> dict[str, str]:
        """Return the functions ``function`` names (all if None), as {folder or namespace: function name}."""
        return {f.namespace: f.name for f in self._matching(function)}

    def _matching(self, function: str | None) -> list[Function]:
        from .listing import functions, matching

        return matching(functions(self.store), function)
