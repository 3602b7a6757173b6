"""The controls users of joblib, diskcache and cachier reach for: off switches, entries, predicates, files, logs."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import pkcache


def counting(cache: pkcache.Cache, **options: Any) -> tuple[Any, list[Any]]:
    runs: list[Any] = []

    def double(x: Any) -> Any:
        runs.append(x)
        return x * 2

    return cache.cached(double, **options), runs


# -- turning caching off ---------------------------------------------------------------


def test_disabled_turns_caching_off_for_the_process_and_back_on(cache: pkcache.Cache) -> None:
    double, runs = counting(cache)
    assert double(1) == 2
    with pkcache.disabled():
        assert [double(1), double(2)] == [2, 4]  # bodies run, nothing is read or stored
        assert not double.is_cached(2)
    assert double(1) == 2
    assert runs == [1, 1, 2]


def test_disabled_for_one_function_leaves_the_others_cached(cache: pkcache.Cache) -> None:
    double, runs = counting(cache)
    other, other_runs = counting(cache, version="other")
    double(1)
    other(1)
    with pkcache.disabled(double):
        double(1)
        other(1)
    assert runs == [1, 1]
    assert other_runs == [1]


def test_disabled_holds_in_every_thread_while_its_block_runs(cache: pkcache.Cache) -> None:
    double, runs = counting(cache)
    double(5)
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        with pkcache.disabled():
            entered.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert entered.wait(30)
    double(5)  # this thread, during another thread's block: off
    release.set()
    holder.join()
    double(5)  # the block ended: on again
    assert runs == [5, 5]


def test_the_enabled_option_and_no_cache(cache: pkcache.Cache) -> None:
    double, runs = counting(cache, enabled=False)
    assert [double(1), double(1)] == [2, 2]
    assert runs == [1, 1]
    assert cache.functions() == []
    with pytest.raises(pkcache.InvalidOptionTypeError, match="enabled"):
        cache.cached(enabled="no")(abs)  # type: ignore[call-overload]


# -- reading and writing one entry ---------------------------------------------------------


def test_entry_get_reads_a_stored_result_without_running_the_body(cache: pkcache.Cache) -> None:
    double, runs = counting(cache)
    assert double.entry(4).get() is None
    assert double.entry(4).get(default="absent") == "absent"
    double(4)
    assert double.entry(4).get() == 8
    assert double.entry(4).exists()
    assert runs == [4]
    assert double.entry(4).invalidate()
    assert double.entry(4).get("gone") == "gone"


def test_entry_put_stores_a_given_result_signed_like_any_other(cache: pkcache.Cache, cache_dir: Path) -> None:
    double, runs = counting(cache)
    double.entry(10).put(-1)
    assert double(10) == -1  # the given result, as a hit
    assert runs == []
    report = pkcache.Cache(cache_dir).verify()
    assert (report.checked, report.ok) == (1, True)
    other_key = pkcache.Cache(cache_dir, secret="a different secret, also long").cached(double.__wrapped__)
    assert other_key(10) == 20  # signed with this cache's secret: another secret refuses it


def test_entries_of_functions_whose_parameters_are_named_like_the_methods(cache: pkcache.Cache) -> None:
    @cache.cached
    def lookup(key: str, default: int = 0, value: int = 1) -> int:
        return default + value

    lookup.entry("k", default=5, value=6).put(99)
    assert lookup("k", default=5, value=6) == 99
    assert lookup.entry("k", 5, 6).get() == 99


# -- deciding what to keep -------------------------------------------------------------------


def test_store_if_decides_per_result(cache: pkcache.Cache) -> None:
    def slow_only(result: Any, seconds: float) -> bool:
        return seconds > 0.2

    @cache.cached(store_if=slow_only)
    def wait(seconds: float) -> float:
        time.sleep(seconds)
        return seconds

    wait(0.0)
    wait(0.3)
    assert not wait.is_cached(0.0)
    assert wait.is_cached(0.3)

    fetched = []

    @cache.cached(store_if=lambda result, seconds: result is not None)  # cachier's "do not cache None"
    def fetch(user: str) -> str | None:
        fetched.append(user)
        return None if user == "offline" else user.upper()

    assert [fetch("ann"), fetch("ann"), fetch("offline"), fetch("offline")] == ["ANN", "ANN", None, None]
    assert fetched == ["ann", "offline", "offline"]
    with pytest.raises(pkcache.InvalidOptionTypeError, match="store_if"):
        cache.cached(store_if=3)(abs)  # type: ignore[call-overload]


# -- files as arguments ----------------------------------------------------------------------


def test_a_files_parameter_keys_by_the_file_not_the_text_of_its_path(
    cache: pkcache.Cache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    runs: list[str] = []

    @cache.cached(files=["path"])
    def rows(path: str | os.PathLike[str]) -> int:
        runs.append(str(path))
        return len(Path(path).read_text().splitlines())

    assert [rows("data.csv"), rows("./data.csv"), rows(Path("data.csv")), rows(str(data))] == [2, 2, 2, 2]
    assert len(runs) == 1  # one file, four spellings: one key
    data.write_text("a,b\n1,2\n3,4\n")
    assert rows("data.csv") == 3  # the file changed: a miss
    assert len(runs) == 2
    with pytest.raises(FileNotFoundError):
        rows("missing.csv")  # the body's own error
    assert not rows.is_cached("missing.csv")


def test_files_by_content_and_lists_of_files(cache: pkcache.Cache, tmp_path: Path) -> None:
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("one")
    second.write_text("two")
    runs = []

    @cache.cached(files="paths", files_by="content")
    def total(paths: list[Path]) -> int:
        runs.append(1)
        return sum(len(p.read_text()) for p in paths)

    assert total([first, second]) == 6
    stat = first.stat()
    first.write_text("uno")  # same size...
    os.utime(first, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # ...and time: only the contents differ
    assert total([first, second]) == 6
    assert len(runs) == 2
    with pytest.raises(pkcache.InvalidOptionError, match="files=\\['nope'\\]"):
        cache.cached(files=["nope"])(total.__wrapped__)
    with pytest.raises(pkcache.InvalidOptionError, match="files_by"):
        cache.cached(files=["paths"], files_by="mtime")(total.__wrapped__)


# -- the cache directory ---------------------------------------------------------------------


def test_a_new_cache_directory_is_never_committed(cache: pkcache.Cache, cache_dir: Path, tmp_path: Path) -> None:
    counting(cache)[0](1)
    assert (cache_dir / ".gitignore").read_text().splitlines()[-1] == "*"
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    counting(pkcache.Cache(repo / ".cache"))[0](1)
    status = subprocess.run(
        ["git", "-C", str(repo), "status", "--porcelain"], capture_output=True, text=True, check=True
    )
    assert status.stdout == ""  # nothing of the cache shows up to commit


# -- logging -----------------------------------------------------------------------------------


def test_one_debug_line_per_call(cache: pkcache.Cache, caplog: pytest.LogCaptureFixture) -> None:
    double, _runs = counting(cache)
    key = double.cache_key(21)
    with caplog.at_level(logging.DEBUG, logger="pkcache"):
        double(21)
        double(21)
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert lines[0].startswith(f"miss tests.test_controls.counting.<locals>.double (key {key[:12]}): body ")
    assert "stored" in lines[0]
    assert lines[1].startswith(f"hit tests.test_controls.counting.<locals>.double (key {key[:12]}): ")
    assert lines[1].endswith(" bytes")
    assert len(lines) == 2


GLOBALS = textwrap.dedent(
    """
    import pkcache
    threshold = 0.5

    @pkcache.cached
    def above(x):
        return x > threshold

    above(1)
    """
)


def test_the_global_variable_warning_is_shown_once_per_function_and_cache(tmp_path: Path) -> None:
    script = tmp_path / "thresholds.py"
    script.write_text(GLOBALS)
    env = {**os.environ, "PKCACHE_DIR": str(tmp_path / "cache")}
    outputs = [
        subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, check=True).stderr
        for _ in range(2)
    ]
    assert outputs[0].count("reads the global variable(s) threshold") == 1
    assert not outputs[0].startswith("pkcache: ")  # the logger's name is the formatter's to add
    assert outputs[1] == ""  # the next run: said already, for this function and cache
    other = {**env, "PKCACHE_DIR": str(tmp_path / "other")}
    third = subprocess.run([sys.executable, str(script)], env=other, capture_output=True, text=True, check=True)
    assert "threshold" in third.stderr  # another cache: said again
