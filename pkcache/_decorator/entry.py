"""One call's stored result, as an object: read it, store one, or drop it, without running the body."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from .._engine.miss import MISS

if TYPE_CHECKING:
    from .._engine.context import FunctionContext

R = TypeVar("R")
D = TypeVar("D")


class Entry(Generic[R]):
    """The entry of one call of a cached function (``f.entry(*args, **kwargs)``).

    The call's arguments are given once, to ``entry``; its methods take none, so they
    never clash with the function's own parameter names.
    """

    def __init__(self, context: FunctionContext, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._context = context
        self.key = key
        self._args = args
        self._kwargs = kwargs

    def __repr__(self) -> str:
        return f"<pkcache entry {self.key[:16]} of {self._context.name}>"

    @overload
    def get(self) -> R | None: ...
    @overload
    def get(self, default: D) -> R | D: ...
    def get(self, default: Any = None) -> Any:
        """The stored result, read and checked in one step (as a hit), or ``default``; never runs the body."""
        value = self._context.lookup(self.key)
        return default if value is MISS else value

    def put(self, value: R) -> None:
        """Store ``value`` as this call's result, signed like any entry (replacing a stored one).

        Trouble storing it (a full disk, a result that cannot be pickled) is a warning, as
        for a computed result.
        """
        self._context.store(self.key, value, args=self._args, kwargs=self._kwargs, seconds=0.0)

    def exists(self) -> bool:
        """True if a stored result would load now (as ``is_cached``)."""
        return self._context.is_stored(self.key)

    def invalidate(self) -> bool:
        """Remove the stored result; True if there was one."""
        return self._context.remove(self.key)

    @property
    def location(self) -> str:
        """Where the entry is (or would be) stored: a file's path, a server's key."""
        return self._context.location(self.key)
