"""A function folder's entry index: each entry's inode, size and time, as its writer recorded them.

A prune of a million entries cannot afford a ``stat`` per entry (seconds on their own),
so every store appends a record (version, key, inode, size, created) to the folder's
``.index``, under the lock of the folder's running totals (``ledger``), once the file is
whole and before it has its name: whenever its writer is killed, no file pkcache named
lacks its record, and a record whose file never got its name describes an inode that is
not there. The index never says what exists: a listing does (``census``), and
``scandir`` gives each name's inode and type without a ``stat``. The index says only how
big and how old a listed entry is, and only where the last record of the listed inode
is of the listed name; an entry with no such record (written before the index, or put
there by another program) is ``stat``ed instead. Removals record nothing: a record
whose file is gone is never listed, and a rewrite drops it. Records are untrusted input:
an index not wholly in this form is not used at all (every entry is ``stat``ed, and the
next tidy rewrites it).

What the index cannot see is another program's doing under an inode it recorded: a file
changed in place (its times set by ``touch``, its bytes edited), or a file put at an
entry's name that happens to get the inode number recorded for that name. A prune then
goes by the recorded size and time. pkcache itself never changes an entry in place.
"""

from __future__ import annotations

import math
import mmap
import operator
import os
import struct
import sys
from array import array
from collections.abc import Callable
from itertools import repeat
from typing import NamedTuple

from ..._forks import process_id
from .ledger import Epoch, Held

Opener = Callable[[int], int]  # opener(flags): the index's descriptor in its folder, never through a link

# magic, kind, version and key (raw bytes of their hex names), inode, size, created; in
# the machine's byte order, so that the index is read as 8-byte words without unpacking
# (an index moved to a machine of the other order matches nothing: its entries are stat'ed).
_RECORD = struct.Struct("=4sB3x8s32sQQd")
RECORD_SIZE = _RECORD.size  # 72
_MAGIC = b"pkx1"
STORED = 1
_WORDS = RECORD_SIZE // 8  # a record is 9 words: version, the key's four, inode, size, created
_LARGEST = 1 << 62
_GROWTH = 1 << 16  # bytes an index grows by at least (910 records), and by an eighth of its size
_IMPOSSIBLE = (1 << 64) - 1  # an inode no listed file has (st_ino is at most this, and never is)
_NOTHING = _RECORD.pack(_MAGIC, STORED, bytes(8), bytes(32), _IMPOSSIBLE, 0, 0.0)
_HEAD = int.from_bytes(_NOTHING[:8], sys.byteorder)  # magic and kind, as a record's first word


def stored(version: bytes, key: str, inode: int, size: int, created: float) -> bytes:
    """The record of an entry just written; ``b""`` for a key not of an entry file's form (never listed)."""
    raw = _raw_key(key)
    return b"" if raw is None else _RECORD.pack(_MAGIC, STORED, version, raw, inode, size, created)


def raw_name(version: str) -> bytes:
    """A version folder's name (``v-`` and 16 hex digits, see ``layout``) as the 8 bytes a record holds."""
    return bytes.fromhex(version[2:])


def _raw_key(key: str) -> bytes | None:
    # A key in another form than an entry file's (not 64 lowercase hex digits) is never
    # listed: what a record of it holds is never read, so only its length needs checking.
    try:
        raw = bytes.fromhex(key)
    except ValueError:
        return None
    return raw if len(raw) == 32 else None


class IndexFile:
    """This process's mapping of one folder's index, for appending; used only under the ledger's lock.

    Records are copied into a shared mapping of the file, which is grown ahead, in real
    bytes (a write through a mapping where a full disk left no block is a SIGBUS, not an
    ``OSError``); the ledger holds how much of it is records. A write(2) at the end of the
    file instead changed its size, a journaled inode change, at every store: 5.5 us of a
    miss on ext4 here, against 1 on tmpfs. Reopened when the ledger says the index may be
    another file (``Epoch``: rewritten by a tidy, or its folder made anew), and in a child.
    """

    def __init__(self, opener: Opener) -> None:
        self._opener = opener
        self._fd = -1
        self._map: mmap.mmap | None = None
        self._pid = 0
        self._epoch: Epoch | None = None

    def append(self, records: bytes, held: Held) -> None:
        """Append whole records; raises ``OSError`` (then none of them counts)."""
        epoch = held.epoch()
        if self._fd < 0 or self._pid != process_id() or self._epoch != epoch:
            self.close()
            self._fd = self._opener(os.O_RDWR | os.O_CREAT)
            self._pid, self._epoch = process_id(), epoch
        start = held.indexed()
        end = start + len(records)
        if self._map is None or len(self._map) < end or start % RECORD_SIZE:
            start = self._map_through(start, end)
            end = start + len(records)
        assert self._map is not None
        self._map[start:end] = records
        held.set_indexed(end)

    def _map_through(self, start: int, end: int) -> int:
        """Map the file through ``end``, grown if needed; return where to append (``start``, or 0)."""
        size = os.fstat(self._fd).st_size
        if start > size or start % RECORD_SIZE:
            # The ledger says more than the file holds (or no record's boundary): not a
            # length a writer left. The index starts over; entries it loses are stat'ed.
            start, end = 0, end - start
        if size < end:
            grown = end + max(_GROWTH, size // 8)
            zeros = bytes(grown - size)
            while zeros:  # a short write is a full disk: the next one says so
                zeros = zeros[os.pwrite(self._fd, zeros, size) :]
                size = grown - len(zeros)
        if self._map is not None:
            self._map.close()
            self._map = None
        self._map = mmap.mmap(self._fd, size)
        return start

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if self._map is not None and self._pid == process_id():
            self._map.close()
        self._map = None
        if fd >= 0 and self._pid == process_id():
            os.close(fd)


class Matched(NamedTuple):
    """Listed entries as an index knows them: each one's recorded size and time, the entries (by listing
    position) with no record of their inode, whose size and time must come from a stat, and how many
    records came right after the one before them (see ``in_order``)."""

    sizes: list[int]
    created: list[float]
    unmatched: list[int]
    in_order: int


class Snapshot:
    """An index as read at one instant, for ``match``: each inode's last record.

    Records are looked up by inode, the number a listing gives for each name, and a
    match must then have the listed name (version and key) too. Ints are hashed as they
    are, where a lookup by name made a new 40-byte object per listed entry, and the keys
    of a whole folder's matches are compared at once, as one string of bytes (reading
    and matching a million entries: 1.2 s before, 0.85 s, under a profiler).
    """

    def __init__(self, data: bytearray, epoch: Epoch) -> None:
        self.epoch = epoch
        self.size = len(data)  # bytes read: what a rewrite has seen of the index
        self.records = len(data) // RECORD_SIZE
        self.valid = well_formed(data, self.records)
        # The records, and one more that no listed file matches (an impossible inode), for
        # listed inodes without a record: added in place (``data`` is this snapshot's own).
        if self.valid:
            data += _NOTHING
        self._data = data if self.valid else bytearray(_NOTHING)
        words = memoryview(self._data).cast("Q")
        # Lists, not the views themselves: a lookup per listed entry in a view makes a new
        # number each time, and took three times as long.
        self._inodes: list[int] = words[6::_WORDS].tolist()
        self._sizes: list[int] = words[7::_WORDS].tolist()
        self._created: list[float] = memoryview(self._data).cast("d")[8::_WORDS].tolist()  # type: ignore[assignment]
        self._versions: list[int] = words[1::_WORDS].tolist()
        self._keys: list[bytearray] = []
        self._where: dict[int, int] = {}
        if self.valid and self.records:
            self._read()

    def __len__(self) -> int:
        return self.records

    def _read(self) -> None:
        data, count = self._data, self.records
        created = self._created[:count]
        if not (math.isfinite(sum(created)) and min(created) >= 0 and max(created) < 1e12):  # a NaN sums to NaN
            self.valid = False  # not what a writer records: go by the files instead
            return
        if max(self._sizes[:count]) >= _LARGEST:
            self.valid = False
            return
        self._keys = [data[at : at + 32] for at in range(16, len(data), RECORD_SIZE)]  # the sentinel's too
        # Each inode to the position of its last record (the sentinel's left out). While a
        # listed file holds an inode no other file can be given it, so the last record of
        # a listed inode is its file's own, if pkcache wrote the file; one another program
        # renamed is told by its name.
        self._where = dict(zip(self._inodes, range(count), strict=False))

    def match(self, version: bytes, keys: bytes, inodes: list[int]) -> Matched:
        """Match the entries listed in a folder of ``version`` (their keys' raw bytes end to end, their inodes)."""
        count, none = len(inodes), self.records
        positions = list(map(self._where.get, inodes, repeat(none)))
        versions = list(map(self._versions.__getitem__, positions))
        unmatched = []
        if (
            none in positions
            or versions.count(int.from_bytes(version, sys.byteorder)) != count
            or b"".join(map(self._keys.__getitem__, positions)) != keys
        ):  # some inodes have no record, or a record of another name: those files are stat'ed
            named = [version + keys[at : at + 32] for at in range(0, len(keys), 32)]
            unmatched = [at for at, position in enumerate(positions) if self._name(position) != named[at]]
        sizes = list(map(self._sizes.__getitem__, positions))
        created = list(map(self._created.__getitem__, positions))
        return Matched(sizes, created, unmatched, in_order(positions))

    def _name(self, position: int) -> bytearray:
        """The version and key of the record at ``position`` (the sentinel's: no listed name)."""
        start = position * RECORD_SIZE
        return self._data[start + 8 : start + 48] if position < self.records else bytearray()


def packed(versions: array[int], keys: bytes, inodes: list[int], sizes: list[int], created: list[float]) -> bytes:
    """The records of entries given column by column (keys: their raw bytes end to end), each field copied
    in as a column, not a record at a time: a rewrite of a million records made from a slice of the old
    index each took half a second, and as long again to join."""
    count = len(inodes)
    out = bytearray(count * RECORD_SIZE)
    words = memoryview(out).cast("Q")
    words[0::_WORDS] = array("Q", [_HEAD]) * count
    words[1::_WORDS] = versions
    key = memoryview(keys).cast("Q")
    for at in range(4):
        words[2 + at :: _WORDS] = key[at::4]
    words[6::_WORDS] = array("Q", inodes)
    words[7::_WORDS] = array("Q", sizes)
    memoryview(out).cast("d")[8::_WORDS] = array("d", created)
    return bytes(out)


def in_order(positions: list[int]) -> int:
    """How many of ``positions`` follow the one before them.

    A listing goes in the folder's own order (a hash of the names, on ext4), the index in
    the order of the writes; looking up a million entries in another order than the
    records' cost a memory miss each (3.5 s for a prune at a million entries against 2.6
    s in the listing's order, measured): a tidy that finds most out of order rewrites
    them in the listing's.
    """
    return sum(map(operator.eq, positions[1:], map((1).__add__, positions)))


def well_formed(data: bytes | bytearray, count: int) -> bool:
    if len(data) != count * RECORD_SIZE:
        return False  # the ledger's lock guarantees whole records: this was written by someone else
    # Each record's first word (magic, kind and padding) is the one a writer packs: compared
    # as one column, copied out of the records in one go.
    with memoryview(data) as view, view.cast("Q") as words:
        return words[0::_WORDS].tobytes() == _NOTHING[:8] * count
