"""A connection to a Redis server that fails fast and as ``StoreError``, and the URLs that name one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ..._errors import StoreError
from ..shared import Outage

T = TypeVar("T")

# URL parameters that are pkcache's, not redis-py's.
_OWN_PARAMS = ("prefix", "lease")


def split_url(url: str) -> tuple[str, dict[str, str]]:
    """Return the URL for redis-py and pkcache's own parameters (``prefix``, ``lease``) taken out of it."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    own = {name: value for name, value in query if name in _OWN_PARAMS}
    rest = urlencode([(name, value) for name, value in query if name not in _OWN_PARAMS])
    return urlunsplit(parts._replace(query=rest)), own


def display_url(url: str) -> str:
    """The URL without its password or connection options, for messages and listings."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    prefix = split_url(url)[1].get("prefix")
    return urlunsplit((parts.scheme, netloc, parts.path, f"prefix={prefix}" if prefix else "", ""))


class Server:
    """A redis-py client that fails fast, and as ``StoreError``, while the server is down."""

    def __init__(self, url: str, location: str) -> None:
        self.location = location
        # One retry on a fresh connection covers a server restart between two calls;
        # no backoff: the caller has a function to run instead of waiting.
        # Typed as Any: redis-py types every reply as "bytes | str" whatever the command.
        # The URL's own options (?socket_timeout=...) win over these.
        self.client: Any = redis.Redis.from_url(
            url,
            socket_connect_timeout=5.0,
            socket_timeout=30.0,
            retry=Retry(NoBackoff(), 1),
            retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        )
        self._outage = Outage(f"Redis at {location}")

    def run(self, command: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one client call; a Redis failure raises ``StoreError``."""
        self._outage.check()
        try:
            result = command(*args, **kwargs)
        except redis.RedisError as exc:
            raise self.error(exc) from exc
        self._outage.ended()
        return result

    def error(self, exc: redis.RedisError) -> StoreError:
        """Translate a redis-py error, noting a connection failure."""
        if isinstance(exc, (redis.ConnectionError, redis.TimeoutError)):
            self._outage.began()
        return StoreError(f"Redis at {self.location}: {exc}")
