"""Incomplete multipart uploads: what a writer killed mid-upload leaves on the server.

They are invisible (no entry appears) but the server keeps, and bills, their parts until
they are aborted. obstore aborts its own failed uploads but cannot list or abort those of
a process that died, so ``prune`` makes these two S3 requests itself, signed with AWS
Signature Version 4 from the standard variables (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``). Where credentials come from elsewhere
(an instance profile), they are left to the bucket's lifecycle rule
(``AbortIncompleteMultipartUpload``; see docs/object-store.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import NamedTuple
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree

from ..._errors import StoreError

_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
_TIMEOUT = 30.0


class Upload(NamedTuple):
    """One incomplete upload: the object it would create, its id, when it began (server time)."""

    key: str
    upload_id: str
    initiated: float


class Uploads:
    """Lists and aborts the incomplete uploads of one bucket."""

    def __init__(self, bucket: str, endpoint: str | None, region: str | None, location: str) -> None:
        self.bucket = bucket
        self.region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        endpoint = endpoint or os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT")
        self.endpoint = (endpoint or f"https://s3.{self.region}.amazonaws.com").rstrip("/")
        self.location = location

    def credentials(self) -> tuple[str, str, str | None] | None:
        key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
        if not key or not secret:
            return None
        return key, secret, os.environ.get("AWS_SESSION_TOKEN")

    def list(self, prefix: str) -> Iterator[Upload]:
        """Every incomplete upload of an object whose name starts with ``prefix``."""
        markers: dict[str, str] = {}
        while True:
            query = {"uploads": "", "prefix": prefix, **markers}
            root = ElementTree.fromstring(self._request("GET", "", query))
            for upload in root.iter(f"{_NS}Upload"):
                key, upload_id = upload.findtext(f"{_NS}Key"), upload.findtext(f"{_NS}UploadId")
                initiated = _timestamp(upload.findtext(f"{_NS}Initiated"))
                if key and upload_id and initiated is not None:
                    yield Upload(key, upload_id, initiated)
            if root.findtext(f"{_NS}IsTruncated") != "true":
                return
            markers = {
                "key-marker": root.findtext(f"{_NS}NextKeyMarker") or "",
                "upload-id-marker": root.findtext(f"{_NS}NextUploadIdMarker") or "",
            }

    def abort(self, upload: Upload) -> None:
        self._request("DELETE", upload.key, {"uploadId": upload.upload_id})

    def _request(self, method: str, key: str, query: dict[str, str]) -> bytes:
        credentials = self.credentials()
        if credentials is None:
            raise StoreError(
                f"object store at {self.location}: no AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY to sign with"
            )
        path = "/" + quote(self.bucket, safe="") + ("/" + quote(key, safe="/-_.~") if key else "")
        canonical_query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query.items()))
        url = f"{self.endpoint}{path}?{canonical_query}"
        host = urlsplit(self.endpoint).netloc
        now = dt.datetime.now(dt.timezone.utc)
        headers = sign(method, host, path, canonical_query, region=self.region, credentials=credentials, now=now)
        request = urllib.request.Request(url, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
                body: bytes = response.read()
                return body
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode(errors="replace")
            raise StoreError(f"object store at {self.location}: {method} uploads: HTTP {exc.code} {detail}") from exc
        except OSError as exc:
            raise StoreError(f"object store at {self.location}: {method} uploads: {exc}") from exc


def sign(
    method: str,
    host: str,
    path: str,
    canonical_query: str,
    *,
    region: str,
    credentials: tuple[str, str, str | None],
    now: dt.datetime,
) -> dict[str, str]:
    """The headers of a request signed with AWS Signature Version 4 (empty body, service s3)."""
    key, secret, token = credentials
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    headers = {"host": host, "x-amz-content-sha256": _EMPTY_SHA256, "x-amz-date": amz_date}
    if token:
        headers["x-amz-security-token"] = token
    signed = ";".join(sorted(headers))
    canonical_headers = "".join(f"{name}:{headers[name]}\n" for name in sorted(headers))
    request = "\n".join([method, path, canonical_query, canonical_headers, signed, _EMPTY_SHA256])
    scope = f"{day}/{region}/s3/aws4_request"
    text = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(request.encode()).hexdigest()])
    signing_key = f"AWS4{secret}".encode()
    for part in (day, region, "s3", "aws4_request"):
        signing_key = hmac.new(signing_key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(signing_key, text.encode(), hashlib.sha256).hexdigest()
    authorization = f"AWS4-HMAC-SHA256 Credential={key}/{scope}, SignedHeaders={signed}, Signature={signature}"
    return {**headers, "Authorization": authorization}


def _timestamp(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:  # not a time: the upload is skipped
        return None
