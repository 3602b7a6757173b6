"""Parse and print the sizes and ages that options and the CLI accept."""

from __future__ import annotations

import math
import re

from ._errors import InvalidOptionError, InvalidOptionTypeError

_AGE_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
# Patterns, not compiled ones: ``re`` compiles (and caches) them at first use, not at import.
_AGE_RE = r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$"

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE_RE = r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$"


def parse_age(value: object, *, option: str = "age") -> float:
    """Return seconds from a number, a ``timedelta`` or a string like ``30s``, ``15m``, ``2h``, ``7d``."""
    if isinstance(value, bool):
        raise InvalidOptionTypeError(f"{option} must be seconds, a timedelta or a string like '2h', not a bool")
    if type(value).__name__ == "timedelta" and hasattr(value, "total_seconds"):  # no datetime import needed
        seconds = float(value.total_seconds())
    elif isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        match = re.match(_AGE_RE, value, re.IGNORECASE)
        if match is None:
            raise InvalidOptionError(f"{option} {value!r} is not an age like 30s, 15m, 2h or 7d")
        seconds = float(match.group(1)) * _AGE_UNITS[match.group(2).lower() or "s"]
    else:
        raise InvalidOptionTypeError(
            f"{option} must be seconds, a timedelta or a string like '2h', not {type(value).__name__}"
        )
    if not math.isfinite(seconds) or seconds <= 0:
        raise InvalidOptionError(f"{option} must be a positive duration, got {value!r}")
    return seconds


def parse_size(value: object, *, option: str = "size") -> int:
    """Return bytes from an int or a string like ``500MB`` or ``2GiB``."""
    if isinstance(value, bool):
        raise InvalidOptionTypeError(f"{option} must be bytes or a string like '500MB', not a bool")
    if isinstance(value, int):
        size = value
    elif isinstance(value, str):
        match = re.match(_SIZE_RE, value, re.IGNORECASE)
        unit = match.group(2).lower() if match else ""
        if match is None or unit not in _SIZE_UNITS:
            raise InvalidOptionError(f"{option} {value!r} is not a size like 500MB or 2GiB")
        size = int(float(match.group(1)) * _SIZE_UNITS[unit])
    else:
        raise InvalidOptionTypeError(f"{option} must be bytes or a string like '500MB', not {type(value).__name__}")
    if size <= 0:
        raise InvalidOptionError(f"{option} must be positive, got {value!r}")
    return size


def format_size(size: float) -> str:
    """Return ``1.2 MB`` style text (decimal units, as ``ls -h --si`` and most file browsers show)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(size) < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def format_age(seconds: float) -> str:
    """Return ``42 s``, ``3 min``, ``5 h`` or ``2 d``: the largest unit that fits."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"
