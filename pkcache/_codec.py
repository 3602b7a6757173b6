"""The entry format: a fixed binary header, JSON metadata, a pickle stream and raw buffers.

Layout (little-endian)::

    header  magic "PKCE", format, flags, meta_len, pickle_len, n_buffers, total_len, created
    mac     32 bytes: keyed BLAKE2b over the key and everything in the file but the mac itself
    meta    JSON, readable without unpickling anything
    pickle  protocol-5 stream of the result
    table   (offset, length) of each out-of-band buffer
    buffers raw, each at an offset aligned to ``_ALIGN``

A reader checks the length and the MAC before it unpickles a byte: a torn write fails the
length or the MAC, a planted or altered file fails the MAC.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import struct
import time
from typing import Any, NamedTuple, Union

from ._errors import CorruptEntryError, ForgedEntryError

MAGIC = b"PKCE"
FORMAT = 1
_HEADER = struct.Struct("<4sBBHIIIQd")  # magic, format, flags, reserved, meta, n_buffers, pickle, total, created
_MAC_SIZE = 32
PREFIX_SIZE = _HEADER.size + _MAC_SIZE
_TABLE_ROW = struct.Struct("<QQ")
_ALIGN = 64
# Buffers smaller than this stay in the pickle stream: not worth a table row and padding.
_OUT_OF_BAND_MIN = 1 << 16

Buffer = Union[bytes, bytearray, memoryview]  # noqa: UP007 - a runtime alias must work on 3.10


class Header(NamedTuple):
    """The fixed-size part of an entry, readable from its first ``PREFIX_SIZE`` bytes."""

    meta_len: int
    n_buffers: int
    pickle_len: int
    total_len: int
    created: float


class Encoded(NamedTuple):
    """An entry ready to write: byte segments in file order, and its total size."""

    segments: list[Buffer]
    size: int


class Signer:
    """Signs and verifies entries with a keyed BLAKE2b whose key state is prepared once."""

    def __init__(self, key: bytes) -> None:
        self._base = hashlib.blake2b(key=key, digest_size=_MAC_SIZE)

    def mac(self, entry_key: str, parts: list[Buffer]) -> bytes:
        state = self._base.copy()
        state.update(entry_key.encode())
        for part in parts:
            state.update(part)
        return state.digest()


def encode(entry_key: str, value: Any, meta: dict[str, Any], signer: Signer, created: float | None = None) -> Encoded:
    """Serialize ``value`` into a signed entry; raises what pickle raises for unpicklable values."""
    buffers: list[memoryview] = []

    def take(buffer: pickle.PickleBuffer) -> bool:
        raw = buffer.raw()
        if raw.nbytes < _OUT_OF_BAND_MIN:
            return True  # in-band
        buffers.append(raw)
        return False

    stream = pickle.dumps(value, protocol=5, buffer_callback=take)
    meta_bytes = json.dumps(meta, separators=(",", ":"), default=str).encode()
    offset = PREFIX_SIZE + len(meta_bytes) + len(stream) + _TABLE_ROW.size * len(buffers)
    table = bytearray()
    data_segments: list[Buffer] = []
    for raw in buffers:
        padding = -offset % _ALIGN
        if padding:
            data_segments.append(bytes(padding))
        offset += padding
        table += _TABLE_ROW.pack(offset, raw.nbytes)
        data_segments.append(raw)
        offset += raw.nbytes
    created = time.time() if created is None else created
    header = _HEADER.pack(MAGIC, FORMAT, 0, 0, len(meta_bytes), len(buffers), len(stream), offset, created)
    body: list[Buffer] = [meta_bytes, stream, bytes(table), *data_segments]
    mac = signer.mac(entry_key, [header, *body])
    return Encoded([header, mac, *body], offset)


def read_header(data: Buffer, location: str) -> Header:
    """Parse and sanity-check the fixed header; raises ``CorruptEntryError``."""
    if len(data) < PREFIX_SIZE:
        raise CorruptEntryError(location, f"only {len(data)} bytes, shorter than a header")
    magic, fmt, _flags, _reserved, meta_len, n_buffers, pickle_len, total, created = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise CorruptEntryError(location, "not a pkcache entry (bad magic bytes)")
    if fmt != FORMAT:
        raise CorruptEntryError(location, f"entry format {fmt}, this pkcache reads {FORMAT}")
    if total < PREFIX_SIZE + meta_len + pickle_len + _TABLE_ROW.size * n_buffers:
        raise CorruptEntryError(location, "header lengths are inconsistent")
    return Header(meta_len, n_buffers, pickle_len, total, created)


def verify(entry_key: str, data: Buffer, signer: Signer, location: str) -> Header:
    """Check length and MAC of a whole entry; raises ``CorruptEntryError`` or ``ForgedEntryError``."""
    header = read_header(data, location)
    if len(data) != header.total_len:
        raise CorruptEntryError(location, f"{len(data)} bytes, header says {header.total_len} (truncated?)")
    view = memoryview(data)
    expected = signer.mac(entry_key, [view[: _HEADER.size], view[PREFIX_SIZE:]])
    if expected != bytes(view[_HEADER.size : PREFIX_SIZE]):
        raise ForgedEntryError(location, "signature does not verify (altered, planted, or signed with another secret)")
    return header


def read_meta(data: Buffer, header: Header) -> dict[str, Any]:
    """Return an entry's JSON metadata (after ``read_header``); never unpickles."""
    raw = bytes(memoryview(data)[PREFIX_SIZE : PREFIX_SIZE + header.meta_len])
    meta = json.loads(raw)
    if not isinstance(meta, dict):
        raise ValueError("entry metadata is not a JSON object")
    return meta


def load_value(data: Buffer, header: Header, location: str) -> Any:
    """Unpickle the value of an entry that ``verify`` accepted."""
    view = memoryview(data)
    start = PREFIX_SIZE + header.meta_len
    stream = view[start : start + header.pickle_len]
    table_start = start + header.pickle_len
    buffers = []
    for index in range(header.n_buffers):
        offset, length = _TABLE_ROW.unpack_from(view, table_start + index * _TABLE_ROW.size)
        if offset + length > header.total_len:
            raise CorruptEntryError(location, "buffer table points past the end")
        buffers.append(view[offset : offset + length])
    return pickle.loads(stream, buffers=buffers)
