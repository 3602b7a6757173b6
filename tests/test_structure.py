"""The package's shape: imports point one way down the layers, without cycles, and modules stay small.

The layers, top to bottom (docs/architecture.md draws them)::

    face         pkcache, __main__, _api, _cache, _cli/, _ipython, _joblib
    decorator    _decorator/
    engine       _engine/
    housekeeping _housekeeping/ (listing, pruning, maintenance, usage; not policies)
    keys, codec  _keys/, _codec, _options, _secret, _summary, _reports, _housekeeping/policies
    stores       _store/ (protocol and implementations)
    base         _errors, _log, _forks, _text, _units, _version, _table

A module may import from its own layer or any layer below, never above.
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "pkcache"
LARGEST = 260  # lines; "aim under ~250" (STYLE.md)

LAYERS: list[tuple[str, ...]] = [  # bottom first
    ("_errors", "_log", "_forks", "_text", "_units", "_version", "_table"),
    ("_store",),
    ("_keys", "_codec", "_options", "_secret", "_summary", "_reports", "_housekeeping.policies"),
    ("_housekeeping",),
    ("_engine",),
    ("_decorator",),
    ("", "__main__", "_api", "_cache", "_cli", "_ipython", "_joblib"),
]


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The pkcache modules ``name`` imports (relative imports, type-checking ones included)."""
    here = name.split(".") if name else []
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom) or not node.level:
            continue
        base = package[: len(package) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
        submodules = {f"{target}.{a.name}".lstrip(".") for a in node.names} & MODULES.keys()
        found |= submodules or ({target} & MODULES.keys())
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(name: str) -> int:
    best = (-1, -1)  # (length of the matching prefix, layer)
    for level, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if name == prefix or (prefix and name.startswith(prefix + ".")):
                best = max(best, (len(prefix), level))
    assert best[1] >= 0, f"module {name or 'pkcache'} has no layer: add it to LAYERS"
    return best[1]


def test_every_module_has_a_layer_and_imports_only_its_own_or_lower_ones() -> None:
    upward = [
        f"{name or 'pkcache'} -> {target}"
        for name, targets in GRAPH.items()
        for target in targets
        if _layer(target) > _layer(name)
    ]
    assert upward == []


def test_the_import_graph_has_no_cycle() -> None:
    done: set[str] = set()
    path: list[str] = []

    def visit(name: str) -> None:
        if name in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(name) :], name]))
        if name in done:
            return
        path.append(name)
        for target in sorted(GRAPH[name]):
            visit(target)
        path.pop()
        done.add(name)

    for name in sorted(GRAPH):
        visit(name)


def test_no_module_is_longer_than_one_sitting() -> None:
    long = {name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) > LARGEST}
    assert long == {}


def test_the_checks_see_the_package() -> None:
    # Guards the guards: a wrong PACKAGE path or parser would make the tests above pass vacuously.
    assert len(MODULES) > 50
    assert "_engine.context" in GRAPH["_decorator.base"] or "_engine.context" in GRAPH["_decorator.calls"]
    assert "_store.protocol" in GRAPH["_store.local.store"]


def test_benchmarks_and_examples_use_the_public_api_only() -> None:
    # A refactor of the private modules must never break them (CONTRIBUTING.md).
    private = re.compile(r"\bpkcache\._[a-z]|from pkcache import _[a-z]|\._require_context\b|\._context\b")
    offenders = [
        f"{path.name}:{number}"
        for folder in ("benchmarks", "examples")
        for path in sorted((PACKAGE.parent / folder).glob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if private.search(line)
    ]
    assert offenders == []


def test_import_pkcache_leaves_what_it_needs_only_later_unimported() -> None:
    # ``import pkcache`` stays quick (docs/performance.md): what only a call, a listing or
    # a message needs is imported then. Run without ``site`` (an editable install's
    # finder imports pathlib first), with the package and its dependencies on the path.
    import site
    import subprocess
    import sys

    later = ["pathlib", "fnmatch", "logging", "pickle", "json", "platformdirs", "blake3", "filelock", "inspect"]
    later += ["pkcache._reports", "pkcache._housekeeping.listing", "pkcache._housekeeping.maintenance"]
    later += ["pkcache._housekeeping.pruning"]
    path = os.pathsep.join([str(PACKAGE.parent), *site.getsitepackages()])
    code = f"import sys; import pkcache; print([m for m in {later!r} if m in sys.modules])"
    out = subprocess.run(
        [sys.executable, "-S", "-c", code],
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
