"""Every option is defined once (``pkcache._options.spec``): the signatures, checks and docs agree with it."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import pkcache
from pkcache._options import CacheOptions, Options, make_options
from pkcache._options.spec import CACHE, DECORATOR, LOCATION, OPTIONS, markdown_table

ROOT = Path(__file__).resolve().parent.parent
DOCS_WITH_TABLES = [ROOT / "README.md", ROOT / "docs" / "options.md"]
_TABLE = re.compile(r"<!-- options: (\w+) -->\n(.*?)<!-- /options -->", re.DOTALL)


def _names(where: str) -> list[str]:
    return [o.name for o in OPTIONS if where in o.where]


def test_the_typed_options_are_the_decorators_options() -> None:
    assert list(CacheOptions.__annotations__) == _names(DECORATOR)


def test_pkcache_cached_takes_the_locations_and_the_decorators_options() -> None:
    parameters = inspect.signature(pkcache.cached).parameters.values()
    keyword = [p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert sorted(keyword) == sorted(_names(LOCATION))
    assert [p.kind for p in parameters][-1] is inspect.Parameter.VAR_KEYWORD  # **options: CacheOptions


def test_cache_takes_its_options_with_the_specs_defaults() -> None:
    parameters = inspect.signature(pkcache.Cache).parameters
    assert set(parameters) == {"directory", *_names(CACHE)}
    for option in OPTIONS:
        if CACHE in option.where:
            assert parameters[option.name].default == option.default, option.name


def test_the_checked_defaults_are_the_frozen_defaults() -> None:
    assert make_options() == Options()
    fields = set(Options._fields)
    for option in OPTIONS:
        if DECORATOR in option.where and option.name not in ("max_size", "max_entries", "policy"):
            assert option.name in fields, option.name


@pytest.mark.parametrize("option", [o.name for o in OPTIONS if DECORATOR in o.where])
def test_a_bad_value_fails_at_decoration_naming_its_option(option: str) -> None:
    with pytest.raises((pkcache.InvalidOptionError, pkcache.InvalidOptionTypeError)) as info:
        pkcache.cached(**{option: object()})  # type: ignore[misc]
    assert option in str(info.value)


@pytest.mark.parametrize("option", _names(CACHE))
def test_a_bad_cache_value_fails_when_the_cache_is_made_naming_its_option(option: str) -> None:
    with pytest.raises((pkcache.InvalidOptionError, pkcache.InvalidOptionTypeError)) as info:
        pkcache.Cache("unused", **{option: object()})  # type: ignore[arg-type]
    assert option in str(info.value)


def test_the_cached_docstring_names_every_option() -> None:
    doc = pkcache.cached.__doc__ or ""
    missing = [name for name in _names(DECORATOR) + _names(LOCATION) if f"``{name}``" not in doc]
    assert missing == []


@pytest.mark.parametrize("document", DOCS_WITH_TABLES, ids=lambda p: p.name)
def test_the_options_tables_in_the_docs_are_the_spec(document: Path) -> None:
    tables = _TABLE.findall(document.read_text())
    assert tables, f"{document.name} has no options table"
    for where, table in tables:
        assert table == markdown_table(where), f"regenerate with: python -m pkcache._options.spec {where}"
