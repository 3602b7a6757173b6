"""The objects of an object store cache, all under its prefix; anything else there is not pkcache's.

::

    e/NS/VERSION/KEY      an entry: the same signed bytes as a local file
    m/NS.json             a namespace's manifest
    u/NS/TIME-RANDOM      usage records, one object per flush (objects cannot be appended to)
    us/NS.json            usage summary, folded from the records by a prune
    sw/NS                 the namespace's last sweep claim
    l/NS/VERSION/KEY      a key's lock (see ``lock``); pl/NS, pl/-: prune locks
    config.json           store-wide settings of a limited ``Cache``
    probe/RANDOM          what the first lock writes to learn whether conditional writes work
"""

from __future__ import annotations

import re

_NAMESPACE = re.compile(r"[A-Za-z0-9._-]{1,80}-[0-9a-f]{8}\Z")
_VERSION = re.compile(r"v-[0-9a-f]{16}\Z")
_KEY = re.compile(r"[0-9a-f]{64}\Z")
ALL = "-"  # the prune lock of the whole store


def entry(namespace: str, version: str, key: str) -> str:
    return f"e/{namespace}/{version}/{key}"


def entries(namespace: str) -> str:
    return f"e/{namespace}"


def manifest(namespace: str) -> str:
    return f"m/{namespace}.json"


def usage_records(namespace: str) -> str:
    return f"u/{namespace}"


def usage_summary(namespace: str) -> str:
    return f"us/{namespace}.json"


def sweep(namespace: str) -> str:
    return f"sw/{namespace}"


def key_lock(namespace: str, version: str, key: str) -> str:
    return f"l/{namespace}/{version}/{key}"


def prune_lock(namespace: str | None) -> str:
    return f"pl/{namespace or ALL}"


CONFIG = "config.json"
CREATED = "pkcache-created"  # an entry's metadata: its exact creation time
PROBE = "probe"


def is_namespace(name: str) -> bool:
    return _NAMESPACE.match(name) is not None


def parse_entry(path: str) -> tuple[str, str, str] | None:
    """(namespace, version, key) of an entry's path, or None if pkcache does not name objects so."""
    parts = path.split("/")
    if len(parts) != 4 or parts[0] != "e":
        return None
    _, namespace, version, key = parts
    if is_namespace(namespace) and _VERSION.match(version) and _KEY.match(key):
        return namespace, version, key
    return None
