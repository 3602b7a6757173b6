"""Planted, altered and foreign entries are never unpickled; secrets are chosen on purpose."""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path
from typing import Any

import pytest

import pkcache
from pkcache._store.local import sharing as _sharing


class Planted:
    """Unpickling this creates a marker file: the attack signed entries prevent."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (Path.touch, (self.marker,))


def entry_path(function: Any, *args: Any) -> Path:
    return Path(function.entry(*args).location)


@pytest.fixture
def square(cache: pkcache.Cache) -> Any:
    @cache.cached
    def square(x: int) -> int:
        return x * x

    square(0)  # the cache and the function's folder exist, as when an attacker plants a file
    return square


def plant(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_a_planted_pickle_is_refused_and_never_runs(
    square: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    marker = tmp_path / "pwned"
    path = entry_path(square, 7)
    plant(path, pickle.dumps(Planted(marker)))
    with caplog.at_level(logging.WARNING, logger="pkcache"):
        assert square(7) == 49
    assert not marker.exists()
    assert str(path) in caplog.text
    assert square.is_cached(7)  # replaced by a real, signed entry


def test_a_planted_entry_with_a_forged_header_is_refused(square: Any, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    square(7)
    path = entry_path(square, 7)
    genuine = bytearray(path.read_bytes())
    payload = pickle.dumps(Planted(marker), protocol=5)
    meta_len = int.from_bytes(genuine[8:12], "little")
    start = 32 + meta_len  # after the fixed header and the metadata
    forged = genuine[:start] + payload + genuine[-32:]  # keep the old MAC: it cannot match
    forged[12:16] = len(payload).to_bytes(4, "little")
    forged[16:24] = len(forged).to_bytes(8, "little")
    path.write_bytes(bytes(forged))
    assert square(7) == 49
    assert not marker.exists()


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00" * 96, pickle.dumps({"not": "an entry"}), pickle.dumps(49), b"PKCE" + os.urandom(300)],
    ids=["empty", "zeros", "foreign-dict", "bare-value", "magic-then-noise"],
)
def test_foreign_files_are_misses(square: Any, content: bytes) -> None:
    path = entry_path(square, 3)
    plant(path, content)
    before = square.cache_info().misses
    assert square(3) == 9
    assert square.cache_info().misses == before + 1


def test_every_truncation_of_a_real_entry_is_a_miss(square: Any) -> None:
    square(5)
    path = entry_path(square, 5)
    whole = path.read_bytes()
    before = square.cache_info().misses
    for cut in range(len(whole)):
        path.write_bytes(whole[:cut])
        assert square(5) == 25
    assert square.cache_info().misses == before + len(whole)


RUNS: list[str] = []


def body(x: int) -> int:
    RUNS.append("run")  # a module global: a closure's values would be part of the function's identity
    return x + 1


def test_secret_options_choose_who_can_read(cache_dir: Path, tmp_path: Path) -> None:
    runs = RUNS
    runs.clear()
    secret_file = tmp_path / "team-secret"
    secret_file.write_text("correct horse battery staple\n")  # 28 bytes: long enough
    writer = pkcache.Cache(cache_dir).cached(secret_file=secret_file)(body)
    same = pkcache.Cache(cache_dir).cached(secret="correct horse battery staple")(body)
    other = pkcache.Cache(cache_dir, secret="another team's secret").cached(body)
    assert writer(1) == 2
    assert same(1) == 2
    assert runs == ["run"]  # the same secret, from a file or given: a hit
    assert other(1) == 2
    assert runs == ["run", "run"]  # another secret: refused, recomputed


def test_bad_secret_options_fail_at_decoration(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="secret"):
        pkcache.cached(secret=42)  # type: ignore[call-overload]
    with pytest.raises(pkcache.InvalidOptionError, match="empty"):
        pkcache.cached(secret="")
    with pytest.raises(pkcache.InvalidOptionError, match="not a file"):
        pkcache.cached(secret_file=tmp_path / "missing")
    with pytest.raises(pkcache.InvalidOptionError, match="not both"):
        pkcache.Cache(secret="a", secret_file=__file__)


def test_a_directory_others_can_write_is_warned_about_once(
    cache_dir: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_sharing, "_WARNED_SHARED", set())
    cache_dir.mkdir()
    cache_dir.chmod(0o777)
    cache = pkcache.Cache(cache_dir)

    @cache.cached
    def f(x: int) -> int:
        return x

    with caplog.at_level(logging.WARNING, logger="pkcache"):
        f(1)
        f(2)
        cache.functions()
    assert caplog.text.count("can be written by other users") == 1


def test_a_private_directory_is_not_warned_about(cache: pkcache.Cache, caplog: pytest.LogCaptureFixture) -> None:
    @cache.cached
    def f(x: int) -> int:
        return x

    with caplog.at_level(logging.WARNING, logger="pkcache"):
        f(1)
        cache.functions()
    assert "other users" not in caplog.text
    assert cache.directory.stat().st_mode & 0o777 == 0o700
