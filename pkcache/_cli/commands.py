"""The ``pkcache`` commands: each a function of the cache and the parsed arguments, returning the exit status."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from .._cache import Cache
from .._text import printable
from .._units import format_size
from .progress import progress_for
from .tables import ago, arguments_of, entries_table, functions_table, info_table


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
        return fail(f"no entry with key {args.key!r}")
    except ValueError as exc:  # an entry whose metadata does not parse
        return fail(f"entry {args.key!r} has no readable metadata ({exc})")
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
    progress = progress_for(args)
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
    progress = progress_for(args)
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

    progress = progress_for(args)

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


def fail(message: str) -> int:
    print(f"pkcache: error: {printable(message)}", file=sys.stderr)
    return 2


COMMANDS = {
    "list": _cmd_list,
    "info": _cmd_info,
    "show": _cmd_show,
    "clear": _cmd_clear,
    "verify": _cmd_verify,
    "prune": _cmd_prune,
}
