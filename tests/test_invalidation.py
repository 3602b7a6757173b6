"""Editing code makes old results misses; moving it, commenting it or reverting does not."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import python_path, run_python

MODULE = textwrap.dedent(
    """
    import os
    import pkcache

    def scale(x):
        return x * 10

    def unrelated():
        return "not called"

    @pkcache.cached
    def compute(x):
        with open(os.environ["RUNS_FILE"], "a") as f:
            f.write("run\\n")
        return scale(x) + 1
    """
)


class Project:
    """A module on disk, edited between runs of fresh interpreters."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / "editable_mod.py"
        self.runs = root / "runs.txt"
        self.write(MODULE)

    def write(self, source: str) -> None:
        self.path.write_text(source)

    def edit(self, old: str, new: str) -> None:
        source = self.path.read_text()
        assert old in source
        self.write(source.replace(old, new))

    def call(self, code: str = "print(compute(4))") -> tuple[str, int]:
        """Run ``code`` in a new interpreter; return its output and how many bodies ran in it."""
        before = self.body_runs()
        out = run_python(
            "from editable_mod import *\n" + code,
            env={"PYTHONPATH": python_path(self.root), "RUNS_FILE": str(self.runs), "PYTHONDONTWRITEBYTECODE": "1"},
        )
        return out.strip(), self.body_runs() - before

    def body_runs(self) -> int:
        return len(self.runs.read_text().split()) if self.runs.exists() else 0


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


def test_body_edit_is_a_miss_in_the_next_process(project: Project) -> None:
    assert project.call() == ("41", 1)
    assert project.call() == ("41", 0)
    project.edit("return scale(x) + 1", "return scale(x) + 2")
    assert project.call() == ("42", 1)


def test_comments_blank_lines_and_moves_are_hits(project: Project) -> None:
    assert project.call() == ("41", 1)
    project.edit("import pkcache\n", "import pkcache\n\n\n# a comment above everything\n\n")
    assert project.call() == ("41", 0)
    project.edit("    return scale(x) + 1", "    # why we add one\n    return scale(x)  +  1")
    assert project.call() == ("41", 0)
    source = project.path.read_text()
    function = source[source.index("@pkcache.cached") :]
    project.write(source.replace(function, "") + "\n\ndef later():\n    return 0\n\n\n" + function)
    assert project.call() == ("41", 0)


def test_reverting_an_edit_brings_old_results_back(project: Project) -> None:
    assert project.call() == ("41", 1)
    project.edit("+ 1", "+ 5")
    assert project.call() == ("45", 1)
    project.edit("+ 5", "+ 1")
    assert project.call() == ("41", 0)


def test_helpers_called_by_name_are_tracked(project: Project) -> None:
    assert project.call() == ("41", 1)
    project.edit('return "not called"', 'return "still not called"')
    assert project.call() == ("41", 0)  # a function compute never calls
    project.edit("return x * 10", "return x * 100")
    assert project.call() == ("401", 1)


def test_depends_on_tracks_other_packages(project: Project) -> None:
    (project.root / "other_pkg.py").write_text("def weight():\n    return 2\n")
    project.edit("import pkcache\n", "import pkcache\nimport other_pkg\n")
    project.edit("@pkcache.cached\n", "@pkcache.cached(depends_on=[other_pkg.weight])\n")
    project.edit("return scale(x) + 1", "return scale(x) + other_pkg.weight()")
    assert project.call() == ("42", 1)
    assert project.call() == ("42", 0)
    (project.root / "other_pkg.py").write_text("def weight():\n    return 3\n")
    assert project.call() == ("43", 1)


def test_old_versions_show_as_stale_and_clear_stale_removes_them(project: Project, tmp_path: Path) -> None:
    project.call()
    project.call("print(compute(5))")
    project.edit("+ 1", "+ 9")
    project.call()
    cache_dir = run_python("import pkcache; print(pkcache.Cache().directory)").strip()
    command = [sys.executable, "-m", "pkcache", "--dir", cache_dir]
    listing = json.loads(
        subprocess.run([*command, "list", "--json"], capture_output=True, text=True, check=True).stdout
    )
    (row,) = listing
    assert (row["function"], row["entries"], row["stale"]) == ("editable_mod.compute", 3, 2)
    cleared = subprocess.run([*command, "clear", "--stale", "--yes"], capture_output=True, text=True, check=True)
    assert cleared.stdout.startswith("removed 2 entries")
    assert project.call() == ("49", 0)


def test_notebook_style_redefinition_is_a_miss_at_once(cache_dir: Path) -> None:
    import pkcache

    cache = pkcache.Cache(cache_dir)
    namespace: dict[str, object] = {"cache": cache}
    cell = "@cache.cached\ndef load(x):\n    return x + {n}\n"
    exec(compile(cell.format(n=1), "<cell-1>", "exec"), namespace)
    assert namespace["load"](1) == 2  # type: ignore[operator]
    exec(compile(cell.format(n=2), "<cell-2>", "exec"), namespace)
    assert namespace["load"](1) == 3  # type: ignore[operator]
    exec(compile("\n\n" + cell.format(n=1), "<cell-3>", "exec"), namespace)
    assert namespace["load"].is_cached(1)  # type: ignore[attr-defined]
