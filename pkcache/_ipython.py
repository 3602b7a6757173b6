"""``%load_ext pkcache``: the ``%pkcache`` line magic and the ``%%pkcache`` cell magic.

IPython is imported here only, and this module only by ``%load_ext pkcache``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import time
from typing import Any

try:
    from IPython.core.magic import Magics, line_cell_magic, magics_class
except ImportError as exc:  # pragma: no cover - exercised through load_ipython_extension
    raise ImportError("pkcache's notebook extension needs IPython: pip install ipython") from exc

from ._api import default_cache
from ._cli.main import main as cli_main
from ._cli.tables import entries_table, functions_table, info_table
from ._units import format_age


def _run_cell(
    source: str, names: tuple[str, ...], depends: dict[str, Any], notebook: str, shell: Any
) -> dict[str, Any]:
    """Run a cell in the user's namespace and return the variables it was asked to keep."""
    result = shell.run_cell(source, store_history=False)
    result.raise_error()  # an error in the cell propagates, and nothing is stored
    missing = [name for name in names if name not in shell.user_ns]
    if missing:
        raise NameError(f"the cell did not define {', '.join(missing)}")
    return {name: shell.user_ns[name] for name in names}


def _cell_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="%%pkcache", add_help=False, exit_on_error=False)
    parser.add_argument("names", nargs="+")
    parser.add_argument("--depends", nargs="+", default=[])
    return parser


@magics_class
class PkcacheMagics(Magics):
    """``%pkcache`` mirrors the ``pkcache`` command; ``%%pkcache a b`` caches a cell's variables."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)  # type: ignore[no-untyped-call]  # IPython leaves it untyped
        self._cell = default_cache().cached(ignore=["shell"])(_run_cell)

    @line_cell_magic  # type: ignore[untyped-decorator]
    def pkcache(self, line: str, cell: str | None = None) -> Any:
        """%pkcache info | list [FUNCTION] | clear [FUNCTION] [--older-than AGE] | ... (as the pkcache CLI).

        %%pkcache NAME [NAME ...] [--depends VAR ...]: run the cell once; while its source
        and the VARs are unchanged, later runs restore the NAMEs instead of running it.
        """
        if cell is not None:
            self._cached_cell(line, cell)
            return None
        argv = shlex.split(line)
        cache = default_cache()
        if argv == ["info"]:
            return info_table(cache)
        if argv and argv[0] == "list" and len(argv) <= 2:
            return entries_table(cache, argv[1]) if len(argv) == 2 else functions_table(cache)
        if argv and argv[0] == "clear":
            rest = argv[1:]
            if rest and not rest[0].startswith("-"):
                rest = ["--function", rest[0], *rest[1:]]
            argv = ["clear", *rest, "--yes"]
        where = ["--dir", str(cache.directory)] if cache.directory is not None else ["--url", str(cache.url)]
        cli_main([*where, *argv])
        return None

    def _cached_cell(self, line: str, cell: str) -> None:
        try:
            args = _cell_parser().parse_args(shlex.split(line))
        except (argparse.ArgumentError, SystemExit) as exc:
            raise ValueError("usage: %%pkcache NAME [NAME ...] [--depends VAR ...]") from exc
        shell = self.shell
        assert shell is not None, "a magic always runs in a shell"
        user_ns = shell.user_ns
        missing = [name for name in args.depends if name not in user_ns]
        if missing:
            raise NameError(f"--depends names undefined variable(s): {', '.join(missing)}")
        depends = {name: user_ns[name] for name in args.depends}
        call = (cell, tuple(args.names), depends, os.environ.get("JPY_SESSION_NAME", ""), shell)
        if self._cell.is_cached(*call):
            meta = default_cache().describe(self._cell.cache_key(*call))
            user_ns.update(self._cell(*call))
            saved = format_age(time.time() - float(meta.get("created", time.time())))
            ran = format_age(float(meta.get("compute_seconds", 0.0)))
            print(f"restored {', '.join(args.names)} from cache (saved {saved} ago, ran {ran})")
            return
        user_ns.update(self._cell(*call))


def load_ipython_extension(ipython: Any) -> None:
    ipython.register_magics(PkcacheMagics(ipython))
