"""Helpers shared by the test modules: child interpreters and scratch mounts."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def python_path(*folders: Path) -> str:
    """``PYTHONPATH`` for a child: ``folders`` first, then whatever this process was given."""
    inherited = os.environ.get("PYTHONPATH")
    return os.pathsep.join([*(str(f) for f in folders), *([inherited] if inherited else [])])


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


def wait_for(path: Path, timeout: float = 30) -> None:
    """Wait until ``path`` exists (a child's signal that it reached a point), or fail."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"timed out waiting for {path}"
        time.sleep(0.01)
