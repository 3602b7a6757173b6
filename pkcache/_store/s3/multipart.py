"""Multipart uploads: a large entry written in parts, and the incomplete uploads dead writers leave."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..._errors import StoreError
from ..._log import logger
from .client import Client


def upload(
    client: Client, path: str, parts: list[list[memoryview]], *, metadata: dict[str, str], concurrency: int
) -> None:
    """Write an object from ``parts`` as one multipart upload, ``concurrency`` parts at a time.

    Each part (pieces of the caller's memory) is joined only while it is sent, so at
    most ``concurrency`` copies exist.
    The object appears when the upload completes; a failure aborts it.
    """
    key = client.key(path)
    created = client.call(client.s3.create_multipart_upload, Bucket=client.bucket, Key=key, Metadata=metadata)
    upload_id = created["UploadId"]

    def send(numbered: tuple[int, list[memoryview]]) -> dict[str, Any]:
        number, pieces = numbered
        reply = client.call(
            client.s3.upload_part,
            Bucket=client.bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=b"".join(pieces),
        )
        return {"ETag": reply["ETag"], "PartNumber": number}

    try:
        with ThreadPoolExecutor(concurrency, thread_name_prefix="pkcache-s3-upload") as pool:
            sent = list(pool.map(send, enumerate(parts, 1)))
        client.call(
            client.s3.complete_multipart_upload,
            Bucket=client.bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": sent},
        )
    except BaseException:
        abort(client, key, upload_id)
        raise


def uploads(client: Client, prefix: str) -> Iterator[tuple[str, str, float]]:
    """Incomplete multipart uploads under ``prefix``: (key, upload id, when it began)."""
    markers: dict[str, str] = {}
    while True:
        page = client.call(
            client.s3.list_multipart_uploads, Bucket=client.bucket, Prefix=client.key(prefix) + "/", **markers
        )
        for upload in page.get("Uploads", []):
            yield upload["Key"], upload["UploadId"], upload["Initiated"].timestamp()
        if not page.get("IsTruncated"):
            return
        markers = {"KeyMarker": page["NextKeyMarker"], "UploadIdMarker": page["NextUploadIdMarker"]}


def abort(client: Client, key: str, upload_id: str) -> bool:
    """Abort an upload (``key`` as listed, prefix included); False if that failed."""
    try:
        client.call(client.s3.abort_multipart_upload, Bucket=client.bucket, Key=key, UploadId=upload_id)
    except (StoreError, FileNotFoundError) as exc:  # gone already, or the server is away: tried again later
        logger.debug("cannot abort the upload %s of %s: %s", upload_id, key, exc)
        return False
    return True
