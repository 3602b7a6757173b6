"""The entry format: torn, garbled, planted and altered entries are refused before unpickling."""

from __future__ import annotations

import json
import mmap
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pkcache import CorruptEntryError, EntryError, ForgedEntryError
from pkcache._codec import HEADER_SIZE, Signer, encode, load_value, read_header, read_meta, verify
from pkcache._engine.meta import MetaWriter

SIGNER = Signer(b"k" * 32)


def whole(value: Any, key: str = "k1", signer: Signer = SIGNER) -> bytes:
    encoded = encode(key, value, {"function": "f", "args": "x=1"}, signer)
    data = b"".join(bytes(memoryview(s).cast("B")) for s in encoded.segments)
    assert len(data) == encoded.size
    return data


def roundtrip(data: bytes | bytearray, key: str = "k1") -> Any:
    header = verify(key, data, SIGNER, "test")
    return load_value(data, header, "test")


def test_roundtrip_small_and_metadata_readable_without_unpickling() -> None:
    data = whole({"a": [1, 2, 3]})
    assert roundtrip(data) == {"a": [1, 2, 3]}
    header = read_header(data, "test")
    assert read_meta(data, header) == {"function": "f", "args": "x=1"}


def test_large_arrays_go_out_of_band_aligned_and_load_writable() -> None:
    array = np.arange(200_000, dtype=np.float64)
    raw = whole({"array": array, "small": np.arange(3)})
    assert read_header(raw, "t").n_buffers == 1
    page_aligned = mmap.mmap(-1, len(raw))  # what the directory store reads large entries into
    page_aligned[:] = raw
    loaded = roundtrip(memoryview(page_aligned))
    np.testing.assert_array_equal(loaded["array"], array)
    assert loaded["array"].flags.writeable
    assert loaded["array"].ctypes.data % 64 == 0
    loaded["array"][0] = 42.0  # writable without touching the cache file


def test_every_truncation_is_refused() -> None:
    data = whole(list(range(50)))
    for cut in range(len(data)):
        with pytest.raises(CorruptEntryError):
            roundtrip(data[:cut])


def test_every_flipped_byte_is_refused() -> None:
    data = whole({"a": "b" * 20})
    for position in range(len(data)):
        garbled = bytearray(data)
        garbled[position] ^= 0x55
        with pytest.raises(EntryError):
            roundtrip(bytes(garbled))


def test_wrong_key_and_wrong_secret_are_forgeries() -> None:
    data = whole(1, key="k1")
    with pytest.raises(ForgedEntryError):
        roundtrip(data, key="k2")
    other = whole(1, key="k1", signer=Signer(b"z" * 32))
    with pytest.raises(ForgedEntryError):
        roundtrip(other)


class Planted:
    """Unpickling this creates a file: the attack a signed entry must prevent."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (Path.touch, (Path(self.marker),))


def test_a_planted_pickle_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    honest = bytearray(whole("fine"))
    header = read_header(honest, "t")
    evil = pickle.dumps(Planted(str(marker)), protocol=5)
    start = HEADER_SIZE + header.meta_len
    forged = honest[:start] + evil + bytes(32)  # an empty table, and a MAC the attacker cannot compute
    forged[12:16] = len(evil).to_bytes(4, "little")  # fix the pickle length field...
    forged[16:24] = len(forged).to_bytes(8, "little")  # ...and the total, as an attacker would
    with pytest.raises(EntryError):
        roundtrip(bytes(forged))
    with pytest.raises(EntryError):
        roundtrip(evil)
    assert not marker.exists()


def test_foreign_and_empty_files_are_corrupt() -> None:
    for data in (b"", b"PKCE", b"\x80\x05K\x01.", b"x" * 500):
        with pytest.raises(CorruptEntryError):
            roundtrip(data)


@settings(max_examples=200)
@given(st.binary(max_size=400))
def test_random_bytes_are_always_refused(data: bytes) -> None:
    with pytest.raises(EntryError):
        roundtrip(data)


def test_an_altered_buffer_is_refused_on_a_full_load_only() -> None:
    raw = bytearray(whole({"array": np.arange(100_000, dtype=np.float64)}))
    raw[-8] ^= 0xFF  # inside the out-of-band buffer, after the MAC
    with pytest.raises(ForgedEntryError, match="buffer"):
        verify("k1", bytes(raw), SIGNER)
    # Memory-mapped loads check the MAC (which covers the buffer's digest) but not the
    # raw bytes themselves, as the README says.
    verify("k1", bytes(raw), SIGNER, buffers=False)


@settings(max_examples=300, deadline=None)
@given(
    function=st.text(),
    version=st.text(),
    key=st.text(),
    args=st.text(),
    created=st.floats(allow_nan=False, allow_infinity=False),
    seconds=st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300),
)
def test_spliced_metadata_is_what_json_dumps_writes(
    *, function: str, version: str, key: str, args: str, created: float, seconds: float
) -> None:
    """The metadata a miss writes, spliced from parts encoded once, is byte for byte ``json.dumps``'s."""
    meta = {
        "function": function,
        "key": key,
        "version": version,
        "args": args,
        "created": created,
        "compute_seconds": round(seconds, 6),
        "python": f"{sys.version_info[0]}.{sys.version_info[1]}",
    }
    expected = json.dumps(meta, separators=(",", ":"), default=str).encode()
    assert MetaWriter(function, version).encode(key, args, created, seconds) == expected
    assert json.loads(expected) == meta
