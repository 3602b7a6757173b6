"""Text read from a cache, made safe to print: it is untrusted until its entry's signature verifies.

A planted entry's metadata, a manifest or a folder name can hold escape sequences that
retitle or clear a terminal, or print a fake "verified OK". Every string pkcache prints
from a cache goes through ``printable``: control and other non-printing characters
(bidirectional overrides included) are shown as escapes, the rest as it is.
"""

from __future__ import annotations


def printable(text: object) -> str:
    """Return ``str(text)`` with every non-printing character escaped (``\\x1b``, ``\\u202e``)."""
    value = str(text)
    if value.isprintable():
        return value
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in value)
