"""The names pkcache gives what it makes in a cache directory: anything else there is not pkcache's.

::

    root/                      CACHEDIR.TAG (pkcache's own: written first), .ledger, pkcache.json, .prune.lock
      NAMESPACE/               function.json (pkcache's manifest: written first), .ledger, .index,
                               usage.log, usage.json, .swept, .prune.lock
        v-0123456789abcdef/    .locks
          a/ ... f/            abcdef....pkl (64 hex digits), and writers' .tmp-... files
                               (16 folders by the key's first hex digit, made with the
                               version folder; pkcache 0.1 used 256, by two digits)
"""

from __future__ import annotations

import re
from typing import Any

from .atomic import TEMP_PREFIX
from .folders import TAG

CONFIG = "pkcache.json"
LEDGER = ".ledger"
INDEX = ".index"  # every entry's inode, size and time (see ``index``)
PRUNE_LOCK = ".prune.lock"
SWEPT = ".swept"
USAGE_LOG = "usage.log"
USAGE_SUMMARY = "usage.json"
MANIFEST = "function.json"
KEY_LOCKS = ".locks"  # one file per function version; each key locks one byte of it
ENTRY_SUFFIX = ".pkl"
GITIGNORE = ".gitignore"

_VERSION = re.compile(r"v-[0-9a-f]{16}\Z")
_FAN = re.compile(r"[0-9a-f]{1,2}\Z")  # two digits: pkcache 0.1's (listed, so that they can be removed)
FANS = tuple("0123456789abcdef")
_ENTRY = re.compile(r"[0-9a-f]{64}\.pkl\Z")
_ROTATED_LOG = re.compile(r"usage\.log\.[0-9]+-[0-9a-f]{8}\Z")
_STAGED_INDEX = re.compile(r"\.index\.[0-9]+-[0-9a-f]{8}\Z")  # a rewrite's, before its swap
_ROOT_FILES = frozenset({TAG, CONFIG, LEDGER, PRUNE_LOCK, GITIGNORE})
_NAMESPACE_FILES = frozenset({MANIFEST, LEDGER, INDEX, PRUNE_LOCK, SWEPT, USAGE_LOG, USAGE_SUMMARY})
# What marks a manifest as pkcache's (manifests of pkcache 0.1 are recognised by their fields).
_MARK = "pkcache"
_MARK_VALUE = "function"


def is_version(name: str) -> bool:
    return _VERSION.match(name) is not None


def is_fan(name: str) -> bool:
    return _FAN.match(name) is not None


def is_entry_file(name: str) -> bool:
    return _ENTRY.match(name) is not None


def entry_name(key: str) -> str:
    return f"{key}{ENTRY_SUFFIX}"


def key_of(name: str) -> str:
    return name[: -len(ENTRY_SUFFIX)]


def is_temp(name: str) -> bool:
    return name.startswith(TEMP_PREFIX)


def is_root_file(name: str) -> bool:
    return name in _ROOT_FILES or is_temp(name)


def is_namespace_file(name: str) -> bool:
    return (
        name in _NAMESPACE_FILES
        or is_temp(name)
        or _ROTATED_LOG.match(name) is not None
        or _STAGED_INDEX.match(name) is not None
    )


def mark_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    return {_MARK: _MARK_VALUE, **manifest}


def is_manifest(manifest: dict[str, Any]) -> bool:
    if manifest.get(_MARK) == _MARK_VALUE:
        return True
    return isinstance(manifest.get("name"), str) and isinstance(manifest.get("current_version"), str)
