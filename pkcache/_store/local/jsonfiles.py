"""pkcache's small JSON files in a cache directory: manifests and configuration, read as untrusted."""

from __future__ import annotations

import json
from typing import Any

from ..._errors import UnsafePathError
from ..._log import logger
from . import layout
from .folders import ABSENT, Root, read_small


def read_json(folders: Root, parts: tuple[str, ...], name: str) -> dict[str, Any] | None:
    try:
        with folders.folder(*parts, create=False) as folder:
            raw = read_small(folder, name)
    except ABSENT:
        return None
    except UnsafePathError as exc:
        logger.warning("ignoring %s/%s: %s", folders.path, "/".join((*parts, name)), exc)
        return None
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:  # garbled: callers fall back to defaults
        logger.warning("ignoring unreadable %s: %s", "/".join((folders.path, *parts, name)), exc)
        return None
    return value if isinstance(value, dict) else None


def has_manifest(folder: int) -> bool:
    raw = read_small(folder, layout.MANIFEST)
    try:
        manifest = json.loads(raw) if raw is not None else None
    except ValueError:  # garbled: not a manifest
        return False
    return isinstance(manifest, dict) and layout.is_manifest(manifest)


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return json.dumps(layout.mark_manifest(manifest), indent=1).encode()
