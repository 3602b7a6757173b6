"""Type checkers see a cached function's own parameters and return type."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SNIPPET = textwrap.dedent(
    """
    import pkcache

    @pkcache.cached
    def load(path: str, rows: int = 10) -> list[int]:
        return []

    @pkcache.cached(ttl="1h", ignore=["verbose"])
    async def fetch(url: str, verbose: bool = False) -> bytes:
        return b""

    reveal_type(load)
    reveal_type(load("a", rows=2))
    reveal_type(load.cache_key("a"))
    reveal_type(fetch("u"))
    load(3)
    load("a", rows="many")
    load("a", colums=3)
    """
)


def test_mypy_sees_parameters_and_return_types(tmp_path: Path) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(SNIPPET)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / "mypy"),
            str(snippet),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    out = result.stdout.replace("builtins.", "")  # older mypy spells builtin types out in full
    assert "CachedFunction[[path: str, rows: int =], list[int]]" in out, out
    assert 'Revealed type is "list[int]"' in out, out
    assert 'Revealed type is "str"' in out, out
    assert "typing.Coroutine[Any, Any, bytes]" in out, out
    assert 'Argument 1 to "__call__" of "CachedFunction" has incompatible type "int"; expected "str"' in out, out
    assert 'Argument "rows" to "__call__" of "CachedFunction" has incompatible type "str"' in out, out
    assert 'Unexpected keyword argument "colums"' in out, out
    assert result.returncode == 1
