"""The entry index: listings that take sizes and times from it are the listings a stat of every file gives."""

from __future__ import annotations

import array
import logging
import math
import os
import signal
import stat
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pkcache._store.local import index, layout
from pkcache._store.local.atomic import write_atomic
from pkcache._store.local.census import Census
from pkcache._store.local.store import DirectoryStore
from tests.helpers import python_path

V1, V2 = "v-" + "1" * 16, "v-" + "2" * 16
MANIFEST = {"name": "mod.f", "current_version": V1}
NS = "mod.f-1234"


Listing = dict[tuple[str, str, str], tuple[int, float]]  # (namespace, version, key) -> (size, created)


def key_of(number: int) -> str:
    return f"{number:064x}"


def stat_truth(root: Path) -> Listing:
    """What a stat of every entry file says: the listing the index must reproduce."""
    found = {}
    for path in root.glob("*/v-*/*/*.pkl"):
        info = path.lstat()
        if stat.S_ISREG(info.st_mode) and layout.is_entry_file(path.name):
            found[(path.parts[-4], path.parts[-3], layout.key_of(path.name))] = (info.st_size, info.st_mtime)
    return found


def listed(store: DirectoryStore, *, tidy: bool = False) -> Listing:
    found = {}
    for namespace in store.namespaces():
        columns = store.entry_columns(namespace, tidy=tidy)
        for entry in columns.entries():
            found[(entry.namespace, entry.version, entry.key)] = (entry.size, entry.created)
    return found


def census(store: DirectoryStore, namespace: str = NS) -> Census:
    taken = Census(namespace, store.records.index_snapshot(namespace))
    for version in (store.root / namespace).glob("v-*"):
        taken.add_version(version, temps=False)
    return taken


def assert_same(found: Listing, truth: Listing) -> None:
    assert found.keys() == truth.keys()
    for where, (size, created) in truth.items():
        assert found[where][0] == size, where
        assert found[where][1] == pytest.approx(created, abs=1e-6), where


def records_held(store: DirectoryStore) -> int:
    snapshot = store.records.index_snapshot(NS)
    assert snapshot is not None
    return len(snapshot)


def index_bytes(store: DirectoryStore) -> bytes:
    """The index's records (the file is grown ahead: what follows them is not records yet)."""
    snapshot = store.records.index_snapshot(NS)
    assert snapshot is not None
    return (store.root / NS / layout.INDEX).read_bytes()[: snapshot.size]


def fan_folder(store: DirectoryStore, version: str, key: str) -> int:
    return os.open(store.root / NS / version / key[:1], os.O_RDONLY | os.O_DIRECTORY)


def killed_before_naming(store: DirectoryStore, version: str, key: str, size: int, created: float) -> None:
    """What a writer killed after recording its file, before naming it, leaves: the record alone."""
    folder = fan_folder(store, version, key)
    try:
        nameless = os.open(".", os.O_WRONLY | os.O_TMPFILE, 0o600, dir_fd=folder)
    finally:
        os.close(folder)
    try:
        os.write(nameless, b"y" * size)
        record = index.stored(index.raw_name(version), key, os.fstat(nameless).st_ino, size, created)
        store.account(NS, 1, size, record)
    finally:
        os.close(nameless)  # never named: the kernel frees it, and may give its inode to the next file


# Operations on a cache: pkcache's own, a writer killed between recording its file and
# naming it, and removals by hand. (A file another program puts at an entry's name can
# get the very inode recorded for it: see ``index``, and the test of one replacement below.)
OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["write", "killed_writer", "delete", "removed_by_hand", "tidy"]),
        st.sampled_from([V1, V2]),
        st.integers(0, 11),
        st.integers(1, 300),
    ),
    max_size=40,
)


@settings(max_examples=80, deadline=None)
@given(OPERATIONS)
def test_a_listing_from_the_index_is_the_listing_a_stat_of_every_file_gives(
    tmp_path_factory: pytest.TempPathFactory, operations: list[tuple[str, str, int, int]]
) -> None:
    root = tmp_path_factory.mktemp("cache")
    store = DirectoryStore(root)
    buckets = {v: store.bucket(NS, v, MANIFEST) for v in (V1, V2)}
    clock = 1_000_000.0
    for action, version, number, size in operations:
        clock += 1.5
        key = key_of(number)
        path = root / NS / version / key[:1] / f"{key}.pkl"
        if action == "write":
            buckets[version].write(key, [b"x" * size], created=clock)
        elif action == "killed_writer" and (root / NS / version).exists():
            killed_before_naming(store, version, key, size, clock)
        elif action == "delete":
            buckets[version].delete(key)
        elif action == "removed_by_hand" and path.exists():
            path.unlink()
        elif action == "tidy" and store.namespaces():
            store.entry_columns(NS, tidy=True)
        assert_same(listed(store), stat_truth(root))
    if store.namespaces():
        store.entry_columns(NS, tidy=True)
        assert_same(listed(store), stat_truth(root))


def test_a_file_another_program_put_in_an_entrys_place_is_stated(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "cache")
    bucket = store.bucket(NS, V1, MANIFEST)
    bucket.write(key_of(1), [b"x" * 10], created=100.0)
    path = tmp_path / "cache" / NS / V1 / "0" / f"{key_of(1)}.pkl"
    other = path.with_name("made-elsewhere")
    other.write_bytes(b"y" * 99)
    os.utime(other, (200.0, 200.0))
    os.replace(other, path)  # made while the entry still was: another inode
    assert census(store).stated == 1
    assert_same(listed(store), stat_truth(tmp_path / "cache"))


def test_a_file_moved_to_another_entry_s_name_is_stated_not_taken_for_its_inode_s_record(tmp_path: Path) -> None:
    # The index is looked up by inode: the record found must be of the listed name too.
    store = DirectoryStore(tmp_path / "cache")
    store.bucket(NS, V1, MANIFEST).write(key_of(1), [b"x" * 10], created=100.0)
    folder = tmp_path / "cache" / NS / V1 / "0"
    moved = folder / f"{key_of(2)}.pkl"
    os.rename(folder / f"{key_of(1)}.pkl", moved)  # its inode's only record names key 1
    with moved.open("ab") as file:  # and changed in place: what that record says is no longer so
        file.write(b"y" * 90)
    os.utime(moved, (300.0, 300.0))
    assert census(store).stated == 1
    assert_same(listed(store), stat_truth(tmp_path / "cache"))
    assert listed(store)[(NS, V1, key_of(2))][0] == 100


def test_a_tidy_index_spares_every_stat_and_records_every_entry_once(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "cache")
    bucket = store.bucket(NS, V1, MANIFEST)
    for number in range(200):
        bucket.write(key_of(number), [b"x" * number], created=float(number))
    for again in range(6):  # replaced: a record each time
        for number in range(200):
            bucket.write(key_of(number), [b"y" * again], created=500.0 + number)
    assert census(store).stated == 0  # every listed entry's record is its own
    for number in range(1, 200, 4):
        bucket.delete(key_of(number))
    assert census(store).stated == 0  # every listed entry's record is its own
    assert records_held(store) == 7 * 200
    folder = fan_folder(store, V1, key_of(0))
    try:  # three entries written before the index was kept
        for number in (300, 301, 302):
            write_atomic(folder, f"{key_of(number)}.pkl", [b"z"], modified=1.0)
    finally:
        os.close(folder)
    assert census(store).stated == 3
    store.entry_columns(NS, tidy=True)
    # Most records were superseded or removed: the tidy rewrote the index to the
    # entries listed, and kept the three it had to stat.
    assert census(store).stated == 0
    assert records_held(store) == 150 + 3
    assert_same(listed(store), stat_truth(tmp_path / "cache"))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.binary(min_size=8, max_size=8),
            st.integers(0, (1 << 256) - 1),
            st.integers(0, (1 << 64) - 2),
            st.integers(0, (1 << 62) - 1),
            st.floats(0, 1e11),
        ),
        max_size=30,
    )
)
def test_records_packed_column_by_column_are_the_records_a_writer_makes(
    entries: list[tuple[bytes, int, int, int, float]],
) -> None:
    versions = array.array("Q", [int.from_bytes(version, sys.byteorder) for version, *_ in entries])
    keys = b"".join(key.to_bytes(32, "big") for _, key, *_ in entries)
    packed = index.packed(versions, keys, [e[2] for e in entries], [e[3] for e in entries], [e[4] for e in entries])
    made = [index.stored(version, key_of(key), inode, size, created) for version, key, inode, size, created in entries]
    assert packed == b"".join(made)


def test_a_malformed_index_is_not_used_and_is_rewritten(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "cache")
    bucket = store.bucket(NS, V1, MANIFEST)
    for number in range(20):
        bucket.write(key_of(number), [b"x" * (number + 1)], created=10.0 + number)
    index_file = tmp_path / "cache" / NS / layout.INDEX
    good = index_bytes(store)
    lies = [bytearray(good) for _ in range(3)]
    lies[0][64:72] = struct.pack("=d", 1e300)  # a time no writer records
    lies[1][64:72] = struct.pack("=d", float("nan"))
    lies[2][56:64] = struct.pack("=Q", 1 << 63)  # a size no file has
    for damaged in (good[:-5], b"not an index" * 7, *map(bytes, lies)):
        index_file.write_bytes(damaged)
        assert census(store).snapshot is None  # not in its form: every entry is stat'ed
        assert_same(listed(store), stat_truth(tmp_path / "cache"))
        store.entry_columns(NS, tidy=True)
        assert census(store).stated == 0
        assert_same(listed(store), stat_truth(tmp_path / "cache"))


def test_a_link_planted_at_the_index_is_never_read_or_replaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = DirectoryStore(tmp_path / "cache")
    bucket = store.bucket(NS, V1, MANIFEST)
    bucket.write(key_of(1), [b"x"], created=1.0)
    victim = tmp_path / "precious"
    victim.write_bytes(b"not pkcache's")
    index_file = tmp_path / "cache" / NS / layout.INDEX
    index_file.unlink()
    index_file.symlink_to(victim)
    with caplog.at_level(logging.WARNING, logger="pkcache"):
        bucket.write(key_of(2), [b"yy"], created=2.0)
        assert_same(listed(store, tidy=True), stat_truth(tmp_path / "cache"))
    assert index_file.is_symlink()
    assert victim.read_bytes() == b"not pkcache's"
    assert "symbolic link" in caplog.text


def test_a_ledger_of_an_earlier_version_keeps_its_totals(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "cache")
    bucket = store.bucket(NS, V1, MANIFEST)
    bucket.write(key_of(1), [b"x" * 5], created=1.0)
    store.close()
    ledger = tmp_path / "cache" / NS / layout.LEDGER
    ledger.write_bytes(ledger.read_bytes()[:16])  # (entries, bytes): the ledger before the index's generation
    reopened = DirectoryStore(tmp_path / "cache")
    assert reopened.totals(NS) == (1, 5)
    reopened.bucket(NS, V1, MANIFEST).write(key_of(2), [b"y" * 3], created=2.0)
    assert reopened.totals(NS) == (2, 8)
    # The old ledger did not say how much of the index is records: the entry written
    # before is stat'ed, the one written after is recorded.
    assert census(reopened).stated == 1
    assert_same(listed(reopened), stat_truth(tmp_path / "cache"))


WRITER = textwrap.dedent(
    """
    import os, sys
    from pkcache._store.local.store import DirectoryStore
    store = DirectoryStore(sys.argv[1])
    bucket = store.bucket("mod.f-1234", "v-" + "1" * 16, {"name": "mod.f", "current_version": "v-" + "1" * 16})
    first, count = int(sys.argv[2]), int(sys.argv[3])
    for number in range(first, first + count):
        key = f"{number % 5000:064x}"
        if number % 7 == 3:
            bucket.delete(key)
        else:
            bucket.write(key, [b"x" * (number % 300 + 1)], created=float(number))
        if number == first + 50:
            print("writing", flush=True)
    """
)


def test_records_appended_while_the_index_is_rewritten_are_kept(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "cache")
    bucket = store.bucket(NS, V1, MANIFEST)
    for number in range(2000):
        bucket.write(key_of(number), [b"x"], created=1.0)
    env = {**os.environ, "PYTHONPATH": python_path()}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path / "cache"), str(start), "20000"],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for start in (10_000, 40_000)
    ]
    overlapped = 0
    try:
        for writer in writers:
            assert writer.stdout is not None
            assert writer.stdout.readline() == "writing\n"
        while all(w.poll() is None for w in writers):
            taken = census(store)
            assert taken.read is not None
            swapped = store.records.rewrite_index(NS, taken.read, taken.records())
            overlapped += swapped and all(w.poll() is None for w in writers)
    finally:
        for writer in writers:
            assert writer.wait(120) == 0
            assert writer.stdout is not None
            writer.stdout.close()
    assert overlapped >= 3  # swapped while both writers were appending
    assert census(store).stated == 0  # and no record appended meanwhile was lost
    assert_same(listed(store), stat_truth(tmp_path / "cache"))


def test_a_writer_killed_anywhere_leaves_a_listing_the_files_agree_with(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "cache")
    store.bucket(NS, V1, MANIFEST).write(key_of(0), [b"x"], created=1.0)
    env = {**os.environ, "PYTHONPATH": python_path()}
    for round_ in range(6):
        with subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path / "cache"), str(round_ * 100_000), "1000000"],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        ) as writer:
            assert writer.stdout is not None
            assert writer.stdout.readline() == "writing\n"
            time.sleep(0.05 * round_)  # a kill at another point of its work each round: any point must do
            writer.send_signal(signal.SIGKILL)
            writer.wait(30)
        assert_same(listed(store), stat_truth(tmp_path / "cache"))
    store.entry_columns(NS, tidy=True)
    assert_same(listed(store), stat_truth(tmp_path / "cache"))


@pytest.mark.parametrize("created", [math.nan, math.inf, -1.0, 1e13])
def test_a_record_of_the_listed_inode_with_an_impossible_time_is_not_believed(tmp_path: Path, created: float) -> None:
    root = tmp_path / "cache"
    store = DirectoryStore(root)
    bucket = store.bucket(NS, V1, MANIFEST)
    for number in range(3):
        bucket.write(key_of(number), [b"x" * (number + 1)], created=10.0 + number)
    records = bytearray(index_bytes(store))
    records[64 + index.RECORD_SIZE : 72 + index.RECORD_SIZE] = struct.pack("=d", created)  # its inode kept
    (root / NS / layout.INDEX).write_bytes(records)
    assert_same(listed(store), stat_truth(root))


FIELDS = st.tuples(st.binary(min_size=8, max_size=8), st.integers(0, (1 << 64) - 1), st.integers(0, (1 << 64) - 1))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), FIELDS), max_size=8))
def test_records_with_any_fields_never_break_a_listing_or_a_prune(
    tmp_path_factory: pytest.TempPathFactory, damage: list[tuple[int, tuple[bytes, int, int]]]
) -> None:
    root = tmp_path_factory.mktemp("cache")
    store = DirectoryStore(root)
    bucket = store.bucket(NS, V1, MANIFEST)
    for number in range(6):
        bucket.write(key_of(number), [b"x" * (number + 1)], created=10.0 + number)
    index_file = root / NS / layout.INDEX
    records = bytearray(index_bytes(store))
    for which, (version, inode, word) in damage:  # the framing kept, any version, inode, size or time
        at = which * index.RECORD_SIZE
        records[at + 8 : at + 16] = version
        records[at + 48 : at + 56] = inode.to_bytes(8, "little")
        records[at + 56 : at + 72] = word.to_bytes(8, "little") * 2
    index_file.write_bytes(records)
    found = listed(store, tidy=True)
    assert found.keys() == stat_truth(root).keys()  # what exists comes from the listing alone
    assert all(0 <= size < 1 << 62 and 0 <= created < 1e12 for size, created in found.values())
    store.entry_columns(NS, tidy=True)
    assert listed(store).keys() == stat_truth(root).keys()


def test_an_index_in_another_order_than_the_listing_is_rewritten_in_the_listing_s(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "cache")
    bucket = store.bucket(NS, V1, MANIFEST)
    count = 12_000  # over the size below which order does not matter
    for number in range(count):
        bucket.write(key_of(number * 7919 % count), [b"x"], created=float(number))
    before = index_bytes(store)
    store.entry_columns(NS, tidy=True)
    after = index_bytes(store)
    assert sorted(before[at : at + 72] for at in range(0, len(before), 72)) == sorted(
        after[at : at + 72] for at in range(0, len(after), 72)
    )  # the same records
    recorded = [after[at + 16 : at + 48].hex() for at in range(0, len(after), 72)]
    assert recorded == store.entry_columns(NS).keys  # in the listing's order now
    assert census(store).stated == 0


@pytest.mark.parametrize("length", [1 << 50, 7, 72 * 10**6])
def test_a_ledger_that_lies_about_the_index_s_length_costs_stats_not_memory(tmp_path: Path, length: int) -> None:
    store = DirectoryStore(tmp_path / "cache")
    bucket = store.bucket(NS, V1, MANIFEST)
    for number in range(3):
        bucket.write(key_of(number), [b"x" * (number + 1)], created=1.0 + number)
    ledger = tmp_path / "cache" / NS / layout.LEDGER
    data = bytearray(ledger.read_bytes())
    data[32:40] = length.to_bytes(8, "little")  # the index's length, as the ledger records it
    ledger.write_bytes(data)
    bucket.write(key_of(3), [b"yyyy"], created=4.0)
    assert (tmp_path / "cache" / NS / layout.INDEX).stat().st_size < 1 << 20
    # The index started over with the last entry: the three before it are stat'ed.
    assert census(store).stated == 3
    assert_same(listed(store), stat_truth(tmp_path / "cache"))
