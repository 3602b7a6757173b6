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
from ._policies import POLICIES
from ._store.open import URL_ENV, default_directory, is_url
from ._tables import ago, arguments_of, entries_table, functions_table, info_table
from ._text import printable
from ._units import format_size, parse_age, parse_size


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
    parser.add_argument("--url", metavar="URL", default=default, help=f"Redis store, redis://host:port/db (${URL_ENV})")
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

    command("path", "print the cache directory (or Redis URL)")
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
    from ._version import __version__

    return __version__


def _print_json(value: Any) -> None:
    # json escapes control characters, so text from the cache cannot reach the terminal raw.
    print(json.dumps(value, indent=2, default=str))


def _cmd_list(cache: Cache, args: argparse.Namespace) -> int:
    if args.function is not None:
        if args.json:
            _print_json([e._asdict() | {"args": arguments_of(cache, e)} for e in cache.entries(args.function)])
        else:
            print(entries_table(cache, args.function))
        return 0
    summaries = [s for s in cache.functions() if args.all or s.entries]
    if args.json:
        _print_json([s._asdict() for s in summaries])
    else:
        print(functions_table(cache, summaries))
    return 0


def _cmd_info(cache: Cache, args: argparse.Namespace) -> int:
    if args.json:
        _print_json(cache.stats()._asdict())
        return 0
    # The info table's header row is empty: print the name/value pairs without it.
    print(str(info_table(cache)).lstrip("\n"))
    return 0


def _shown(name: str, value: Any) -> str:
    if name == "created" and isinstance(value, (int, float)) and 0 <= value < 1e11:
        return f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(value))} ({ago(value)})"
    if name == "size" and isinstance(value, int):
        return format_size(value)
    return printable(value)


def _cmd_show(cache: Cache, args: argparse.Namespace) -> int:
    try:
        meta = cache.describe(args.key)
    except KeyError:
        return _fail(f"no entry with key {args.key!r}")
    except ValueError as exc:  # an entry whose metadata does not parse
        return _fail(f"entry {args.key!r} has no readable metadata ({exc})")
    if args.json:
        _print_json(meta)
        return 0
    if not meta.get("verified"):
        print(f"UNVERIFIED: this entry fails its integrity check ({printable(meta.get('problem'))});")
        print("            what follows is what the file says, not what pkcache wrote.")
    for name, value in meta.items():
        print(f"{printable(name)[:30]:16} {_shown(name, value)}")
    return 0


def _removal_summary(count: int, size: int, functions: list[str], *, folders: int = 0) -> str:
    what = f"{count} entries ({format_size(size)})"
    if functions:
        shown = ", ".join(printable(f) for f in functions[:5]) + (", ..." if len(functions) > 5 else "")
        what += f" of {len(functions)} function{'s' if len(functions) != 1 else ''} ({shown})"
    if folders:
        what += f", and the folders of {folders} function{'s' if folders != 1 else ''}"
    return what


def _confirm(question: str) -> bool:
    answer = input(f"{question} [y/N] ")
    return answer.strip().lower() in {"y", "yes"}


def _cmd_clear(cache: Cache, args: argparse.Namespace) -> int:
    doomed = cache.doomed(args.function, older_than=args.older_than, stale=args.stale)
    named = cache.matching(args.function)
    whole = args.older_than is None and not args.stale
    folders = list(named.values()) if whole else []  # a whole clear removes the functions' folders too
    names = sorted(set(folders) | {named.get(e.namespace, e.namespace) for e in doomed})
    summary = _removal_summary(len(doomed), sum(e.size for e in doomed), names, folders=len(folders))
    if not doomed and not folders:
        _report_clear(args, "nothing to remove", [], 0, 0)
        return 0
    if args.dry_run:
        _report_clear(args, f"would remove {summary} from {cache.location}", doomed, len(doomed), 0, dry_run=True)
        return 0
    if not args.yes and sys.stdin.isatty() and not _confirm(f"remove {summary} from {cache.location}?"):
        print("nothing removed")
        return 1
    progress = _progress(args)
    count, size = cache.clear(args.function, older_than=args.older_than, stale=args.stale, progress=progress)
    if progress is not None:
        progress.finish()
    _report_clear(args, f"removed {count} entries ({format_size(size)})", doomed, count, size)
    return 0


def _report_clear(
    args: argparse.Namespace, text: str, entries: list[Any], count: int, size: int, *, dry_run: bool = False
) -> None:
    if args.json:
        key = "would_remove" if dry_run else "removed"
        _print_json({key: count, "bytes": size, "entries": [e.location for e in entries]})
    else:
        print(text)


def _cmd_verify(cache: Cache, args: argparse.Namespace) -> int:
    progress = _progress(args)
    report = cache.verify(progress=progress)
    if progress is not None:
        progress.finish()
    if args.json:
        _print_json(report._asdict() | {"ok": report.ok})
        return 0 if report.ok else 1
    for location in report.corrupt:
        print(f"corrupt (truncated or garbled), removed: {printable(location)}")
    for location in report.forged:
        print(f"fails its integrity check (corrupted or altered), removed: {printable(location)}")
    for location in report.foreign:
        print(f"not made by pkcache, left alone: {printable(location)}")
    for warning in report.warnings:
        print(f"warning: {printable(warning)}")
    print(
        f"checked {report.checked} entries: {len(report.corrupt)} corrupt, "
        f"{len(report.forged)} failing their integrity check; {len(report.foreign)} foreign items left alone"
    )
    return 0 if report.ok else 1


def _cmd_prune(cache: Cache, args: argparse.Namespace) -> int:
    limits = {"max_size": args.max_size, "max_entries": args.max_entries, "max_age": args.max_age}

    progress = _progress(args)

    def prune(*, dry_run: bool) -> Any:
        report = cache.prune(args.function, **limits, policy=args.policy, dry_run=dry_run, progress=progress)
        if progress is not None:
            progress.finish()
        return report

    if args.dry_run or (not args.yes and sys.stdin.isatty()):
        planned = prune(dry_run=True)
        text = f"{planned.removed} entries ({format_size(planned.bytes)}), {planned.temp_files} dead writers' files"
        if args.dry_run:
            _print_prune(args, planned, f"would remove {text}", dry_run=True)
            return 0
        if (planned.removed or planned.temp_files) and not _confirm(f"remove {text} from {cache.location}?"):
            print("nothing removed")
            return 1
    report = prune(dry_run=False)
    _print_prune(
        args,
        report,
        f"removed {report.removed} entries ({format_size(report.bytes)}), "
        f"{report.temp_files} temporary files of dead writers",
    )
    return 0


def _print_prune(args: argparse.Namespace, report: Any, text: str, *, dry_run: bool = False) -> None:
    if args.json:
        data = report._asdict()
        data["locations"] = list(data["locations"])
        _print_json({"dry_run": True, **data} if dry_run else data)
    else:
        print(text)


PROGRESS_ENV = "PKCACHE_PROGRESS_AFTER"


class _Progress:
    """A progress line on standard error, for a terminal only, once a command has run for a while.

    A second by default; ``$PKCACHE_PROGRESS_AFTER`` seconds if set (0: at once).
    """

    _EVERY = 0.1

    def __init__(self) -> None:
        try:
            after = float(os.environ.get(PROGRESS_ENV, "1"))
        except ValueError:  # not a number: the default
            after = 1.0
        self._start = time.monotonic()
        self._next = self._start + after
        self._shown = False

    def __call__(self, what: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self._EVERY
        self._shown = True
        sys.stderr.write(f"\r{what}: {done:,} of {total:,}")
        sys.stderr.flush()

    def finish(self) -> None:
        if self._shown:
            sys.stderr.write("\r\x1b[K")  # the summary line takes its place
            sys.stderr.flush()


def _progress(args: argparse.Namespace) -> _Progress | None:
    return _Progress() if sys.stderr.isatty() and not args.json else None


def _fail(message: str) -> int:
    print(f"pkcache: error: {printable(message)}", file=sys.stderr)
    return 2


_COMMANDS = {
    "list": _cmd_list,
    "info": _cmd_info,
    "show": _cmd_show,
    "clear": _cmd_clear,
    "verify": _cmd_verify,
    "prune": _cmd_prune,
}


def _location(args: argparse.Namespace) -> str | Path | int:
    """Where to look, from the options and environment; an exit status if it cannot be a cache."""
    if args.dir is not None and args.url is not None:
        return _fail("give --dir or --url, not both")
    if args.url is not None:
        if not is_url(args.url):
            return _fail(f"--url takes a Redis URL (redis://host:port/db), not {args.url!r}")
        return str(args.url)
    if args.dir is not None:
        location = Path(args.dir).expanduser()
        if location.is_file():
            return _fail(f"{args.dir} is a file, not a cache directory")
        if not location.is_dir():
            return _fail(f"cache directory {args.dir} does not exist")
        return location
    return os.environ.get(URL_ENV) or default_directory()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(format="%(name)s: %(message)s", level=logging.WARNING)
    if args.verbose:
        logging.getLogger("pkcache").setLevel(logging.DEBUG)
    location = _location(args)
    if isinstance(location, int):
        return location
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
