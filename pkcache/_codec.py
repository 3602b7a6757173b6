"""The entry format: a fixed binary header, JSON metadata, a pickle stream and raw buffers.

Layout (little-endian)::

    header  magic "PKCE", format, n_buffers, meta_len, pickle_len, total_len, created
    meta    JSON, readable without unpickling anything
    pickle  protocol-5 stream of the result
    table   per out-of-band buffer: offset, length, BLAKE3 digest of its bytes
    mac     32 bytes: keyed BLAKE3 over the entry's key and everything above
    buffers raw, each at an offset aligned to ``_ALIGN``

The MAC covers one contiguous prefix, so a small entry is checked with one hash call.
Large buffers are covered through their digests in the table: a full load checks each
digest (one pass over the bytes, as a MAC over them would be); a memory-mapped load
checks the MAC alone and leaves the raw numeric bytes unverified (docs/security.md). A
reader never unpickles a byte the MAC has not covered.
"""

from __future__ import annotations

import json
import pickle
import struct
import time
from typing import Any, NamedTuple

import blake3

from ._errors import CorruptEntryError, ForgedEntryError
from ._store.arriving import Arriving
from ._store.buffers import Buffer, Stored

MAGIC = b"PKCE"
FORMAT = 2
# magic, format, reserved, n_buffers, meta_len, pickle_len, total_len, created
_HEADER = struct.Struct("<4sBBHIIQd")
HEADER_SIZE = _HEADER.size
_MAC_SIZE = 32
_TABLE_ROW = struct.Struct("<QQ32s")
_ALIGN = 64
# Buffers smaller than this stay in the pickle stream: not worth a table row and padding.
_OUT_OF_BAND_MIN = 1 << 16
# Inputs at least this large are hashed on every core.
_PARALLEL_MIN = 1 << 20


class Header(NamedTuple):
    """The fixed-size part of an entry, readable from its first ``HEADER_SIZE`` bytes."""

    n_buffers: int
    meta_len: int
    pickle_len: int
    total_len: int
    created: float

    @property
    def mac_offset(self) -> int:
        return HEADER_SIZE + self.meta_len + self.pickle_len + _TABLE_ROW.size * self.n_buffers


class Encoded(NamedTuple):
    """An entry ready to write: byte segments in file order, and its total size."""

    segments: list[Buffer]
    size: int


def digest(data: Buffer) -> bytes:
    """Return the BLAKE3 digest of a buffer, hashing large ones on every core."""
    if len(data) >= _PARALLEL_MIN:
        return blake3.blake3(data, max_threads=blake3.blake3.AUTO).digest()
    return blake3.blake3(data).digest()


class Signer:
    """Signs and verifies entries with keyed BLAKE3 (a MAC: the key is the user's secret)."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def mac(self, entry_key: str, signed: Buffer) -> bytes:
        state = blake3.blake3(entry_key.encode(), key=self.key)
        state.update(signed)
        return state.digest()


def encode(entry_key: str, value: Any, meta: dict[str, Any], signer: Signer, created: float | None = None) -> Encoded:
    """Serialize ``value`` into a signed entry; raises what pickle raises for unpicklable values."""
    meta_bytes = json.dumps(meta, separators=(",", ":"), default=str).encode()
    return encode_with_meta(entry_key, value, meta_bytes, signer, created)


def encode_with_meta(entry_key: str, value: Any, meta_bytes: bytes, signer: Signer, created: float | None) -> Encoded:
    """``encode``, with the metadata given as JSON already (see ``_engine.meta``)."""
    buffers: list[memoryview] = []

    def take(buffer: pickle.PickleBuffer) -> bool:
        raw = buffer.raw()
        if raw.nbytes < _OUT_OF_BAND_MIN:
            return True  # in-band
        buffers.append(raw)
        return False

    stream = pickle.dumps(value, protocol=5, buffer_callback=take)
    offset = HEADER_SIZE + len(meta_bytes) + len(stream) + _TABLE_ROW.size * len(buffers) + _MAC_SIZE
    table = bytearray()
    data_segments: list[Buffer] = []
    for raw in buffers:
        padding = -offset % _ALIGN
        if padding:
            data_segments.append(bytes(padding))
        offset += padding
        table += _TABLE_ROW.pack(offset, raw.nbytes, digest(raw))
        data_segments.append(raw)
        offset += raw.nbytes
    created = time.time() if created is None else created
    header = _HEADER.pack(MAGIC, FORMAT, 0, len(buffers), len(meta_bytes), len(stream), offset, created)
    signed = b"".join((header, meta_bytes, stream, table))
    return Encoded([signed, signer.mac(entry_key, signed), *data_segments], offset)


def open_small(entry_key: str, data: bytes, signer: Signer) -> tuple[float, bytes] | None:
    """The hit path's fast check of a small entry (no out-of-band buffers).

    Returns (created, pickle stream) if ``data`` is a whole, correctly signed small entry,
    else None; the caller then takes the general path, which says what is wrong.
    """
    try:
        magic, fmt, _reserved, n_buffers, meta_len, pickle_len, total, created = _HEADER.unpack_from(data)
    except struct.error:  # shorter than a header
        return None
    end = HEADER_SIZE + meta_len + pickle_len
    if magic != MAGIC or fmt != FORMAT or n_buffers or total != len(data) or total != end + _MAC_SIZE:
        return None
    state = blake3.blake3(entry_key.encode(), key=signer.key)
    state.update(data[:end])
    if state.digest() != data[end:]:
        return None
    return created, data[HEADER_SIZE + meta_len : end]


def read_header(data: Buffer, location: str = "") -> Header:
    """Parse and sanity-check the fixed header; raises ``CorruptEntryError``."""
    if len(data) < HEADER_SIZE:
        raise CorruptEntryError(location, f"only {len(data)} bytes, shorter than a header")
    magic, fmt, _reserved, n_buffers, meta_len, pickle_len, total, created = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise CorruptEntryError(location, "not a pkcache entry (bad magic bytes)")
    if fmt != FORMAT:
        raise CorruptEntryError(location, f"entry format {fmt}, this pkcache reads {FORMAT}")
    header = Header(n_buffers, meta_len, pickle_len, total, created)
    if total < header.mac_offset + _MAC_SIZE:
        raise CorruptEntryError(location, "header lengths are inconsistent")
    return header


_ENDED_EARLY = "the file ended early (truncated while it was read?)"


def verify(entry_key: str, data: Stored, signer: Signer, location: str = "", *, buffers: bool = True) -> Header:
    """Check an entry's length and MAC (and, unless ``buffers`` is False, its buffers' digests).

    Raises ``CorruptEntryError`` for a truncated or garbled entry, ``ForgedEntryError`` for
    one whose signature does not verify. An entry still arriving is checked as its bytes
    come in, and is whole when this returns; its reader is stopped if it is unusable.
    """
    if not isinstance(data, Arriving):
        return _verify(entry_key, memoryview(data), None, signer, location=location, buffers=buffers)
    try:
        return _verify(entry_key, data.view, data, signer, location=location, buffers=buffers)
    except BaseException:
        data.cancel()
        raise


def _verify(
    entry_key: str, view: memoryview, arriving: Arriving | None, signer: Signer, *, location: str, buffers: bool
) -> Header:
    def arrived(size: int) -> int:
        return len(view) if arriving is None else arriving.wait(size)

    header = read_header(view[: arrived(HEADER_SIZE)], location)
    if len(view) != header.total_len:
        raise CorruptEntryError(location, f"{len(view)} bytes, header says {header.total_len} (truncated?)")
    end = header.mac_offset
    if arrived(end + _MAC_SIZE) < end + _MAC_SIZE:
        raise CorruptEntryError(location, _ENDED_EARLY)
    if signer.mac(entry_key, view[:end]) != view[end : end + _MAC_SIZE]:
        raise ForgedEntryError(location, "signature does not verify (altered, planted, or signed with another secret)")
    table = _table(view, header, location)  # bounds are checked whatever ``buffers`` says
    if buffers:
        for offset, length, expected in table:
            if arriving is None:
                found = digest(view[offset : offset + length])
            else:
                found = _digest_arriving(arriving, offset, offset + length, location)
            if found != expected:
                raise ForgedEntryError(location, f"buffer at offset {offset} does not match its signed digest")
    if arrived(header.total_len) < header.total_len:
        raise CorruptEntryError(location, _ENDED_EARLY)
    return header


def _digest_arriving(arriving: Arriving, start: int, end: int, location: str) -> bytes:
    """Digest bytes [start, end) of an arriving entry, taking whatever is in at each step.

    While the reader runs, each step is about one piece; once it is done, the rest goes
    in one step on every core. Measured on a 1 GiB result, in alternating pairs: 400-520
    ms a hit, against 490-610 with the hash on one thread throughout.
    """
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    while start < end:
        filled = min(arriving.wait(start + 1), end)
        if filled <= start:
            raise CorruptEntryError(location, _ENDED_EARLY)
        hasher.update(arriving.view[start:filled])
        start = filled
    return hasher.digest()


def _table(view: memoryview, header: Header, location: str = "") -> list[tuple[int, int, bytes]]:
    start = HEADER_SIZE + header.meta_len + header.pickle_len
    rows = [_TABLE_ROW.unpack_from(view, start + i * _TABLE_ROW.size) for i in range(header.n_buffers)]
    for offset, length, _digest in rows:
        if offset + length > header.total_len:
            raise CorruptEntryError(location, "buffer table points past the end")
    return rows


def read_meta(data: Buffer, header: Header) -> dict[str, Any]:
    """Return an entry's JSON metadata (after ``read_header``); never unpickles."""
    raw = bytes(memoryview(data)[HEADER_SIZE : HEADER_SIZE + header.meta_len])
    meta = json.loads(raw)
    if not isinstance(meta, dict):
        raise ValueError("entry metadata is not a JSON object")
    return meta


def load_value(data: Stored, header: Header, location: str = "") -> Any:
    """Unpickle the value of an entry that ``verify`` accepted."""
    view = memoryview(data.view if isinstance(data, Arriving) else data)
    start = HEADER_SIZE + header.meta_len
    buffers = [view[offset : offset + length] for offset, length, _digest in _table(view, header)]
    return pickle.loads(view[start : start + header.pickle_len], buffers=buffers)
