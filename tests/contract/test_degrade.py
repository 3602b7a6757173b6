"""Contract: a store that cannot be used costs recomputation and a warning, never an error in the caller."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import pkcache
from tests.contract.conftest import Backend
from tests.helpers import run_python

RUNS: list[int] = []  # a global: a captured list would be part of the key


def test_an_unusable_store_never_breaks_the_caller(backend: Backend, caplog: pytest.LogCaptureFixture) -> None:
    RUNS.clear()
    with backend.unavailable(), caplog.at_level(logging.WARNING, logger="pkcache"):
        cache = pkcache.Cache(backend.location)

        @cache.cached
        def square(x: int) -> int:
            RUNS.append(x)
            return x * x

        assert [square(3), square(3), square(4)] == [9, 9, 16]
        assert RUNS == [3, 3, 4]  # every call ran its body
    assert any("square" in r.getMessage() or backend.location in r.getMessage() for r in caplog.records)


def test_caching_works_once_the_store_is_back(backend: Backend, tmp_path: Path) -> None:
    (tmp_path / "square_mod.py").write_text("import pkcache\n\n@pkcache.cached\ndef square(x):\n    return x * x\n")
    call = "from square_mod import square\nprint(square(3), square(3), square.cache_info().hits)"
    with backend.unavailable():  # inspection (cache_info) would raise the store's error: calls only
        assert run_python(
            "from square_mod import square\nprint(square(3), square(3))", env=backend.child_env(tmp_path)
        ).split() == ["9", "9"]
    assert run_python(call, env=backend.child_env(tmp_path)).split() == ["9", "9", "1"]  # nothing was stored
    assert run_python(call, env=backend.child_env(tmp_path)).split() == ["9", "9", "2"]
