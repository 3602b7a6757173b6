"""The directory store: atomic writes, fan-out, listing; and the per-key lock."""

from __future__ import annotations

import gc
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pkcache._store.local import layout
from pkcache._store.local.atomic import write_atomic
from pkcache._store.local.census import Census
from pkcache._store.local.keylock import KeyLock, LockFile
from pkcache._store.local.store import DirectoryStore
from tests.helpers import run_python

V1, V2 = "v-" + "1" * 16, "v-" + "2" * 16
MANIFEST = {"name": "mod.f", "current_version": V1}


def test_nothing_is_created_until_the_first_write(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "cache")
    bucket = store.bucket("ns", V1, MANIFEST)
    assert bucket.read("ab" * 32) is None
    assert store.namespaces() == []
    assert list(store.entries()) == []
    assert not (tmp_path / "cache").exists()


def test_write_read_fanout_and_mode(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "cache")
    bucket = store.bucket("mod.f-1234", V1, MANIFEST)
    key = "cd" + "0" * 62
    bucket.write(key, [b"hello ", memoryview(b"world")], created=1234.5)
    version = tmp_path / "cache" / "mod.f-1234" / V1
    path = version / "c" / f"{key}.pkl"
    assert path.read_bytes() == b"hello world"
    # All 16 fan-out folders are made with the version folder: no later store makes one.
    assert sorted(p.name for p in version.iterdir() if p.is_dir()) == list("0123456789abcdef")
    assert bytes(bucket.read(key) or b"") == b"hello world"
    assert (tmp_path / "cache").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "cache" / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    (entry,) = store.entries()
    assert (entry.namespace, entry.version, entry.key, entry.size, entry.created) == (
        "mod.f-1234",
        V1,
        key,
        11,
        1234.5,
    )
    assert bucket.delete(key)
    assert not bucket.delete(key)


def test_entries_in_two_digit_fan_folders_of_pkcache_0_1_are_listed_and_removed(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "cache")
    bucket = store.bucket("mod.f-1234", V1, MANIFEST)
    bucket.write("c" + "1" * 63, [b"new"], created=1.0)
    old_key = "cd" + "0" * 62
    old = tmp_path / "cache" / "mod.f-1234" / V1 / "cd"
    old.mkdir()
    (old / f"{old_key}.pkl").write_bytes(b"written by 0.1")
    assert {e.key for e in store.entries()} == {old_key, "c" + "1" * 63}
    assert store.remove_entries(e for e in store.entries() if e.key == old_key) == (1, 14)
    assert not (old / f"{old_key}.pkl").exists()


def test_large_entries_read_whole(tmp_path: Path) -> None:
    bucket = DirectoryStore(tmp_path / "cache").bucket("ns", V1, MANIFEST)
    payload = os.urandom(3 * (1 << 20) + 17)
    bucket.write("ee" * 32, [payload], created=0.0)
    assert bytes(bucket.read("ee" * 32) or b"") == payload


class _FailingSegments(list):  # type: ignore[type-arg]
    """Segments whose second one cannot be written: a disk that fills up mid-write."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield b"new part"
        raise OSError(28, "No space left on device")


def test_a_failed_write_leaves_the_old_entry_and_no_temp_file(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "entry.pkl").write_bytes(b"old")
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises(OSError, match="No space"):
            write_atomic(fd, "entry.pkl", _FailingSegments())
    finally:
        os.close(fd)
    assert sorted(p.name for p in folder.iterdir()) == ["entry.pkl"]
    assert (folder / "entry.pkl").read_bytes() == b"old"


def test_remove_namespace_counts_what_it_removed(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "cache")
    for version in (V1, V2):
        bucket = store.bucket("ns", version, MANIFEST)
        for index in range(3):
            bucket.write(f"{index:02x}" * 32, [b"x" * 10], created=0.0)
    store.write_manifest("ns", {"name": "f", "current_version": V2})
    assert store.read_manifest("ns") == {"pkcache": "function", "name": "f", "current_version": V2}
    assert store.remove_namespace("ns") == (6, 60)
    assert store.namespaces() == []
    assert not (tmp_path / "cache" / "ns").exists()


HOLDER = textwrap.dedent(
    """
    import sys, time
    from pkcache._store.local.keylock import KeyLock
    lock = KeyLock(sys.argv[1], "ab" * 32)
    assert lock.acquire(5)
    print("held", flush=True)
    time.sleep(60)
    """
)


def test_lock_excludes_another_process_and_survives_its_kill(tmp_path: Path) -> None:
    path = str(tmp_path / "locks")
    with subprocess.Popen([sys.executable, "-c", HOLDER, path], stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline() == "held\n"
            lock = KeyLock(path, "ab" * 32)
            assert lock.acquire(0.2) is False
            other_key = KeyLock(path, "cd" * 32)
            assert other_key.try_acquire()  # other keys of the same file are free
            other_key.release()
            holder.send_signal(signal.SIGKILL)
            holder.wait(10)
            assert lock.acquire(5) is True  # the kernel released the dead holder's lock
            lock.release()
        finally:
            holder.kill()


def test_threads_of_one_process_exclude_each_other(tmp_path: Path) -> None:
    path = str(tmp_path / "locks")
    first, second = KeyLock(path, "ab" * 32), KeyLock(path, "ab" * 32)
    assert first.try_acquire()
    outcome: list[bool] = []
    thread = threading.Thread(target=lambda: outcome.append(second.try_acquire()))
    thread.start()
    thread.join()
    assert outcome == [False]
    first.release()
    assert second.try_acquire()
    second.release()


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_idle_lock_files_stay_open_up_to_a_bound_until_close_idle(tmp_path: Path) -> None:
    path = str(tmp_path / "locks")
    LockFile.close_idle()  # those earlier tests left open
    gc.collect()  # and what their garbage holds open, which a collection during this test would close
    before = _open_descriptors()
    locks = [KeyLock(path, f"{i:02x}" * 32) for i in range(5)]
    for lock in locks:
        assert lock.try_acquire()
    assert _open_descriptors() == before + 1  # one descriptor for all five
    for lock in locks:
        lock.release()
    assert _open_descriptors() == before + 1  # kept for the next miss: no open and close per miss
    assert locks[0].try_acquire()
    locks[0].release()
    assert _open_descriptors() == before + 1
    for i in range(3 * LockFile.IDLE_KEPT):  # many lock files, one after another
        other = KeyLock(str(tmp_path / f"locks-{i}"), "ab" * 32)
        assert other.try_acquire()
        other.release()
    assert _open_descriptors() <= before + LockFile.IDLE_KEPT
    LockFile.close_idle(under=str(tmp_path))
    assert _open_descriptors() == before


def test_an_idle_lock_file_removed_meanwhile_is_not_locked_again(tmp_path: Path) -> None:
    # A lock on a file that lost its name excludes nobody: the next lock opens the file anew.
    path = tmp_path / "locks"
    lock = KeyLock(str(path), "ab" * 32)
    assert lock.try_acquire()
    lock.release()
    path.unlink()
    assert lock.try_acquire()
    try:
        assert path.exists()
        held_elsewhere = run_python(
            f"""
            from pkcache._store.local.keylock import KeyLock
            print(KeyLock({str(path)!r}, "ab" * 32).try_acquire())
            """
        )
        assert held_elsewhere.split() == ["False"]
    finally:
        lock.release()
    LockFile.close_idle(under=str(tmp_path))


def test_a_ledger_whose_folder_vanished_never_closes_a_descriptor_twice(tmp_path: Path) -> None:
    from pkcache._store.local.ledger import Ledger

    folder = tmp_path / "ns"
    folder.mkdir()
    ledger = Ledger(str(folder / ".ledger"))
    assert ledger.add(1, 10) == (1, 10)
    shutil.rmtree(folder)
    with pytest.raises(FileNotFoundError):
        ledger.add(1, 10)  # closes its old descriptor, cannot open a new one
    unrelated = os.open(tmp_path / "unrelated", os.O_RDWR | os.O_CREAT)  # likely given the old number
    try:
        folder.mkdir()
        assert ledger.add(1, 10) == (1, 10)  # a new, empty ledger file
        os.fstat(unrelated)  # still open: the ledger did not close it
    finally:
        os.close(unrelated)
        ledger.close()


_HEX_KEY = st.text("0123456789abcdef", min_size=64, max_size=64)
_NAME = st.one_of(
    _HEX_KEY.map(lambda key: key + ".pkl"),  # an entry
    _HEX_KEY.map(lambda key: key.upper() + ".pkl"),  # not pkcache's form
    _HEX_KEY.map(lambda key: key[:63] + ".pkl"),
    _HEX_KEY.map(lambda key: key + ".pkl.tmp"),
    _HEX_KEY.map(lambda key: ".tmp-" + key + ".pkl"),
    st.tuples(st.text(max_size=5), _HEX_KEY, st.text(max_size=5)).map(lambda t: f"{t[0]}\n{t[1]}.pkl\n{t[2]}"),
    st.text(min_size=1, max_size=80),
)


def _can_name_a_file(name: str) -> bool:
    return name not in ("", ".", "..") and "/" not in name and "\0" not in name and len(name.encode()) < 256


@settings(deadline=None)
@given(st.lists(_NAME, max_size=30))
def test_a_listing_s_entries_are_its_files_named_as_entries(
    tmp_path_factory: pytest.TempPathFactory, names: list[str]
) -> None:
    # A listing checks the names of a folder's regular files in bulk (prune's speed at a
    # million entries); a name not of an entry's form must not pass for one, nor a link.
    folder = tmp_path_factory.mktemp("cache") / "ns" / "v-0123456789abcdef" / "a"
    folder.mkdir(parents=True)
    made = {n for n in names if _can_name_a_file(n)}
    for name in made:
        (folder / name).write_bytes(b"x")
    target = folder.parent.parent / "a-users-file"  # a link to a regular file: is_file() through it is True
    target.write_bytes(b"precious")
    (folder / ("cd" * 32 + ".pkl")).symlink_to(target)
    census = Census("ns", None)
    census.add_version(folder.parent, temps=False)
    assert sorted(census.keys) == sorted(layout.key_of(n) for n in made if layout.is_entry_file(n))


def test_a_link_in_a_fan_out_folder_s_place_is_not_listed_through(tmp_path: Path) -> None:
    # The listing opens each fan-out folder without following a link: one planted there
    # (between the folder listing and the open) lists nothing, and nothing behind it.
    elsewhere = tmp_path / "v-0123456789abcdef" / "b"
    elsewhere.mkdir(parents=True)
    (elsewhere / ("ab" * 32 + ".pkl")).write_bytes(b"not pkcache's")
    link = elsewhere.parent / "a"
    link.symlink_to(elsewhere, target_is_directory=True)
    census = Census("ns", None)
    census._add_folder(link, temps=False)
    assert census.keys == []
    census._add_folder(elsewhere, temps=False)
    assert census.keys == ["ab" * 32]


def test_a_bucket_s_kept_folders_removed_under_it_are_made_anew(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "cache")
    bucket = store.bucket("ns", V1, MANIFEST)
    bucket.write("a" * 64, [b"first"], created=1.0)
    lock = bucket.lock("a" * 64)
    assert lock.try_acquire()
    lock.release()
    shutil.rmtree(tmp_path / "cache" / "ns")  # as another process's clear would, folders the bucket keeps open
    bucket.write("a" * 64, [b"second"], created=2.0)  # the same fan-out folder, made anew
    bucket.write("b" * 64, [b"third"], created=3.0)
    assert {e.key: e.size for e in store.entries("ns")} == {"a" * 64: 6, "b" * 64: 5}
    assert (tmp_path / "cache" / "ns" / V1 / "a" / f"{'a' * 64}.pkl").read_bytes() == b"second"
    assert lock.try_acquire()  # its lock file too
    try:
        assert (tmp_path / "cache" / "ns" / V1 / layout.KEY_LOCKS).exists()
    finally:
        lock.release()


def test_the_folders_kept_open_stay_within_a_budget_and_close_with_the_store(tmp_path: Path) -> None:
    from pkcache._store.local.kept import FAN_BUDGET

    gc.collect()  # descriptors of earlier tests' buckets close with them
    before = len(os.listdir("/proc/self/fd"))
    store = DirectoryStore(tmp_path / "cache")
    buckets = [store.bucket(f"ns{n}", V1, MANIFEST) for n in range(8)]
    for bucket in buckets:
        for digit in "0123456789abcdef":
            bucket.write(digit * 64, [b"x"], created=1.0)
    opened = len(os.listdir("/proc/self/fd")) - before
    # Fan-out folders within the budget; per function its version folder, its running totals
    # and entry index (two each: a mapping holds a copy of the descriptor); the root and its totals.
    assert FAN_BUDGET <= opened <= FAN_BUDGET + 5 * len(buckets) + 4
    assert len(list(store.entries())) == 8 * 16
    store.close()
    assert len(os.listdir("/proc/self/fd")) - before <= 1  # the root is reopened by entries() and closed too
