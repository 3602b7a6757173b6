"""Small hits served from memory: verified entries kept with their file's stamp, never served stale.

A hit on an entry stored over two seconds ago reads no file, and makes no ``stat`` while
no pkcache process has changed the function's entries since the last one; whatever another
process does to the entry through pkcache (refresh, put, invalidate, clear, prune) is seen
at the next hit, which then reads and verifies the file again. What other programs do to
the file (an edit in place) is seen at the first hit a second (``RESTAMP``) after the last stamp.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pkcache._store.local import mounts
from tests.helpers import python_path, run_python

# A cached function whose body returns the text of VALUE_FILE and counts its runs.
MODULE = textwrap.dedent(
    """
    import os
    import pkcache

    cache = pkcache.Cache(os.environ["CACHE_DIR"])

    @cache.cached
    def read_value(n):
        with open(os.environ["RUNS_FILE"], "a") as f:
            f.write("run\\n")
        with open(os.environ["VALUE_FILE"]) as f:
            return {"n": n, "value": f.read()}
    """
)

AGE = 2.2  # seconds: entries this old are vouched for by their stamp (_store/local/stamps.py)
RESTAMP = 1.0  # seconds: a kept entry's stamp is taken again this long after the last (_engine/recent.py)


@pytest.fixture
def work(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "recent_mod.py").write_text(MODULE)
    (tmp_path / "value.txt").write_text("A")
    return {
        "PYTHONPATH": python_path(tmp_path),
        "CACHE_DIR": str(tmp_path / "cache"),
        "RUNS_FILE": str(tmp_path / "runs.txt"),
        "VALUE_FILE": str(tmp_path / "value.txt"),
    }


def _runs(work: dict[str, str]) -> int:
    path = Path(work["RUNS_FILE"])
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_a_hit_on_an_entry_stored_seconds_ago_opens_no_file(work: dict[str, str]) -> None:
    # The interpreter's audit events count the files a hit opens: every hit of a fresh
    # entry reads it, hits of one old enough to vouch for read none.
    out = run_python(
        f"""
        import sys, time
        from recent_mod import read_value

        opened = []
        sys.addaudithook(lambda event, args: event == "open" and str(args[0]).endswith(".pkl") and opened.append(1))

        def opens_of_hits(n):
            opened.clear()
            for _ in range(5):
                assert read_value(n) == {{"n": n, "value": "A"}}
            return len(opened)

        read_value(1)
        young = opens_of_hits(1)
        time.sleep({AGE})
        read_value(1)  # read and verified once more, now kept
        old = opens_of_hits(1)
        print(young, old)
        """,
        env=work,
    )
    young, old = map(int, out.split())
    assert young == 5
    assert old == 0
    assert _runs(work) == 1


def test_whatever_another_process_does_to_a_kept_entry_is_seen_at_the_next_hit(work: dict[str, str]) -> None:
    # The parent keeps entries 0-4, then waits while a child changes each one; the values
    # the child stores have the same size as the kept ones (only the stamp tells them apart).
    script = f"""
        import os, time
        from pathlib import Path
        from recent_mod import cache, read_value

        for n in range(5):
            read_value(n)
        time.sleep({AGE})
        for n in range(5):
            assert read_value(n)["value"] == "A"  # kept from here on
        Path(os.environ["VALUE_FILE"]).write_text("C")
        Path("{{ready}}").write_text("")
        while not Path("{{done}}").exists():
            time.sleep(0.01)
        print(" ".join(read_value(n)["value"] for n in range(5)))
    """
    child = """
        import pkcache
        from recent_mod import cache, read_value

        read_value.refresh(0)                                     # runs the body: "B"
        read_value.entry(1).put({"n": 1, "value": "B"})          # stored without running it
        read_value.invalidate(2)                                  # gone: the parent recomputes "C"
        read_value.entry(3).put({"n": 3, "value": "B"})
        read_value.entry(3).put({"n": 3, "value": "D"})          # replaced twice in a row
        cache.prune(max_entries=3)                                # evicts the oldest, entry 4
    """
    folder = Path(work["CACHE_DIR"]).parent
    ready, done = folder / "ready", folder / "done"
    parent = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script.format(ready=ready, done=done))],
        env={**os.environ, **work},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert parent.poll() is None, "the parent failed"
            assert time.monotonic() < deadline, "the parent did not get ready"
            time.sleep(0.01)
        Path(work["VALUE_FILE"]).write_text("B")
        run_python(child, env=work)
        Path(work["VALUE_FILE"]).write_text("C")
        done.write_text("")
        out, _ = parent.communicate(timeout=60)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    assert parent.returncode == 0
    assert out.split() == ["B", "B", "C", "D", "C"]


def test_an_entry_edited_in_place_with_its_size_and_mtime_kept_is_read_again_and_refused(
    work: dict[str, str],
) -> None:
    # Same inode, same size, same mtime: only the ctime (which nobody can set) tells.
    out = run_python(
        f"""
        import os, time
        from recent_mod import read_value

        read_value(1)
        time.sleep({AGE})
        assert read_value(1)["value"] == "A"  # kept
        path = read_value.entry(1).location
        before = os.stat(path)
        with open(path, "r+b") as f:
            f.seek(before.st_size - 1)
            last = f.read(1)
            f.seek(before.st_size - 1)
            f.write(bytes([last[0] ^ 1]))  # a bit of the signature
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        after = os.stat(path)
        assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)
        with open(os.environ["VALUE_FILE"], "w") as f:
            f.write("E")
        time.sleep({RESTAMP})  # not pkcache's doing: seen once the stamp is taken again
        print(read_value(1)["value"])
        """,
        env=work,
    )
    assert out.split() == ["E"]
    assert _runs(work) == 2


def test_kept_hits_make_no_stat_until_pkcache_changes_an_entry_or_a_second_has_passed(work: dict[str, str]) -> None:
    out = run_python(
        f"""
        import os, time
        from recent_mod import read_value

        real_stat = os.stat
        stats = []
        def counted(path, *args, **kwargs):
            if str(path).endswith(".pkl"):
                stats.append(1)
            return real_stat(path, *args, **kwargs)
        os.stat = counted

        def stats_of_hits():
            stats.clear()
            for _ in range(20):
                assert read_value(1)["value"] == "A"
            return len(stats)

        read_value(1)
        time.sleep({AGE})
        read_value(1)  # read and verified once more, now kept
        read_value(1)  # its first hit takes its stamp with the count of changes
        quiet = stats_of_hits()
        read_value(2)  # a miss: a change to the function's entries
        after_a_change = stats_of_hits()
        time.sleep({RESTAMP})
        after_a_second = stats_of_hits()
        print(quiet, after_a_change, after_a_second)
        """,
        env=work,
    )
    assert out.split() == ["0", "1", "1"]


def test_a_change_by_another_process_is_seen_at_once_not_a_second_later(work: dict[str, str]) -> None:
    # The other process is running already and changes the entry as soon as it is told:
    # the next hit comes well within RESTAMP of the last stamp, so only the count of
    # changes can tell it.
    child = textwrap.dedent(
        """
        import os, sys, time
        from pathlib import Path
        from recent_mod import read_value

        ready, done = Path(sys.argv[1]), Path(sys.argv[2])
        print("started", flush=True)
        while not ready.exists():
            time.sleep(0.001)
        read_value.entry(1).put({"n": 1, "value": "B"})
        done.write_text("")
        """
    )
    folder = Path(work["CACHE_DIR"]).parent
    ready, done = folder / "ready", folder / "done"
    script = f"""
        import time
        from pathlib import Path
        from recent_mod import read_value

        read_value(1)
        time.sleep({AGE})
        read_value(1)
        assert read_value(1)["value"] == "A"  # kept, and just stamped or served by the count
        stamped = time.monotonic()
        Path({str(ready)!r}).write_text("")
        while not Path({str(done)!r}).exists():
            time.sleep(0.001)
        value = read_value(1)["value"]
        print(value, time.monotonic() - stamped < {RESTAMP})
    """
    env = {**os.environ, **work}
    with subprocess.Popen(
        [sys.executable, "-c", child, str(ready), str(done)], env=env, stdout=subprocess.PIPE, text=True
    ) as other:
        assert other.stdout is not None
        assert other.stdout.readline() == "started\n"
        out = run_python(script, env=work)
        assert other.wait(30) == 0
    assert out.split() == ["B", "True"]


def test_a_kept_hit_returns_a_fresh_copy_each_time(work: dict[str, str]) -> None:
    out = run_python(
        f"""
        import time
        from recent_mod import read_value

        read_value(1)
        time.sleep({AGE})
        first = read_value(1)
        first["value"] = "changed by the caller"
        second = read_value(1)
        second["n"] = -1
        print(read_value(1))
        """,
        env=work,
    )
    assert out.strip() == "{'n': 1, 'value': 'A'}"


def test_entries_replaced_at_once_by_files_of_the_same_size_are_never_served_stale(work: dict[str, str]) -> None:
    # Entries removed and written anew at once, by another process, with results of the
    # same size: the file system may give a new file the inode number of the one just
    # freed. Every later hit must see the new value.
    out = run_python(
        f"""
        import os, subprocess, sys, time
        from recent_mod import read_value

        keys = range(40)
        for n in keys:
            read_value(n)
        time.sleep({AGE})
        before = {{n: os.stat(read_value.entry(n).location).st_ino for n in keys if read_value(n)}}
        child = (
            "from recent_mod import read_value\\n"
            "for n in range(40):\\n"
            "    read_value.invalidate(n)\\n"
            "    read_value.entry(n).put({{'n': n, 'value': 'Z'}})\\n"
        )
        subprocess.run([sys.executable, "-c", child], check=True)
        after = {{n: os.stat(read_value.entry(n).location).st_ino for n in keys}}
        values = {{read_value(n)["value"] for n in keys}}
        print(sum(before[n] == after[n] for n in keys), "".join(sorted(values)))
        """,
        env=work,
    )
    _reused, values = out.split()
    assert values == "Z"
    assert _runs(work) == 40


MOUNTINFO = (
    "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
    "40 27 0:50 / /mnt/shared rw,relatime shared:5 - nfs4 server:/export rw,vers=4.2\n"
    "41 40 0:51 / /mnt/shared/local\\040disk rw - xfs /dev/sdb rw\n"
    "42 27 0:52 / /mnt/fuse rw - fuse.sshfs me@host:/data rw\n"
)


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/mnt/shared/cache", "nfs4"),
        ("/mnt/shared/local disk/cache", "xfs"),
        ("/mnt/sharedx/cache", "ext4"),
        ("/mnt/fuse/cache", "fuse.sshfs"),
        ("/home/me/.cache/pkcache", "ext4"),
    ],
)
def test_the_file_system_of_a_cache_is_read_from_mountinfo(path: str, kind: str) -> None:
    # On a network file system a stat can be seconds old (attribute caching), so entries
    # there are read at every hit, never served from memory: only local types vouch.
    assert mounts.file_system_type(path, MOUNTINFO) == kind


def test_only_local_file_systems_vouch_for_a_stamp(tmp_path: Path) -> None:
    assert mounts.is_local(str(tmp_path / "cache"))
    assert not mounts.is_local("/proc/self")
