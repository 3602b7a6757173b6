"""Every Python block of the README and the docs runs, as a reader would paste it, in a fresh interpreter.

The blocks of one page run in order in one interpreter (a later block may use an earlier
one's names), in a scratch directory with its own cache. A block that cannot run here
is marked on the line before it with ``<!-- not-run: the reason -->``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import python_path

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"(?:<!-- not-run: (?P<reason>[^>]*?) -->\n)?```python\n(?P<code>.*?)```", re.DOTALL)

_RUNNER = """
import json, sys, traceback
for line, code in json.loads(sys.stdin.read()):
    try:
        exec(compile(code, f"<block at line {line}>", "exec"), globals())
    except BaseException:
        traceback.print_exc()
        sys.exit(f"the block at line {line} failed")
"""


def _blocks(page: Path) -> list[tuple[int, str, str | None]]:
    text = page.read_text()
    return [
        (text.count("\n", 0, m.start("code")) + 1, m.group("code"), m.group("reason")) for m in _BLOCK.finditer(text)
    ]


def test_every_page_is_seen() -> None:
    names = {p.name for p in PAGES}
    assert {"README.md", "usage.md", "architecture.md", "index.md"} <= names
    assert sum(len(_blocks(p)) for p in PAGES) >= 5


def test_a_block_marked_not_runnable_says_why() -> None:
    unexplained = [
        f"{page.name}:{line}"
        for page in PAGES
        for line, _code, reason in _blocks(page)
        if reason is not None and len(reason.split()) < 3
    ]
    assert unexplained == []


@pytest.mark.parametrize(
    "page", [p for p in PAGES if any(reason is None for *_, reason in _blocks(p))], ids=lambda p: p.name
)
def test_the_python_blocks_of_a_page_run(page: Path, tmp_path: Path) -> None:
    runnable = [(line, code) for line, code, reason in _blocks(page) if reason is None]
    env = {**os.environ, "PYTHONPATH": python_path(ROOT)}
    env["PKCACHE_DIR"] = str(tmp_path / "cache")
    env["PKCACHE_SECRET"] = "docs-test-secret-0123456789"
    result = subprocess.run(
        [sys.executable, "-c", _RUNNER],
        input=json.dumps(runnable),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"{page.name}: {result.stderr[-3000:]}"
