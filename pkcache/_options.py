"""Validate decorator and ``Cache`` options once, at decoration time."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ._errors import InvalidOptionError, InvalidOptionTypeError
from ._units import parse_age

DEFAULT_LOCK_TIMEOUT = 600.0


@dataclass(frozen=True)
class Options:
    """The per-function settings of ``@cached``, already checked."""

    ttl: float | None = None
    ignore: frozenset[str] = frozenset()
    version: str | int | None = None
    key: Callable[..., Any] | None = None
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    durable: bool = False


def check_directory(value: object, option: str) -> str | os.PathLike[str] | None:
    """Accept None, a str or a path-like object."""
    if value is None or isinstance(value, (str, os.PathLike)):
        if isinstance(value, str) and not value.strip():
            raise InvalidOptionError(f"{option} must not be empty")
        return value
    raise InvalidOptionTypeError(f"{option} must be a path (str or os.PathLike), not {type(value).__name__}")


def check_timeout(value: object, option: str) -> float:
    """Accept a positive, finite number of seconds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidOptionTypeError(f"{option} must be a number of seconds, not {type(value).__name__}")
    if not math.isfinite(value) or value < 0:
        raise InvalidOptionError(f"{option} must be a finite number of seconds >= 0, got {value!r}")
    return float(value)


def check_bool(value: object, option: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidOptionTypeError(f"{option} must be True or False, not {type(value).__name__}")
    return value


def make_options(
    *,
    ttl: object = None,
    ignore: object = (),
    version: object = None,
    key: object = None,
    lock_timeout: object = DEFAULT_LOCK_TIMEOUT,
    durable: object = False,
) -> Options:
    """Check every option and return them frozen; raises ``InvalidOptionError`` at once."""
    if isinstance(ignore, str):
        names: Iterable[object] = (ignore,)
    elif isinstance(ignore, Iterable):
        names = list(ignore)
    else:
        raise InvalidOptionTypeError(f"ignore must be parameter names, not {type(ignore).__name__}")
    for name in names:
        if not isinstance(name, str) or not name.isidentifier():
            raise InvalidOptionError(f"ignore must hold parameter names, got {name!r}")
    if version is not None and (isinstance(version, bool) or not isinstance(version, (str, int))):
        raise InvalidOptionTypeError(f"version must be a str or an int, not {type(version).__name__}")
    if key is not None and not callable(key):
        raise InvalidOptionTypeError(
            f"key must be a callable taking the function's arguments, not {type(key).__name__}"
        )
    return Options(
        ttl=None if ttl is None else parse_age(ttl, option="ttl"),
        ignore=frozenset(str(n) for n in names),
        version=version,
        key=key,
        lock_timeout=check_timeout(lock_timeout, "lock_timeout"),
        durable=check_bool(durable, "durable"),
    )
