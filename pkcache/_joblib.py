"""The joblib ``Memory`` surface that libraries call, over pkcache: ``memory.cache(func, ignore=...)``.

scikit-learn (``Pipeline(memory=...)``, ``AgglomerativeClustering(memory=...)``,
``FeatureAgglomeration``), and other libraries that take a joblib ``Memory``, accept any
object with a ``cache`` method (``sklearn.utils.validation.check_memory``). A
``pkcache.Cache`` is one; ``pkcache.NoCache()`` is the ``Memory(None)`` of pkcache.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ._errors import InvalidOptionError
from ._options import options_from

_MMAP_MODES = {False: None, None: None, "r": "r", "c": "c"}


def joblib_options(
    ignore: Iterable[str] | None, verbose: object, mmap_mode: object, cache_validation_callback: object
) -> dict[str, Any]:
    """pkcache's options for joblib's ``cache()`` arguments; raises ``InvalidOptionError`` for what it cannot honour."""
    del verbose  # pkcache logs through the pkcache logger instead
    if cache_validation_callback is not None:
        raise InvalidOptionError(
            "cache_validation_callback is not supported: pkcache decides when a result is stored "
            "(store_if=lambda result, seconds: ...) and when it expires (ttl=)"
        )
    if mmap_mode not in _MMAP_MODES:
        raise InvalidOptionError(f"mmap_mode must be False, 'r' or 'c' (read-only or copy-on-write), got {mmap_mode!r}")
    return {"ignore": list(ignore or ()), "mmap_mode": _MMAP_MODES[mmap_mode]}


class NoCache:
    """A cache that stores nothing: every call runs the body (joblib's ``Memory(None)``).

    For libraries that take a memory object, when caching should be off; its
    ``cached`` and ``cache`` check their options and return the function itself.
    """

    location = None
    directory = None

    def __repr__(self) -> str:
        return "pkcache.NoCache()"

    def cached(self, func: Callable[..., Any] | None = None, /, **options: Any) -> Any:
        options_from(dict(options))  # a bad option fails here too, as on a real cache
        return func if func is not None else (lambda f: f)

    def cache(
        self,
        func: Callable[..., Any] | None = None,
        ignore: Iterable[str] | None = None,
        verbose: object = None,
        mmap_mode: object = False,
        cache_validation_callback: object = None,
    ) -> Any:
        return self.cached(func, **joblib_options(ignore, verbose, mmap_mode, cache_validation_callback))

    def clear(self, *args: Any, **kwargs: Any) -> tuple[int, int]:
        return 0, 0
