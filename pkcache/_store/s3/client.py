"""A client of an S3-compatible server (through obstore) that fails fast, and as ``StoreError``.

The URL names the bucket and prefix; a few query options are pkcache's own::

    s3://BUCKET/PREFIX?endpoint=http://127.0.0.1:8333&region=us-east-1&lease=30

Everything else (credentials, a default endpoint, region, profile) comes from the
standard ``AWS_*`` environment variables, which obstore reads as the AWS tools do.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import obstore
from obstore.exceptions import AlreadyExistsError, BaseError, NotSupportedError, PreconditionError
from obstore.store import S3Store

from ..._errors import StoreError

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig, S3Config

T = TypeVar("T")

DEFAULT_PREFIX = "pkcache"
_OWN_PARAMS = ("endpoint", "region", "lease")
# After a connection failure, calls skip the server for this long (seconds).
_RETRY_AFTER = 1.0
# What a failed request may cost the caller, who has a function to run instead.
_CONNECT_TIMEOUT = timedelta(seconds=5)
_TIMEOUT = timedelta(seconds=60)
_RETRIES: RetryConfig = {"max_retries": 2, "retry_timeout": timedelta(seconds=10)}

# The conditional writes' refusals: the object exists, or is not the version named.
Refused = (AlreadyExistsError, PreconditionError)
Unsupported = NotSupportedError


class Url:
    """An ``s3://`` URL taken apart: bucket, prefix, and pkcache's own options."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"an object-store URL is s3://BUCKET/PREFIX, not {url!r}")
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        unknown = sorted(set(query) - set(_OWN_PARAMS))
        if unknown:
            raise ValueError(f"unknown option {unknown[0]!r} (s3:// URLs take {', '.join(_OWN_PARAMS)})")
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/") or DEFAULT_PREFIX
        self.endpoint = query.get("endpoint") or None
        self.region = query.get("region") or None
        self.lease = query.get("lease")

    def display(self) -> str:
        """The URL as messages and listings show it (it holds no secret)."""
        shown = f"s3://{self.bucket}/{self.prefix}"
        return f"{shown}?endpoint={self.endpoint}" if self.endpoint else shown


class Client:
    """obstore calls on one bucket and prefix; every failure but "not found" raises ``StoreError``."""

    def __init__(self, url: Url, location: str) -> None:
        self.location = location
        config: S3Config = {}
        if url.endpoint:
            config["endpoint"] = url.endpoint
        if url.region:
            config["region"] = url.region
        options: ClientConfig = {"connect_timeout": _CONNECT_TIMEOUT, "timeout": _TIMEOUT}
        if (url.endpoint or "").startswith("http://"):
            options["allow_http"] = True
        self.store = S3Store(
            url.bucket, prefix=url.prefix, config=config, client_options=options, retry_config=_RETRIES
        )
        self._down_until = 0.0

    def run(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one obstore call; FileNotFoundError and the conditional refusals pass through."""
        if self._down_until and time.monotonic() < self._down_until:
            raise StoreError(f"the object store at {self.location} is unreachable (retrying within {_RETRY_AFTER:g}s)")
        try:
            result = call(self.store, *args, **kwargs)
        except (FileNotFoundError, AlreadyExistsError, PreconditionError, NotSupportedError):
            self._down_until = 0.0
            raise
        except BaseError as exc:
            raise self.error(exc) from exc
        except OSError as exc:  # obstore raises some transport failures as builtin errors
            raise self.error(exc) from exc
        self._down_until = 0.0
        return result

    def error(self, exc: Exception) -> StoreError:
        """Translate an obstore error into one line, noting a server that did not answer."""
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if _unreachable(text):
            self._down_until = time.monotonic() + _RETRY_AFTER
        return StoreError(f"object store at {self.location}: {text[:300]}")

    # -- the calls the store makes ---------------------------------------------------------

    def get(self, path: str, **options: Any) -> Any:
        return self.run(obstore.get, path, options=options or None)

    def head(self, path: str) -> dict[str, Any] | None:
        try:
            meta: dict[str, Any] = dict(self.run(obstore.head, path))
        except FileNotFoundError:
            return None
        return meta

    def read(self, path: str) -> bytes | None:
        try:
            return bytes(self.run(obstore.get, path).bytes())
        except FileNotFoundError:
            return None

    def put(self, path: str, data: Any, **options: Any) -> dict[str, Any]:
        return dict(self.run(obstore.put, path, data, **options))

    def delete(self, paths: str | list[str]) -> None:
        if paths:
            self.run(obstore.delete, paths)

    def listing(self, prefix: str) -> Iterator[dict[str, Any]]:
        """Every object under ``prefix``, page by page."""
        pages = self.run(obstore.list, prefix, chunk_size=1000)
        while True:
            try:
                page = self.run(lambda _store: next(pages))
            except StopIteration:
                return
            for meta in page:
                yield dict(meta)

    def any(self, prefix: str) -> bool:
        """True if at least one object is under ``prefix``."""
        return next(self.listing(prefix), None) is not None

    def folders(self, prefix: str) -> list[str]:
        """The names of the "folders" directly under ``prefix`` (common prefixes)."""
        found = self.run(obstore.list_with_delimiter, prefix)
        return [p.rstrip("/").rsplit("/", 1)[-1] for p in found["common_prefixes"]]


def _unreachable(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in ("connect", "timed out", "timeout", "dns", "refused", "reset"))
