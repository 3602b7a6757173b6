"""A cache that cannot be written degrades to running the body, with a warning; never an error."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest

import pkcache
from tests.helpers import mounted_tmpfs


def counting(cache: pkcache.Cache) -> tuple[pkcache.CachedFunction[[int], bytes], list[int]]:
    runs: list[int] = []

    def payload(n: int) -> bytes:
        runs.append(n)
        return b"x" * n

    return cache.cached(payload), runs


def test_full_disk_returns_results_and_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with mounted_tmpfs(tmp_path / "small", "size=512k") as mount:
        payload, runs = counting(pkcache.Cache(mount / "cache"))
        with caplog.at_level(logging.WARNING, logger="pkcache"):
            assert payload(100) == b"x" * 100  # fits
            assert payload(2 << 20) == b"x" * (2 << 20)  # does not fit: returned, not stored
            assert payload(2 << 20) == b"x" * (2 << 20)
        assert runs == [100, 2 << 20, 2 << 20]
        assert "No space left on device" in caplog.text
        assert payload.is_cached(100)
        assert not payload.is_cached(2 << 20)
        assert not list((mount / "cache").rglob(".tmp-*"))  # the failed write cleaned up after itself


def test_read_only_cache_still_serves_hits(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with mounted_tmpfs(tmp_path / "ro", "size=4m") as mount:
        cache = pkcache.Cache(mount / "cache")
        payload, runs = counting(cache)
        payload(10)
        cache.close()  # a process with open files blocks the remount
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        with caplog.at_level(logging.WARNING, logger="pkcache"):
            assert payload(10) == b"x" * 10
            assert payload(20) == b"x" * 20
            assert payload(20) == b"x" * 20
        assert runs == [10, 20, 20]
        assert "Read-only file system" in caplog.text


def test_a_cache_path_that_cannot_be_a_directory(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    payload, runs = counting(pkcache.Cache(blocker / "cache"))
    with caplog.at_level(logging.WARNING, logger="pkcache"):
        assert payload(5) == b"xxxxx"
        assert payload(5) == b"xxxxx"
    assert runs == [5, 5]
    assert "Not a directory" in caplog.text
    assert len(caplog.records) == 1  # one warning, not one per attempt to read, lock and write
    with pytest.raises(pkcache.NotACacheError, match="part of it is a file"):
        payload.cache_info()


def test_unreadable_secret_location_runs_uncached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "config-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(blocker))
    payload, runs = counting(pkcache.Cache(tmp_path / "cache"))
    with caplog.at_level(logging.WARNING, logger="pkcache"):
        assert payload(3) == b"xxx"
        assert payload(3) == b"xxx"
    assert runs == [3, 3]
    assert "running uncached" in caplog.text
