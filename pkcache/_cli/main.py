"""The ``pkcache`` command: argument parsing and printing over the public API, nothing more."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from .._cache import Cache
from .._errors import PkcacheError
from .._store.open import URL_ENV, default_directory, is_url
from .commands import COMMANDS, fail
from .parser import build_parser


def _location(args: argparse.Namespace) -> str | Path | int:
    """Where to look, from the options and environment; an exit status if it cannot be a cache."""
    if args.dir is not None and args.url is not None:
        return fail("give --dir or --url, not both")
    if args.url is not None:
        if not is_url(args.url):
            return fail(f"--url takes a Redis URL (redis://host:port/db) or s3://BUCKET/PREFIX, not {args.url!r}")
        return str(args.url)
    if args.dir is not None:
        location = Path(args.dir).expanduser()
        if location.is_file():
            return fail(f"{args.dir} is a file, not a cache directory")
        if not location.is_dir():
            return fail(f"cache directory {args.dir} does not exist")
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
        return COMMANDS[args.command](cache, args)
    except PkcacheError as exc:
        return fail(str(exc))
    except OSError as exc:  # unreadable directory, permission denied, server unreachable
        if exc.strerror is None:  # pkcache's own (a Redis failure): the message says where
            return fail(str(exc))
        return fail(f"{exc.strerror}: {exc.filename or location}")
    except KeyboardInterrupt:
        return 130
