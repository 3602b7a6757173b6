"""The signing secret: made once per user, private, shared only on purpose."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import pkcache
from pkcache._secret import default_secret_path, load_secret


def test_secret_file_is_created_private_and_reused(isolated_env: Path) -> None:
    path = default_secret_path()
    assert str(path).startswith(str(isolated_env / "config"))
    assert not path.exists()
    first = load_secret()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_secret() == first
    assert len(first) == 32


def test_processes_racing_to_create_the_secret_agree(isolated_env: Path) -> None:
    code = "from pkcache._secret import load_secret; print(load_secret().hex())"
    children = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=os.environ.copy())
        for _ in range(6)
    ]
    outputs = {child.communicate(timeout=60)[0] for child in children}
    assert len(outputs) == 1
    assert outputs == {load_secret().hex() + "\n"}


def test_env_secret_overrides_and_is_shared(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PKCACHE_SECRET", "team secret of the lab")
    assert load_secret() == load_secret("team secret of the lab")
    assert not default_secret_path().exists()


def _square_calls(cache_dir: Path) -> tuple[pkcache.CachedFunction[[int], int], list[int]]:
    runs: list[int] = []

    def square(x: int) -> int:
        runs.append(x)
        return x * x

    return pkcache.Cache(cache_dir).cached(square), runs


def test_entries_signed_with_another_secret_are_refused(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PKCACHE_SECRET", "alice-secret-1234567890")
    square, _ = _square_calls(cache_dir)
    square(3)
    monkeypatch.setenv("PKCACHE_SECRET", "alice-secret-1234567890")
    same, same_runs = _square_calls(cache_dir)
    assert same(3) == 9
    assert same_runs == []  # same secret: a hit
    monkeypatch.setenv("PKCACHE_SECRET", "mallory-secret-1234567890")
    other, other_runs = _square_calls(cache_dir)
    with caplog.at_level(logging.WARNING, logger="pkcache"):
        assert other(3) == 9
    assert other_runs == [3]
    assert "signature does not verify" in caplog.text
    assert "mallory-secret-1234567890" not in caplog.text
    assert "alice-secret-1234567890" not in caplog.text


def write_secret(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.mark.parametrize("text", ["", "   \n", "short", "aaaaaaaaaaaaaaaaaaaaaaaa", "0123456789abcdef"])
def test_a_weak_secret_file_is_refused_with_how_to_regenerate_it(
    isolated_env: Path, text: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_secret(default_secret_path(), text)
    cache = pkcache.Cache(isolated_env / "cache")
    with pytest.raises(pkcache.SecretError, match=f"secret file {path} is") as raised:
        cache.verify()
    assert "secrets.token_hex(32)" in str(raised.value)
    assert str(raised.value).count("\n") == 0
    # A cached function still returns its results: run uncached, with one warning.
    runs: list[int] = []

    def double(x: int) -> int:
        runs.append(x)
        return 2 * x

    function = cache.cached(double)
    with caplog.at_level(logging.WARNING, logger="pkcache"):
        assert [function(4), function(4)] == [8, 8]
    assert runs == [4, 4]
    assert len(caplog.records) == 1
    assert not (isolated_env / "cache").exists()


class _Touch:
    """Unpickling this creates a file: what a planted entry would run."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[Path]]:
        return (Path.touch, (self.path,))


def test_an_entry_signed_with_an_empty_secret_is_never_unpickled(isolated_env: Path, tmp_path: Path) -> None:
    # Anyone can compute the key an empty secret gives: with it, a planted entry would load.
    import hashlib

    from pkcache import _codec

    marker = tmp_path / "pwned"
    runs: list[int] = []

    def square(x: int) -> int:
        runs.append(x)
        return x * x

    cache = pkcache.Cache(isolated_env / "cache", secret="a secret long enough to sign with")
    function = cache.cached(square)
    assert function(3) == 9
    path = Path(function.entry(3).location)
    weak = hashlib.sha256(b"pkcache-secret-v1\0").digest()
    planted = _codec.encode(function.cache_key(3), _Touch(marker), {}, _codec.Signer(weak))
    path.write_bytes(b"".join(bytes(s) for s in planted.segments))
    write_secret(default_secret_path(), "")
    victim = pkcache.Cache(isolated_env / "cache").cached(square)
    assert victim(3) == 9  # uncached: the empty secret is refused, so the planted entry is not read
    assert not marker.exists()


def test_a_short_env_or_option_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PKCACHE_SECRET", "tiny")
    with pytest.raises(pkcache.SecretError, match=r"\$PKCACHE_SECRET is too short \(4 bytes\)"):
        load_secret()
    with pytest.raises(pkcache.SecretError, match="secret= is too short"):
        pkcache.cached(secret="abc")
    with pytest.raises(pkcache.InvalidOptionError, match="secret="):
        pkcache.Cache(secret="   ")


def test_a_secret_file_others_can_read_or_replace_warns_and_verify_reports_it(
    isolated_env: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    readable = write_secret(tmp_path / "team" / "secret", "a team secret of some length\n", mode=0o644)
    with caplog.at_level(logging.WARNING, logger="pkcache"):
        load_secret(None, readable)
    assert f"secret file {readable} can be read by other users (mode 0o644)" in caplog.text
    report = pkcache.Cache(isolated_env / "cache", secret_file=readable).verify()
    assert any("can be read by other users" in w for w in report.warnings)
    open_folder = tmp_path / "shared"
    open_folder.mkdir()
    open_folder.chmod(0o777)
    in_open_folder = write_secret(open_folder / "secret", "a team secret of some length\n")
    report = pkcache.Cache(isolated_env / "cache", secret_file=in_open_folder).verify()
    assert any("in a folder other users can write" in w for w in report.warnings)
    link = tmp_path / "link-to-secret"
    link.symlink_to(readable)
    report = pkcache.Cache(isolated_env / "cache", secret_file=link).verify()
    assert any(f"secret file {readable} can be read" in w for w in report.warnings)


@pytest.mark.skipif(os.getuid() != 0, reason="giving a file to another user needs root")
def test_a_secret_file_owned_by_another_user_is_refused(isolated_env: Path) -> None:
    path = write_secret(default_secret_path(), "a secret someone else wrote for me\n")
    os.chown(path, 12345, -1)
    with pytest.raises(pkcache.SecretError, match="belongs to another user"):
        load_secret()
