"""Validate decorator and ``Cache`` options once, at decoration time."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

from ._errors import InvalidOptionError, InvalidOptionTypeError
from ._housekeeping.policies import DEFAULT_POLICY, POLICIES, Limits
from ._units import parse_age, parse_size

if TYPE_CHECKING:
    import datetime

DEFAULT_LOCK_TIMEOUT = 600.0


class CacheOptions(TypedDict, total=False):
    """The options ``@cached(...)`` and ``Cache.cached(...)`` take, for type checkers."""

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


def options_from(given: dict[str, Any], defaults: dict[str, Any] | None = None) -> Options:
    """Check ``@cached(...)`` keyword options (unknown names included) and return them frozen."""
    unknown = sorted(set(given) - set(CacheOptions.__annotations__))
    if unknown:
        known = ", ".join(CacheOptions.__annotations__)
        raise InvalidOptionTypeError(f"cached() got unknown option(s) {', '.join(unknown)}; the options are {known}")
    merged = dict(defaults or {})
    merged.update({name: value for name, value in given.items() if value is not None or name not in merged})
    return make_options(**merged)


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


def make_limits(
    *, max_size: object = None, max_entries: object = None, ttl: object = None, policy: object = None
) -> Limits:
    """Check limit options; raises ``InvalidOptionError`` at once."""
    if max_entries is not None and (isinstance(max_entries, bool) or not isinstance(max_entries, int)):
        raise InvalidOptionTypeError(f"max_entries must be an int, not {type(max_entries).__name__}")
    if max_entries is not None and max_entries < 1:
        raise InvalidOptionError(f"max_entries must be at least 1, got {max_entries}")
    if policy is None:
        policy = DEFAULT_POLICY
    if not isinstance(policy, str):
        raise InvalidOptionTypeError(f"policy must be one of {sorted(POLICIES)}, not {type(policy).__name__}")
    if policy.lower() not in POLICIES:
        raise InvalidOptionError(f"policy must be one of {', '.join(sorted(POLICIES))}; got {policy!r}")
    return Limits(
        max_size=None if max_size is None else parse_size(max_size, option="max_size"),
        max_entries=max_entries,
        ttl=None if ttl is None else parse_age(ttl, option="ttl"),
        policy=policy.lower(),
    )


def check_depends_on(value: object) -> tuple[Callable[..., Any], ...]:
    """Accept a callable or a list of them (functions whose code the result depends on)."""
    items = [value] if callable(value) else value
    if not isinstance(items, (list, tuple)) or not all(callable(item) for item in items):
        raise InvalidOptionTypeError("depends_on must be a function or a list of functions")
    for item in items:
        if getattr(getattr(item, "__wrapped__", item), "__code__", None) is None:
            raise InvalidOptionError(f"depends_on: {item!r} has no Python code to fingerprint")
    return tuple(items)


MMAP_MODES = ("r", "c")
FILES_BY = ("stat", "content")


def check_names(value: object, option: str) -> list[str]:
    """Accept a parameter name or a list of them."""
    if isinstance(value, str):
        names: list[object] = [value]
    elif isinstance(value, Iterable):
        names = list(value)
    else:
        raise InvalidOptionTypeError(f"{option} must be parameter names, not {type(value).__name__}")
    for name in names:
        if not isinstance(name, str) or not name.isidentifier():
            raise InvalidOptionError(f"{option} must hold parameter names, got {name!r}")
    return [str(n) for n in names]


def check_mmap_mode(value: object) -> str | None:
    """Accept None, "r" (read-only mapping) or "c" (copy-on-write mapping)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidOptionTypeError(f"mmap_mode must be 'r', 'c' or None, not {type(value).__name__}")
    if value not in MMAP_MODES:
        raise InvalidOptionError(f"mmap_mode must be 'r' (read-only) or 'c' (copy-on-write), got {value!r}")
    return value


def check_secret(secret: object, secret_file: object) -> tuple[str | bytes | None, str | None]:
    """Accept a secret (non-empty str or bytes) or the path of an existing file holding one, not both."""
    if secret is not None and secret_file is not None:
        raise InvalidOptionError("give secret or secret_file, not both")
    from ._secret import load_secret

    if secret is not None:
        if not isinstance(secret, (str, bytes)):
            raise InvalidOptionTypeError(f"secret must be a str or bytes, not {type(secret).__name__}")
        load_secret(secret)  # too short: SecretError now, not at the first call
        return secret, None
    if secret_file is not None:
        if not isinstance(secret_file, (str, os.PathLike)):
            raise InvalidOptionTypeError(f"secret_file must be a path, not {type(secret_file).__name__}")
        if not os.path.isfile(secret_file):
            raise InvalidOptionError(f"secret_file {os.fspath(secret_file)!r} is not a file")
        load_secret(None, secret_file)
        return None, os.fspath(secret_file)
    return None, None


def make_options(
    *,
    ttl: object = None,
    ignore: object = (),
    version: object = None,
    key: object = None,
    lock_timeout: object = DEFAULT_LOCK_TIMEOUT,
    durable: object = False,
    max_size: object = None,
    max_entries: object = None,
    policy: object = None,
    depends_on: object = (),
    secret: object = None,
    secret_file: object = None,
    mmap_mode: object = None,
    enabled: object = True,
    store_if: object = None,
    files: object = (),
    files_by: object = "stat",
) -> Options:
    """Check every option and return them frozen; raises ``InvalidOptionError`` at once."""
    names = check_names(ignore, "ignore")
    if store_if is not None and not callable(store_if):
        raise InvalidOptionTypeError(
            f"store_if must be a callable taking (result, seconds), not {type(store_if).__name__}"
        )
    if files_by not in FILES_BY:
        raise InvalidOptionError(f"files_by must be one of {', '.join(map(repr, FILES_BY))}, got {files_by!r}")
    if version is not None and (isinstance(version, bool) or not isinstance(version, (str, int))):
        raise InvalidOptionTypeError(f"version must be a str or an int, not {type(version).__name__}")
    if key is not None and not callable(key):
        raise InvalidOptionTypeError(
            f"key must be a callable taking the function's arguments, not {type(key).__name__}"
        )
    limits = make_limits(max_size=max_size, max_entries=max_entries, ttl=ttl, policy=policy)
    checked_secret, checked_secret_file = check_secret(secret, secret_file)
    return Options(
        enabled=check_bool(enabled, "enabled"),
        store_if=store_if,
        files=frozenset(check_names(files, "files")),
        files_by=str(files_by),
        ttl=limits.ttl,
        ignore=frozenset(names),
        version=version,
        key=key,
        lock_timeout=check_timeout(lock_timeout, "lock_timeout"),
        durable=check_bool(durable, "durable"),
        limits=limits,
        depends_on=check_depends_on(depends_on),
        secret=checked_secret,
        secret_file=checked_secret_file,
        mmap_mode=check_mmap_mode(mmap_mode),
    )
