"""The examples in the README run as documented."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_quickstart_computes_once_then_hits_across_processes() -> None:
    script = str(EXAMPLES / "quickstart.py")
    first = subprocess.run([sys.executable, script], capture_output=True, text=True, check=True, timeout=60).stdout
    second = subprocess.run([sys.executable, script], capture_output=True, text=True, check=True, timeout=60).stdout
    assert "first call :" in first
    assert "(computed)" in first.splitlines()[0]
    assert "(from the cache)" in first.splitlines()[1]
    assert "hits=1, misses=1" in first
    assert all("(from the cache)" in line for line in second.splitlines()[:2])
    assert "hits=2, misses=0" in second


def test_cli_walkthrough_runs_every_command() -> None:
    result = subprocess.run(
        ["bash", str(EXAMPLES / "cli_walkthrough.sh")], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    for command in ("pkcache list", "pkcache show", "pkcache verify", "pkcache clear --function embed --yes"):
        assert f"$ {command}" in result.stdout
    assert "removed 1 entries" in result.stdout
    assert "checked 4 entries: 0 corrupt, 0 failing their integrity check" in result.stdout


def test_parallel_example_computes_each_key_once_across_runs(tmp_path: Path) -> None:
    env = {**os.environ, "PKCACHE_DIR": str(tmp_path / "cache")}
    script = [sys.executable, str(EXAMPLES / "parallel.py")]
    first = subprocess.run(script, capture_output=True, text=True, check=True, timeout=120, env=env).stdout
    second = subprocess.run(script, capture_output=True, text=True, check=True, timeout=120, env=env).stdout
    assert "every result right: True" in first
    assert "20 hits, 4 misses (4 entries)" in first  # 24 tasks over 4 keys
    assert "44 hits, 4 misses (4 entries)" in second  # the second run computed nothing


def test_dask_example_runs_each_key_once_then_none(tmp_path: Path) -> None:
    env = {**os.environ, "PKCACHE_DIR": str(tmp_path / "cache"), "TMPDIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "dask_cluster.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
        env=env,
    ).stdout
    assert "first run : 40 tasks, 10 body runs" in out
    assert "second run: 40 tasks, 0 body runs" in out
    assert "70 hits, 10 misses" in out
