"""Decorated functions keep their types (``ParamSpec``), checked by ``mypy --strict``.

The ``assert_type`` lines are checked by the lint run (``tests/typing`` is in
mypy's files); :func:`test_mypy_reveals_the_signature_and_refuses_bad_calls`
runs mypy on a snippet to see ``reveal_type`` and the errors a bad call gives.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import assert_type

import pytest

from caching import MemoryCache
from caching.key_rules import Key
from caching.patterns import Cached, key_builder
from caching.regions import Region

cached = Cached(MemoryCache(), key_builder("typed"), time=60)
region = Region("typed_region").configure(MemoryCache(), time=60)


@region.cache_on_arguments
def region_page(name: str) -> bytes:
    return name.encode()


@cached
def page(name: str, number: int) -> str:
    return f"{name}:{number}"


@cached.wraps_get_or_create(time=30, cache_none=True)
def find(user_id: int) -> str | None:
    return None if user_id < 0 else str(user_id)


class Repository:
    @cached.wraps_get_or_add
    def list_items(self, locale: str = "en") -> list[str]:
        return [locale]

    @cached.wraps_get_or_set_multi(make_key=lambda i: f"typed-product:{i}")
    def products(self, ids: list[int]) -> dict[int, str]:
        return {i: str(i) for i in ids}


def test_calls_and_acts_keep_their_types() -> None:
    assert_type(page("a", 1), str)
    assert_type(page.get("a", 1), str | None)
    assert_type(page.key("a", number=1), Key)
    assert_type(page.set("v", "a", 1), bool)
    assert_type(page.invalidate("a", 1), bool)
    assert_type(page.refresh("a", 1), str)
    assert_type(find(3), str | None)
    repo = Repository()
    assert_type(repo.list_items("en"), list[str])
    assert_type(repo.list_items.invalidate(), bool)
    assert_type(repo.list_items.get("uk"), list[str] | None)
    assert_type(repo.products([1, 2]), dict[int, str])
    assert_type(repo.products.get_multi([1]), dict[int, str])
    assert_type(repo.products.set_multi({3: "c"}), list[int])
    assert_type(region_page("a"), bytes)
    assert_type(region_page.invalidate("a"), bool)
    assert_type(region.invalidate(), bool)
    assert region_page("a") == b"a"
    assert page("a", 1) == "a:1"
    assert repo.list_items.get("en") is None
    assert repo.list_items("en") == ["en"]
    assert repo.products([1]) == {1: "1"}


SNIPPET = """
from caching import MemoryCache
from caching.patterns import Cached, key_builder

cached = Cached(MemoryCache(), key_builder("t"))

@cached
def page(name: str, number: int) -> str:
    return name * number

class Repo:
    @cached.wraps_get_or_create
    def list_items(self, locale: str = "en") -> list[str]:
        return [locale]

reveal_type(page)
reveal_type(Repo().list_items)
page("x", 3, 4)
Repo().list_items.invalidate(3)
"""


@pytest.mark.slow
def test_mypy_reveals_the_signature_and_refuses_bad_calls(tmp_path: Path) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(textwrap.dedent(SNIPPET))
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(snippet)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).parents[2],
    )
    out = result.stdout
    revealed = 'Revealed type is "caching.patterns.functions.CachedFunction'
    assert revealed + '[[name: str, number: int], str]"' in out, out
    assert revealed + '[[locale: str =], list[str]]"' in out, out
    assert 'snippet.py:18: error: Too many arguments for "__call__"' in out, out
    assert 'snippet.py:19: error: Argument 1 to "invalidate"' in out, out
    assert result.returncode == 1
