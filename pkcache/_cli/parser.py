"""The ``pkcache`` command's arguments: commands, options, and values checked as they are parsed."""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from .._errors import PkcacheError
from .._housekeeping.policies import POLICIES
from .._store.open import URL_ENV
from .._units import parse_age, parse_size


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, no usage dump: the message says what to fix.
        self.exit(2, f"pkcache: error: {message}\n")


def _age_arg(text: str) -> float:
    if text.strip().replace(".", "", 1).isdigit():
        number = text.strip()
        raise argparse.ArgumentTypeError(
            f"AGE {text!r} needs a unit: {number}s, {number}m, {number}h or {number}d (seconds, minutes, hours, days)"
        )
    try:
        return parse_age(text, option="AGE")
    except PkcacheError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _size_arg(text: str) -> int:
    try:
        return parse_size(text, option="SIZE")
    except PkcacheError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _count_arg(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"N must be a whole number of entries >= 1, got {text!r}")
    return int(text)


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The options every command takes, before or after its name (after it, they do not override)."""
    default: Any = argparse.SUPPRESS if suppress else None
    parser.add_argument("--dir", metavar="DIR", default=default, help="cache directory (default: $PKCACHE_DIR or ~)")
    parser.add_argument(
        "--url",
        metavar="URL",
        default=default,
        help=f"a Redis or object store: redis://host:port/db or s3://bucket/prefix (${URL_ENV})",
    )
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS if suppress else False, help="JSON")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="log what pkcache does (the pkcache logger at DEBUG) on standard error",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pkcache", description="Inspect and manage a pkcache cache directory or Redis store.")
    _global_options(parser, suppress=False)
    parser.add_argument("--version", action="version", version=f"pkcache {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    def command(name: str, text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text)
        _global_options(sub, suppress=True)
        return sub

    command("path", "print the cache directory (or the store's URL)")
    listing = command("list", "one row per function, or the entries of one function")
    listing.add_argument("--function", metavar="NAME", help="list this function's entries (name, last part, or glob)")
    listing.add_argument("--all", action="store_true", help="also functions with no stored results")
    command("info", "totals for the whole cache")
    show = command("show", "an entry's metadata (never unpickles it)")
    show.add_argument("key", metavar="KEY", help="the entry's key, or a unique prefix of it")
    clear = command("clear", "remove stored results")
    clear.add_argument("--function", metavar="NAME", help="only this function's results")
    clear.add_argument("--older-than", metavar="AGE", type=_age_arg, help="only results older than AGE (30s, 15m, 2h)")
    clear.add_argument("--stale", action="store_true", help="only results of old code versions, and expired ones")
    clear.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    clear.add_argument("--dry-run", action="store_true", help="say what would be removed; remove nothing")
    prune = command("prune", "enforce limits now (recorded ones, or those given)")
    prune.add_argument("--max-size", metavar="SIZE", type=_size_arg, help="keep at most SIZE bytes (500MB, 2GiB)")
    prune.add_argument("--max-entries", metavar="N", type=_count_arg, help="keep at most N entries")
    prune.add_argument("--max-age", metavar="AGE", type=_age_arg, help="remove entries older than AGE")
    prune.add_argument("--policy", choices=sorted(POLICIES), help="what goes first (default lru)")
    prune.add_argument("--function", metavar="NAME", help="apply to this function's entries only")
    prune.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    prune.add_argument("--dry-run", action="store_true", help="say what would be removed; remove nothing")
    command("verify", "check every entry; remove corrupt or altered ones (exit 1 if any)")
    return parser


def _version() -> str:
    from .._version import __version__

    return __version__
