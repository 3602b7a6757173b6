"""Contract: nothing unsigned, altered, moved or signed by another secret is ever loaded, on any store."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

import pkcache
from tests.contract.conftest import Backend

RUNS: list[int] = []  # a global: a captured list would be part of the key


def test_planted_altered_moved_and_foreign_entries_are_refused(
    backend: Backend, cache: pkcache.Cache, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    RUNS.clear()

    @cache.cached
    def value(x: int) -> dict[str, int]:
        RUNS.append(x)
        return {"x": x}

    value(1), value(2)
    entries = {e.key: e for e in cache.entries()}
    one = entries[value.cache_key(1)]
    place = (one.namespace, one.version, one.key)
    good = backend.read_entry(*place)
    assert good is not None
    caplog.set_level(logging.WARNING, logger="pkcache")

    # A planted pickle that would run a command if it were ever unpickled.
    marker = tmp_path / "pwned"
    backend.write_entry(*place, b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR.")
    assert not value.is_cached(1)
    assert value(1) == {"x": 1}
    assert not marker.exists()

    # One altered byte of a signed entry.
    altered = bytearray(good)
    altered[-5] ^= 0xFF
    backend.write_entry(*place, bytes(altered))
    assert value(1) == {"x": 1}

    # Another key's whole, signed entry moved to this key's place.
    two = entries[value.cache_key(2)]
    moved = backend.read_entry(two.namespace, two.version, two.key)
    assert moved is not None
    backend.write_entry(*place, moved)
    assert value(1) == {"x": 1}

    # An entry signed with another secret (another team's, or a forger's).
    foreign = pkcache.Cache(backend.location, secret="someone-else-entirely-0123")
    forged = foreign.cached(value.__wrapped__)
    forged.entry(1).put({"x": -1})
    assert value(1) == {"x": 1}
    assert RUNS == [1, 2, 1, 1, 1, 1]
    assert any("integrity" in r.getMessage() or "signature" in r.getMessage() for r in caplog.records)


def test_verify_reports_and_removes_what_fails(backend: Backend, cache: pkcache.Cache) -> None:
    @cache.cached
    def value(x: int) -> int:
        return x

    for x in range(3):
        value(x)
    victim = next(e for e in cache.entries() if e.key == value.cache_key(1))
    place = (victim.namespace, victim.version, victim.key)
    data = bytearray(backend.read_entry(*place) or b"")
    data[-1] ^= 1
    backend.write_entry(*place, bytes(data))
    report = cache.verify()
    assert report.checked == 3
    assert len(report.corrupt) + len(report.forged) == 1
    assert [value.is_cached(x) for x in range(3)] == [True, False, True]
    assert cache.verify().checked == 2


def test_a_secret_too_short_to_sign_with_is_refused_at_once(backend: Backend) -> None:
    with pytest.raises(pkcache.SecretError):
        pkcache.Cache(backend.location, secret="short")
    assert "PKCACHE_SECRET" in os.environ  # the contract's own secret is long enough
