"""Contract: the ``pkcache`` command does the same on every store (run as a user would, in a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pkcache
from tests.contract.conftest import Backend


def cli(backend: Backend, *args: str, default: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the CLI on the store: selected by its option, or (``default``) by the environment alone."""
    selection = [] if default else backend.cli
    return subprocess.run(
        [sys.executable, "-m", "pkcache", *args, *selection],
        capture_output=True,
        text=True,
        env={**os.environ, **(backend.env if default else {})},
        timeout=120,
        check=False,
    )


def test_every_command_on_the_store(backend: Backend, cache: pkcache.Cache) -> None:
    @cache.cached
    def load(name: str) -> str:
        return name.upper()

    @cache.cached
    def other(x: int) -> int:
        return x

    load("alpha"), load("beta"), other(1), load("alpha")
    load.flush_usage()

    listing = cli(backend, "list")
    assert listing.returncode == 0, listing.stderr
    assert "load" in listing.stdout
    assert "other" in listing.stdout
    entries = cli(backend, "list", "--function", "load")
    assert "'alpha'" in entries.stdout
    assert "'beta'" in entries.stdout
    as_json = json.loads(cli(backend, "list", "--json").stdout)
    assert sorted(row["function"].rsplit(".", 1)[-1] for row in as_json) == ["load", "other"]
    info = cli(backend, "info", default=True)
    assert info.returncode == 0, info.stderr
    assert "3 (0 stale)" in info.stdout
    assert json.loads(cli(backend, "info", "--json").stdout)["hits"] == 1
    key = load.cache_key("alpha")
    show = cli(backend, "show", key[:12])
    assert show.returncode == 0
    assert "load" in show.stdout
    assert "'alpha'" in show.stdout

    victim = next(e for e in cache.entries() if e.key == key)
    place = (victim.namespace, victim.version, victim.key)
    data = bytearray(backend.read_entry(*place) or b"")
    data[-1] ^= 1
    backend.write_entry(*place, bytes(data))
    verify = cli(backend, "verify")
    assert verify.returncode == 1
    assert "checked 3 entries" in verify.stdout
    assert "1 failing their integrity check" in verify.stdout

    dry = cli(backend, "prune", "--max-entries", "1", "--dry-run")
    assert dry.returncode == 0
    assert cache.stats().entries == 2
    prune = cli(backend, "prune", "--max-entries", "1")
    assert prune.returncode == 0
    assert "removed 1 entries" in prune.stdout
    clear = cli(backend, "clear", "--function", "other", "--yes")
    assert clear.returncode == 0, clear.stderr
    assert "removed 1 entries" in clear.stdout
    assert cache.stats().entries == 0
    path = cli(backend, "path")
    assert path.stdout.strip() == backend.location


def test_bad_arguments_fail_in_one_line_and_change_nothing(backend: Backend, cache: pkcache.Cache) -> None:
    @cache.cached
    def ident(x: int) -> int:
        return x

    ident(1)
    for args in (["clear", "--older-than", "7"], ["prune", "--max-size", "lots"], ["show", "zz"], ["nonsense"]):
        result = cli(backend, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert cache.stats().entries == 1
