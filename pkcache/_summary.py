"""A call's arguments as listings show them: values a person can read, bounded, at any size.

``lr=0.01``, ``name='train'``, ``when=2026-01-02``, ``xs=[1, 2, 3, …] (len 500)``,
``df=DataFrame(400000×5: a, b, c, …)``, ``arr=ndarray(float64, 1000×3)``. Never the
full repr of a large value: each kind shows a few items and its size, so the summary
takes the same time whatever the argument's size.
"""

from __future__ import annotations

from typing import Any

_ITEMS = 3  # items shown of a container, columns of a frame
_TEXT = 40  # characters shown of a string
_LIMIT = 200  # characters of a whole summary
_ELLIPSIS = "…"


def _text(value: str | bytes) -> str:
    shown = repr(value[:_TEXT])
    return shown + _ELLIPSIS if len(value) > _TEXT else shown


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(str(n) for n in shape) or "scalar"


def _container(value: Any, depth: int) -> str:
    kind = type(value)
    length = len(value)
    if isinstance(value, dict):
        items = [f"{summary(k, depth + 1)}: {summary(v, depth + 1)}" for k, v in _first(value.items())]
        opening, closing = "{", "}"
    else:
        items = [summary(v, depth + 1) for v in _first(value)]
        brackets: dict[type, tuple[str, str]] = {list: ("[", "]"), tuple: ("(", ")")}
        opening, closing = brackets.get(kind, (f"{kind.__name__}({{", "})"))
        if kind is tuple and length == 1:
            items[0] += ","
    if length > _ITEMS:
        items.append(_ELLIPSIS)
    shown = opening + ", ".join(items) + closing
    if kind not in (list, tuple, dict, set, frozenset):
        shown = f"{kind.__name__}({shown})"
    return shown + (f" (len {length})" if length > _ITEMS else "")


def _first(items: Any) -> list[Any]:
    found: list[Any] = []
    for item in items:
        if len(found) == _ITEMS:
            break
        found.append(item)
    return found


def _labels(index: Any) -> str:
    labels = [str(label) for label in index[:_ITEMS]]
    return ", ".join(labels) + (f", {_ELLIPSIS}" if len(index) > _ITEMS else "")


def _library_value(value: Any) -> str | None:
    """numpy arrays and pandas objects, named by their shape, dtype and labels; None for anything else."""
    kind = type(value)
    module = kind.__module__.partition(".")[0]
    if module == "numpy" and hasattr(value, "shape") and hasattr(value, "dtype"):
        if value.ndim == 0:
            return f"{kind.__name__}({value.dtype}, {value.item()!r})"
        return f"{kind.__name__}({value.dtype}, {_shape(value.shape)})"
    if module == "pandas":
        if kind.__name__ == "DataFrame":
            return f"DataFrame({_shape(value.shape)}: {_labels(value.columns)})"
        if kind.__name__ == "Series":
            name = "" if value.name is None else f", name={summary(value.name, 2)}"
            return f"Series({value.dtype}, {len(value)}{name})"
        if "Index" in kind.__name__:
            return f"{kind.__name__}({value.dtype}, {len(value)})"
    return None


def summary(value: Any, depth: int = 0) -> str:
    """A short, readable, bounded description of one value."""
    if value is None or isinstance(value, (bool, float, complex)):
        return repr(value)
    if isinstance(value, int):
        return repr(value) if value.bit_length() <= 128 else f"<int of {value.bit_length()} bits>"
    if isinstance(value, (str, bytes)):
        return _text(value)
    if depth > 2:
        return _ELLIPSIS
    found = _library_value(value)
    if found is not None:
        return found
    kind = type(value)
    if kind.__module__ == "datetime":
        return str(value.isoformat())
    if kind.__module__ == "pathlib" or hasattr(kind, "_value2member_map_"):  # a path, an enum member
        shown = repr(value)
        return shown if len(shown) <= 2 * _TEXT else shown[: 2 * _TEXT] + _ELLIPSIS
    if isinstance(value, (list, tuple, dict, set, frozenset)):
        return _container(value, depth)
    fields = getattr(kind, "__dataclass_fields__", None)
    if fields is not None:
        parts = [f"{name}={summary(getattr(value, name, None), depth + 1)}" for name in _first(fields)]
        parts += [_ELLIPSIS] if len(fields) > _ITEMS else []
        return f"{kind.__qualname__}({', '.join(parts)})"
    return f"<{kind.__qualname__}>"


def summarize(pairs: list[tuple[str, Any]]) -> str:
    """A call's arguments, ``name=value`` each, bounded as a whole."""
    text = ", ".join(f"{name}={summary(value)}" for name, value in pairs)
    return text if len(text) <= _LIMIT else text[: _LIMIT - 1] + _ELLIPSIS
