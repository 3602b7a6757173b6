"""Function names and code fingerprints: what the code does, not where it sits."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from pkcache._keys.fingerprint import fingerprint
from pkcache._keys.identity import folder_name, function_name


def code_fingerprint(func: Any) -> str:
    """Everything a key takes from the function: its code version and its captured data."""
    found = fingerprint(func)
    return found.code + found.values.hex()


def define(source: str, name: str = "f", filename: str = "mod.py") -> Any:
    namespace: dict[str, Any] = {"__name__": "mod"}
    exec(compile(textwrap.dedent(source), filename, "exec"), namespace)
    return namespace[name]


BASE = """
def f(x, y=2):
    total = x + y
    return {"total": total, "tags": {"a", "b"}}
"""


def test_comments_blank_lines_moves_and_whitespace_keep_the_fingerprint() -> None:
    base = code_fingerprint(define(BASE))
    moved = "\n\n\n# a comment above\n\n" + BASE
    inline_comment = BASE.replace("    total = x + y", "    # explain\n    total = x + y  # why")
    reformatted = BASE.replace("x + y", "x  +  y").replace('{"total": total', '{ "total" : total')
    for variant in (moved, inline_comment, reformatted):
        assert code_fingerprint(define(variant, filename="other.py")) == base


def test_body_edits_change_the_fingerprint() -> None:
    base = code_fingerprint(define(BASE))
    for edit in (BASE.replace("x + y", "x - y"), BASE.replace('"a"', '"c"'), BASE.replace("y=2", "y=3")):
        assert code_fingerprint(define(edit)) != base


def test_nested_functions_are_part_of_the_fingerprint() -> None:
    source = """
    def f(x):
        def inner(v):
            return v * 2
        return inner(x)
    """
    assert code_fingerprint(define(source)) != code_fingerprint(define(source.replace("v * 2", "v * 3")))


def test_set_constants_fingerprint_alike_under_any_hash_seed() -> None:
    code = textwrap.dedent(
        """
        import pkcache
        @pkcache.cached
        def f(x):
            return x in {"alpha", "beta", "gamma", "delta"}
        print(f.cache_key(1))
        """
    )
    prints = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": s},
        ).stdout
        for s in ("1", "2", "3")
    }
    assert len(prints) == 1


def test_function_names() -> None:
    assert function_name(test_function_names) == f"{__name__}.test_function_names"
    assert function_name(define(BASE)) == "mod.f"


def test_script_functions_are_named_by_file_name_not_folder(tmp_path: Path) -> None:
    names = set()
    for folder in ("a", "b"):
        script = tmp_path / folder / "train.py"
        script.parent.mkdir()
        script.write_text("import pkcache\n@pkcache.cached\ndef fit(): pass\nprint(fit.name)\n")
        names.add(subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True).stdout)
    assert names == {"train.py:fit\n"}


def test_folder_names_are_readable_safe_and_distinct() -> None:
    one = folder_name("pkg.data.load")
    assert one.startswith("pkg.data.load-")
    assert folder_name("train.py:A.<locals>.f").startswith("train.py_A._locals_.f-")
    assert folder_name("a/b") != folder_name("a_b")
    assert "/" not in folder_name("../../etc")
