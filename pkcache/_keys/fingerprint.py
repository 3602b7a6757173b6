"""What a cached function's results depend on besides its arguments: code, and captured data.

A fingerprint has two parts:

- ``code``: what every piece of code that can run does (bytecode, constants, names; not
  line numbers or file names): the function, each decorator layer around it
  (``__wrapped__``, all the way down), the functions it captures in closures, defaults,
  partials and bound methods, and the functions of its own package it calls by global
  name, transitively. It names the version folder, so an edit makes old results stale.
- ``values``: the data those pieces captured: closure values, defaults, partial
  arguments, bound instances, a local class's attributes. It goes into every key, so two
  functions made by one factory with different settings share a code version and never
  share results.

A captured value with no faithful fingerprint (a lock, an open file, a generator) raises
``UncacheableFunctionError``: nothing is keyed by its type alone.

A ``Watch`` (``watch.py``) keeps the objects the fingerprint was taken from.
"""

from __future__ import annotations

import functools
import importlib.util
import types
from collections.abc import Callable
from typing import Any, NamedTuple

from .._errors import UncacheableFunctionError
from .code import feed_code, referenced_names
from .hashes import new_hash
from .identity import function_name, module_package
from .pickler import PICKLING_ERRORS, ArgumentHasher
from .watch import EMPTY, Watch


class Fingerprint(NamedTuple):
    """A function's code version and captured data, and what to watch for a change of either."""

    code: str
    values: bytes
    helpers: list[str]  # the tracked functions' names, for the manifest
    main_functions: list[types.FunctionType]  # functions of a script or notebook (global-variable warning)
    watch: Watch


def _is_function_like(value: object) -> bool:
    return isinstance(value, types.FunctionType) or (
        callable(value) and isinstance(getattr(value, "__wrapped__", None), types.FunctionType)
    )


_CALLABLE_TYPES = (
    types.FunctionType,
    types.MethodType,
    types.BuiltinFunctionType,
    types.BuiltinMethodType,
    types.MethodWrapperType,
    types.WrapperDescriptorType,
    types.MethodDescriptorType,
    functools.partial,
    type,
    types.ModuleType,
)


class _Walker:
    """Takes one fingerprint: walks every callable reachable from a function, once each."""

    def __init__(self, package: str) -> None:
        self.code = new_hash(importlib.util.MAGIC_NUMBER)
        self.values = new_hash()
        self.package = package
        self._tokens: dict[int, int] = {}
        self._keep: list[Any] = []
        self.helpers: list[types.FunctionType] = []
        self.main_functions: list[types.FunctionType] = []
        self.functions: list[tuple[Any, Any]] = []
        self.cells: list[tuple[Any, Any]] = []
        self.bindings: list[tuple[dict[str, Any], str, Any]] = []

    def _record(self, hasher: Any, tag: str, payload: bytes = b"") -> None:
        head = tag.encode()
        hasher.update(b"%d:%d:" % (len(head), len(payload)) + head + payload)

    def callable(self, obj: Any) -> int:
        """Walk ``obj`` (once); return its token, the order in which it was first met."""
        token = self._tokens.get(id(obj))
        if token is not None:
            self._record(self.code, "seen", b"%d" % token)
            return token
        token = self._tokens[id(obj)] = len(self._keep)
        self._keep.append(obj)
        if isinstance(obj, types.FunctionType):
            self._function(obj)
        elif isinstance(obj, types.MethodType):
            self._record(self.code, "method")
            self.callable(obj.__func__)
            self.value(obj.__self__, "the bound instance")
        elif isinstance(obj, functools.partial):
            self._record(self.code, "partial")
            self.callable(obj.func)
            self.value((obj.args, obj.keywords), "the partial's arguments")
        elif isinstance(obj, types.ModuleType):
            self._record(self.code, "module", obj.__name__.encode())
        elif isinstance(obj, type):
            self._class(obj)
        else:
            self._other(obj)
        return token

    def _function(self, func: types.FunctionType) -> None:
        code = func.__code__
        self._record(self.code, "function")
        feed_code(self.code, code)
        self.functions.append((func, code))
        if module_package(func) == "__main__":
            self.main_functions.append(func)
        defaults = func.__defaults__ or ()
        positional = code.co_varnames[code.co_argcount - len(defaults) : code.co_argcount]
        for name, default in zip(positional, defaults, strict=True):
            self.value(default, f"the default of {name}")
        for name in sorted(func.__kwdefaults__ or {}):
            self.value(func.__kwdefaults__[name], f"the default of {name}")  # type: ignore[index]
        for name, cell in zip(code.co_freevars, func.__closure__ or (), strict=True):
            try:
                contents = cell.cell_contents
            except ValueError:  # an enclosing variable not bound yet
                self.cells.append((cell, EMPTY))
                self._record(self.values, "empty cell")
                continue
            self.cells.append((cell, contents))
            self.value(contents, f"the variable {name!r}")
        self._helpers(func)
        wrapped = getattr(func, "__wrapped__", None)
        if wrapped is not None:  # a decorator layer: what it wraps runs too
            self._record(self.code, "wraps")
            self.callable(wrapped)

    def _helpers(self, func: types.FunctionType) -> None:
        """Walk the functions of the same package that ``func`` calls by global name."""
        namespace = func.__globals__
        for name in dict.fromkeys(referenced_names(func.__code__)):
            value = namespace.get(name)
            if value is None or not _is_function_like(value):
                continue
            target = value if isinstance(value, types.FunctionType) else value.__wrapped__
            if module_package(target) != self.package or target is func:
                continue
            self.bindings.append((namespace, name, value))
            if id(value) not in self._tokens:
                self.helpers.append(target)
            self._record(self.code, "helper", name.encode())
            self.callable(value)

    def _class(self, cls: type) -> None:
        self._record(self.code, "class", f"{cls.__module__}.{cls.__qualname__}".encode())
        if "<locals>" not in cls.__qualname__:
            return  # importable: pickled by name wherever it is used, like any class
        # A class made inside a function: one per call of its maker, and only its
        # contents tell them apart.
        for name, attribute in sorted(vars(cls).items()):
            target = attribute.__func__ if isinstance(attribute, (staticmethod, classmethod)) else attribute
            if isinstance(target, types.FunctionType):
                self._record(self.code, "attribute", name.encode())
                self.callable(target)
            elif not (name.startswith("__") and name.endswith("__")):
                self.value(attribute, f"the class attribute {cls.__qualname__}.{name}")

    def _other(self, obj: Any) -> None:
        kind = type(obj)
        self._record(self.code, "callable", f"{kind.__module__}.{kind.__qualname__}".encode())
        owner = getattr(obj, "__self__", None)
        if isinstance(obj, _CALLABLE_TYPES):  # a builtin: its name, and what it is bound to
            named = f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}"
            self._record(self.code, "name", named.encode())
            if owner is not None and not isinstance(owner, types.ModuleType):
                self.value(owner, "the bound instance")
            return
        wrapped = getattr(obj, "__wrapped__", None)
        if wrapped is not None:  # lru_cache, a cached function: walk what it wraps
            self.callable(wrapped)
            return
        call = getattr(kind, "__call__", None)  # noqa: B004 - the class's, not the instance's
        if isinstance(call, types.FunctionType):
            self.callable(call)
        self.value(obj, f"the callable {kind.__qualname__}")

    def value(self, value: Any, label: str) -> None:
        """Fingerprint captured data; functions inside it by their code."""
        if isinstance(value, _CALLABLE_TYPES) or _is_function_like(value):
            self._record(self.values, "callable")
            self._record(self.values, "token", b"%d" % self.callable(value))
            return
        hasher = ArgumentHasher(new_hash(), functions=self.callable)
        try:
            hasher.feed(value)
        except PICKLING_ERRORS as exc:
            kind = type(value)
            named = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
            raise UncacheableFunctionError(label, named, str(exc)) from exc
        self._record(self.values, "value", hasher.digest())


def fingerprint(
    func: Callable[..., Any], depends_on: tuple[Callable[..., Any], ...] = (), version: object = None
) -> Fingerprint:
    """Fingerprint ``func``, the functions in ``depends_on`` and ``version=``.

    Raises ``UncacheableFunctionError`` when a captured value cannot be fingerprinted.
    """
    import inspect

    innermost = inspect.unwrap(func) if callable(func) else func
    walker = _Walker(module_package(innermost))
    walker.callable(func)
    for dependency in depends_on:
        walker._record(walker.code, "depends_on")
        walker.callable(dependency)
    walker._record(walker.code, "version", repr(version).encode())
    named = [function_name(f) for f in walker.helpers]
    named += [function_name(d) for d in depends_on]
    return Fingerprint(
        "v-" + walker.code.digest().hex()[:16],
        walker.values.digest(),
        sorted(set(named)),
        walker.main_functions,
        Watch(walker.functions, walker.cells, walker.bindings),
    )
