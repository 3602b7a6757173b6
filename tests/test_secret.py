"""The signing secret: made once per user, private, shared only on purpose."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import pkcache
from pkcache._secret import default_secret_path, load_secret


def test_secret_file_is_created_private_and_reused(isolated_env: Path) -> None:
    path = default_secret_path()
    assert str(path).startswith(str(isolated_env / "config"))
    assert not path.exists()
    first = load_secret()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_secret() == first
    assert len(first) == 32


def test_processes_racing_to_create_the_secret_agree(isolated_env: Path) -> None:
    code = "from pkcache._secret import load_secret; print(load_secret().hex())"
    children = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=os.environ.copy())
        for _ in range(6)
    ]
    outputs = {child.communicate(timeout=60)[0] for child in children}
    assert len(outputs) == 1
    assert outputs == {load_secret().hex() + "\n"}


def test_env_secret_overrides_and_is_shared(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PKCACHE_SECRET", "team secret of the lab")
    assert load_secret() == load_secret("team secret of the lab")
    assert not default_secret_path().exists()


def _square_calls(cache_dir: Path) -> tuple[pkcache.CachedFunction[[int], int], list[int]]:
    runs: list[int] = []

    def square(x: int) -> int:
        runs.append(x)
        return x * x

    return pkcache.Cache(cache_dir).cached(square), runs


def test_entries_signed_with_another_secret_are_refused(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PKCACHE_SECRET", "alice-secret-1234567890")
    square, _ = _square_calls(cache_dir)
    square(3)
    monkeypatch.setenv("PKCACHE_SECRET", "alice-secret-1234567890")
    same, same_runs = _square_calls(cache_dir)
    assert same(3) == 9
    assert same_runs == []  # same secret: a hit
    monkeypatch.setenv("PKCACHE_SECRET", "mallory-secret-1234567890")
    other, other_runs = _square_calls(cache_dir)
    with caplog.at_level(logging.WARNING, logger="pkcache"):
        assert other(3) == 9
    assert other_runs == [3]
    assert "signature does not verify" in caplog.text
    assert "mallory-secret-1234567890" not in caplog.text
    assert "alice-secret-1234567890" not in caplog.text
