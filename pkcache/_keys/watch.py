"""What a fingerprint assumed, checked on every call.

A ``Watch`` keeps the objects the fingerprint was taken from: every function's
``__code__``, every closure cell's contents, every helper's global binding.
Comparing their identities costs a few attribute reads per call, and catches a notebook
cell redefining a helper and IPython's autoreload replacing code in place.
"""

from __future__ import annotations

from typing import Any

EMPTY = object()  # stands for the contents of a closure cell not bound yet


class Watch:
    """The identities a fingerprint assumed; ``changed()`` is True once one of them differs."""

    __slots__ = ("_cells", "_functions", "_globals")

    def __init__(
        self,
        functions: list[tuple[Any, Any]],
        cells: list[tuple[Any, Any]],
        bindings: list[tuple[dict[str, Any], str, Any]],
    ) -> None:
        self._functions = tuple(functions)
        self._cells = tuple(cells)
        self._globals = tuple(bindings)

    def changed(self) -> bool:
        # Plain loops: this runs on every hit, and a generator costs more than the checks.
        # A new __code__ is what autoreload (and any recompilation) leaves: an edited
        # default comes with one too.
        for func, code in self._functions:
            if func.__code__ is not code:
                return True
        for cell, contents in self._cells:
            try:
                if cell.cell_contents is not contents:
                    return True
            except ValueError:  # still empty
                if contents is not EMPTY:
                    return True
        for namespace, name, value in self._globals:  # noqa: SIM110 - any() with a generator costs more
            if namespace.get(name) is not value:
                return True
        return False
