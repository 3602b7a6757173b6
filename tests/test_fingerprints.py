"""The fingerprint table: every edit the README promises to see, checked as a user would.

Each row writes real files, runs a fresh interpreter, edits a file, and runs another:
the body runs again exactly when the row says the edit is a miss. Then in-process
changes: a notebook cell redefining a helper and IPython's autoreload, in a real kernel.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import python_path

ROOT = Path(__file__).resolve().parent.parent


@dataclasses.dataclass
class Edit:
    file: str
    old: str
    new: str
    miss: bool  # True: the edit must make old results misses; False: they must stay hits


@dataclasses.dataclass
class Row:
    files: dict[str, str]
    edits: list[Edit]
    call: str = "from app.mod import f\nprint(f(2))"
    script: str | None = None  # run this file as __main__ instead of ``call``


RUNS = "open(__import__('os').environ['RUNS_FILE'], 'a').write('run\\n')"

PLAIN = {
    "app/__init__.py": "",
    "app/mod.py": f"""
        import pkcache

        def helper(v):
            return v * 10

        def inner_helper(v):
            return v + 1

        def chained(v):
            return inner_helper(v) * 2

        def unrelated():
            return "never called"

        @pkcache.cached
        def f(x, y=3):
            {RUNS}
            def nested(v):
                return v - 1
            return helper(x) + chained(y) + nested(0) + sum(map(helper, [x]))
        """,
}

ROWS: dict[str, Row] = {
    "body edit": Row(PLAIN, [Edit("app/mod.py", "+ nested(0)", "+ nested(1)", miss=True)]),
    "comment, blank lines and reformatting": Row(
        PLAIN,
        [
            Edit("app/mod.py", "import pkcache\n", "import pkcache\n\n\n# a comment\n\n", miss=False),
            Edit("app/mod.py", "return v * 10", "return v  *  10  # why", miss=False),
        ],
    ),
    "moving the function in its file": Row(
        PLAIN, [Edit("app/mod.py", 'return "never called"', 'return "never called"\n\n\n\n\n', miss=False)]
    ),
    "reverting an edit": Row(
        PLAIN,
        [
            Edit("app/mod.py", "+ nested(0)", "+ nested(5)", miss=True),
            Edit("app/mod.py", "+ nested(5)", "+ nested(0)", miss=False),
        ],
    ),
    "a helper called by name": Row(PLAIN, [Edit("app/mod.py", "return v * 10", "return v * 11", miss=True)]),
    "a helper of a helper": Row(PLAIN, [Edit("app/mod.py", "return v + 1", "return v + 2", miss=True)]),
    "a function that is not called": Row(
        PLAIN, [Edit("app/mod.py", 'return "never called"', 'return "still not"', miss=False)]
    ),
    "a nested function": Row(PLAIN, [Edit("app/mod.py", "return v - 1", "return v - 2", miss=True)]),
    "a default value": Row(PLAIN, [Edit("app/mod.py", "def f(x, y=3)", "def f(x, y=4)", miss=True)]),
    "version=": Row(PLAIN, [Edit("app/mod.py", "@pkcache.cached\n", "@pkcache.cached(version=2)\n", miss=True)]),
    "depends_on a function of another package": Row(
        {
            "other/__init__.py": "def weight():\n    return 2\n",
            "app/__init__.py": "",
            "app/mod.py": f"""
                import pkcache
                import other

                @pkcache.cached(depends_on=[other.weight])
                def f(x):
                    {RUNS}
                    return x * other.weight()
                """,
        },
        [Edit("other/__init__.py", "return 2", "return 3", miss=True)],
    ),
    "a closure value made by a factory": Row(
        {
            "app/__init__.py": "",
            "app/mod.py": f"""
                import pkcache

                def make(power):
                    @pkcache.cached
                    def f(x):
                        {RUNS}
                        return x ** power
                    return f

                f = make(2)
                """,
        },
        [Edit("app/mod.py", "f = make(2)", "f = make(3)", miss=True)],
    ),
    "a lambda captured by a closure": Row(
        {
            "app/__init__.py": "",
            "app/mod.py": f"""
                import pkcache

                def make():
                    transform = lambda v: v * 2
                    @pkcache.cached
                    def f(x):
                        {RUNS}
                        return transform(x)
                    return f

                f = make()
                """,
        },
        [Edit("app/mod.py", "v * 2", "v * 3", miss=True)],
    ),
    "under a functools.wraps decorator of another package": Row(
        {
            "tools/__init__.py": """
                import functools, time

                def timed(func):
                    @functools.wraps(func)
                    def wrapper(*args, **kwargs):
                        start = time.perf_counter()
                        result = func(*args, **kwargs)
                        wrapper.seconds = time.perf_counter() - start
                        return result
                    return wrapper
                """,
            "app/__init__.py": "",
            "app/mod.py": f"""
                import pkcache
                from tools import timed

                @pkcache.cached
                @timed
                def f(x):
                    {RUNS}
                    return x * 2
                """,
        },
        [
            Edit("app/mod.py", "return x * 2", "return x * 5", miss=True),
            Edit("tools/__init__.py", "= func(*args, **kwargs)", "= 1 + func(*args, **kwargs)", miss=True),
        ],
    ),
    "on top of functools.lru_cache": Row(
        {
            "app/__init__.py": "",
            "app/mod.py": f"""
                import functools
                import pkcache

                @pkcache.cached
                @functools.lru_cache(maxsize=None)
                def f(x):
                    {RUNS}
                    return x * 2
                """,
        },
        [Edit("app/mod.py", "return x * 2", "return x * 7", miss=True)],
    ),
    "a helper wrapped by two decorators": Row(
        {
            "app/__init__.py": "",
            "app/mod.py": f"""
                import functools
                import pkcache

                def logged(func):
                    @functools.wraps(func)
                    def wrapper(*args):
                        return func(*args)
                    return wrapper

                @logged
                @functools.lru_cache(maxsize=None)
                def helper(v):
                    return v * 10

                @pkcache.cached
                def f(x):
                    {RUNS}
                    return helper(x)
                """,
        },
        [Edit("app/mod.py", "return v * 10", "return v * 11", miss=True)],
    ),
    "a helper of another package passed as a default": Row(
        {
            "other/__init__.py": "def helper(v):\n    return v * 10\n",
            "app/__init__.py": "",
            "app/mod.py": f"""
                import pkcache
                from other import helper

                @pkcache.cached
                def f(x, fn=helper):
                    {RUNS}
                    return fn(x)
                """,
        },
        [Edit("other/__init__.py", "return v * 10", "return v * 12", miss=True)],
    ),
    "an ignored lambda default": Row(
        {
            "app/__init__.py": "",
            "app/mod.py": f"""
                import pkcache

                @pkcache.cached(ignore=["transform"])
                def f(x, transform=lambda v: v + 1):
                    {RUNS}
                    return transform(x)
                """,
        },
        [Edit("app/mod.py", "lambda v: v + 1", "lambda v: v + 2", miss=True)],
    ),
    "a script run as __main__": Row(
        {
            "train.py": f"""
                import pkcache

                def helper(v):
                    return v * 10

                @pkcache.cached
                def f(x):
                    {RUNS}
                    return helper(x)

                print(f(2))
                """,
        },
        [
            Edit("train.py", "return v * 10", "return v * 20", miss=True),
            Edit("train.py", "import pkcache\n", "import pkcache\n# moved down\n\n", miss=False),
        ],
        script="train.py",
    ),
}


class Project:
    """Files on disk, edited between runs of fresh interpreters."""

    def __init__(self, root: Path, row: Row) -> None:
        self.root = root
        self.row = row
        self.runs = root / "runs.txt"
        for name, source in row.files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source))

    def edit(self, edit: Edit) -> None:
        path = self.root / edit.file
        source = path.read_text()
        assert edit.old in source, f"{edit.old!r} not in {edit.file}"
        path.write_text(source.replace(edit.old, edit.new, 1))

    def body_runs(self) -> int:
        return len(self.runs.read_text().split()) if self.runs.exists() else 0

    def run(self) -> int:
        """Run the row's call in a new interpreter; return how many bodies ran in it."""
        before = self.body_runs()
        command = [sys.executable, self.row.script] if self.row.script else [sys.executable, "-c", self.row.call]
        env = {**os.environ, "PYTHONPATH": python_path(self.root), "RUNS_FILE": str(self.runs)}
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        result = subprocess.run(
            command, cwd=self.root, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stderr
        return self.body_runs() - before


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_fingerprint_table(row: Row, tmp_path: Path) -> None:
    project = Project(tmp_path, row)
    assert project.run() == 1
    assert project.run() == 0
    for edit in row.edits:
        project.edit(edit)
        assert project.run() == (1 if edit.miss else 0), f"after {edit}"
        assert project.run() == 0


def test_autoreload_style_code_replacement_is_seen_at_the_next_call(tmp_path: Path) -> None:
    import pkcache

    cache = pkcache.Cache(tmp_path / "cache")
    runs: list[int] = []

    def helper(v: int) -> int:
        return v * 10

    def edited(v: int) -> int:
        return v * 20

    @cache.cached
    def f(x: int) -> int:
        runs.append(x)
        return helper(x)

    assert f(1) == f(1) == 10
    helper.__code__ = edited.__code__  # what IPython's autoreload does to a function in place
    assert f(1) == 20
    assert f(1) == 20
    assert runs == [1, 1]


nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")


def run_notebook(cells: list[str], folder: Path) -> list[str]:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(textwrap.dedent(source)) for source in cells]
    client = nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute()
    return ["".join(o.get("text", "") for o in cell.outputs) for cell in notebook.cells]


def test_a_notebook_cell_redefining_a_helper_makes_results_misses_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JPY_SESSION_NAME", "helpers.ipynb")
    cells = [
        "import pkcache\ndef helper(v):\n    return v * 10",
        "@pkcache.cached\ndef f(x):\n    print('computing')\n    return helper(x)",
        "print('f ->', f(2))",
        "def helper(v):\n    return v * 100",
        "print('f ->', f(2))",
    ]
    first = run_notebook(cells, tmp_path)
    assert first[2] == "computing\nf -> 20\n"
    assert first[4] == "computing\nf -> 200\n"  # redefined in another cell: a miss at once
    # After a restart, the new helper's result was filed under the new helper's version.
    restarted = run_notebook([cells[0].replace("v * 10", "v * 100"), cells[1], cells[2]], tmp_path)
    assert restarted[2] == "f -> 200\n"
    original = run_notebook(cells[:3], tmp_path)
    assert original[2] == "f -> 20\n"


def test_autoreload_in_a_real_kernel_makes_results_misses(tmp_path: Path) -> None:
    (tmp_path / "reloaded.py").write_text(
        "import pkcache\n\n"
        "def helper(v):\n    return v * 10\n\n"
        "@pkcache.cached\ndef f(x):\n    print('computing')\n    return helper(x)\n"
    )
    cells = [
        "%load_ext autoreload\n%autoreload 2\nimport sys\nsys.path.insert(0, '.')\nimport reloaded",
        "print('f ->', reloaded.f(2))",
        "from pathlib import Path\nsource = Path('reloaded.py').read_text()\n"
        "Path('reloaded.py').write_text(source.replace('v * 10', 'v * 30'))",
        "print('f ->', reloaded.f(2))",
        "print('f ->', reloaded.f(2))",
    ]
    out = run_notebook(cells, tmp_path)
    assert out[1] == "computing\nf -> 20\n"
    assert out[3] == "computing\nf -> 60\n"
    assert out[4] == "f -> 60\n"


SPAWNED = """
import multiprocessing, os, sys
import pkcache

@pkcache.cached
def square(x):
    open(os.environ["RUNS_FILE"], "a").write("run\\n")
    return x * x

if __name__ == "__main__":
    method = sys.argv[1]
    if method != "none":
        with multiprocessing.get_context(method).Pool(2) as pool:
            print(sum(pool.map(square, range(6))))
    print(sum(square(x) for x in range(6)))
"""


@pytest.mark.parametrize("method", ["spawn", "forkserver", "fork"])
def test_a_scripts_function_has_one_name_in_workers_and_parent(method: str, tmp_path: Path) -> None:
    script = tmp_path / "pooled.py"
    script.write_text(SPAWNED)
    runs = tmp_path / "runs.txt"
    env = {**os.environ, "RUNS_FILE": str(runs)}
    command = [sys.executable, str(script)]
    out = subprocess.run([*command, method], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["55", "55"]
    assert len(runs.read_text().split()) == 6  # computed by the workers only: the parent hit every key
    again = subprocess.run([*command, "none"], env=env, capture_output=True, text=True, timeout=60, check=True)
    assert again.stdout.split() == ["55"]
    assert len(runs.read_text().split()) == 6
