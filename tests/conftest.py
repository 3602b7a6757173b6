"""Shared fixtures: every test gets its own cache directory and signing secret."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import pkcache
from pkcache import _cache

REPO = Path(__file__).resolve().parent.parent


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
    monkeypatch.setattr(_cache, "_DEFAULT_CACHES", {})
    return home


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def cache(cache_dir: Path) -> pkcache.Cache:
    return pkcache.Cache(cache_dir)


def run_python(code: str, *, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60) -> str:
    """Run ``code`` in a fresh interpreter (inheriting the test's environment); return stdout."""
    full_env = {**os.environ, **(env or {})}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"child failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result.stdout


@contextlib.contextmanager
def mounted_tmpfs(path: Path, *options: str) -> Iterator[Path]:
    """Mount a tmpfs at ``path`` (root only); skip the test where mounting is not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", ",".join(options or ("size=1m",)), "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip() or 'not root'})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)
