"""Warning when other users can write into a cache directory."""

from __future__ import annotations

import stat
from pathlib import Path

from ..._log import logger

_WARNED_SHARED: set[Path] = set()


def shared_directory_warning(root: Path) -> str | None:
    """What others can do in the cache directory, if its mode lets them write to it; else None."""
    try:
        mode = root.stat().st_mode
    except OSError:  # not created yet: pkcache will create it private
        return None
    if not mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None
    who = "other users" if mode & stat.S_IWOTH else "the members of its group"
    return (
        f"cache directory {root} can be written by {who} (mode {oct(stat.S_IMODE(mode))}): they can delete or "
        "replace any entry (wiping or filling the cache, costing recomputations) and plant files, which are "
        "refused unless signed with your secret; links they plant are not followed. Use a private directory "
        "(chmod 700) unless you share it, and your secret, with them"
    )


def warn_if_shared(root: Path) -> None:
    """Warn, once per directory and process, when other users can write into the cache."""
    if root in _WARNED_SHARED:
        return
    message = shared_directory_warning(root)
    if message is None and not root.exists():
        return
    _WARNED_SHARED.add(root)
    if message is not None:
        logger.warning("%s", message)
