"""Sizes and ages as options and the CLI accept and print them."""

from __future__ import annotations

import datetime

import pytest

from pkcache import InvalidOptionError, InvalidOptionTypeError
from pkcache._summary import summarize
from pkcache._units import format_age, format_size, parse_age, parse_size


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("15m", 900),
        ("2h", 7200),
        ("7d", 604800),
        ("1w", 604800),
        ("1.5h", 5400),
        ("45", 45),
        (" 2H ", 7200),
    ],
)
def test_parse_age(text: str, seconds: float) -> None:
    assert parse_age(text) == seconds


def test_parse_age_numbers_and_timedeltas() -> None:
    assert parse_age(2.5) == 2.5
    assert parse_age(datetime.timedelta(hours=1)) == 3600


@pytest.mark.parametrize("bad", ["", "soon", "5x", "-3s", "0", 0, -1, float("inf")])
def test_parse_age_rejects_bad_values(bad: object) -> None:
    with pytest.raises(InvalidOptionError):
        parse_age(bad)


@pytest.mark.parametrize("bad", [True, None, [1], b"2h"])
def test_parse_age_rejects_bad_types(bad: object) -> None:
    with pytest.raises(InvalidOptionTypeError):
        parse_age(bad)


@pytest.mark.parametrize(
    ("text", "size"), [(1000, 1000), ("500MB", 500_000_000), ("2GiB", 2 << 30), ("1.5kb", 1500), ("10", 10)]
)
def test_parse_size(text: object, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("bad", ["", "lots", "5 parsecs", 0, -5, "0MB"])
def test_parse_size_rejects_bad_values(bad: object) -> None:
    with pytest.raises(InvalidOptionError):
        parse_size(bad)


def test_human_formats() -> None:
    assert format_size(512) == "512 B"
    assert format_size(1_234_567) == "1.2 MB"
    assert format_size(3.2e12) == "3.2 TB"
    assert format_age(42) == "42 s"
    assert format_age(180) == "3 min"
    assert format_age(5 * 3600) == "5 h"
    assert format_age(2 * 86400) == "2 d"


class HugeRepr:
    """An argument whose repr is enormous and slow: the summary must never call it."""

    def __repr__(self) -> str:
        raise AssertionError("summary called repr() on a large object")

    def __len__(self) -> int:
        return 10**9


def test_argument_summaries_are_bounded_and_never_repr_large_objects() -> None:
    text = summarize([("rows", list(range(1_000_000))), ("blob", "x" * 10**6), ("obj", HugeRepr())])
    assert len(text) <= 200
    assert text.startswith("rows=[0, 1, 2, …] (len 1000000), blob='xxxxxxxx")
    assert summarize([("obj", HugeRepr())]) == "obj=<HugeRepr>"
    nested = {"a": [list(range(10**6))] * 5, "b": {"c": "x" * 10**6}}
    assert summarize([("cfg", nested)]) == (
        "cfg={'a': [[0, 1, 2, …] (len 1000000), [0, 1, 2, …] (len 1000000), [0, 1, 2, …] (len 1000000), …] "
        "(len 5), 'b': {'c': 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'…}}"
    )
