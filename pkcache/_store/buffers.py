"""The bytes a store hands back: in hand, or a large entry still arriving."""

from __future__ import annotations

from typing import Union

from .arriving import Arriving

Buffer = Union[bytes, bytearray, memoryview]  # noqa: UP007 - a runtime alias must work on 3.10
# What a store's read gives: the bytes in hand, or a large entry still arriving.
Stored = Union[Buffer, Arriving]  # noqa: UP007
