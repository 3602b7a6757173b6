"""A client of an S3-compatible server (through boto3) that fails fast, and as ``StoreError``.

Besides what the URL says (``url``), everything (credentials, a default endpoint, the
region, a profile) comes from the standard AWS configuration, which boto3 reads as the
AWS tools do. A forked child gets a client of its own (its parent's connections are
the parent's).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..._errors import StoreError
from ..._forks import in_child, renew_guard
from ..shared import Outage
from .url import Url

T = TypeVar("T")

# What a failed request may cost the caller, who has a function to run instead.
_CONFIG = Config(
    connect_timeout=5,
    read_timeout=60,
    retries={"max_attempts": 2, "mode": "standard"},
    max_pool_connections=16,
    # Checksums only where S3 requires them: S3-compatible servers differ on the rest.
    request_checksum_calculation="when_required",
    response_checksum_validation="when_required",
)
_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchUpload"})
_REFUSED = frozenset({"412", "PreconditionFailed", "409", "ConditionalRequestConflict"})
_UNSUPPORTED = frozenset({"501", "NotImplemented"})


class Refused(Exception):
    """A conditional write refused: the object exists, or is not the version named."""


class Unsupported(Exception):
    """The server does not support a request (a conditional write)."""


class Got:
    """An object being downloaded: its size, and its body to read."""

    def __init__(self, client: Client, reply: dict[str, Any]) -> None:
        self._client = client
        self.size = int(reply.get("ContentLength", 0))
        total = str(reply.get("ContentRange", "")).rpartition("/")[2]
        self.total = int(total) if total.isdigit() else self.size  # of the whole object, for a range
        self._body = reply["Body"]

    def read(self) -> bytes:
        data: bytes = self._client.call(self._body.read)
        return data

    def read_into(self, view: memoryview, progress: Callable[[int], bool], piece: int) -> None:
        """Fill ``view`` in pieces, calling ``progress(bytes in)``; stops early when it returns False."""
        done = 0
        while done < len(view):
            count = self._client.call(self._body.readinto, view[done : done + piece])
            if not count:
                break
            done += count
            if not progress(done):
                break
        self._body.close()


class Client:
    """S3 calls on one bucket and prefix; every failure but "not found" raises ``StoreError``."""

    def __init__(self, url: Url, location: str) -> None:
        self.location = location
        self.bucket = url.bucket
        self.prefix = url.prefix + "/"
        self._endpoint = url.endpoint
        self._region = url.region
        self._guard = threading.Lock()
        renew_guard(self)
        self._s3: Any = None
        self._outage = Outage(f"the object store at {location}")
        _CLIENTS.add(self)

    @property
    def s3(self) -> Any:
        """The boto3 client, made at first use (importing and configuring it costs ~0.1 s)."""
        if self._s3 is None:
            with self._guard:
                if self._s3 is None:
                    session = boto3.session.Session()
                    self._s3 = session.client(
                        "s3", endpoint_url=self._endpoint, region_name=self._region, config=_CONFIG
                    )
        return self._s3

    def reconnect(self) -> None:
        """Forget the client: a forked child cannot share its parent's connections."""
        self._s3 = None
        self._outage.ended()

    def call(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Make one request; not-found raises FileNotFoundError, conditions Refused or Unsupported."""
        self._outage.check()
        try:
            result = method(*args, **kwargs)
        except ClientError as exc:  # the server answered
            self._outage.ended()
            error = exc.response.get("Error", {})
            codes = {str(error.get("Code", "")), str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode"))}
            if codes & _NOT_FOUND:
                raise FileNotFoundError(str(exc)) from exc
            if codes & _REFUSED:
                raise Refused(str(exc)) from exc
            if codes & _UNSUPPORTED:
                raise Unsupported(str(exc)) from exc
            raise StoreError(f"object store at {self.location}: {error.get('Code')}: {error.get('Message')}") from exc
        except (BotoCoreError, OSError) as exc:  # no connection, timeouts, no credentials
            self._outage.began()
            raise StoreError(f"object store at {self.location}: {exc}") from exc
        self._outage.ended()
        return result

    def key(self, path: str) -> str:
        return self.prefix + path

    # -- the requests the store makes ------------------------------------------------------

    def get(self, path: str, *, first: int | None = None) -> Got:
        """Start downloading an object (its first ``first`` bytes only, if given)."""
        extra = {"Range": f"bytes=0-{first - 1}"} if first else {}
        return Got(self, self.call(self.s3.get_object, Bucket=self.bucket, Key=self.key(path), **extra))

    def head(self, path: str) -> dict[str, Any] | None:
        try:
            reply = self.call(self.s3.head_object, Bucket=self.bucket, Key=self.key(path))
        except FileNotFoundError:
            return None
        return {
            "e_tag": reply.get("ETag"),
            "last_modified": reply["LastModified"],
            "size": reply["ContentLength"],
            "metadata": reply.get("Metadata") or {},
        }

    def read(self, path: str) -> bytes | None:
        try:
            return self.get(path).read()
        except FileNotFoundError:
            return None

    def put(
        self, path: str, data: bytes | memoryview, *, mode: Any = None, metadata: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Write an object whole; ``mode`` "create" (If-None-Match) or {"e_tag": ...} (If-Match)."""
        extra: dict[str, Any] = {"Metadata": metadata} if metadata else {}
        if mode == "create":
            extra["IfNoneMatch"] = "*"
        elif isinstance(mode, dict):
            extra["IfMatch"] = mode["e_tag"]
        reply = self.call(self.s3.put_object, Bucket=self.bucket, Key=self.key(path), Body=bytes(data), **extra)
        return {"e_tag": reply.get("ETag")}

    def delete(self, paths: str | list[str]) -> None:
        keys = [paths] if isinstance(paths, str) else paths
        for start in range(0, len(keys), 1000):  # DeleteObjects takes up to 1000 keys
            batch = [{"Key": self.key(p)} for p in keys[start : start + 1000]]
            self.call(self.s3.delete_objects, Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})

    def listing(self, prefix: str) -> Iterator[dict[str, Any]]:
        """Every object under ``prefix`` (a "folder": a slash is added), page by page."""
        token: dict[str, str] = {}
        while True:
            page = self.call(
                self.s3.list_objects_v2, Bucket=self.bucket, Prefix=self.key(prefix) + "/", MaxKeys=1000, **token
            )
            for found in page.get("Contents", []):
                yield {
                    "path": found["Key"][len(self.prefix) :],
                    "size": found["Size"],
                    "last_modified": found["LastModified"],
                }
            if not page.get("IsTruncated"):
                return
            token = {"ContinuationToken": page["NextContinuationToken"]}

    def any(self, prefix: str) -> bool:
        """True if at least one object is under ``prefix``."""
        page = self.call(self.s3.list_objects_v2, Bucket=self.bucket, Prefix=self.key(prefix) + "/", MaxKeys=1)
        return bool(page.get("Contents"))

    def folders(self, prefix: str) -> list[str]:
        """The names of the "folders" directly under ``prefix`` (common prefixes)."""
        found: list[str] = []
        token: dict[str, str] = {}
        while True:
            page = self.call(
                self.s3.list_objects_v2, Bucket=self.bucket, Prefix=self.key(prefix) + "/", Delimiter="/", **token
            )
            found += [p["Prefix"].rstrip("/").rsplit("/", 1)[-1] for p in page.get("CommonPrefixes", [])]
            if not page.get("IsTruncated"):
                return found
            token = {"ContinuationToken": page["NextContinuationToken"]}


_CLIENTS: weakref.WeakSet[Client] = weakref.WeakSet()


def _reconnect_all() -> None:
    for client in list(_CLIENTS):
        client.reconnect()


in_child(_reconnect_all)
