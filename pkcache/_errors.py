"""The exceptions pkcache raises."""

from __future__ import annotations


class PkcacheError(Exception):
    """Base class of every error pkcache raises."""


class InvalidOptionError(PkcacheError, ValueError):
    """A decorator, ``Cache`` or CLI option has a bad value; raised before any call runs."""


class InvalidOptionTypeError(InvalidOptionError, TypeError):
    """A decorator or ``Cache`` option has the wrong type."""


class SecretError(InvalidOptionError):
    """A signing secret is too short to sign with, or belongs to someone else; the message says how to fix it."""


class UnhashableArgumentError(PkcacheError, TypeError):
    """An argument of a cached call cannot be turned into a stable key."""

    def __init__(self, function: str, parameter: str, reason: str) -> None:
        super().__init__(function, parameter, reason)
        self.function = function
        self.parameter = parameter
        self.reason = reason

    def __str__(self) -> str:
        return (
            f"cannot make a cache key for {self.function}(): argument {self.parameter!r} "
            f"cannot be pickled ({self.reason}); leave it out with ignore=[{self.parameter!r}] "
            f"or give key= a function that returns a picklable stand-in"
        )


class UncacheableFunctionError(PkcacheError, TypeError):
    """A function captures a value that cannot be fingerprinted, so its results cannot be keyed soundly.

    Calls of such a function run uncached (with one warning); ``cache_key()`` and the
    other methods that need a key raise this.
    """

    def __init__(self, variable: str, kind: str, reason: str, function: str = "") -> None:
        super().__init__(variable, kind, reason, function)
        self.variable = variable
        self.kind = kind
        self.reason = reason
        self.function = function

    def __str__(self) -> str:
        who = f"{self.function}()" if self.function else "the function"
        return (
            f"cannot cache {who}: it captures {self.variable} (a {self.kind}), which cannot be fingerprinted "
            f"({self.reason}), so results computed with another value could not be told apart; pass it as an "
            f"argument (with ignore= if it does not change the result) or make it picklable"
        )


class EntryError(PkcacheError):
    """A stored entry cannot be used; the reader treats it as a miss."""

    def __init__(self, location: str, reason: str) -> None:
        super().__init__(location, reason)
        self.location = location
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


class CorruptEntryError(EntryError):
    """An entry is truncated or garbled (a torn write, a bad disk, a foreign file)."""


class ForgedEntryError(EntryError):
    """An entry is well-formed but its signature does not verify: planted or altered."""


class NotACacheError(PkcacheError, OSError):
    """A directory given as a cache exists, is not empty, and is not a pkcache cache; nothing was touched."""

    def __init__(self, location: str, reason: str = "is not a pkcache cache directory; refusing to modify it") -> None:
        super().__init__(location, reason)
        self.location = location
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.location} {self.reason}"


class UnsafePathError(PkcacheError, OSError):
    """A link (or a file) sits where pkcache keeps its own folder or file in a cache; it is not followed."""


class StoreError(PkcacheError, OSError):
    """A shared store cannot be reached, or refused a command; a cached call then computes."""


class EntryTooLargeError(StoreError):
    """An entry is larger than the store accepts as one value; it is returned, not stored."""


class MissingDependencyError(PkcacheError, ImportError):
    """An optional feature was asked for without the package it needs; the message names the extra."""
