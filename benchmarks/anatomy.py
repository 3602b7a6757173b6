"""Where a small hit's and a small miss's time goes, and how a large hit's times spread: for compare.py.

Public API only: the parts of a hit are timed through what users can call (``cache_key``,
``pickle.loads`` of the result) and the rest is the difference. System calls are counted
with ``strace`` when it is installed (the row says so when it is not).
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

# pkcache serves a small hit from memory once its entry is this old (seconds): until then
# every hit reads the file, since the file's stamp cannot yet vouch for it.
SETTLE = 2.2


def _best_us(call: Callable[[], Any], number: int, repeat: int = 7) -> float:
    return min(timeit.repeat(call, number=number, repeat=repeat)) / number * 1e6


def hit_breakdown(make: Callable[..., Any], small: Callable[..., Any], scratch: Path, number: int) -> str:
    """A small hit of pkcache and of the plain decorator, taken apart (best of 7 repeats each)."""
    import hashlib

    functions = {lib: make(lib, str(scratch / f"anatomy-{lib}"), small) for lib in ("pkcache", "plain")}
    for function in functions.values():
        function(7)
    # Well within SETTLE of the store: 5 x 2,000 hits take a fraction of a second.
    young = _best_us(lambda: functions["pkcache"](7), 2000, repeat=5)
    time.sleep(SETTLE)
    stream = pickle.dumps(small(7), protocol=5)
    parts = {
        "pkcache": {
            "hit": _best_us(lambda: functions["pkcache"](7), number),
            "key (bind + hash)": _best_us(lambda: functions["pkcache"].cache_key(7), number),
        },
        "plain": {
            "hit": _best_us(lambda: functions["plain"](7), number),
            "key (bind + hash)": _best_us(
                lambda: hashlib.md5(pickle.dumps((small.__qualname__, (7,), {}))).hexdigest(), number
            ),
        },
    }
    load = _best_us(lambda: pickle.loads(stream), number)
    lines = ["\nA small hit taken apart (µs, best of 7 repeats; lookup = hit - key - load):"]
    lines.append("| | hit | key (bind + hash) | lookup (find, check, call overhead) | load (unpickle) |")
    lines.append("|---|---:|---:|---:|---:|")
    for lib, found in parts.items():
        lookup = found["hit"] - found["key (bind + hash)"] - load
        lines.append(f"| {lib} | {found['hit']:.1f} | {found['key (bind + hash)']:.1f} | {lookup:.1f} | {load:.1f} |")
    lines.append(
        f"pkcache's hit on an entry written under {SETTLE:.0f} s ago (read from its file, not kept in memory): "
        f"{young:.1f} µs."
    )
    return "\n".join(lines)


STRACED = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, {here!r})
    from compare import make, small
    function = make({library!r}, {directory!r}, small)
    function(-1, "warm")
    os.write(2, b"pkcache-benchmark-start\\n")
    for n in range({count}):
        function(n, "miss")
    os.write(2, b"pkcache-benchmark-end\\n")
    """
)


def syscalls_per_miss(libraries: list[str], count: int = 200) -> str:
    """System calls per small miss in a fresh cache, counted by strace between two markers."""
    if shutil.which("strace") is None:
        return "\nSystem calls per small miss: not counted (strace is not installed)."
    cells = []
    for library in libraries:
        with tempfile.TemporaryDirectory() as scratch:
            trace = Path(scratch) / "trace"
            code = STRACED.format(
                here=str(Path(__file__).parent), library=library, directory=str(Path(scratch) / "cache"), count=count
            )
            subprocess.run(
                ["strace", "-f", "-o", str(trace), sys.executable, "-c", code],
                check=True,
                stderr=subprocess.DEVNULL,
                env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            )
            lines = trace.read_text().splitlines()
        start = next(i for i, line in enumerate(lines) if "pkcache-benchmark-start" in line)
        end = next(i for i, line in enumerate(lines) if "pkcache-benchmark-end" in line)
        calls: dict[str, int] = {}
        for line in lines[start + 1 : end]:
            name = line.split(None, 1)[-1].split("(", 1)[0]
            if name.isidentifier():
                calls[name] = calls.get(name, 0) + 1
        top = ", ".join(f"{name} {n / count:.1f}" for name, n in sorted(calls.items(), key=lambda kv: -kv[1]))
        cells.append(f"- {library}: {sum(calls.values()) / count:.1f} ({top})")
    return f"\nSystem calls per small miss in a fresh cache (strace, mean of {count}):\n" + "\n".join(cells)


def warm_misses(
    make: Callable[..., Any],
    small: Callable[..., Any],
    libraries: list[str],
    scratch: Path,
    *,
    entries: int,
    pairs: int,
) -> str:
    """Small misses in caches already holding ``entries`` entries, timed in alternating rounds (µs per miss)."""
    functions = {lib: make(lib, str(scratch / f"warm-{lib}"), small) for lib in libraries}
    for function in functions.values():
        for n in range(entries):
            function(n, "warm")
    samples: dict[str, list[float]] = {lib: [] for lib in libraries}
    for pair in range(pairs):
        order = libraries if pair % 2 else libraries[::-1]
        for lib in order:
            start = time.perf_counter()
            for n in range(300):
                functions[lib](n, f"miss-{pair}")
            samples[lib].append((time.perf_counter() - start) / 300 * 1e6)
    base = statistics.median(samples["pkcache"])
    cells = [
        f"{lib} {statistics.median(found):.0f}"
        + ("" if lib == "pkcache" else f" ({statistics.median(found) / base:.2f}x)")
        for lib, found in samples.items()
    ]
    return f"\nSmall misses in caches holding {entries:,} entries, medians of {pairs} rounds of 300 (µs): " + ", ".join(
        cells
    )


def miss_cpu(
    make: Callable[..., Any],
    small: Callable[..., Any],
    libraries: list[str],
    scratch: Path,
    *,
    pairs: int,
    count: int = 1000,
) -> str:
    """CPU time per small miss in a fresh cache, the process's own (user) and the kernel's (system) apart.

    From ``getrusage`` around ``count`` misses, in alternating rounds. User time is the
    library's work in Python and C; system time, the kernel's for its files and locks;
    wall time beyond the two is waiting (the disk's journal, other processes).
    """
    import resource

    samples: dict[str, list[tuple[float, float]]] = {lib: [] for lib in libraries}
    for pair in range(pairs):
        for lib in libraries if pair % 2 else libraries[::-1]:
            function = make(lib, str(scratch / f"cpu-{lib}-{pair}"), small)
            before = resource.getrusage(resource.RUSAGE_SELF)
            for n in range(count):
                function(n, "cpu")
            after = resource.getrusage(resource.RUSAGE_SELF)
            user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
            samples[lib].append((user / count * 1e6, system / count * 1e6))
    cells = [
        f"{lib} {statistics.median(u for u, _ in found):.0f} + {statistics.median(s for _, s in found):.0f}"
        for lib, found in samples.items()
    ]
    return f"\nCPU per small miss, user + system (µs, getrusage, medians of {pairs} rounds of {count}): " + ", ".join(
        cells
    )


def python_after_file_creation(scratch: Path, *, rounds: int, count: int = 2000) -> str:
    """The same Python work (a small entry's metadata, pickle and MAC) timed alone and right after creating a file.

    A miss runs its Python between file-system calls, and this shows what that does to
    the Python's speed. (The likeliest cause is that the kernel's work on the file evicts
    the interpreter's code and data from the CPU caches; a VM without hardware counters
    cannot show it directly.) Only the work itself is timed, never the file creation.
    """
    import blake3

    folder = scratch / "cold-python"
    folder.mkdir()
    meta, value, secret = {"function": "f", "key": "ab" * 32, "args": "x=1", "created": 1.0}, list(range(20)), b"k" * 32

    def work() -> None:
        state = blake3.blake3(json.dumps(meta, separators=(",", ":")).encode(), key=secret)
        state.update(pickle.dumps(value, protocol=5))
        state.digest()

    samples: dict[str, list[float]] = {"warm": [], "after a file creation": []}
    created = 0
    for round_ in range(rounds):
        for mode in samples if round_ % 2 else list(samples)[::-1]:
            spent = 0
            for _ in range(count):
                if mode != "warm":
                    with open(folder / str(created), "wb") as f:
                        f.write(b"x" * 300)
                    created += 1
                start = time.perf_counter_ns()
                work()
                spent += time.perf_counter_ns() - start
            samples[mode].append(spent / count / 1000)
    warm, cold = (statistics.median(found) for found in samples.values())
    return (
        f"\nThe same Python work (a small entry's metadata JSON, pickle and MAC), medians of {rounds} rounds of"
        f" {count}: {warm:.1f} µs in a warm loop, {cold:.1f} µs right after creating a file ({cold / warm:.1f}x)"
    )


def spread(call: Callable[[], Any], count: int) -> tuple[float, float, float, float]:
    """(min, median, p90, max) in ms of ``count`` calls."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    return times[0], statistics.median(times), times[int(0.9 * (count - 1))], times[-1]


def large_hit_spread(
    make: Callable[..., Any], double: Callable[..., Any], array: Any, scratch: Path, *, count: int
) -> str:
    """The large hit's distribution for pkcache and joblib (each call returns new memory)."""
    lines = [f"\nThe {array.nbytes >> 20} MB array hit, {count} hits each (ms): min, median, p90, max"]
    for library in ("pkcache", "joblib"):
        function = make(library, str(scratch / f"spread-{library}"), double)
        function(array)
        low, middle, p90, high = spread(lambda function=function: function(array), count)
        lines.append(f"- {library}: {low:.1f}, {middle:.1f}, {p90:.1f}, {high:.1f}")
    return "\n".join(lines)


class _DesignFloor:
    """The least kernel work a small miss of pkcache's design needs, on one folder's open files."""

    def __init__(self, folder: Path) -> None:
        import mmap
        import struct

        self.totals = struct.Struct("<qq")
        self.folder = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        self.lock_fd = os.open(folder / "locks", os.O_RDWR | os.O_CREAT, 0o600)
        self.ledgers = []
        for name in ("ledger-a", "ledger-b"):
            fd = os.open(folder / name, os.O_RDWR | os.O_CREAT, 0o600)
            os.pwrite(fd, bytes(self.totals.size), 0)
            self.ledgers.append((fd, mmap.mmap(fd, self.totals.size)))
        # The entry index: a file grown ahead, written through a mapping.
        self.index_fd = os.open(folder / "index", os.O_RDWR | os.O_CREAT, 0o600)
        os.pwrite(self.index_fd, bytes(72 << 16), 0)
        self.index = mmap.mmap(self.index_fd, 72 << 16)
        self.secret = os.urandom(32)

    def miss(self, n: int, data: bytes) -> None:
        import fcntl

        import blake3

        name, offset = f"{n:064x}.pkl", n % (1 << 40)
        for attempt in range(2):  # before and after taking the lock
            with contextlib.suppress(FileNotFoundError):
                os.close(os.open(name, os.O_RDONLY, dir_fd=self.folder))
            if attempt == 0:
                fcntl.lockf(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset, os.SEEK_SET)
        mac = blake3.blake3(name.encode(), key=self.secret)
        mac.update(data)
        fd = os.open(".", os.O_WRONLY | os.O_TMPFILE, 0o600, dir_fd=self.folder)
        os.writev(fd, [data, mac.digest()])
        os.utime(fd, (time.time(),) * 2)
        inode = os.fstat(fd).st_ino
        for index, (ledger_fd, view) in enumerate(self.ledgers):  # counted and recorded before it is named
            fcntl.flock(ledger_fd, fcntl.LOCK_EX)
            entries, size = self.totals.unpack_from(view, 0)
            self.totals.pack_into(view, 0, entries + 1, size + len(data))
            if index == 0:
                at = n % (1 << 16) * 72
                self.index[at : at + 72] = name[:64].encode()[:56] + inode.to_bytes(8, "little") + bytes(8)
            fcntl.flock(ledger_fd, fcntl.LOCK_UN)
        os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=self.folder)
        os.close(fd)
        fcntl.lockf(self.lock_fd, fcntl.LOCK_UN, 1, offset, os.SEEK_SET)

    def close(self) -> None:
        for fd, view in self.ledgers:
            view.close()
            os.close(fd)
        self.index.close()
        os.close(self.index_fd)
        os.close(self.lock_fd)
        os.close(self.folder)


def _plain_miss(folder: Path, n: int, data: bytes) -> None:
    path = f"{folder}/{n:064x}.pkl"
    with contextlib.suppress(FileNotFoundError), open(path, "rb"):
        pass  # the lookup that fails
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)


def miss_floor(scratch: Path, *, pairs: int, count: int = 300) -> str:
    """The kernel work of a small miss in bare loops: the plain decorator's, and the least pkcache's design needs.

    No pickling, no key: only what each design asks of the kernel (and pkcache's MAC).
    pkcache's steps: a lookup, the key's lock (a byte of a kept lock file), a second
    lookup under it, a nameless file written and stamped, its inode read, two running
    totals updated under their flocks (and the entry's record written into the index's
    mapping under the first), the file linked into place, the lock released. The plain decorator's: a failed
    open, a temporary file written and renamed.
    """
    data = os.urandom(180)
    plain_dir, design_dir = scratch / "floor-plain", scratch / "floor-pkcache"
    plain_dir.mkdir()
    design_dir.mkdir()
    design = _DesignFloor(design_dir)
    steps: dict[str, Callable[[int, bytes], None]] = {
        "plain": lambda n, data: _plain_miss(plain_dir, n, data),
        "pkcache": design.miss,
    }
    samples: dict[str, list[float]] = {name: [] for name in steps}
    try:
        for pair in range(pairs):
            for name in ("plain", "pkcache") if pair % 2 else ("pkcache", "plain"):
                start = time.perf_counter()
                for n in range(pair * count, (pair + 1) * count):
                    steps[name](n, data)
                samples[name].append((time.perf_counter() - start) / count * 1e6)
    finally:
        design.close()
    plain_us, design_us = (statistics.median(samples[name]) for name in ("plain", "pkcache"))
    return (
        f"\nA small miss's kernel work in bare loops, without pickling or keys (µs, medians of {pairs} rounds of"
        f" {count}): the plain decorator's steps {plain_us:.0f}; the least pkcache's design asks (two lookups, a key"
        f" lock, a MAC, a nameless file stamped and linked, two locked totals, an index record) {design_us:.0f}"
        f" ({design_us / plain_us:.2f}x)"
    )
