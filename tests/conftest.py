"""Shared fixtures: every test gets its own cache directory and signing secret."""

from __future__ import annotations

from pathlib import Path

import pytest

import pkcache
from pkcache import _cache


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the default cache and the secret at this test's temporary folder."""
    home = tmp_path / "home"
    monkeypatch.setenv("PKCACHE_DIR", str(home / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "xdg-cache"))
    for name in ("PKCACHE_DISABLE", "PKCACHE_SECRET"):
        monkeypatch.delenv(name, raising=False)
    # Default caches are shared per directory within a process: start each test afresh.
    monkeypatch.setattr(_cache, "_SHARED", {})
    return home


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def cache(cache_dir: Path) -> pkcache.Cache:
    return pkcache.Cache(cache_dir)
