"""Options of ``@cached`` and ``Cache``, checked once, when the decorator is applied or the cache made.

Each option is defined once, in ``spec.OPTIONS``; this module turns given options into
the frozen ``Options`` a cached function runs with.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

from .._errors import InvalidOptionError, InvalidOptionTypeError
from .._housekeeping.policies import Limits
from . import checks
from .spec import BY_NAME, DECORATOR_OPTIONS, DEFAULT_LOCK_TIMEOUT

if TYPE_CHECKING:
    import datetime

__all__ = ["DEFAULT_LOCK_TIMEOUT", "CacheOptions", "Options", "make_limits", "make_options", "options_from"]


class CacheOptions(TypedDict, total=False):
    """The options ``@cached(...)`` and ``Cache.cached(...)`` take, for type checkers (see ``spec``)."""

    ttl: float | str | datetime.timedelta | None
    ignore: str | Iterable[str]
    version: str | int | None
    key: Callable[..., Any] | None
    lock_timeout: float
    durable: bool
    max_size: int | str | None
    max_entries: int | None
    policy: str | None
    depends_on: Callable[..., Any] | Iterable[Callable[..., Any]]
    secret: str | bytes | None
    secret_file: str | os.PathLike[str] | None
    mmap_mode: str | None
    enabled: bool
    store_if: Callable[[Any, float], bool] | None
    files: str | Iterable[str]
    files_by: str


class Options(NamedTuple):
    """The per-function settings of ``@cached``, already checked."""

    ttl: float | None = None
    ignore: frozenset[str] = frozenset()
    version: str | int | None = None
    key: Callable[..., Any] | None = None
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    durable: bool = False
    limits: Limits = Limits()
    depends_on: tuple[Callable[..., Any], ...] = ()
    secret: str | bytes | None = None
    secret_file: str | None = None
    mmap_mode: str | None = None
    enabled: bool = True
    store_if: Callable[[Any, float], bool] | None = None
    files: frozenset[str] = frozenset()
    files_by: str = "stat"


def options_from(given: dict[str, Any], defaults: dict[str, Any] | None = None) -> Options:
    """Check ``@cached(...)`` keyword options (unknown names included) and return them frozen.

    ``defaults`` (a ``Cache``'s) stand where an option is not given or given as None.
    """
    unknown = sorted(set(given) - {o.name for o in DECORATOR_OPTIONS})
    if unknown:
        known = ", ".join(o.name for o in DECORATOR_OPTIONS)
        raise InvalidOptionTypeError(f"cached() got unknown option(s) {', '.join(unknown)}; the options are {known}")
    merged = dict(defaults or {})
    merged.update({name: value for name, value in given.items() if value is not None or name not in merged})
    return make_options(**merged)


def check(name: str, value: object) -> Any:
    """Check one option's value by its definition."""
    return BY_NAME[name].check(name, value)


def check_secrets(secret: object, secret_file: object) -> tuple[str | bytes | None, str | None]:
    """Check a secret or a secret file, not both."""
    if secret is not None and secret_file is not None:
        raise InvalidOptionError("give secret or secret_file, not both")
    return check("secret", secret), check("secret_file", secret_file)


def make_limits(
    *, max_size: object = None, max_entries: object = None, ttl: object = None, policy: object = None
) -> Limits:
    """Check limit options; raises ``InvalidOptionError`` at once."""
    return Limits(
        max_size=check("max_size", max_size),
        max_entries=check("max_entries", max_entries),
        ttl=check("ttl", ttl),
        policy=check("policy", policy),
    )


def make_options(**given: Any) -> Options:
    """Check every decorator option (defaults for those not given) and return them frozen."""
    values = {o.name: given.get(o.name, o.default) for o in DECORATOR_OPTIONS}
    secret, secret_file = check_secrets(values.pop("secret"), values.pop("secret_file"))
    limits = make_limits(
        max_size=values.pop("max_size"),
        max_entries=values.pop("max_entries"),
        ttl=values.pop("ttl"),
        policy=values.pop("policy"),
    )
    checked = {name: check(name, value) for name, value in values.items()}
    return Options(ttl=limits.ttl, limits=limits, secret=secret, secret_file=secret_file, **checked)


check_path = checks.path
