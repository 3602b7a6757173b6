"""The metadata an entry carries: the function that made it, the arguments, when and how long.

It is JSON written on every miss, so the parts fixed for a function version are encoded
once and the rest is spliced in: the same bytes ``json.dumps(meta, separators=(",", ":"))``
gives for the same fields in the same order (a property test holds it to that), at a
fraction of the cost, since ``json.dumps`` with options builds a new encoder every call.
"""

from __future__ import annotations

import json
import sys

_PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"


class MetaWriter:
    """The metadata JSON of one function version's entries."""

    __slots__ = ("_head", "_middle", "_tail")

    def __init__(self, function: str, version: str) -> None:
        self._head = '{"function":' + json.dumps(function) + ',"key":'
        self._middle = ',"version":' + json.dumps(version) + ',"args":'
        self._tail = ',"python":' + json.dumps(_PYTHON) + "}"

    def encode(self, key: str, args: str, created: float, seconds: float) -> bytes:
        """The JSON of an entry's metadata; ``created`` and ``seconds`` are finite floats (JSON writes their repr)."""
        return (
            f"{self._head}{json.dumps(key)}{self._middle}{json.dumps(args)}"
            f',"created":{float(created)!r},"compute_seconds":{round(float(seconds), 6)!r}{self._tail}'
        ).encode()
