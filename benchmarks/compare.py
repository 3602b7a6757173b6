"""pkcache beside joblib.Memory, diskcache, cachier and a plain md5+pickle decorator, in one run.

Usage: python benchmarks/compare.py [--quick]

Install the peers with ``pip install -e '.[bench]'``. Every workload runs for every
library in fresh temporary directories, libraries interleaved and rotated round by round
so that machine noise hits all alike; the table shows medians and each one's ratio to pkcache.
Below it come what the machine itself did in the same run (raw hashing, copying and
reading speeds, the floor they set for the large-array hit, and what creating a small
file cost before each miss run), since every row moves with them, and small hits timed
against the closest peers in alternating pairs, which noise moves less. Start it at
least five minutes after removing many files (see ``remove_large_files``).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anatomy  # the script's own folder is on sys.path
from anatomy import SETTLE

LIBRARIES = ["pkcache", "joblib", "diskcache", "cachier", "plain"]

# How each library turns a function into a cached one, given a fresh directory. Run in
# this process for the timed workloads, and as source text in the race's child processes.
MAKERS = textwrap.dedent(
    '''
    import functools, hashlib, os, pickle

    def make_pkcache(directory, func, **options):
        import pkcache
        return pkcache.Cache(directory).cached(func, **options)

    def make_joblib(directory, func, mmap_mode=None, **options):
        import joblib
        return joblib.Memory(directory, mmap_mode=mmap_mode, verbose=0).cache(func, **options)

    def make_diskcache(directory, func, **options):
        import diskcache
        return diskcache.Cache(directory).memoize()(func)

    def make_cachier(directory, func, **options):
        import cachier
        return cachier.cachier(cache_dir=directory, separate_files=True)(func)

    def make_plain(directory, func, **options):
        """What many projects write by hand: md5 of the pickled arguments, one pickle file each."""
        os.makedirs(directory, exist_ok=True)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            key = hashlib.md5(pickle.dumps((func.__qualname__, args, kwargs))).hexdigest()
            path = os.path.join(directory, key + ".pkl")
            try:
                with open(path, "rb") as f:
                    return pickle.load(f)
            except FileNotFoundError:
                pass
            value = func(*args, **kwargs)
            with open(path + ".tmp", "wb") as f:
                pickle.dump(value, f, protocol=5)
            os.replace(path + ".tmp", path)
            return value

        return wrapper
    '''
)
_namespace: dict[str, Any] = {}
exec(MAKERS, _namespace)


def make(library: str, directory: str, func: Callable[..., Any], **options: Any) -> Callable[..., Any]:
    return _namespace[f"make_{library}"](directory, func, **options)  # type: ignore[no-any-return]


def small(x: int, label: str = "a") -> dict[str, Any]:
    return {"x": x, "label": label, "values": [x, x + 1, x + 2]}


def _scale(v: int) -> int:
    return v * 3


def _offset(v: int) -> int:
    return _scale(v) + 1


def _label(x: int) -> str:
    return f"item-{x}"


def small_with_helpers(x: int, label: str = "a") -> dict[str, Any]:
    """``small`` calling three helpers by name: a hit checks that none was redefined."""
    return {"x": _offset(x), "label": _label(x), "values": [x, x + 1, x + 2]}


def watch_cost(scratch: Path, pairs: int, calls: int) -> str:
    """Time hits of ``small`` and of ``small_with_helpers`` alternately: what watching helpers costs a hit."""
    plain = make("pkcache", str(scratch / "watch-plain"), small)
    watched = make("pkcache", str(scratch / "watch-helpers"), small_with_helpers)
    for function in (plain, watched):
        hits(function, calls // 10)
    time.sleep(SETTLE)
    extra = []
    for pair in range(pairs):
        order = [plain, watched] if pair % 2 else [watched, plain]
        timed_us = {id(f): hits(f, calls) for f in order}
        extra.append(timed_us[id(watched)] - timed_us[id(plain)])
    low, middle, high = statistics.quantiles(extra, n=4)
    return (
        f"\nA hit of a function with 3 helpers tracked (checked for redefinition at every call), minus a hit of "
        f"one without, {pairs} alternating pairs of {calls:,} hits: median {middle:+.2f} µs "
        f"(quartiles {low:+.2f} to {high:+.2f})"
    )


def array_double(array: Any) -> Any:
    return array * 2


def frame_summary(frame: Any) -> Any:
    return frame.iloc[:10].copy()


def timed(call: Callable[[], Any], repeat: int) -> float:
    """Median seconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def hits(cached: Callable[..., Any], calls: int) -> float:
    """Microseconds per call of ``calls`` hits on 50 stored small results."""
    for x in range(50):
        cached(x)
    start = time.perf_counter()
    for index in range(calls):
        cached(index % 50)
    return (time.perf_counter() - start) / calls * 1e6


def misses(cached: Callable[..., Any], calls: int) -> float:
    """Microseconds per call of ``calls`` misses, each storing a small result."""
    start = time.perf_counter()
    for index in range(calls):
        cached(index, "miss")
    return (time.perf_counter() - start) / calls * 1e6


def small_hit(library: str, directory: str, calls: int) -> float:
    cached = make(library, directory, small)
    for x in range(50):
        cached(x)
    time.sleep(SETTLE)  # hits of entries stored seconds ago, as a later run's are (see anatomy.SETTLE)
    return hits(cached, calls)


def paired_hits(libraries: list[str], scratch: Path, pairs: int, calls: int) -> str:
    """Time small hits of pkcache and each peer alternately in this process; describe the ratios.

    The table's small-hit medians come from samples seconds apart, and this machine's
    noise comes in bursts of seconds, so two libraries within a few percent of each other
    trade places from run to run. Here each peer's sample directly follows or precedes
    one of pkcache's (alternating which goes first), and each pair gives one ratio.
    """
    cached = {library: make(library, str(scratch / f"paired-{library}"), small) for library in libraries}
    for function in cached.values():
        hits(function, calls // 10)  # stores the 50 results and warms up
    time.sleep(SETTLE)
    ratios: dict[str, list[float]] = {library: [] for library in libraries if library != "pkcache"}
    for pair in range(pairs):
        for library, found in ratios.items():
            order = ["pkcache", library] if pair % 2 else [library, "pkcache"]
            timed_us = {name: hits(cached[name], calls) for name in order}
            found.append(timed_us["pkcache"] / timed_us[library])
    lines = [f"\nSmall hits timed in alternating pairs, {pairs} pairs of {calls:,} hits, pkcache's time / the peer's:"]
    for library, found in ratios.items():
        low, middle, high = statistics.quantiles(found, n=4)
        lines.append(f"- {library}: median {middle:.2f} (quartiles {low:.2f} to {high:.2f})")
    return "\n".join(lines)


# Microseconds to create one small file, probed right before each miss run.
FILE_CREATION: list[float] = []


def small_miss(library: str, directory: str, calls: int) -> float:
    FILE_CREATION.append(file_creation_us(directory + "-probe"))
    return misses(make(library, directory, small), calls)


def describe_file_creation() -> str:
    if not FILE_CREATION:
        return ""
    low, middle, high = min(FILE_CREATION), statistics.median(FILE_CREATION), max(FILE_CREATION)
    return f"\nCreating a small file, probed before each miss run: median {middle:.0f} µs ({low:.0f} to {high:.0f})."


def file_creation_us(folder: str, count: int = 200) -> float:
    """Microseconds to create, write and close one small file in a new folder (the files are kept).

    A miss of a library that stores an entry per file pays this once. On this machine it
    is 30-50 µs, or up to 1 ms within minutes of many files being removed (see
    ``remove_large_files``), so the miss row has to be read against it.
    """
    os.makedirs(folder)
    start = time.perf_counter()
    for index in range(count):
        fd = os.open(f"{folder}/{index}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, bytes(300))
        os.close(fd)
    return (time.perf_counter() - start) / count * 1e6


def big_array_hit(library: str, directory: str, repeat: int, array: Any, **options: Any) -> float:
    cached = make(library, directory, array_double, **options)
    cached(array)
    return timed(lambda: cached(array), repeat) * 1e3


# Libraries that can return array results memory-mapped, as pkcache's mmap_mode="r" does.
MMAP_LIBRARIES = {"pkcache", "joblib"}


def mapped_array_hit(library: str, directory: str, repeat: int, array: Any) -> float:
    if library not in MMAP_LIBRARIES:
        return math.nan  # no such feature: shown as n/a
    return big_array_hit(library, directory, repeat, array, mmap_mode="r")


def frame_hit(library: str, directory: str, repeat: int, frame: Any) -> float:
    cached = make(library, directory, frame_summary)
    cached(frame)
    return timed(lambda: cached(frame), repeat) * 1e3


RACER = MAKERS + textwrap.dedent(
    """
    import sys, time
    library, directory, runs, keys = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

    def body(key):
        with open(runs, "a") as f:
            f.write(f"{key}\\n")
        time.sleep(0.005)
        return key * 2

    body.__module__ = "racing_body"
    body.__qualname__ = body.__name__ = "body"
    import types
    sys.modules["racing_body"] = types.ModuleType("racing_body")
    sys.modules["racing_body"].body = body
    cached = globals()[f"make_{library}"](directory, body)
    for key in range(keys):
        assert cached(key) == key * 2
    """
)


def race(library: str, directory: str, keys: int, processes: int = 4, timeout: float = 120) -> str:
    runs = os.path.join(directory, "..", f"runs-{library}.txt")
    argv = [sys.executable, "-c", RACER, library, directory, runs, str(keys)]
    children = [subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(processes)]
    hung = 0
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            hung += 1
    total = len(Path(runs).read_text().split()) if os.path.exists(runs) else 0
    duplicates = total - len(set(Path(runs).read_text().split())) if total else 0
    return f"{duplicates}" + (f" ({hung} of {processes} hung)" if hung else "")


STABILITY = MAKERS + textwrap.dedent(
    """
    import sys, types
    library, directory, runs, order = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]

    def body(config, tags):
        with open(runs, "a") as f:
            f.write("run\\n")
        return len(config) + len(tags)

    body.__module__ = "stable_body"
    sys.modules["stable_body"] = types.ModuleType("stable_body")
    sys.modules["stable_body"].body = body
    cached = globals()[f"make_{library}"](directory, body)
    items = [("alpha", 1), ("beta", [1, 2]), ("gamma", {"x", "y", "z"})]
    config = dict(items if order == "forward" else list(reversed(items)))
    cached(config, {"red", "green", "blue", "cyan"})
    """
)


def stable_across_processes(library: str, directory: str) -> str:
    """Store in one interpreter, call again in another with another hash seed and dict order: a hit?"""
    runs = os.path.join(directory, "..", f"stable-{library}.txt")
    for seed, order in (("1", "forward"), ("2", "reversed")):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        argv = [sys.executable, "-c", STABILITY, library, directory, runs, order]
        subprocess.run(argv, env=env, check=True, capture_output=True, timeout=120)
    return "hit" if len(Path(runs).read_text().split()) == 1 else "miss"


def import_ms(library: str, repeat: int) -> float:
    """Median ``import`` time in a fresh interpreter, from compiled bytecode (as ``pip install`` leaves it)."""
    module = {"plain": "pickle"}.get(library, library)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", f"import {module}"], env=env, check=True)  # writes any missing bytecode
    samples = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stderr
        last = [line for line in out.splitlines() if line.rstrip().endswith(f"| {module}")][-1]
        samples.append(int(last.split("|")[1]) / 1000)
    return statistics.median(samples)


def remove_large_files(directory: Path, smallest: int = 1 << 20) -> None:
    """Remove the files of at least ``smallest`` bytes under ``directory``, to bound the run's disk use.

    Small files stay until the end of the run. On ext4 without a journal (this machine's
    root file system), the kernel avoids reusing an inode freed in the last minute (five,
    while its inode table block is not yet written back), and it finds a free inode by
    stepping over every such one (``recently_deleted`` in ``find_inode_bit``, seen with
    ``perf``). Removing the thousand files of a miss run made each file created in the
    next runs cost up to 1 ms of kernel time instead of 30-50 µs: that timed the previous
    run's cleanup, not the library. Large files are few, so removing them frees few inodes.
    For the same reason, start a run at least five minutes after removing many files
    (the previous run's own cleanup, for one).
    """
    for folder, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(folder, name)
            try:
                if os.lstat(path).st_size >= smallest:
                    os.unlink(path)
            except FileNotFoundError:  # a library's own cleanup got there first
                pass


def new_memory(size: int) -> memoryview:
    """Fresh anonymous memory, as a large hit reads its result into: page-aligned, in huge pages where offered."""
    import mmap

    region = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)  # private: shared memory gets no THP
    if hasattr(mmap, "MADV_HUGEPAGE"):
        with contextlib.suppress(OSError):  # huge pages switched off: the usual pages
            region.madvise(mmap.MADV_HUGEPAGE)
    return memoryview(region)


def read_while_hashing(path: Path, size: int) -> None:
    """Read a file into new memory on a thread while this one hashes what is in (the rest on every core
    once the read is done): the steps of a large hit, bare, without pkcache."""
    import threading

    import blake3

    view = new_memory(size)
    filled = [0]
    arrived = threading.Condition()

    def read() -> None:
        with path.open("rb", buffering=0) as f:
            while filled[0] < size:
                count = f.readinto(view[filled[0] : filled[0] + (1 << 20)])
                with arrived:
                    filled[0] += count
                    arrived.notify()

    reader = threading.Thread(target=read)
    reader.start()
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    done = 0
    while done < size:
        with arrived:
            while filled[0] == done:
                arrived.wait()
            end = filled[0]
        hasher.update(view[done:end])
        done = end
    hasher.digest()
    reader.join()


def reference_speeds(directory: Path, megabytes: int, repeat: int) -> str:
    """This machine's raw speeds in this run (medians, GB/s), and the floor they set for a large hit.

    A full hit on an array hashes the argument, reads the result into new memory and
    hashes what was read. No verified hit that hands back its own copy can do less work,
    so these speeds bound the large-array row from below, and it swings with them.
    """
    import blake3
    import numpy as np

    data = np.random.default_rng(2).integers(0, 255, megabytes << 20, dtype=np.uint8)
    target = np.empty_like(data)
    path = directory / "reference.bin"
    path.write_bytes(data.data)

    def read(into: Any) -> None:
        with path.open("rb", buffering=0) as f:
            f.readinto(into)

    seconds = {
        "BLAKE3, one thread": timed(lambda: blake3.blake3(data.data).digest(), repeat),
        "BLAKE3, every core": timed(lambda: blake3.blake3(data.data, max_threads=blake3.blake3.AUTO).digest(), repeat),
        "memory copy": timed(lambda: np.copyto(target, data), repeat),
        "read from the page cache": timed(lambda: read(memoryview(target)), repeat),
        # What a hit does: the result's memory is new each time, and faulting it in costs.
        "read into new memory": timed(lambda: read(new_memory(data.nbytes)), repeat),
    }
    both = timed(lambda: read_while_hashing(path, data.nbytes), repeat)
    path.unlink()
    cells = [f"{name} {data.nbytes / took / 1e9:.2f}" for name, took in seconds.items()]
    # The argument's hash on every core, then reading and hashing the result, which at
    # best share the cores perfectly (the read itself is one stream).
    read_and_check = seconds["read into new memory"] + seconds["BLAKE3, one thread"]
    floor = seconds["BLAKE3, every core"] + max(seconds["read into new memory"], read_and_check / (os.cpu_count() or 1))
    # The same steps done for real, without pkcache: the read on a thread, hashed as it arrives.
    argument = seconds["BLAKE3, every core"]
    measured = argument + min(both, seconds["read into new memory"] + argument)
    return (
        "Reference speeds in this run (GB/s, medians): "
        + ", ".join(cells)
        + f".\nFloor they set for the {megabytes} MB array hit (argument hashed on every core, result read and"
        + f" hashed sharing the cores perfectly): {floor * 1e3:.1f} ms. The same steps done in a bare loop (the"
        + " read on a thread, hashed as it arrives, or read then hashed on every core if faster):"
        + f" {measured * 1e3:.1f} ms."
    )


def print_medians(run: str, results: dict[str, dict[str, list[float]]], base_column: str, digits: int = 1) -> None:
    """Print the machine, then a markdown table: one row per workload, medians and ratios to ``base_column``."""
    import platform

    print(f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores, {run}\n")
    columns = list(next(iter(results.values())))
    print("| workload | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for workload, samples in results.items():
        medians = {column: statistics.median(samples[column]) for column in columns}
        base = medians[base_column]
        cells = [
            "n/a"
            if math.isnan(medians[c])
            else f"{medians[c]:,.1f}" + ("" if c == base_column else f" ({medians[c] / base:.{digits}f}x)")
            for c in columns
        ]
        print(f"| {workload} | " + " | ".join(cells) + " |")


def untimed_rows(libraries: list[str], scratch: Path, *, quick: bool) -> list[str]:
    """Run the race, the cross-process check and the import timing; return their table rows."""
    race_keys = 50 if quick else 200
    races = {}
    for library in libraries:
        directory = scratch / f"race-{library}"
        directory.mkdir()
        races[library] = race(library, str(directory), race_keys, timeout=10 if quick else 120)
    stability = {}
    for library in libraries:
        directory = scratch / f"stable-{library}"
        directory.mkdir()
        stability[library] = stable_across_processes(library, str(directory))
    imports = {library: import_ms(library, 5 if quick else 15) for library in libraries}
    base = imports["pkcache"]
    return [
        f"| 4 processes racing on {race_keys} cold keys: duplicate body runs | "
        + " | ".join(races[lib] for lib in libraries)
        + " |",
        "| another interpreter, another PYTHONHASHSEED, dict built in another order | "
        + " | ".join(stability[lib] for lib in libraries)
        + " |",
        "| `import` time (ms) | "
        + " | ".join(
            f"{imports[lib]:.1f}" + ("" if lib == "pkcache" else f" ({imports[lib] / base:.1f}x)") for lib in libraries
        )
        + " |",
    ]


def anatomy_sections(libraries: list[str], scratch: Path, array: Any, *, quick: bool) -> str:
    """The hit's parts, system calls and warm misses, and the large hit's spread (see ``anatomy``)."""
    text = ""
    if {"pkcache", "plain"} <= set(libraries):
        text += anatomy.hit_breakdown(make, small, scratch, 2000 if quick else 20_000)
    closest = [library for library in ("pkcache", "plain", "diskcache") if library in libraries]
    text += anatomy.syscalls_per_miss(closest)
    text += anatomy.miss_floor(scratch, pairs=6 if quick else 20)
    text += anatomy.miss_cpu(make, small, closest, scratch, pairs=4 if quick else 8)
    text += anatomy.python_after_file_creation(scratch, rounds=4 if quick else 8)
    entries, rounds = (10_000, 6) if quick else (100_000, 10)
    text += anatomy.warm_misses(make, small, closest, scratch, entries=entries, pairs=rounds)
    if {"pkcache", "joblib"} <= set(libraries):
        text += anatomy.large_hit_spread(make, array_double, array, scratch, count=20)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and smaller data (about 95 s)")
    parser.add_argument("--libraries", default=",".join(LIBRARIES))
    parser.add_argument("--only", metavar="WORD", help="run only the timed workloads whose name contains WORD")
    args = parser.parse_args()
    libraries = args.libraries.split(",")
    os.environ.setdefault("PKCACHE_SECRET", "benchmark-secret-0123456789")
    import numpy as np
    import pandas as pd

    rounds = 3 if args.quick else 5
    array_mb = 20 if args.quick else 100
    rows = 200_000 if args.quick else 1_000_000
    array = np.random.default_rng(0).random(array_mb * (1 << 20) // 8)
    frame = pd.DataFrame(
        {
            "id": np.arange(rows),
            "value": np.random.default_rng(1).random(rows),
            "count": np.arange(rows) % 1000,
            "name": [f"name-{i % 5000}" for i in range(rows)],
            "city": [f"city-{i % 97}" for i in range(rows)],
        }
    )
    workloads: dict[str, Callable[[str, str], Any]] = {
        # 2,000 hits (50 ms) a sample put pkcache at 0.75x-1.7x the plain decorator from run
        # to run; 30 alternating samples of 10,000 put it at 0.97x-1.05x (quartiles).
        "hit, small args and result (µs/call)": lambda lib, d: small_hit(lib, d, 2000 if args.quick else 20_000),
        "miss + store, small (µs/call)": lambda lib, d: small_miss(lib, d, 300 if args.quick else 1000),
        f"hit, {array_mb} MB float64 array argument and {array_mb} MB result (ms)": lambda lib, d: big_array_hit(
            lib, d, 3, array
        ),
        f"hit, {array_mb} MB array argument and result, result memory-mapped (mmap_mode='r') (ms)": lambda lib, d: (
            mapped_array_hit(lib, d, 3, array)
        ),
        f"hit, DataFrame argument, {rows:,} rows x 5 cols incl. strings (ms)": lambda lib, d: frame_hit(
            lib, d, 3, frame
        ),
    }
    if args.only:
        workloads = {name: run for name, run in workloads.items() if args.only in name}
    results: dict[str, dict[str, list[float]]] = {w: {lib: [] for lib in libraries} for w in workloads}
    scratch = Path(tempfile.mkdtemp(prefix="pkcache-compare-"))
    try:
        for round_index in range(rounds):
            for workload, run in workloads.items():
                # Each round starts the order one library later, so that over as many
                # rounds as libraries each runs once in each position (the first one
                # follows the previous workload, whose cleanup may still be settling).
                shift = round_index % len(libraries)
                for library in libraries[shift:] + libraries[:shift]:
                    directory = scratch / f"{library}-{round_index}-{abs(hash(workload))}"
                    results[workload][library].append(run(library, str(directory)))
                    remove_large_files(directory)
                    os.sync()  # the removed files' metadata and writeback must not land in the next run's timing
        reference = reference_speeds(scratch, array_mb, 9) + describe_file_creation()
        if args.only:
            print_medians(f"{'quick' if args.quick else 'full'} run, medians of {rounds} rounds", results, "pkcache")
            print(reference)
            return
        untimed = untimed_rows(libraries, scratch, quick=args.quick)
        # Against the two peers closest to it; cachier and joblib are many times slower.
        peers = [library for library in ("pkcache", "plain", "diskcache") if library in libraries]
        if peers[:1] == ["pkcache"] and len(peers) > 1:
            reference += paired_hits(peers, scratch, 8 if args.quick else 24, 2000 if args.quick else 10_000)
        if "pkcache" in libraries:
            reference += watch_cost(scratch, 8 if args.quick else 24, 2000 if args.quick else 10_000)
        reference += anatomy_sections(libraries, scratch, array, quick=args.quick)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print_medians(f"{'quick' if args.quick else 'full'} run, medians of {rounds} rounds", results, "pkcache")
    print("\n".join(untimed))
    print("\nRatios in parentheses are each library's figure divided by pkcache's (above 1: pkcache is faster).")
    print(reference)


if __name__ == "__main__":
    main()
