"""pkcache in one minute: a slow function becomes instant on the second call, and stays so.

Run it twice: the second run finds the result stored by the first, in another process.
"""

from __future__ import annotations

import logging
import time

import pkcache

logging.basicConfig(format="%(message)s", level=logging.INFO)


@pkcache.cached
def slow_fibonacci_table(n: int) -> list[int]:
    """Pretend this is an hour of data loading: it sleeps, then builds a table."""
    time.sleep(2)
    table = [0, 1]
    while len(table) < n:
        table.append(table[-1] + table[-2])
    return table


def timed_call(label: str) -> None:
    stored = slow_fibonacci_table.is_cached(30)
    start = time.perf_counter()
    table = slow_fibonacci_table(30)
    seconds = time.perf_counter() - start
    source = "from the cache" if stored else "computed"
    print(f"{label}: {seconds * 1000:9.2f} ms ({source}), last value {table[-1]}")


if __name__ == "__main__":
    timed_call("first call ")
    timed_call("second call")
    info = slow_fibonacci_table.cache_info()
    print(f"cache_info: {info}")
    print(f"stored in {pkcache.Cache().directory}; run again to see a hit from a new process,")
    print("or look at it with: pkcache list")
