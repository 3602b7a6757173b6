"""What the engine needs of a cache: its store, signer and limits (``pkcache.Cache`` is one).

A protocol, so that the engine below never imports the public face above it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .._codec import Signer
    from .._housekeeping.policies import Limits
    from .._store.protocol import Store


class CacheLike(Protocol):
    """A cache as the per-function engine uses it."""

    @property
    def store(self) -> Store: ...

    @property
    def signer(self) -> Signer: ...

    @property
    def limits(self) -> Limits: ...

    @property
    def location(self) -> str: ...

    def pickle_location(self) -> str:
        """The location another process opens to reach the same store: a directory, or the URL as given."""

    def flush_usage(self) -> None:
        """Record every pending hit and miss of this process."""

    def record_config(self) -> None:
        """Record the cache's own limits where listings and pruning find them."""


class CacheSource(Protocol):
    """How a cached function reaches its cache: a ``Cache``, or the default one, found at the first call."""

    def resolve(self) -> CacheLike: ...
