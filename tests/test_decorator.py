"""The decorator's public surface: forms, keys, management methods, kinds of callables."""

from __future__ import annotations

import asyncio
import datetime
import inspect
import logging
import mmap
import os
from pathlib import Path
from typing import Any

import pytest

import pkcache
from pkcache._decorator import calls as _decorator


class Counter:
    """Counts body runs, so a test can tell a hit from a miss without timing anything."""

    def __init__(self) -> None:
        self.calls: list[Any] = []

    def __call__(self, *args: Any) -> None:
        self.calls.append(args)


def test_bare_and_parameterized_forms_cache(cache_dir: Path) -> None:
    runs = Counter()

    @pkcache.cached
    def bare(x: int, y: int = 2) -> int:
        runs(x, y)
        return x + y

    @pkcache.cached(cache_dir=cache_dir)
    def with_options(x: int) -> int:
        runs(x)
        return x * 10

    assert bare(1) == bare(1) == 3
    assert with_options(4) == with_options(4) == 40
    assert runs.calls == [(1, 2), (4,)]
    assert bare.cache_info()[:3] == (1, 1, 1)
    assert any(cache_dir.iterdir())
    assert Path(os.environ["PKCACHE_DIR"]).is_dir()


def test_spellings_of_one_call_share_one_key(cache: pkcache.Cache) -> None:
    @cache.cached
    def f(x: int, y: int = 2) -> int:
        return x + y

    keys = {f.cache_key(1), f.cache_key(1, 2), f.cache_key(x=1), f.cache_key(y=2, x=1)}
    assert len(keys) == 1
    assert f.cache_key(1, 3) not in keys
    (key,) = keys
    assert len(key) == 64
    assert int(key, 16) >= 0


def test_ignored_parameters_leave_the_key_by_position_or_name(cache: pkcache.Cache) -> None:
    runs = Counter()

    @cache.cached(ignore=["verbose"])
    def g(data: list[int], verbose: bool = False) -> int:
        runs(verbose)
        return sum(data)

    assert g([1, 2], True) == 3
    assert g([1, 2], verbose=False) == 3
    assert g([1, 2]) == 3
    assert len(runs.calls) == 1
    assert g.cache_key([1, 2], True) == g.cache_key([1, 2], verbose=False)


def test_ignore_on_var_keyword_arguments(cache: pkcache.Cache) -> None:
    @cache.cached(ignore="progress")
    def h(a: int, **options: Any) -> int:
        return a

    assert h.cache_key(1, progress=True, mode="x") == h.cache_key(1, mode="x", progress=False)
    assert h.cache_key(1, mode="x") != h.cache_key(1, mode="y")


def test_wraps_name_doc_signature_and_wrapped(cache: pkcache.Cache) -> None:
    def original(a: int, b: str = "x") -> str:
        """Docstring."""
        return b * a

    wrapped = cache.cached(original)
    assert wrapped.__name__ == "original"
    assert wrapped.__doc__ == "Docstring."
    assert wrapped.__wrapped__ is original
    assert inspect.signature(wrapped) == inspect.signature(original)
    assert wrapped.__module__ == original.__module__


def test_management_methods(cache: pkcache.Cache) -> None:
    runs = Counter()

    @cache.cached
    def f(x: int) -> int:
        runs(x)
        return x * 2

    assert not f.is_cached(1)
    assert f(1) == 2
    assert f.is_cached(1)
    assert not f.is_cached(2)
    assert f.invalidate(1) is True
    assert f.invalidate(1) is False
    assert not f.is_cached(1)
    assert f(1) == 2
    assert f.refresh(1) == 2
    assert len(runs.calls) == 3  # first call, call after invalidate, refresh
    f(5)
    info = f.cache_info()
    assert (info.hits, info.misses, info.entries) == (0, 4, 2)  # refresh counts as a body run
    assert info.size > 0
    assert f.cache_clear() == 2
    assert f.cache_info()[:7] == (0, 0, 0, 0, 0, 0, 0)
    assert not f.is_cached(5)


def test_refresh_replaces_the_stored_value(cache: pkcache.Cache) -> None:
    state = {"value": 1}

    @cache.cached
    def read_state(name: str) -> int:
        return state[name]

    assert read_state("value") == 1
    state["value"] = 2
    assert read_state("value") == 1
    assert read_state.refresh("value") == 2
    assert read_state("value") == 2


def test_ttl_makes_old_entries_misses(cache: pkcache.Cache, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = Counter()

    @cache.cached(ttl=datetime.timedelta(minutes=5))
    def f(x: int) -> int:
        runs(x)
        return x

    f(1)
    f(1)
    assert len(runs.calls) == 1
    real_time = _decorator.time.time
    monkeypatch.setattr(_decorator.time, "time", lambda: real_time() + 301)
    assert not f.is_cached(1)
    f(1)
    assert len(runs.calls) == 2


VERSION_RUNS: list[int] = []


def _versioned_body(x: int) -> int:
    VERSION_RUNS.append(x)
    return x


def test_version_change_makes_old_results_misses(cache: pkcache.Cache) -> None:
    VERSION_RUNS.clear()
    cache.cached(version="1")(_versioned_body)(3)
    cache.cached(version="1")(_versioned_body)(3)
    assert VERSION_RUNS == [3]
    cache.cached(version="2")(_versioned_body)(3)
    assert VERSION_RUNS == [3, 3]
    cache.cached(version="1")(_versioned_body)(3)
    assert VERSION_RUNS == [3, 3]  # the old version's result is still there


def test_closure_values_are_part_of_the_function_identity(cache: pkcache.Cache) -> None:
    def make(scale: int) -> Any:
        @cache.cached
        def scaled(x: int) -> int:
            return x * scale

        return scaled

    assert make(2)(5) == 10
    assert make(3)(5) == 15


def test_key_callable_replaces_the_arguments(cache: pkcache.Cache) -> None:
    runs = Counter()

    @cache.cached(key=lambda frame, verbose=False: frame["id"])
    def load(frame: dict[str, Any], verbose: bool = False) -> int:
        runs(frame["id"])
        return len(frame)

    assert load({"id": 7, "payload": object()}) == 2
    assert load({"id": 7, "payload": object()}, verbose=True) == 2
    assert runs.calls == [(7,)]


def test_unhashable_argument_names_the_parameter(cache: pkcache.Cache) -> None:
    @cache.cached
    def f(data: int, callback: Any) -> int:
        return data

    with pytest.raises(pkcache.UnhashableArgumentError) as info:
        f(1, lambda: None)
    error = info.value
    assert isinstance(error, TypeError)
    assert isinstance(error, pkcache.PkcacheError)
    assert error.parameter == "callback"
    assert "ignore=['callback']" in str(error)
    assert "key=" in str(error)


def test_body_exception_propagates_and_is_not_cached(cache: pkcache.Cache) -> None:
    runs = Counter()

    @cache.cached
    def flaky(x: int) -> int:
        runs(x)
        if len(runs.calls) == 1:
            raise RuntimeError("boom")
        return x

    with pytest.raises(RuntimeError, match="boom"):
        flaky(1)
    assert flaky(1) == 1
    assert len(runs.calls) == 2


def test_unpicklable_result_is_returned_not_stored(cache: pkcache.Cache, caplog: pytest.LogCaptureFixture) -> None:
    @cache.cached
    def make_lock(x: int) -> Any:
        return lambda: x

    with caplog.at_level(logging.WARNING, logger="pkcache"):
        result = make_lock(3)
    assert result() == 3
    assert not make_lock.is_cached(3)
    assert "cannot be pickled" in caplog.text


def test_disable_env_bypasses_the_cache(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PKCACHE_DISABLE", "1")
    runs = Counter()

    @pkcache.cached(cache_dir=cache_dir)
    def f(x: int) -> int:
        runs(x)
        return x

    f(1)
    f(1)
    assert f.cache_info().entries == 0  # inspecting does not switch caching on
    f(1)
    assert len(runs.calls) == 3
    assert not any(cache_dir.rglob("*.pkl"))


def test_methods_include_self_static_and_class_methods_work(cache: pkcache.Cache) -> None:
    runs = Counter()

    class Model:
        def __init__(self, scale: int) -> None:
            self.scale = scale

        def __reduce__(self) -> Any:
            return (Model, (self.scale,))

        @cache.cached
        def predict(self, x: int) -> int:
            runs("predict", self.scale, x)
            return self.scale * x

        @staticmethod
        @cache.cached
        def static(x: int) -> int:
            runs("static", x)
            return x + 1

        @cache.cached
        @classmethod
        def klass(cls, x: int) -> int:
            runs("klass", x)
            return x + 2

    Model.__qualname__ = "Model"  # picklable by reference as a stand-in for a module-level class
    globals()["Model"] = Model
    try:
        assert Model(2).predict(3) == 6
        assert Model(2).predict(3) == 6
        assert Model(5).predict(3) == 15
        assert Model(2).predict.is_cached(3)
        assert Model(2).predict.invalidate(3)
        assert not Model(2).predict.is_cached(3)
        assert Model.static(1) == Model.static(1) == 2
        assert Model.klass(1) == Model.klass(1) == 3
        assert Model(1).klass(1) == 3
    finally:
        del globals()["Model"]
    assert [c[0] for c in runs.calls] == ["predict", "predict", "static", "klass"]


def test_async_functions_store_the_awaited_result(cache: pkcache.Cache) -> None:
    runs = Counter()

    @cache.cached
    async def fetch(x: int) -> dict[str, int]:
        runs(x)
        await asyncio.sleep(0)
        return {"x": x}

    async def main() -> list[dict[str, int]]:
        return [await fetch(1), await fetch(1), await fetch.refresh(1)]

    assert asyncio.run(main()) == [{"x": 1}] * 3
    assert len(runs.calls) == 2
    assert fetch.is_cached(1)


def test_corrupt_entry_is_a_miss_removed_with_a_warning(cache: pkcache.Cache, caplog: pytest.LogCaptureFixture) -> None:
    runs = Counter()

    @cache.cached
    def f(x: int) -> list[int]:
        runs(x)
        return [x] * 100

    f(1)
    (entry,) = cache.entries()
    Path(entry.location).write_bytes(Path(entry.location).read_bytes()[:-10])
    with caplog.at_level(logging.WARNING, logger="pkcache"):
        assert f(1) == [1] * 100
    assert len(runs.calls) == 2
    assert "unusable cache entry" in caplog.text
    assert entry.location in caplog.text
    assert f(1) == [1] * 100
    assert len(runs.calls) == 2


def test_an_entry_copied_to_another_key_is_refused(cache: pkcache.Cache) -> None:
    @cache.cached
    def f(x: int) -> int:
        return x

    f(1)
    f(2)
    one, two = sorted(cache.entries(), key=lambda e: e.key)
    Path(two.location).write_bytes(Path(one.location).read_bytes())
    expected = 1 if two.key == f.cache_key(1) else 2
    assert f(expected) == expected


def test_bad_options_fail_at_decoration_time() -> None:
    def f(x: int) -> int:
        return x

    with pytest.raises(pkcache.InvalidOptionError, match="ttl"):
        pkcache.cached(ttl=-1)
    with pytest.raises(pkcache.InvalidOptionTypeError, match="ttl"):
        pkcache.cached(ttl=[1])
    with pytest.raises(pkcache.InvalidOptionError, match="no parameter named nope"):
        pkcache.cached(ignore=["nope"])(f)
    with pytest.raises(pkcache.InvalidOptionError, match="ignore"):
        pkcache.cached(ignore=[3])
    with pytest.raises(TypeError, match="version"):
        pkcache.cached(version=1.5)
    with pytest.raises(TypeError, match="key"):
        pkcache.cached(key="id")
    with pytest.raises(TypeError, match="cache_dir"):
        pkcache.cached(cache_dir=3)
    with pytest.raises(pkcache.InvalidOptionError, match="lock_timeout"):
        pkcache.cached(lock_timeout=-2)
    with pytest.raises(TypeError, match="takes a function"):
        pkcache.cached(42)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="directory"):
        pkcache.Cache(directory=b"x")  # type: ignore[arg-type]
    with pytest.raises(pkcache.InvalidOptionError, match="max_size"):
        pkcache.cached(max_size="lots")
    with pytest.raises(pkcache.InvalidOptionError, match="max_size"):
        pkcache.Cache(max_size=0)
    with pytest.raises(pkcache.InvalidOptionError, match="max_entries"):
        pkcache.cached(max_entries=0)
    with pytest.raises(TypeError, match="max_entries"):
        pkcache.cached(max_entries="3")  # type: ignore[arg-type]
    with pytest.raises(pkcache.InvalidOptionError, match="policy must be one of fifo, lfu, lru"):
        pkcache.cached(policy="random")
    with pytest.raises(TypeError, match="depends_on"):
        pkcache.cached(depends_on=[3])
    with pytest.raises(pkcache.InvalidOptionError, match="no Python code"):
        pkcache.cached(depends_on=[len])


def test_default_directory_is_the_user_cache_folder(monkeypatch: pytest.MonkeyPatch, isolated_env: Path) -> None:
    monkeypatch.delenv("PKCACHE_DIR")
    assert pkcache.Cache().directory == isolated_env / "xdg-cache" / "pkcache"

    @pkcache.cached
    def f(x: int) -> int:
        return x

    f(1)
    assert list((isolated_env / "xdg-cache" / "pkcache").rglob("*.pkl"))


def test_durable_entries_are_fsynced_before_they_appear(cache: pkcache.Cache, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    @cache.cached
    def fast(x: int) -> int:
        return x

    @cache.cached(durable=True)
    def safe(x: int) -> int:
        return x

    fast(0)  # creates the secret and the directory first
    monkeypatch.setattr(os, "fsync", counting_fsync)
    fast(1)
    assert synced == []
    safe(1)
    assert len(synced) == 2  # the entry file, then its folder
    assert safe(1) == 1


BAD_OPTIONS = [
    ("cache_dir", 3, TypeError),
    ("cache_dir", "", ValueError),
    ("ttl", "soon", ValueError),
    ("ttl", -5, ValueError),
    ("ttl", [1], TypeError),
    ("ignore", 5, TypeError),
    ("ignore", ["not a name"], ValueError),
    ("version", 1.5, TypeError),
    ("version", True, TypeError),
    ("key", "id", TypeError),
    ("lock_timeout", "long", TypeError),
    ("lock_timeout", float("nan"), ValueError),
    ("durable", "yes", TypeError),
    ("max_size", "lots", ValueError),
    ("max_size", -1, ValueError),
    ("max_size", 2.5, TypeError),
    ("max_entries", 0, ValueError),
    ("max_entries", 2.0, TypeError),
    ("policy", "mru", ValueError),
    ("policy", 1, TypeError),
    ("depends_on", "helper", TypeError),
    ("depends_on", [print], ValueError),
    ("secret", 7, TypeError),
    ("secret", b"", ValueError),
    ("secret_file", "/no/such/secret", ValueError),
    ("mmap_mode", "w+", ValueError),
    ("mmap_mode", 1, TypeError),
]


@pytest.mark.parametrize(("option", "value", "error"), BAD_OPTIONS)
def test_every_bad_option_fails_at_decoration_with_its_name(option: str, value: object, error: type) -> None:
    with pytest.raises(error, match=option) as info:
        pkcache.cached(**{option: value})
    assert isinstance(info.value, pkcache.PkcacheError)


CACHE_OPTIONS = {"max_size", "max_entries", "ttl", "policy", "lock_timeout", "durable", "secret", "secret_file"}


@pytest.mark.parametrize(
    ("option", "value", "error"),
    [row for row in BAD_OPTIONS if row[0] in CACHE_OPTIONS] + [("directory", 3, TypeError)],
)
def test_every_bad_cache_option_fails_at_construction(option: str, value: object, error: type) -> None:
    with pytest.raises(error, match=option):
        pkcache.Cache(**{option: value})  # type: ignore[arg-type]


def test_mmap_mode_returns_large_arrays_memory_mapped(cache: pkcache.Cache) -> None:
    np = pytest.importorskip("numpy")

    @cache.cached(mmap_mode="r")
    def ramp(n: int) -> Any:
        return np.arange(n, dtype=np.float64)

    @cache.cached(mmap_mode="c")
    def ramp_private(n: int) -> Any:
        return np.arange(n, dtype=np.float64)

    first = ramp(500_000)
    assert not first.flags.writeable  # the stored, mapped result: as every later hit returns it
    mapped = ramp(500_000)
    np.testing.assert_array_equal(mapped, first)
    assert not mapped.flags.writeable
    base = mapped
    while isinstance(base, np.ndarray):
        base = base.base
    assert isinstance(base, memoryview)  # a view of the mapping, not a copy
    assert isinstance(base.obj, mmap.mmap)
    ramp_private(500_000)
    private = ramp_private(500_000)
    private[0] = 42.0  # copy-on-write: allowed, and never reaches the file
    assert ramp_private(500_000)[0] == 0.0
    assert ramp(10)[3] == 3.0  # small results are read as usual


def test_a_mapped_result_outlives_the_replacement_and_removal_of_its_entry(cache: pkcache.Cache) -> None:
    np = pytest.importorskip("numpy")
    offset = [0.0]

    @cache.cached(mmap_mode="r")
    def ramp(n: int) -> Any:
        return np.arange(n, dtype=np.float64) + offset[0]

    ramp(500_000)
    mapped = ramp(500_000)
    offset[0] = 1.0
    assert ramp.refresh(500_000)[0] == 1.0  # a new file replaces the entry
    assert ramp(500_000)[0] == 1.0
    ramp.cache_clear()
    offset[0] = 2.0
    assert ramp(500_000)[0] == 2.0
    assert ramp(500_000)[0] == 2.0
    # Entries are never rewritten in place: the first mapping still sees the first result.
    np.testing.assert_array_equal(mapped, np.arange(500_000, dtype=np.float64))


def test_an_unknown_option_is_named_at_decoration(cache: pkcache.Cache) -> None:
    with pytest.raises(TypeError, match=r"unknown option.*ttll"):
        pkcache.cached(ttll=5)  # type: ignore[call-overload]
    with pytest.raises(pkcache.InvalidOptionTypeError, match="max_entrys"):
        cache.cached(max_entrys=5)  # type: ignore[call-overload]


def test_a_cache_lends_its_defaults_to_its_functions(cache_dir: Path) -> None:
    cache = pkcache.Cache(cache_dir, ttl="1h", lock_timeout=5, durable=True)

    @cache.cached
    def plain(x: int) -> int:
        return x

    @cache.cached(ttl=60, lock_timeout=1)
    def overridden(x: int) -> int:
        return x

    assert plain._options.ttl == 3600
    assert (plain._options.lock_timeout, plain._options.durable) == (5, True)
    assert (overridden._options.ttl, overridden._options.lock_timeout) == (60, 1)
