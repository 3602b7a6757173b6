"""Shared fixtures: every test gets its own cache directory and signing secret."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One SeaweedFS server for the session; each test has a prefix of its own in its bucket."""
    pytest.importorskip("boto3", reason="the s3 extra is not installed (pip install 'pkcache[s3]')")
    from tests.s3server import SeaweedServer

    server = SeaweedServer(tmp_path_factory.mktemp("seaweedfs"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
