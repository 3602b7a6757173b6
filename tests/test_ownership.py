"""Never delete or write what is not pkcache's: foreign folders, foreign files, planted links."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import pkcache
from tests.helpers import run_python


def cli(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pkcache", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )


def snapshot(folder: Path) -> dict[str, tuple[int, float, bytes]]:
    """Every path under ``folder`` with its mode, mtime and contents: to show nothing changed."""
    found = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
        found[str(path.relative_to(folder))] = (info.st_mode, info.st_mtime, data)
    return found


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's project folder: what a mistyped --dir points at."""
    root = tmp_path / "myproject"
    for name, text in {"docs/index.md": "# docs\n", "src/app.py": "print('hi')\n", "README": "mine\n"}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "empty").mkdir()
    return root


@pytest.mark.parametrize(
    "command",
    [
        ["clear", "-y"],
        ["clear", "--function", "docs", "-y"],
        ["clear", "--stale", "-y"],
        ["prune"],
        ["prune", "--max-entries", "1"],
        ["verify"],
        ["list"],
        ["list", "--function", "docs"],
        ["info"],
        ["show", "ab"],
    ],
)
def test_the_cli_refuses_a_folder_that_is_not_a_cache_and_touches_nothing(project: Path, command: list[str]) -> None:
    before = snapshot(project)
    result = cli("--dir", str(project), *command)
    assert result.returncode == 2
    assert result.stderr == f"pkcache: error: {project} is not a pkcache cache directory; refusing to modify it\n"
    assert snapshot(project) == before


@pytest.mark.parametrize("method", ["clear", "prune", "verify", "functions", "entries", "stats", "doomed"])
def test_cache_methods_refuse_a_folder_that_is_not_a_cache(project: Path, method: str) -> None:
    before = snapshot(project)
    with pytest.raises(pkcache.NotACacheError, match="is not a pkcache cache directory; refusing to modify it"):
        getattr(pkcache.Cache(project), method)()
    with pytest.raises(pkcache.NotACacheError):
        pkcache.Cache(project).clear("docs")
    assert snapshot(project) == before


def test_a_cached_function_pointed_at_a_project_runs_uncached_and_writes_nothing(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    before = snapshot(project)
    runs = []

    @pkcache.cached(cache_dir=project)
    def double(x: int) -> int:
        runs.append(x)
        return 2 * x

    with caplog.at_level(logging.WARNING, logger="pkcache"):
        assert [double(1), double(1)] == [2, 2]
    assert runs == [1, 1]
    assert len(caplog.records) == 1
    assert "is not a pkcache cache directory" in caplog.text
    assert snapshot(project) == before


def test_an_empty_folder_is_adopted_as_a_cache(tmp_path: Path) -> None:
    folder = tmp_path / "new-cache"
    folder.mkdir()
    cache = pkcache.Cache(folder)
    assert cache.functions() == []
    assert os.listdir(folder) == []  # listing writes nothing
    assert cache.cached(abs)(-3) == 3
    assert (folder / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")


def populate(cache_dir: Path) -> Any:
    cache = pkcache.Cache(cache_dir)

    @cache.cached
    def square(x: int) -> int:
        return x * x

    assert [square(2), square(3)] == [4, 9]
    return square


def test_what_a_person_put_in_a_cache_is_listed_as_foreign_and_never_removed(cache_dir: Path) -> None:
    square = populate(cache_dir)
    [folder] = [p for p in cache_dir.iterdir() if p.is_dir()]
    planted = {
        cache_dir / "notes.txt": "mine",
        cache_dir / "project" / "data.csv": "a,b",  # a folder with no manifest: not a function's
        folder / "results.txt": "mine too",
        next(folder.glob("v-*")) / "extra.bin": "x",
    }
    for path, text in planted.items():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    report = pkcache.Cache(cache_dir).verify()
    assert report.ok
    assert set(report.foreign) >= {
        str(cache_dir / "notes.txt"),
        str(cache_dir / "project"),
        str(folder / "results.txt"),
    }
    text = cli("--dir", str(cache_dir), "verify").stdout
    assert f"not made by pkcache, left alone: {cache_dir / 'notes.txt'}" in text
    count, _size = pkcache.Cache(cache_dir).clear()
    assert count == 2
    for path, text in planted.items():
        assert path.read_text() == text
    assert folder.exists()  # it still holds the person's file
    assert not square.is_cached(2)


def test_clear_says_what_it_will_remove_and_asks_even_when_no_entry_is_counted(cache_dir: Path) -> None:
    square = populate(cache_dir)
    square.invalidate(2)
    square.invalidate(3)  # no entries left, but a function folder is still something to remove
    code = (
        "import os, pty, sys\n"
        "pid, fd = pty.fork()\n"
        "if pid == 0:\n"
        f"    os.execv(sys.executable, [sys.executable, '-m', 'pkcache', '--dir', {str(cache_dir)!r}, 'clear'])\n"
        "out = b''\n"
        "while b'[y/N]' not in out:\n"
        "    out += os.read(fd, 1024)\n"
        "os.write(fd, b'n\\n')\n"
        "while True:\n"
        "    try:\n"
        "        chunk = os.read(fd, 1024)\n"
        "    except OSError:\n"
        "        break\n"
        "    if not chunk:\n"
        "        break\n"
        "    out += chunk\n"
        "print(out.decode())\n"
    )
    out = run_python(code)
    assert "remove 0 entries (0 B) of 1 function (tests.test_ownership.populate.<locals>.square)" in out
    assert "and the folders of 1 function" in out
    assert "nothing removed" in out
    assert pkcache.Cache(cache_dir).matching() != {}


def test_clear_and_prune_dry_runs_remove_nothing_and_json_lists_what_went(cache_dir: Path) -> None:
    populate(cache_dir)
    before = snapshot(cache_dir)
    dry = cli("--dir", str(cache_dir), "clear", "--dry-run")
    assert dry.returncode == 0
    assert dry.stdout.startswith("would remove 2 entries")
    dry_prune = json.loads(cli("--dir", str(cache_dir), "prune", "--max-entries", "1", "--dry-run", "--json").stdout)
    assert (dry_prune["dry_run"], dry_prune["removed"], len(dry_prune["locations"])) == (True, 1, 1)
    assert snapshot(cache_dir).keys() == before.keys()
    removed = json.loads(cli("--dir", str(cache_dir), "clear", "--json", "-y").stdout)
    assert removed["removed"] == 2
    assert len(removed["entries"]) == 2
    assert all(location.endswith(".pkl") for location in removed["entries"])


def test_a_cache_path_that_is_a_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "cache"
    path.write_text("a file")
    for args, env in ((["--dir", str(path), "info"], None), (["info"], {"PKCACHE_DIR": str(path)})):
        result = cli(*args, env=env)
        assert result.returncode == 2
        assert result.stderr == f"pkcache: error: {path} is a file, not a cache directory\n"
    with caplog.at_level(logging.WARNING, logger="pkcache"):
        function = pkcache.Cache(path).cached(abs)
        assert [function(-1), function(-1)] == [1, 1]
    assert [r.getMessage() for r in caplog.records] == [
        f"cannot use the cache for builtins.abs, running uncached: {path} is a file, not a cache directory"
    ]
    assert path.read_text() == "a file"


# -- links -------------------------------------------------------------------------------


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file of the user's, outside the cache: what a planted link points at."""
    path = tmp_path / "victim.txt"
    path.write_text("precious\n")
    return path


def _function_folder(cache_dir: Path) -> Path:
    [folder] = [p for p in cache_dir.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return folder


@pytest.mark.parametrize(
    "where", ["root/.ledger", "ns/.ledger", "ns/.index", "ns/usage.log", "ns/.swept", "version/.locks"]
)
def test_a_planted_link_to_a_users_file_is_never_written_through(
    cache_dir: Path, victim: Path, where: str, caplog: pytest.LogCaptureFixture
) -> None:
    square = populate(cache_dir)
    folder = _function_folder(cache_dir)
    place = {"root": cache_dir, "ns": folder, "version": next(folder.glob("v-*"))}[where.split("/", maxsplit=1)[0]]
    link = place / where.split("/")[1]
    link.unlink(missing_ok=True)
    link.symlink_to(victim)
    other = pkcache.Cache(cache_dir)  # a new process's view: no descriptor kept from before
    function = other.cached(square.__wrapped__)
    with caplog.at_level(logging.WARNING, logger="pkcache"):
        assert [function(x) for x in range(6)] == [x * x for x in range(6)]
        function.flush_usage()
        other.prune(max_entries=1)
        other.stats()
    assert victim.read_text() == "precious\n"
    assert "symbolic link" in caplog.text


def test_a_function_or_fanout_folder_that_is_a_link_is_refused(
    cache_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    square = populate(cache_dir)
    folder = _function_folder(cache_dir)
    outside = tmp_path / "outside"
    outside.mkdir()
    version = next(folder.glob("v-*"))
    key = square.cache_key(7)
    fan = version / key[:1]
    if fan.exists():
        for item in fan.iterdir():
            item.unlink()
        fan.rmdir()
    fan.symlink_to(outside)
    fresh = pkcache.Cache(cache_dir).cached(square.__wrapped__)
    with caplog.at_level(logging.WARNING, logger="pkcache"):
        assert fresh(7) == 49
    assert list(outside.iterdir()) == []
    assert "symbolic link" in caplog.text
    # The whole function folder redirected elsewhere: refused too.
    moved = tmp_path / "moved"
    folder.rename(moved)
    folder.symlink_to(outside)
    again = pkcache.Cache(cache_dir).cached(square.__wrapped__)
    assert again(8) == 64
    assert list(outside.iterdir()) == []
    assert pkcache.Cache(cache_dir).clear() == (0, 0)  # a link is not pkcache's folder: left alone
    assert folder.is_symlink()


def test_the_cache_root_itself_may_be_a_link(tmp_path: Path) -> None:
    real = tmp_path / "big-disk" / "cache"
    link = tmp_path / "cache-link"
    link.symlink_to(real)  # to a folder not made yet
    function = pkcache.Cache(link).cached(abs)
    assert [function(-5), function(-5)] == [5, 5]
    assert link.is_symlink()
    assert (real / "CACHEDIR.TAG").exists()
    assert function.cache_info().hits == 1


def test_a_shared_directory_warning_says_what_others_can_do_and_verify_reports_it(
    cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    populate(cache_dir)
    cache_dir.chmod(0o777)
    report = pkcache.Cache(cache_dir).verify()
    [warning] = [w for w in report.warnings if "can be written" in w]
    assert "delete or replace any entry" in warning
    assert "links they plant are not followed" in warning
    assert (
        f"warning: cache directory {cache_dir} can be written by other users"
        in cli("--dir", str(cache_dir), "verify").stdout
    )
