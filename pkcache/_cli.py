"""The ``pkcache`` command: argument parsing and printing over the public API, nothing more."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from ._cache import Cache
from ._errors import PkcacheError
from ._location import URL_ENV, default_directory, is_url
from ._policies import POLICIES
from ._tables import ago, arguments_of, entries_table, functions_table, info_table
from ._units import format_size, parse_age, parse_size


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, no usage dump: the message says what to fix.
        self.exit(2, f"pkcache: error: {message}\n")


def _age_arg(text: str) -> float:
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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pkcache", description="Inspect and manage a pkcache cache directory or Redis store.")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--dir", metavar="DIR", help="cache directory (default: $PKCACHE_DIR or the user cache folder)")
    where.add_argument("--url", metavar="URL", help=f"Redis store, redis://host:port/db (default: ${URL_ENV})")
    parser.add_argument("--version", action="version", version=f"pkcache {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    commands.add_parser("path", help="print the cache directory (or Redis URL)")
    listing = commands.add_parser("list", help="one row per function, or the entries of one function")
    listing.add_argument("--function", metavar="NAME", help="list this function's entries (name, last part, or glob)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    info = commands.add_parser("info", help="totals for the whole cache")
    info.add_argument("--json", action="store_true", help="print JSON")
    show = commands.add_parser("show", help="an entry's metadata (never unpickles it)")
    show.add_argument("key", metavar="KEY", help="the entry's key, or a unique prefix of it")
    show.add_argument("--json", action="store_true", help="print JSON")
    clear = commands.add_parser("clear", help="remove stored results")
    clear.add_argument("--function", metavar="NAME", help="only this function's results")
    clear.add_argument(
        "--older-than", metavar="AGE", type=_age_arg, help="only results older than AGE (30s, 15m, 2h, 7d)"
    )
    clear.add_argument("--stale", action="store_true", help="only results of old code versions, and expired ones")
    clear.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    prune = commands.add_parser("prune", help="enforce limits now (recorded ones, or those given)")
    prune.add_argument("--max-size", metavar="SIZE", type=_size_arg, help="keep at most SIZE bytes (500MB, 2GiB)")
    prune.add_argument("--max-entries", metavar="N", type=_count_arg, help="keep at most N entries")
    prune.add_argument("--max-age", metavar="AGE", type=_age_arg, help="remove entries older than AGE")
    prune.add_argument("--policy", choices=sorted(POLICIES), help="what goes first (default lru)")
    prune.add_argument("--function", metavar="NAME", help="apply to this function's entries only")
    prune.add_argument("--json", action="store_true", help="print JSON")
    verify = commands.add_parser("verify", help="check every entry; remove corrupt or forged ones (exit 1 if any)")
    verify.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _version() -> str:
    from . import __version__

    return __version__


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def _cmd_list(cache: Cache, args: argparse.Namespace) -> int:
    if args.json:
        if args.function is not None:
            _print_json([e._asdict() | {"args": arguments_of(cache, e.key)} for e in cache.entries(args.function)])
        else:
            _print_json([s._asdict() for s in cache.functions()])
        return 0
    print(entries_table(cache, args.function) if args.function is not None else functions_table(cache))
    return 0


def _cmd_info(cache: Cache, args: argparse.Namespace) -> int:
    if args.json:
        _print_json(cache.stats()._asdict())
        return 0
    # The info table's header row is empty: print the name/value pairs without it.
    print(str(info_table(cache)).lstrip("\n"))
    return 0


def _cmd_show(cache: Cache, args: argparse.Namespace) -> int:
    try:
        meta = cache.describe(args.key)
    except KeyError:
        return _fail(f"no entry with key {args.key!r}")
    if args.json:
        _print_json(meta)
        return 0
    for name, value in meta.items():
        if name == "created":
            shown = f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(value))} ({ago(value)})"
        elif name == "size":
            shown = format_size(value)
        else:
            shown = str(value)
        print(f"{name:16} {shown}")
    return 0


def _cmd_clear(cache: Cache, args: argparse.Namespace) -> int:
    if not args.yes and sys.stdin.isatty():
        # Only a question needs the listing beforehand; otherwise clear counts as it goes.
        doomed = cache.doomed(args.function, older_than=args.older_than, stale=args.stale)
        if doomed:
            what = f"{len(doomed)} entries ({format_size(sum(e.size for e in doomed))})"
            answer = input(f"remove {what} from {cache.location}? [y/N] ")
            if answer.strip().lower() not in {"y", "yes"}:
                print("nothing removed")
                return 1
    count, size = cache.clear(args.function, older_than=args.older_than, stale=args.stale)
    print(f"removed {count} entries ({format_size(size)})" if count else "nothing to remove")
    return 0


def _cmd_verify(cache: Cache, args: argparse.Namespace) -> int:
    report = cache.verify()
    if args.json:
        _print_json(report._asdict() | {"ok": report.ok})
    else:
        for location in report.corrupt:
            print(f"corrupt (truncated or garbled), removed: {location}")
        for location in report.forged:
            print(f"forged (signature does not verify), removed: {location}")
        print(f"checked {report.checked} entries: {len(report.corrupt)} corrupt, {len(report.forged)} forged")
    return 0 if report.ok else 1


def _cmd_prune(cache: Cache, args: argparse.Namespace) -> int:
    report = cache.prune(
        args.function, max_size=args.max_size, max_entries=args.max_entries, max_age=args.max_age, policy=args.policy
    )
    if args.json:
        _print_json(report._asdict())
    else:
        print(
            f"removed {report.removed} entries ({format_size(report.bytes)}), "
            f"{report.temp_files} temporary files of dead writers"
        )
    return 0


def _fail(message: str) -> int:
    print(f"pkcache: error: {message}", file=sys.stderr)
    return 2


_COMMANDS = {
    "list": _cmd_list,
    "info": _cmd_info,
    "show": _cmd_show,
    "clear": _cmd_clear,
    "verify": _cmd_verify,
    "prune": _cmd_prune,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(format="%(message)s", level=logging.WARNING)
    location: str | Path
    if args.url is not None:
        if not is_url(args.url):
            return _fail(f"--url takes a Redis URL (redis://host:port/db), not {args.url!r}")
        location = args.url
    elif args.dir is not None:
        location = Path(args.dir).expanduser()
        if not location.is_dir():
            return _fail(f"cache directory {args.dir} does not exist")
    else:
        location = os.environ.get(URL_ENV) or default_directory()
    try:
        cache = Cache(location)
        if args.command == "path":
            print(cache.location)
            return 0
        return _COMMANDS[args.command](cache, args)
    except PkcacheError as exc:
        return _fail(str(exc))
    except OSError as exc:  # unreadable directory, permission denied, server unreachable
        if exc.strerror is None:  # pkcache's own (a Redis failure): the message says where
            return _fail(str(exc))
        return _fail(f"{exc.strerror}: {exc.filename or location}")
    except KeyboardInterrupt:
        return 130
