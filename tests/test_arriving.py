"""Large entries are read on a thread while the caller checks them: same answers, no leaks."""

from __future__ import annotations

import contextlib
import mmap
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import pkcache
from pkcache import CorruptEntryError, ForgedEntryError
from pkcache._codec import Signer, encode, load_value, verify
from pkcache._engine.miss import MISS
from pkcache._store.arriving import Arriving, read_in_background
from pkcache._store.local.reading import _BACKGROUND_MIN
from pkcache._store.local.store import DirectoryStore
from pkcache._store.memory import allocate

SIGNER = Signer(b"k" * 32)
KEY = "ab" + "0" * 62
ARRAY = np.arange((_BACKGROUND_MIN * 3) // 8, dtype=np.float64)  # three times the threshold


def store_entry(tmp_path: Path, value: object) -> tuple[DirectoryStore, Path]:
    store = DirectoryStore(tmp_path / "cache")
    bucket = store.bucket("ns", "v1")
    encoded = encode(KEY, value, {"function": "f"}, SIGNER)
    bucket.write(KEY, encoded.segments, created=0.0)
    return store, Path(bucket.location(KEY))


def entry_fds() -> list[str]:
    """The descriptors this process has open on entry files (readers open nothing else)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(FileNotFoundError):  # the listing's own descriptor, closed by now
            if os.readlink(f"/proc/self/fd/{fd}").endswith(".pkl"):
                found.append(fd)
    return found


def readers_finish(timeout: float = 10) -> None:
    """Join every reading thread (they end when the read does or is cancelled)."""
    for thread in threading.enumerate():
        if thread.name == "pkcache-read":
            thread.join(timeout)
            assert not thread.is_alive(), "a reading thread did not end"


def test_a_large_entry_arrives_checked_whole_and_writable(tmp_path: Path) -> None:
    store, _ = store_entry(tmp_path, {"array": ARRAY})
    data = store.bucket("ns", "v1").read(KEY)
    assert isinstance(data, Arriving)  # the background path, not the plain read
    header = verify(KEY, data, SIGNER, "test")
    assert data.filled == len(data.view) == header.total_len
    loaded = load_value(data, header)["array"]
    np.testing.assert_array_equal(loaded, ARRAY)
    loaded[0] = -1.0  # writable, as a plain read's arrays are
    readers_finish()
    assert entry_fds() == []  # the reader closed its descriptor


@pytest.mark.parametrize("where", ["first piece", "middle", "last byte"])
def test_an_altered_byte_anywhere_in_a_large_entry_is_refused(tmp_path: Path, where: str) -> None:
    store, path = store_entry(tmp_path, {"array": ARRAY})
    size = path.stat().st_size
    offset = {"first piece": size - ARRAY.nbytes + 10, "middle": size // 2, "last byte": size - 1}[where]
    with path.open("r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 1]))
    data = store.bucket("ns", "v1").read(KEY)
    assert isinstance(data, Arriving)
    with pytest.raises(ForgedEntryError, match="does not match its signed digest"):
        verify(KEY, data, SIGNER, "test")
    readers_finish()
    assert entry_fds() == []


def test_an_entry_that_ends_early_while_arriving_is_corrupt(tmp_path: Path) -> None:
    _, path = store_entry(tmp_path, {"array": ARRAY})
    size = path.stat().st_size
    short = tmp_path / "short.pkl"
    short.write_bytes(path.read_bytes()[: size // 2])  # what a reader sees if the file is cut under it
    view = memoryview(bytearray(size))
    data = read_in_background(os.open(short, os.O_RDONLY), view, 0)
    with pytest.raises(CorruptEntryError, match="ended early"):
        verify(KEY, data, SIGNER, "test")
    readers_finish()


def test_a_read_error_on_the_thread_reaches_the_caller(tmp_path: Path) -> None:
    _, path = store_entry(tmp_path, {"array": ARRAY})
    view = memoryview(bytearray(path.stat().st_size))
    unreadable = os.open(path, os.O_WRONLY)  # readv fails with EBADF on the thread
    data = read_in_background(unreadable, view, 0)
    with pytest.raises(OSError, match="Bad file descriptor"):
        verify(KEY, data, SIGNER, "test")
    readers_finish()


def test_a_cancelled_reader_stops_and_closes_its_descriptor(tmp_path: Path) -> None:
    _, path = store_entry(tmp_path, {"array": ARRAY})
    view = memoryview(bytearray(path.stat().st_size))
    data = read_in_background(os.open(path, os.O_RDONLY), view, 0)
    data.cancel()
    readers_finish()
    assert entry_fds() == []


def double(array: np.ndarray) -> np.ndarray:
    return array * 2


def test_a_read_that_fails_while_arriving_is_a_miss_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cached = pkcache.Cache(tmp_path / "cache").cached(double)
    cached(ARRAY)
    context = cached._context
    assert context is not None
    key = context.key((ARRAY,), {})
    path = context.location(key)
    data = read_in_background(os.open(path, os.O_WRONLY), memoryview(bytearray(os.path.getsize(path))), 0)
    assert context.entries._lookup_general(key, data) is MISS
    assert "cannot read cache entry" in caplog.text
    assert os.path.exists(path)  # a read error is not the entry's fault: it stays
    readers_finish()
    np.testing.assert_array_equal(cached(ARRAY), ARRAY * 2)  # and is a hit again
    assert cached.cache_info().hits == 1


def test_threads_hitting_one_large_entry_at_once_all_get_it_whole(tmp_path: Path) -> None:
    cached = pkcache.Cache(tmp_path / "cache").cached(double)
    expected = cached(ARRAY)
    with ThreadPoolExecutor(4) as pool:  # a thread's exception is raised again by result()
        results = [future.result(60) for future in [pool.submit(cached, ARRAY) for _ in range(12)]]
    assert len(results) == 12
    for result in results:
        np.testing.assert_array_equal(result, expected)
    assert len({id(result) for result in results}) == 12  # each hit got its own buffer
    assert cached.cache_info().hits == 12
    readers_finish()
    assert entry_fds() == []


def _resident_anonymous_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no RssAnon in /proc/self/status")


@pytest.mark.skipif(sys.platform != "linux", reason="Linux: population and /proc/self/status")
def test_memory_for_a_large_entry_is_populated_before_it_is_read_into() -> None:
    # Faulted in piece by piece as the read fills it, huge pages stalled a large hit now
    # and then (docs/performance.md): the memory is populated in one call up front.
    probe = mmap.mmap(-1, 1 << 21, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        probe.madvise(getattr(mmap, "MADV_POPULATE_WRITE", 23))
    except OSError:
        pytest.skip("this kernel has no MADV_POPULATE_WRITE (Linux 5.14)")
    finally:
        probe.close()
    size = 64 << 20
    before = _resident_anonymous_bytes()
    view = allocate(size)
    try:
        assert _resident_anonymous_bytes() - before >= size * 0.9  # resident, though nothing touched it
        assert not view.readonly
        assert len(view) == size
    finally:
        region = view.obj
        view.release()
        assert isinstance(region, mmap.mmap)
        region.close()
