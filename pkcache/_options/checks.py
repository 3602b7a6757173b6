"""Checks of option values: each takes the option's name and its value, returns it checked or raises.

A wrong type raises ``InvalidOptionTypeError`` (a ``TypeError``), a wrong value
``InvalidOptionError`` (a ``ValueError``); the message names the option and says what it takes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from typing import Any

from .._errors import InvalidOptionError, InvalidOptionTypeError
from .._housekeeping.policies import DEFAULT_POLICY, POLICIES
from .._units import parse_age, parse_size

Check = Callable[[str, Any], Any]


def _kind(value: object) -> str:
    return type(value).__name__


def seconds(name: str, value: object) -> float:
    """A finite number of seconds >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidOptionTypeError(f"{name} must be a number of seconds, not {_kind(value)}")
    if not math.isfinite(value) or value < 0:
        raise InvalidOptionError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
    return float(value)


def flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidOptionTypeError(f"{name} must be True or False, not {_kind(value)}")
    return value


def path(name: str, value: object) -> str | os.PathLike[str] | None:
    """None, or a non-empty str or path-like object."""
    if value is None or isinstance(value, (str, os.PathLike)):
        if isinstance(value, str) and not value.strip():
            raise InvalidOptionError(f"{name} must not be empty")
        return value
    raise InvalidOptionTypeError(f"{name} must be a path (str or os.PathLike), not {_kind(value)}")


def age(name: str, value: object) -> float | None:
    """None, or seconds, a ``timedelta`` or a string like ``"2h"``."""
    return None if value is None else parse_age(value, option=name)


def size(name: str, value: object) -> int | None:
    """None, or bytes, or a string like ``"500MB"``."""
    return None if value is None else parse_size(value, option=name)


def count(name: str, value: object) -> int | None:
    """None, or an int >= 1."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidOptionTypeError(f"{name} must be an int, not {_kind(value)}")
    if value < 1:
        raise InvalidOptionError(f"{name} must be at least 1, got {value}")
    return value


def policy(name: str, value: object) -> str:
    """One of the eviction policies' names, in any case; None for the default."""
    if value is None:
        return DEFAULT_POLICY
    if not isinstance(value, str):
        raise InvalidOptionTypeError(f"{name} must be one of {sorted(POLICIES)}, not {_kind(value)}")
    if value.lower() not in POLICIES:
        raise InvalidOptionError(f"{name} must be one of {', '.join(sorted(POLICIES))}; got {value!r}")
    return value.lower()


def names(name: str, value: object) -> frozenset[str]:
    """A parameter name or a list of them."""
    if isinstance(value, str):
        given: list[object] = [value]
    elif isinstance(value, Iterable):
        given = list(value)
    else:
        raise InvalidOptionTypeError(f"{name} must be parameter names, not {_kind(value)}")
    for item in given:
        if not isinstance(item, str) or not item.isidentifier():
            raise InvalidOptionError(f"{name} must hold parameter names, got {item!r}")
    return frozenset(str(item) for item in given)


def version(name: str, value: object) -> str | int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int))):
        raise InvalidOptionTypeError(f"{name} must be a str or an int, not {_kind(value)}")
    return value


def optional_callable(takes: str) -> Check:
    """None, or a callable (``takes`` says what it is called with)."""

    def check(name: str, value: object) -> Callable[..., Any] | None:
        if value is not None and not callable(value):
            raise InvalidOptionTypeError(f"{name} must be a callable taking {takes}, not {_kind(value)}")
        return value

    return check


def functions(name: str, value: object) -> tuple[Callable[..., Any], ...]:
    """A function or a list of them, each with Python code to fingerprint."""
    items = [value] if callable(value) else value
    if not isinstance(items, (list, tuple)) or not all(callable(item) for item in items):
        raise InvalidOptionTypeError(f"{name} must be a function or a list of functions")
    for item in items:
        if getattr(getattr(item, "__wrapped__", item), "__code__", None) is None:
            raise InvalidOptionError(f"{name}: {item!r} has no Python code to fingerprint")
    return tuple(items)


def choice(*allowed: str | None, meaning: str) -> Check:
    """One of ``allowed``; ``meaning`` explains them in the error message."""

    def check(name: str, value: object) -> Any:
        if value is not None and not isinstance(value, str):
            raise InvalidOptionTypeError(f"{name} must be {meaning}, not {_kind(value)}")
        if value not in allowed:
            raise InvalidOptionError(f"{name} must be {meaning}, got {value!r}")
        return value

    return check


def secret(name: str, value: object) -> str | bytes | None:
    """None, or a str or bytes long enough to sign with."""
    if value is None:
        return None
    if not isinstance(value, (str, bytes)):
        raise InvalidOptionTypeError(f"{name} must be a str or bytes, not {_kind(value)}")
    from .._secret import load_secret

    load_secret(value)  # too short: SecretError now, not at the first call
    return value


def secret_file(name: str, value: object) -> str | None:
    """None, or the path of an existing file holding a secret long enough to sign with."""
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise InvalidOptionTypeError(f"{name} must be a path, not {_kind(value)}")
    if not os.path.isfile(value):
        raise InvalidOptionError(f"{name} {os.fspath(value)!r} is not a file")
    from .._secret import load_secret

    load_secret(None, value)
    return os.fspath(value)
