"""Where a cache lives: a directory (the default), or a Redis server or object store given by URL."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, TypeGuard

from .._errors import MissingDependencyError

if TYPE_CHECKING:
    from pathlib import Path

    from .protocol import Store

DIR_ENV = "PKCACHE_DIR"
URL_ENV = "PKCACHE_URL"
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
_S3_SCHEME = "s3://"
_URL_SCHEMES = (*_REDIS_SCHEMES, _S3_SCHEME)


def is_url(location: object) -> TypeGuard[str]:
    """True if ``location`` names a server (Redis, an object store) rather than a directory."""
    return isinstance(location, str) and location.startswith(_URL_SCHEMES)


def default_directory() -> Path:
    """Return ``$PKCACHE_DIR`` if set, else the user's cache folder for pkcache."""
    from pathlib import Path  # imported here: ``import pkcache`` stays quick

    env = os.environ.get(DIR_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs  # imported here: most runs never need the default folder

    return Path(platformdirs.user_cache_dir("pkcache"))


def default_location() -> str | Path:
    """Return ``$PKCACHE_URL`` if set, else the default directory."""
    return os.environ.get(URL_ENV) or default_directory()


def open_store(location: str | Path) -> Store:
    """Return the store at ``location``; nothing is created or connected yet."""
    if isinstance(location, str) and location.startswith(_S3_SCHEME):
        try:
            from .s3.store import S3Store
        except ModuleNotFoundError as exc:
            if exc.name not in ("boto3", "botocore"):
                raise
            raise MissingDependencyError(
                "an object-store cache needs the boto3 package, which is not installed: pip install 'pkcache[s3]'"
            ) from exc
        return S3Store(location)
    if is_url(location):
        try:
            from .redis.store import RedisStore
        except ModuleNotFoundError as exc:
            if exc.name != "redis":
                raise
            raise MissingDependencyError(
                "a Redis cache needs the redis package, which is not installed: pip install 'pkcache[redis]'"
            ) from exc
        return RedisStore(location)
    from .local.store import DirectoryStore

    return DirectoryStore(location)
