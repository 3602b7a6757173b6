"""A cached function bound to an instance: a cached method looked up on an object, or ``cached(obj.method)``."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from .._reports import CacheInfo
    from .entry import Entry

R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class Unbound(Protocol[R_co]):
    """The cached function a bound one calls with its instance first (a ``CachedFunction``)."""

    __wrapped__: Any
    name: str

    def __call__(self, *args: Any, **kwargs: Any) -> R_co: ...
    def refresh(self, *args: Any, **kwargs: Any) -> R_co: ...
    def cache_key(self, *args: Any, **kwargs: Any) -> str: ...
    def is_cached(self, *args: Any, **kwargs: Any) -> bool: ...
    def entry(self, *args: Any, **kwargs: Any) -> Entry[Any]: ...
    def invalidate(self, *args: Any, **kwargs: Any) -> bool: ...
    def cache_clear(self) -> int: ...
    def cache_info(self) -> CacheInfo: ...


class BoundCachedFunction(Generic[R]):
    """A cached method bound to its instance: ``obj.method.invalidate(x)`` includes ``obj``."""

    def __init__(self, function: Unbound[R], instance: object) -> None:
        self.__func__ = function
        self.__self__ = instance
        functools.update_wrapper(self, function.__wrapped__)

    def __call__(self, *args: Any, **kwargs: Any) -> R:
        return self.__func__(self.__self__, *args, **kwargs)

    def __reduce__(self) -> Any:
        return (BoundCachedFunction, (self.__func__, self.__self__))

    @property
    def name(self) -> str:
        return self.__func__.name

    def refresh(self, *args: Any, **kwargs: Any) -> R:
        return self.__func__.refresh(self.__self__, *args, **kwargs)

    def cache_key(self, *args: Any, **kwargs: Any) -> str:
        return self.__func__.cache_key(self.__self__, *args, **kwargs)

    def is_cached(self, *args: Any, **kwargs: Any) -> bool:
        return self.__func__.is_cached(self.__self__, *args, **kwargs)

    def entry(self, *args: Any, **kwargs: Any) -> Entry[R]:
        return self.__func__.entry(self.__self__, *args, **kwargs)

    def invalidate(self, *args: Any, **kwargs: Any) -> bool:
        return self.__func__.invalidate(self.__self__, *args, **kwargs)

    def cache_clear(self) -> int:
        return self.__func__.cache_clear()

    def cache_info(self) -> CacheInfo:
        return self.__func__.cache_info()
