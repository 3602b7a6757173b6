"""An object store's URL: the bucket and prefix, and a few query options of pkcache's own::

s3://BUCKET/PREFIX?endpoint=http://127.0.0.1:8333&region=us-east-1&lease=30
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

DEFAULT_PREFIX = "pkcache"
_OWN_PARAMS = ("endpoint", "region", "lease")


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
