"""Notebooks, executed in a real IPython kernel with nbclient: restarts, redefinitions, magics."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

CELLS = [
    "%load_ext pkcache\nimport pkcache",
    "@pkcache.cached\ndef load(x):\n    print('computing load')\n    return x * 2",
    "print('load ->', load(21))",
    "n = 3",
    "%%pkcache a b --depends n\nprint('running cell')\na = n * 10\nb = [n] * n",
    "print('a, b ->', a, b)",
    "%pkcache list",
    "%pkcache info",
]


def run(cells: list[str], tmp_path: Path) -> list[str]:
    """Execute the cells in a new kernel (a restart, each time); return each cell's text output."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    client = nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    texts = []
    for cell in notebook.cells:
        parts = []
        for output in cell.outputs:
            if "text" in output:
                parts.append(output["text"])
            for kind in ("text/html", "text/plain"):
                if kind in output.get("data", {}):
                    parts.append(output["data"][kind])
        texts.append("".join(parts))
    return texts


@pytest.fixture
def notebook_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JPY_SESSION_NAME", "analysis.ipynb")


def edited(old: str, new: str, cells: list[str] = CELLS) -> list[str]:
    changed = [cell.replace(old, new) for cell in cells]
    assert changed != cells
    return changed


def test_results_survive_a_kernel_restart_and_edits_are_misses(notebook_env: Any, tmp_path: Path) -> None:
    first = run(CELLS, tmp_path)
    assert "computing load" in first[2]
    assert "load -> 42" in first[2]
    assert "running cell" in first[4]
    assert "a, b -> 30 [3, 3, 3]" in first[5]
    assert "<table>" in first[6]
    assert "analysis.ipynb:load" in first[6]  # named after the notebook, not the kernel's temp file

    second = run(CELLS, tmp_path)
    assert "computing load" not in second[2]
    assert "load -> 42" in second[2]
    assert "running cell" not in second[4]
    assert "restored a, b from cache (saved" in second[4]
    assert "a, b -> 30 [3, 3, 3]" in second[5]
    assert "hits" in second[7]

    body_edited = run(edited("return x * 2", "return x * 3"), tmp_path)
    assert "computing load" in body_edited[2]
    assert "load -> 63" in body_edited[2]

    moved = run(edited("@pkcache.cached\n", "\n\n# a comment\n@pkcache.cached\n"), tmp_path)
    assert "computing load" not in moved[2]

    cell_edited = run(edited("a = n * 10", "a = n * 11"), tmp_path)
    assert "running cell" in cell_edited[4]
    assert "a, b -> 33 [3, 3, 3]" in cell_edited[5]

    depends_changed = run(edited("n = 3", "n = 4"), tmp_path)
    assert "running cell" in depends_changed[4]
    assert "a, b -> 40 [4, 4, 4, 4]" in depends_changed[5]


def test_redefinition_in_the_same_kernel_and_the_global_trap(notebook_env: Any, tmp_path: Path) -> None:
    outputs = run(
        [
            "import pkcache",
            "@pkcache.cached\ndef f(x):\n    print('computing f')\n    return x + 1",
            "print(f(1), f(1))",
            "@pkcache.cached\ndef f(x):\n    print('computing f')\n    return x + 2",
            "print(f(1))",
            "@pkcache.cached\ndef f(x):\n    print('computing f')\n    return x + 2",
            "print(f(1))",
            "threshold = 0.5\n@pkcache.cached\ndef g(x):\n    return x > threshold\nprint(g(1))",
            "%load_ext pkcache\n%pkcache clear f --older-than 1h",
            "%pkcache clear f",
            "print('still cached:', f.is_cached(1))",
        ],
        tmp_path,
    )
    assert outputs[2].count("computing f") == 1
    assert "computing f\n3" in outputs[4]  # changed body: a miss at once
    assert "computing f" not in outputs[6]  # same body re-run: a hit
    assert "reads the global variable(s) threshold" in outputs[7]
    assert "nothing to remove" in outputs[8]  # nothing older than an hour
    assert "removed 2 entries" in outputs[9]  # both versions of f's body
    assert "still cached: False" in outputs[10]


def test_cache_info_and_tables_render_as_html_and_text() -> None:
    from pkcache import CacheInfo
    from pkcache._table import Table

    info = CacheInfo(3, 1, 2, 2048, stale=1, total_hits=10, total_misses=2)
    assert "<table>" in info._repr_html_()
    assert "hit rate" in info._repr_html_()
    assert "hits=3" in repr(info)
    table = Table([["A", "B"], ["x<y", "1"]])
    assert "<td>x&lt;y</td>" in table._repr_html_()
    assert str(table).splitlines() == ["A    B", "x<y  1"]


def test_import_pkcache_does_not_import_ipython_and_the_extension_says_what_it_needs() -> None:
    code = (
        "import sys, pkcache\n"
        "assert 'IPython' not in sys.modules, 'import pkcache imported IPython'\n"
        "sys.modules['IPython'] = None  # as if it were not installed\n"
        "try:\n"
        "    pkcache.load_ipython_extension(object())\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "needs IPython: pip install ipython" in out


def test_the_example_notebook_runs(notebook_env: Any, tmp_path: Path) -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "notebook.ipynb"
    notebook = nbformat.read(example, as_version=4)
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    text = "".join(o.get("text", "") for cell in notebook.cells for o in cell.get("outputs", []))
    assert "restored" in text
