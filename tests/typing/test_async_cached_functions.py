"""Decorated ``async def`` functions keep their types (``ParamSpec``),
checked by ``mypy --strict``: the ``assert_type`` lines by the lint run
(``tests/typing`` is in mypy's files), and a snippet by
:func:`test_mypy_reveals_the_async_signature_and_refuses_bad_calls`."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import assert_type

import pytest

from caching.aio import AsyncMemoryCache
from caching.aio.cached import AsyncCached
from caching.aio.regions import AsyncRegion
from caching.key_rules import Key
from caching.patterns import key_builder

cached = AsyncCached(AsyncMemoryCache(), key_builder("typed_async"), time=60)
region = AsyncRegion("typed_async_region").configure(AsyncMemoryCache(), time=60)


@region.cache_on_arguments
async def region_page(name: str) -> bytes:
    return name.encode()


@cached
async def page(name: str, number: int) -> str:
    return f"{name}:{number}"


@cached.wraps_get_or_create(time=30, cache_none=True)
async def find(user_id: int) -> str | None:
    return None if user_id < 0 else str(user_id)


class Repository:
    @cached.wraps_get_or_add
    async def list_items(self, locale: str = "en") -> list[str]:
        return [locale]

    @cached.wraps_get_or_set_multi(make_key=lambda i: f"typed-async-product:{i}")
    async def products(self, ids: list[int]) -> dict[int, str]:
        return {i: str(i) for i in ids}


def test_calls_and_acts_keep_their_types() -> None:
    async def main() -> None:
        assert_type(await page("a", 1), str)
        assert_type(await page.get("a", 1), str | None)
        assert_type(page.key("a", number=1), Key)
        assert_type(await page.set("v", "a", 1), bool)
        assert_type(await page.invalidate("a", 1), bool)
        assert_type(await page.refresh("a", 1), str)
        assert_type(await find(3), str | None)
        repo = Repository()
        assert_type(await repo.list_items("en"), list[str])
        assert_type(await repo.list_items.invalidate(), bool)
        assert_type(await repo.list_items.get("uk"), list[str] | None)
        assert_type(await repo.products([1, 2]), dict[int, str])
        assert_type(await repo.products.get_multi([1]), dict[int, str])
        assert_type(await repo.products.set_multi({3: "c"}), list[int])
        assert_type(await region_page("a"), bytes)
        assert_type(await region.invalidate(), bool)
        assert await region_page("a") == b"a"
        assert await page("a", 1) == "a:1"
        assert await repo.list_items.get("en") is None
        assert await repo.list_items("en") == ["en"]
        assert await repo.products([1]) == {1: "1"}

    asyncio.run(main())


SNIPPET = """
from caching.aio import AsyncMemoryCache
from caching.aio.cached import AsyncCached
from caching.patterns import key_builder

cached = AsyncCached(AsyncMemoryCache(), key_builder("t"))

@cached
async def page(name: str, number: int) -> str:
    return name * number

class Repo:
    @cached.wraps_get_or_create
    async def list_items(self, locale: str = "en") -> list[str]:
        return [locale]

reveal_type(page)
reveal_type(Repo().list_items)
page("x", 3, 4)
Repo().list_items.invalidate(3)
"""


@pytest.mark.slow
def test_mypy_reveals_the_async_signature_and_refuses_bad_calls(tmp_path: Path) -> None:
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
    revealed = 'Revealed type is "caching.aio.functions.AsyncCachedFunction'
    assert revealed + '[[name: str, number: int], str]"' in out, out
    assert revealed + '[[locale: str =], list[str]]"' in out, out
    assert 'snippet.py:19: error: Too many arguments for "__call__"' in out, out
    assert 'snippet.py:20: error: Argument 1 to "invalidate"' in out, out
    unawaited = 'snippet.py:20: error: Value of type "Coroutine[Any, Any, bool]" must be used'
    assert unawaited in out, out
    assert result.returncode == 1
