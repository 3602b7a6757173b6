"""Helpers shared by the test modules: child interpreters and scratch mounts."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def python_path(*folders: Path) -> str:
    """``PYTHONPATH`` for a child: ``folders`` first, then whatever this process was given."""
    inherited = os.environ.get("PYTHONPATH")
    return os.pathsep.join([*(str(f) for f in folders), *([inherited] if inherited else [])])


def run_python(code: str, *, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60) -> str:
    """Run ``code`` in a fresh interpreter (inheriting the test's environment); return stdout."""
    full_env = {**os.environ, **(env or {})}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"child failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result.stdout


@contextlib.contextmanager
def mounted_tmpfs(path: Path, *options: str) -> Iterator[Path]:
    """Mount a tmpfs at ``path`` (root only); skip the test where mounting is not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", ",".join(options or ("size=1m",)), "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip() or 'not root'})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@contextlib.contextmanager
def clock_behind(seconds: float) -> Iterator[None]:
    """Within the block, ``time.time()`` runs ``seconds`` behind: what is stored there was stored that long ago.

    An entry's age lives in its signed header and in the store's own records (a directory's
    entry index): setting a file's mtime afterwards changes neither.
    """
    real = time.time
    time.time = lambda: real() - seconds
    try:
        yield
    finally:
        time.time = real


def wait_for(path: Path, timeout: float = 30) -> None:
    """Wait until ``path`` exists (a child's signal that it reached a point), or fail."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"timed out waiting for {path}"
        time.sleep(0.01)


def error_without(module: str, store: str) -> str:
    """What decorating with ``store`` raises, printed, in a fresh interpreter without ``module`` installed."""
    return run_python(
        f"""
        import sys
        sys.modules[{module!r}] = None  # as if it were not installed
        import pkcache
        try:
            pkcache.cached(store={store!r})
        except ImportError as exc:
            print(type(exc).__name__, exc)
        """
    )


def imported_when(module: str, store: str, cache_dir: Path) -> list[str]:
    """Whether ``module`` is imported ("True"/"False") after caching in ``cache_dir``, then after naming ``store``."""
    return run_python(
        f"""
        import sys
        import pkcache
        @pkcache.cached(cache_dir={str(cache_dir)!r})
        def double(x):
            return 2 * x
        double(2); double(2)
        print({module!r} in sys.modules)
        pkcache.cached(store={store!r})
        print({module!r} in sys.modules)
        """
    ).split()


_CALLER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import pkcache

    progress, stop = Path(sys.argv[1]), Path(sys.argv[2])

    @pkcache.cached
    def square(x):
        return x * x

    calls = 0
    while not stop.exists():
        for x in range(20):
            assert square(x) == x * x  # right, whether from the server or computed
            calls += 1
        progress.write_text(str(calls))
    """
)


class RunningCaller:
    """A child calling a cached ``square`` of 20 keys in a loop, checking every result, until stopped.

    It counts its calls in a file, so a test can see it keep answering while its store's
    server is killed and restarted. ``env`` makes the server its default store.
    """

    def __init__(self, folder: Path, env: dict[str, str], *, patience: float) -> None:
        self._progress, self._stop = folder / "progress", folder / "stop"
        self._patience = patience
        command = [sys.executable, "-c", _CALLER, str(self._progress), str(self._stop)]
        self.process = subprocess.Popen(command, env={**os.environ, **env})

    def calls(self) -> int:
        try:
            return int(self._progress.read_text() or 0)
        except (FileNotFoundError, ValueError):  # not written yet, or caught mid-write
            return 0

    def wait_for_calls(self, more: int) -> None:
        """Wait until it has made ``more`` calls; fail if it dies or stalls for ``patience`` seconds."""
        target, deadline = self.calls() + more, time.monotonic() + self._patience
        while self.calls() < target:
            assert self.process.poll() is None, "the caller died"
            assert time.monotonic() < deadline, "the caller stopped making progress"
            time.sleep(0.01)

    def stop(self) -> None:
        """Ask it to end after its current round (``wait`` for its exit status)."""
        self._stop.touch()

    def wait(self) -> int:
        return self.process.wait(timeout=60)


def second_caller_waits_for_the_first(
    first: Callable[[int], int], second: Callable[[int], int], runs: list[int]
) -> list[int]:
    """Call ``first(7)`` on a thread and, once its body runs (``runs`` is not empty), ``second(7)``.

    For lock tests: the first caller holds the key's lock while it computes, so the second
    must wait for its result. Returns both results, the first caller's first.
    """
    import threading

    results: list[int] = []
    thread = threading.Thread(target=lambda: results.append(first(7)))
    thread.start()
    while not runs:  # the first caller holds the lock and computes
        time.sleep(0.005)
    second_result = second(7)
    thread.join()
    return [*results, second_result]
