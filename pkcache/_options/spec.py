"""Every option, defined once: name, default, what it takes, one line of documentation, and its check.

The checks (``options.make_options``, ``Cache(...)``), their error messages, and the
options tables of the README and the docs all come from here; ``tests/test_options_spec.py``
keeps the typed signatures and the tables in step with it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from . import checks
from .checks import Check

DEFAULT_LOCK_TIMEOUT = 600.0
MMAP_MODES = ("r", "c")
FILES_BY = ("stat", "content")

# Where an option is taken: by the decorator (@cached, Cache.cached), by Cache(...), or both;
# the locations only by pkcache.cached(store=...) and Cache(directory).
DECORATOR = "cached"
CACHE = "Cache"
LOCATION = "location"


class Option(NamedTuple):
    """One option: its name, default and check, and the text the docs show for it."""

    name: str
    default: Any
    takes: str  # what a valid value is, for the docs
    doc: str  # what it does, one line, for the docs
    check: Check
    where: tuple[str, ...] = (DECORATOR,)
    cache_doc: str | None = None  # what it does for Cache(...), where that differs


def _doc_default(value: Any) -> str:
    if value is None or value == ():
        return "—"
    return f'`"{value}"`' if isinstance(value, str) else f"`{value!r}`"


OPTIONS: tuple[Option, ...] = (
    Option(
        "store",
        None,
        "a directory, a Redis URL or an `s3://` URL",
        "where results go: a directory, or a Redis URL (`redis://host:6379/0`) or object-store URL "
        "(`s3://bucket/prefix`) shared between machines; "
        'default `$PKCACHE_URL`, else `$PKCACHE_DIR`, else `platformdirs.user_cache_dir("pkcache")`',
        checks.path,
        (LOCATION,),
    ),
    Option(
        "cache_dir",
        None,
        "a directory",
        "the same, for a directory (give one of `store` and `cache_dir`)",
        checks.path,
        (LOCATION,),
    ),
    Option(
        "ttl",
        None,
        'seconds, a `datetime.timedelta`, or `"30s"`, `"15m"`, `"2h"`, `"7d"`',
        "an older result is a miss",
        checks.age,
        (DECORATOR, CACHE),
        "the default `ttl` of functions cached through this cache",
    ),
    Option(
        "ignore",
        (),
        "a parameter name or a list of them",
        "parameters left out of the key (passed by position or by name)",
        checks.names,
    ),
    Option(
        "version",
        None,
        "a str or an int",
        "changing it makes old results misses (they come back if you change it back)",
        checks.version,
    ),
    Option(
        "key",
        None,
        "a callable with the function's signature",
        "its return value is hashed instead of the arguments",
        checks.optional_callable("the function's arguments"),
    ),
    Option(
        "lock_timeout",
        DEFAULT_LOCK_TIMEOUT,
        "seconds",
        "how long to wait for another caller computing the same key, then compute anyway",
        checks.seconds,
        (DECORATOR, CACHE),
    ),
    Option(
        "durable",
        False,
        "`True` or `False`",
        "`fsync` each entry before it becomes visible: survives a power cut, costs a disk flush per store",
        checks.flag,
        (DECORATOR, CACHE),
    ),
    Option(
        "max_size",
        None,
        'bytes, or `"500MB"`, `"2GiB"`',
        "bound on this function's stored results",
        checks.size,
        (DECORATOR, CACHE),
        "bound on all stored results together",
    ),
    Option(
        "max_entries",
        None,
        "an int >= 1",
        "bound on the number of this function's stored results",
        checks.count,
        (DECORATOR, CACHE),
        "bound on the number of all stored results together",
    ),
    Option(
        "policy",
        None,
        '`"lru"`, `"lfu"` or `"fifo"`',
        'what goes first when a bound is exceeded (default `"lru"`); results of old code versions always go first',
        checks.policy,
        (DECORATOR, CACHE),
    ),
    Option(
        "depends_on",
        (),
        "a function or a list of them",
        "functions whose code the results depend on: editing one makes old results misses "
        "(module-level functions of the same package called by name are tracked without it)",
        checks.functions,
    ),
    Option(
        "secret",
        None,
        "a str or bytes of at least 16 bytes",
        "sign and verify this function's entries with this secret instead of `$PKCACHE_SECRET` "
        "or the user's secret file (see Security); give `secret` or `secret_file`, not both",
        checks.secret,
        (DECORATOR, CACHE),
        "sign and verify the entries of every function cached through this cache with this secret "
        "(see Security); give `secret` or `secret_file`, not both",
    ),
    Option(
        "secret_file",
        None,
        "the path of a file holding a secret",
        "the same, read from a file",
        checks.secret_file,
        (DECORATOR, CACHE),
    ),
    Option(
        "mmap_mode",
        None,
        '`"r"` or `"c"`',
        'return large array results memory-mapped: read-only (`"r"`) or copy-on-write (`"c"`, '
        "changes never reach the cache); the computing call returns the stored, mapped result too",
        checks.choice(None, *MMAP_MODES, meaning="'r' (read-only) or 'c' (copy-on-write) or None"),
    ),
    Option(
        "enabled",
        True,
        "`True` or `False`",
        "`False`: never read or store (the body always runs); see also `pkcache.disabled()`",
        checks.flag,
    ),
    Option(
        "store_if",
        None,
        "a callable `(result, seconds) -> bool`",
        "store a result only if it says so: `lambda r, s: s > 1` stores only slow runs, "
        "`lambda r, s: r is not None` never stores `None`",
        checks.optional_callable("(result, seconds)"),
    ),
    Option(
        "files",
        (),
        "a parameter name or a list of them",
        "parameters whose values are paths (or lists of paths): the key holds each file's resolved path, "
        "size and modification time instead of the path's text, so an edited file is a miss",
        checks.names,
    ),
    Option(
        "files_by",
        "stat",
        '`"stat"` or `"content"`',
        "how `files` are keyed: size and mtime, or a digest of the content "
        "(for file systems whose times are too coarse)",
        checks.choice(*FILES_BY, meaning="one of 'stat', 'content'"),
    ),
)

BY_NAME = {option.name: option for option in OPTIONS}
DECORATOR_OPTIONS = tuple(o for o in OPTIONS if DECORATOR in o.where)
CACHE_OPTIONS = tuple(o for o in OPTIONS if CACHE in o.where)


def markdown_table(where: str) -> str:
    """The options table of the docs for ``@cached`` (``where="cached"``, its locations included) or ``Cache(...)``."""
    rows = ["| option | takes | default | what it does |", "| --- | --- | --- | --- |"]
    for option in OPTIONS:
        if where in option.where or (where == DECORATOR and LOCATION in option.where):
            doc = option.cache_doc if where == CACHE and option.cache_doc else option.doc
            rows.append(f"| `{option.name}` | {option.takes} | {_doc_default(option.default)} | {doc} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # python -m pkcache._options.spec cached|Cache: the docs' table
    import sys

    sys.stdout.write(markdown_table(sys.argv[1] if len(sys.argv) > 1 else DECORATOR))
