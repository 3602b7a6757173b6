"""A cached function's identity: its name and folder, code version, captured data, and the key of a call."""

from __future__ import annotations

import marshal
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._errors import UnhashableArgumentError
from .._keys.fingerprint import fingerprint
from .._keys.hashes import new_hash
from .._keys.identity import folder_name, global_reads
from .._keys.kinds import ATOMIC_TYPES, MARSHAL_VERSION
from .._keys.pickler import PICKLING_ERRORS, ArgumentHasher

if TYPE_CHECKING:
    from .._keys.binding import ArgumentBinder
    from .._options import Options


class FunctionIdentity:
    """Name, namespace (folder), version and the keys of calls, as fixed at the function's first call.

    The version changes with the code (the function's, its layers', the functions it
    captures or calls) and with version=, so old results are misses after an edit, yet
    come back if the edit is reverted. Captured data goes into every key instead:
    functions made by one factory share a version. ``watch`` says when what the
    fingerprint was taken from has changed in this process (the engine is then rebuilt).
    """

    def __init__(self, func: Callable[..., Any], name: str, options: Options, binder: ArgumentBinder) -> None:
        self.name = name
        self.namespace = folder_name(name)
        self.binder = binder
        found = fingerprint(func, options.depends_on, options.version)
        self.version = found.code
        self.helpers = found.helpers
        self.watch = found.watch
        # Scripts and notebooks: where a global set in one cell and read in another gives
        # stale results. (Module constants of libraries are left alone.)
        self.globals_read = sorted({name for f in found.main_functions for name in global_reads(f)})
        self._prefix = b"pkcache-key-2\0%s\0%s\0%s\0" % (name.encode(), self.version.encode(), found.values)
        self._prefix_plain = self._prefix + b"m"
        self._key_func = options.key
        self._values = binder.values

    def key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        """The hex key of a call; raises ``UnhashableArgumentError`` naming an argument that cannot be keyed."""
        key_func = self._key_func
        values = key_func(*args, **kwargs) if key_func is not None else self._values(args, kwargs)
        if type(values) is tuple and ATOMIC_TYPES.issuperset(map(type, values)):
            # Plain values: one hash over the prefix and their canonical bytes (see _keys).
            # (digest().hex(): blake3's own hexdigest() is slower.)
            plain = marshal.dumps(values, MARSHAL_VERSION)
            return new_hash(self._prefix_plain + plain).digest().hex()
        canonical = ArgumentHasher(new_hash(self._prefix + b"p"))
        try:
            canonical.feed(values)
        except PICKLING_ERRORS as exc:
            raise self._unhashable(args, kwargs, exc) from exc
        return canonical.hexdigest()

    def _unhashable(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], error: BaseException
    ) -> UnhashableArgumentError:
        if self._key_func is not None:
            return UnhashableArgumentError(self.name, "<key= result>", str(error))
        for name, value in self.binder.named(args, kwargs):
            try:
                ArgumentHasher(new_hash()).feed(value)
            except PICKLING_ERRORS as exc:
                return UnhashableArgumentError(self.name, name, str(exc))
        return UnhashableArgumentError(self.name, "?", str(error))
