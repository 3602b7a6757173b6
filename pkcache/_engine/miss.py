"""``MISS``: what a lookup returns when no usable entry is stored (a stored ``None`` is a hit)."""

from __future__ import annotations

import enum
from typing import Final


class Miss(enum.Enum):
    """A typed sentinel: ``value is MISS`` narrows for type checkers, and it pickles as itself."""

    MISS = "MISS"

    def __repr__(self) -> str:
        return "<MISS>"


MISS: Final = Miss.MISS
