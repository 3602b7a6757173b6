"""The ``pkcache`` command, run as a real subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import run_python

POPULATE = """
import pkcache
cache = pkcache.Cache({directory!r})

@cache.cached
def load(name, rows=3):
    return {{"name": name, "rows": list(range(rows))}}

@cache.cached
def features(x):
    return [x] * 1000

load("a"); load("b", rows=5); features(1); features(2); features(3)
print(load.cache_key("a"))
"""


def pkcache_cmd(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pkcache", *args], capture_output=True, text=True, input=stdin, check=False, timeout=60
    )


@pytest.fixture
def populated(tmp_path: Path) -> tuple[Path, str]:
    directory = tmp_path / "cli-cache"
    key = run_python(POPULATE.format(directory=str(directory))).strip()
    return directory, key


def test_console_script_and_module_run_the_same_cli(populated: tuple[Path, str]) -> None:
    directory, _key = populated
    script = shutil.which("pkcache")
    assert script is not None, "the pkcache console script is not installed"
    via_script = subprocess.run(
        [script, "--dir", str(directory), "info", "--json"], capture_output=True, text=True, check=False
    )
    via_module = pkcache_cmd("--dir", str(directory), "info", "--json")
    assert via_script.returncode == via_module.returncode == 0
    assert json.loads(via_script.stdout) == json.loads(via_module.stdout)


def test_path_prints_the_default_or_given_directory(tmp_path: Path) -> None:
    assert pkcache_cmd("path").stdout.strip() == os.environ["PKCACHE_DIR"]
    assert pkcache_cmd("--dir", str(tmp_path), "path").stdout.strip() == str(tmp_path)


def test_list_and_info(populated: tuple[Path, str]) -> None:
    directory, _key = populated
    listing = pkcache_cmd("--dir", str(directory), "list")
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["FUNCTION", "ENTRIES", "SIZE", "STALE", "HITS", "MISSES", "NEWEST", "OLDEST", "LIMITS"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["__main__:features"][1] == "3"
    assert rows["__main__:load"][1] == "2"
    data = json.loads(pkcache_cmd("--dir", str(directory), "list", "--json").stdout)
    assert {d["function"]: d["entries"] for d in data} == {"__main__:features": 3, "__main__:load": 2}
    info = json.loads(pkcache_cmd("--dir", str(directory), "info", "--json").stdout)
    assert (info["functions"], info["entries"]) == (2, 5)
    assert info["size"] > 0
    text = pkcache_cmd("--dir", str(directory), "info").stdout
    assert "entries    5 (0 stale)" in text
    assert " kB" in text


def test_list_one_function_shows_arguments(populated: tuple[Path, str]) -> None:
    directory, key = populated
    out = pkcache_cmd("--dir", str(directory), "list", "--function", "load").stdout
    assert "name='a', rows=3" in out
    assert "name='b', rows=5" in out
    assert key[:16] in out
    data = json.loads(pkcache_cmd("--dir", str(directory), "list", "--function", "load", "--json").stdout)
    assert {d["args"] for d in data} == {"name='a', rows=3", "name='b', rows=5"}


def test_show_reads_metadata_by_key_prefix(populated: tuple[Path, str]) -> None:
    directory, key = populated
    meta = json.loads(pkcache_cmd("--dir", str(directory), "show", key[:10], "--json").stdout)
    assert meta["key"] == key
    assert meta["function"] == "__main__:load"
    assert meta["args"] == "name='a', rows=3"
    assert meta["complete"] is True
    text = pkcache_cmd("--dir", str(directory), "show", key).stdout
    assert "ago)" in text
    assert "args" in text
    missing = pkcache_cmd("--dir", str(directory), "show", "ffffffffffff")
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1
    assert "no entry" in missing.stderr


def test_clear_by_function_and_age(populated: tuple[Path, str]) -> None:
    directory, _key = populated
    assert "nothing to remove" in pkcache_cmd("--dir", str(directory), "clear", "--older-than", "1h", "-y").stdout
    out = pkcache_cmd("--dir", str(directory), "clear", "--function", "features", "--yes")
    assert out.returncode == 0
    assert out.stdout.startswith("removed 3 entries")
    info = json.loads(pkcache_cmd("--dir", str(directory), "info", "--json").stdout)
    assert info["entries"] == 2
    assert pkcache_cmd("--dir", str(directory), "clear", "-y").stdout.startswith("removed 2 entries")


def test_clear_asks_on_a_terminal(populated: tuple[Path, str]) -> None:
    directory, _key = populated
    code = (
        "import pty, sys, os\n"
        "pid, fd = pty.fork()\n"
        "if pid == 0:\n"
        f"    os.execv(sys.executable, [sys.executable, '-m', 'pkcache', '--dir', {str(directory)!r}, 'clear'])\n"
        "out = b''\n"
        "while b'[y/N]' not in out: out += os.read(fd, 1024)\n"
        "os.write(fd, b'n\\n')\n"
        "while True:\n"
        "    try:\n"
        "        chunk = os.read(fd, 1024)\n"
        "    except OSError:\n"
        "        break\n"
        "    if not chunk: break\n"
        "    out += chunk\n"
        "print(out.decode())\n"
    )
    out = run_python(code)
    assert "remove 5 entries" in out
    assert "nothing removed" in out
    assert json.loads(pkcache_cmd("--dir", str(directory), "info", "--json").stdout)["entries"] == 5


def test_verify_removes_corrupt_and_forged_entries(populated: tuple[Path, str]) -> None:
    directory, _key = populated
    assert pkcache_cmd("--dir", str(directory), "verify").returncode == 0
    entries = sorted(directory.rglob("*.pkl"))
    entries[0].write_bytes(entries[0].read_bytes()[:50])  # truncated
    forged = bytearray(entries[1].read_bytes())
    forged[-1] ^= 1  # altered payload, lengths intact
    entries[1].write_bytes(bytes(forged))
    result = pkcache_cmd("--dir", str(directory), "verify", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["corrupt"] == [str(entries[0])]
    assert report["forged"] == [str(entries[1])]
    assert report["checked"] == 5
    assert pkcache_cmd("--dir", str(directory), "verify").returncode == 0


def test_empty_default_cache_lists_as_empty() -> None:
    assert not Path(os.environ["PKCACHE_DIR"]).exists()
    result = pkcache_cmd("list")
    assert result.returncode == 0
    assert "no stored results" in result.stdout
    assert json.loads(pkcache_cmd("list", "--json").stdout) == []
    assert json.loads(pkcache_cmd("info", "--json").stdout)["entries"] == 0


@pytest.mark.parametrize(
    "args",
    [
        ["--dir", "/definitely/not/here", "list"],
        ["clear", "--older-than", "soon"],
        ["frobnicate"],
        ["list", "--bogus"],
        [],
    ],
)
def test_bad_arguments_give_one_line_and_nonzero_status(args: list[str]) -> None:
    result = pkcache_cmd(*args)
    assert result.returncode == 2
    assert result.stderr.startswith("pkcache: error: ")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_prune_command_reports_and_enforces(populated: tuple[Path, str]) -> None:
    directory, _key = populated
    out = pkcache_cmd("--dir", str(directory), "prune", "--max-entries", "3", "--json")
    assert out.returncode == 0
    report = json.loads(out.stdout)
    assert report["removed"] == 2
    assert report["bytes"] > 0
    assert json.loads(pkcache_cmd("--dir", str(directory), "info", "--json").stdout)["entries"] == 3
    text = pkcache_cmd("--dir", str(directory), "prune", "--function", "features", "--max-entries", "1").stdout
    assert text.startswith("removed ")
    listing = json.loads(pkcache_cmd("--dir", str(directory), "list", "--json").stdout)
    assert {row["function"]: row["entries"] for row in listing}["__main__:features"] <= 1
    plain = pkcache_cmd("--dir", str(directory), "prune", "--max-size", "1", "--policy", "fifo")
    assert plain.stdout.startswith("removed ")
    assert json.loads(pkcache_cmd("--dir", str(directory), "info", "--json").stdout)["entries"] == 0


@pytest.mark.parametrize(
    "args",
    [
        ["prune", "--max-size", "huge"],
        ["prune", "--max-entries", "0"],
        ["prune", "--max-entries", "-3"],
        ["prune", "--max-age", "yesterday"],
        ["prune", "--policy", "random"],
    ],
)
def test_bad_prune_arguments(args: list[str]) -> None:
    result = pkcache_cmd(*args)
    assert result.returncode == 2
    assert result.stderr.startswith("pkcache: error: ")
    assert result.stderr.count("\n") == 1


SUMMARIES = """
import datetime, pathlib
import numpy as np
import pandas as pd
import pkcache

cache = pkcache.Cache({directory!r})

@cache.cached
def train(lr, cfg, name, path, when, xs, df, arr):
    return 1

frame = pd.DataFrame(np.zeros((400000, 5)), columns=list("abcde"))
train(0.01, None, "train", pathlib.Path("data.csv"), datetime.date(2026, 1, 2), list(range(500)), frame,
      np.ones((1000, 3)))
"""


def test_listed_arguments_show_their_values_bounded(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    run_python(SUMMARIES.format(directory=str(directory)))
    [row] = json.loads(pkcache_cmd("--dir", str(directory), "list", "--function", "train", "--json").stdout)
    assert row["args"] == (
        "lr=0.01, cfg=None, name='train', path=PosixPath('data.csv'), when=2026-01-02, "
        "xs=[0, 1, 2, …] (len 500), df=DataFrame(400000×5: a, b, c, …), arr=ndarray(float64, 1000×3)"
    )


def test_global_options_go_before_or_after_the_command(populated: tuple[Path, str]) -> None:
    directory, _key = populated
    before = pkcache_cmd("--dir", str(directory), "--json", "info")
    after = pkcache_cmd("info", "--dir", str(directory), "--json")
    mixed = pkcache_cmd("--json", "info", "--dir", str(directory))
    assert before.returncode == after.returncode == mixed.returncode == 0
    assert json.loads(before.stdout) == json.loads(after.stdout) == json.loads(mixed.stdout)
    verbose = pkcache_cmd("list", "--dir", str(directory), "-v")
    assert verbose.returncode == 0


@pytest.mark.parametrize("command", [["prune", "--max-age", "5"], ["clear", "--older-than", "30", "-y"]])
def test_an_age_without_a_unit_is_an_error_with_a_hint(populated: tuple[Path, str], command: list[str]) -> None:
    directory, _key = populated
    result = pkcache_cmd("--dir", str(directory), *command)
    assert result.returncode == 2
    assert "needs a unit" in result.stderr
    assert "s, " in result.stderr
    assert json.loads(pkcache_cmd("--dir", str(directory), "info", "--json").stdout)["entries"] == 5


def test_list_leaves_out_functions_with_no_entries_unless_all(populated: tuple[Path, str]) -> None:
    time.sleep(1.1)  # every entry older than a second
    directory, _key = populated
    out = pkcache_cmd("--dir", str(directory), "clear", "--function", "features", "--older-than", "1s", "-y")
    assert out.stdout.startswith("removed 3 entries")  # the entries go, the function's folder stays
    names = [row["function"] for row in json.loads(pkcache_cmd("--dir", str(directory), "list", "--json").stdout)]
    assert names == ["__main__:load"]
    everything = json.loads(pkcache_cmd("--dir", str(directory), "list", "--all", "--json").stdout)
    assert sorted(row["function"] for row in everything) == ["__main__:features", "__main__:load"]


def test_verify_shows_progress_on_a_terminal_only(populated: tuple[Path, str]) -> None:
    directory, _key = populated
    code = (
        "import os, pty, sys\n"
        "pid, fd = pty.fork()\n"
        "if pid == 0:\n"
        f"    os.execv(sys.executable, [sys.executable, '-m', 'pkcache', '--dir', {str(directory)!r}, 'verify'])\n"
        "out = b''\n"
        "while True:\n"
        "    try:\n"
        "        chunk = os.read(fd, 1024)\n"
        "    except OSError:\n"
        "        break\n"
        "    if not chunk:\n"
        "        break\n"
        "    out += chunk\n"
        "sys.stdout.write(repr(out.decode()))\n"
    )
    at_once = run_python(code, env={"PKCACHE_PROGRESS_AFTER": "0"})
    assert "verifying entries: 0 of 5" in at_once
    assert "\\x1b[K" in at_once  # the line is cleared for the summary
    assert "checked 5 entries" in at_once
    quick = run_python(code)  # done within the default second: no progress line
    assert "verifying" not in quick
    piped = subprocess.run(
        [sys.executable, "-m", "pkcache", "--dir", str(directory), "verify"],
        capture_output=True,
        text=True,
        env={**os.environ, "PKCACHE_PROGRESS_AFTER": "0"},
        check=True,
    )
    assert "verifying" not in piped.stdout + piped.stderr
    assert piped.stdout.startswith("checked 5 entries")
