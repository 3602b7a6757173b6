"""Bind a call to its function's signature, so every spelling of one call gives one key."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

from .._errors import InvalidOptionError

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class ArgumentBinder:
    """Maps ``(args, kwargs)`` to the tuple of argument values a key is made from.

    Defaults are applied and ``ignore``d parameters dropped, so ``f(1)``, ``f(1, 2)``,
    ``f(x=1)`` and ``f(y=2, x=1)`` give the same tuple when ``y`` defaults to 2.
    """

    def __init__(
        self, func: Callable[..., Any], ignore: Iterable[str], files: Iterable[str] = (), files_by: str = "stat"
    ) -> None:
        self._signature = inspect.signature(func)
        params = list(self._signature.parameters.values())
        self.ignore = frozenset(ignore)
        has_var_keyword = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
        unknown = sorted(self.ignore - {p.name for p in params})
        if unknown and not has_var_keyword:
            raise InvalidOptionError(
                f"ignore={unknown!r}: {getattr(func, '__qualname__', func)!r} has no parameter named "
                + ", ".join(unknown)
            )
        self._params = params
        self._kept = [p for p in params if p.name not in self.ignore]
        self._kept_at = [(i, p.name) for i, p in enumerate(params) if p.name not in self.ignore]
        # The fast path: only positional parameters, called positionally. The values are
        # the arguments plus the defaults of the parameters left out.
        self._simple = all(p.kind in _POSITIONAL for p in params)
        self._count = len(params)
        required = [p for p in params if p.default is inspect.Parameter.empty]
        self._first_default = len(required) if params[: len(required)] == required else self._count + 1
        self._defaults = tuple(p.default for p in params[len(required) :]) if self._simple else ()
        self._keep_index = None if len(self._kept) == len(params) else [params.index(p) for p in self._kept]
        files = sorted(set(files))
        kept = [p.name for p in self._kept]
        missing = [name for name in files if name not in kept]
        if missing:
            raise InvalidOptionError(
                f"files={missing!r}: {getattr(func, '__qualname__', func)!r} has no parameter named "
                f"{', '.join(missing)} (or it is ignored)"
            )
        self._files = [kept.index(name) for name in files]
        self._files_by = files_by
        if self._files:
            self.values = self._stamped  # type: ignore[method-assign]

    def _stamped(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        from .files import stamp

        values = list(ArgumentBinder.values(self, args, kwargs))
        for index in self._files:
            values[index] = stamp(values[index], self._files_by)
        return tuple(values)

    def values(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        """Return the canonical argument values; raises ``TypeError`` as the call itself would."""
        if not kwargs and self._simple and self._first_default <= len(args) <= self._count:
            values = args + self._defaults[len(args) - self._first_default :]
            if self._keep_index is None:
                return values
            return tuple(values[i] for i in self._keep_index)
        return tuple(value for _name, value in self.named(args, kwargs))

    def named(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[tuple[str, Any]]:
        """Return ``(parameter, value)`` pairs of the kept parameters, defaults applied."""
        if not kwargs and self._simple and self._first_default <= len(args) <= self._count:
            values = args + self._defaults[len(args) - self._first_default :]
            return [(name, values[i]) for i, name in self._kept_at]
        bound = self._signature.bind(*args, **kwargs)
        bound.apply_defaults()
        pairs = []
        for param in self._kept:
            value = bound.arguments[param.name]
            if param.kind is inspect.Parameter.VAR_KEYWORD and self.ignore:
                value = {k: v for k, v in value.items() if k not in self.ignore}
            pairs.append((param.name, value))
        return pairs
