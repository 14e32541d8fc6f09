"""Cached functions you can act on (issue 14, point 1 and the fixes of point 5):
``key``/``get``/``set``/``invalidate``/``refresh``/``original``, the multi
forms, per-function ``time=``/``should_cache=``/``cache_none=``, and keys
that cannot be trusted. On ``MemoryCache`` and on a real memcached."""

from __future__ import annotations

import functools
import inspect
import pickle
from collections.abc import Iterator
from typing import Any

import pytest

from caching import MemoryCache, from_url
from caching.contract import Cache
from caching.patterns import Cached, key_builder
from caching.patterns.cached import CACHED_NONE
from tests.shared import memcached_url

__all__ = ["memcached_url"]


@pytest.fixture(params=["memory", "memcached"])
def store(request: pytest.FixtureRequest) -> Iterator[Cache]:
    """A fresh ``MemoryCache``, or the session's memcached (flushed)."""
    if request.param == "memory":
        yield MemoryCache()
        return
    cache = from_url(request.getfixturevalue("memcached_url"))
    yield cache
    cache.close()  # type: ignore[attr-defined]


class Calls:
    """Counts the calls of a function, by arguments."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __call__(self, *args: Any) -> None:
        self.calls.append(args)


DECORATORS = ["wraps_get_or_add", "wraps_get_or_set", "__call__", "wraps_get_or_create"]


@pytest.mark.parametrize("decorator", DECORATORS)
def test_acts_on_a_function(store: Cache, decorator: str) -> None:
    cached = Cached(store, key_builder("fn"), time=60)
    calls = Calls()
    version = [1]

    @getattr(cached, decorator)
    def list_items(locale: str = "en", sort_order: int = 1) -> str:
        calls(locale, sort_order)
        return f"{locale}:{sort_order}:v{version[0]}"

    assert list_items.key() == list_items.key("en", sort_order=1) == "fn-list_items:'en':1"
    assert list_items.get("en") is None  # never calls the function
    assert calls.calls == []
    assert list_items("en") == "en:1:v1"
    assert list_items.get(locale="en") == "en:1:v1"
    assert len(calls.calls) == 1

    version[0] = 2
    assert list_items.refresh("en") == "en:1:v2"  # calls once, stores
    assert len(calls.calls) == 2
    assert list_items("en") == "en:1:v2"
    assert len(calls.calls) == 2

    assert list_items.invalidate("en") is True
    assert list_items.invalidate("en") is False  # nothing left
    assert list_items.get("en") is None
    version[0] = 3
    assert list_items("en") == "en:1:v3"  # runs again after invalidate
    assert len(calls.calls) == 3

    assert list_items.set("stored", "uk", sort_order=2) is True
    assert list_items("uk", 2) == "stored"
    assert store.get("fn-list_items:'uk':2") == "stored"
    assert len(calls.calls) == 3
    assert list_items.original("de") == "de:1:v3"  # the undecorated function
    assert list_items.get("de") is None
    assert list_items.__name__ == "list_items"


@pytest.mark.parametrize("decorator", DECORATORS)
def test_acts_on_methods_and_classmethods(store: Cache, decorator: str) -> None:
    cached = Cached(store, key_builder("repo"), time=60)
    decorate = getattr(cached, decorator)
    calls = Calls()

    class Repository:
        def __init__(self, name: str) -> None:
            self.name = name

        @decorate
        def list_items(self, locale: str = "en") -> str:
            calls("list_items", self.name, locale)
            return f"{self.name}:{locale}"

        @classmethod
        @decorate
        def count(cls, kind: str = "all") -> str:
            calls("count", kind)
            return f"{cls.__name__}:{kind}"

        @decorate
        @classmethod
        def total(cls, kind: str = "all") -> str:
            calls("total", kind)
            return f"total:{kind}"

    first, second = Repository("a"), Repository("b")
    assert first.list_items.key("en") == "repo-list_items:'en'"  # self left out
    assert first.list_items("en") == "a:en"
    assert second.list_items.get("en") == "a:en"  # self is not part of the key
    assert first.list_items.invalidate(locale="en") is True
    assert second.list_items("en") == "b:en"
    assert second.list_items.refresh("en") == "b:en"
    assert first.list_items.set("set", "uk") is True
    assert second.list_items("uk") == "set"
    assert Repository.list_items.key(first, "en") == "repo-list_items:'en'"  # unbound: self given
    assert first.list_items.original(first, "x") == "a:x"
    assert first.list_items.__name__ == "list_items"

    for name in ("count", "total"):
        method = getattr(Repository, name)
        assert method.key("all") == f"repo-{name}:'all'"
        assert method.get() is None
        method()
        assert method.get("all") == method()
        assert method.invalidate("all") is True
        assert getattr(first, name).get() is None  # through an instance: the class bound
        method(kind="all")
    assert [c[0] for c in calls.calls].count("count") == 2
    assert [c[0] for c in calls.calls].count("total") == 2
    assert [c for c in calls.calls if c[0] == "list_items"] == [
        ("list_items", "a", "en"),
        ("list_items", "b", "en"),
        ("list_items", "b", "en"),
        ("list_items", "a", "x"),  # original: not cached
    ]


def test_per_function_time_and_should_cache(store: Cache) -> None:
    now = [1_800_000_000.0]
    clocked = MemoryCache(clock=lambda: now[0]) if isinstance(store, MemoryCache) else None
    cache = store if clocked is None else clocked
    cached = Cached(cache, key_builder("fn"), time=3600)
    calls = Calls()

    @cached(time=30, should_cache=lambda value: value != "error")
    def lookup(name: str) -> str:
        calls(name)
        return "error" if name.startswith("bad") else name.upper()

    assert lookup("bad") == "error"
    assert lookup("bad") == "error"  # rejected by should_cache: not stored
    assert lookup("ok") == lookup("ok") == "OK"
    assert calls.calls == [("bad",), ("bad",), ("ok",)]
    if clocked is not None:  # time=30 applies, not the Cached's 3600
        now[0] += 31
        assert lookup.get("ok") is None


def test_cached_default_should_cache() -> None:
    cached = Cached(MemoryCache(), key_builder("fn"), should_cache=lambda v: v > 0)
    calls = Calls()

    @cached.wraps_get_or_create
    def score(n: int) -> int:
        calls(n)
        return n

    assert score(-1) == score(-1) == -1
    assert score(5) == score(5) == 5
    assert calls.calls == [(-1,), (-1,), (5,)]


@pytest.mark.parametrize("decorator", DECORATORS)
def test_cache_none_stores_a_marker_and_reads_none(store: Cache, decorator: str) -> None:
    cached = Cached(store, key_builder("fn"), time=60)
    calls = Calls()

    @getattr(cached, decorator)(cache_none=True)
    def find(user_id: int) -> str | None:
        calls(user_id)
        return None

    @getattr(cached, decorator)
    def plain(user_id: int) -> str | None:
        calls("plain", user_id)
        return None

    assert find(404) is None
    assert find(404) is None  # negative caching: the database is not asked again
    assert find.get(404) is None
    assert calls.calls == [(404,)]
    assert cached.get(find.key(404)) is None  # reads through Cached answer None
    assert cached.get_multi([find.key(404)]) == {}
    assert plain(1) is None
    assert plain(1) is None
    assert calls.calls == [(404,), ("plain", 1), ("plain", 1)]


def test_cache_none_default_and_the_marker_pickles() -> None:
    assert pickle.loads(pickle.dumps(CACHED_NONE)) is CACHED_NONE
    cached = Cached(MemoryCache(), cache_none=True)
    calls = Calls()

    def create() -> None:
        calls()

    assert cached.get_or_set("k", create) is None
    assert cached.get_or_create("k", create) is None
    assert cached.get_or_add("k", create) is None
    assert calls.calls == [()]
    assert Cached(MemoryCache()).get_or_set("k", create) is None
    assert Cached(MemoryCache()).get_or_set("k", create) is None
    assert len(calls.calls) == 3


def test_multi_forms(store: Cache) -> None:
    cached = Cached(store, time=60)
    calls = Calls()
    version = [1]

    class Products:
        @cached.wraps_get_or_set_multi(make_key=lambda i: f"product:{i}")
        def get_products(self, ids: list[int], locale: str = "en") -> dict[int, str]:
            calls(list(ids), locale)
            return {i: f"p{i}:{locale}:v{version[0]}" for i in ids if i != 404}

    @cached.wraps_get_or_set_multi(make_key=lambda i: f"user:{i}", cache_none=True)
    def get_users(ids: list[int]) -> dict[int, str]:
        calls("users", list(ids))
        return {i: f"u{i}" for i in ids if i != 404}

    repo = Products()
    assert repo.get_products.key(1) == "product:1"
    assert repo.get_products.get_multi([1, 2]) == {}
    assert calls.calls == []
    assert repo.get_products([1, 2]) == {1: "p1:en:v1", 2: "p2:en:v1"}
    assert repo.get_products.get_multi([1, 2, 3]) == {1: "p1:en:v1", 2: "p2:en:v1"}
    assert repo.get_products.set_multi({3: "three"}) == []
    assert repo.get_products([1, 3]) == {1: "p1:en:v1", 3: "three"}
    assert len(calls.calls) == 1
    version[0] = 2
    assert repo.get_products.refresh([1, 2]) == {1: "p1:en:v2", 2: "p2:en:v2"}
    assert calls.calls[-1] == ([1, 2], "en")
    assert repo.get_products([1, 2]) == {1: "p1:en:v2", 2: "p2:en:v2"}
    assert repo.get_products.invalidate([1, 3]) is True
    assert repo.get_products.get_multi([1, 2, 3]) == {2: "p2:en:v2"}
    assert repo.get_products([1, 2, 3]) == {1: "p1:en:v2", 2: "p2:en:v2", 3: "p3:en:v2"}
    assert calls.calls[-1] == ([1, 3], "en")
    assert Products.get_products.original(repo, [7]) == {7: "p7:en:v2"}

    assert get_users([1, 404]) == {1: "u1"}
    assert get_users([1, 404]) == {1: "u1"}  # 404 negatively cached: no call
    assert get_users.get_multi([1, 404]) == {1: "u1"}
    assert [c for c in calls.calls if c[0] == "users"] == [("users", [1, 404])]


class Query:
    """Has the default repr: its address, not what it holds."""

    def __init__(self, text: str) -> None:
        self.text = text


class NamedQuery(Query):
    def __repr__(self) -> str:
        return f"NamedQuery({self.text!r})"


def test_default_repr_arguments_raise_naming_the_parameter() -> None:
    cached = Cached(MemoryCache(), key_builder("fn"), time=60)
    calls = Calls()

    @cached
    def listing(query: Query, page: int = 1) -> str:
        calls(query.text)
        return f"listing of {query.text}"

    @cached.wraps_get_or_create
    def nested(queries: tuple[Query, ...]) -> int:
        return len(queries)

    for call in (
        lambda: listing(Query("tea")),
        lambda: listing(query=Query("tea")),
        lambda: listing.key(Query("tea"), 2),
        lambda: nested((Query("tea"),)),
    ):
        with pytest.raises(TypeError) as error:
            call()
        message = str(error.value)
        assert "'query" in message or "'queries'" in message
        assert "__repr__" in message
        assert "make_key" in message
    assert calls.calls == []  # never keyed silently
    assert listing(NamedQuery("tea")) == "listing of tea"
    assert listing(NamedQuery("coffee")) == "listing of coffee"


class Texts:
    """A str argument may hold the words of a default repr."""

    text = "<Query object at 0x7f00>"


def test_a_text_argument_with_the_words_is_keyed() -> None:
    cached = Cached(MemoryCache(), key_builder("fn"))

    @cached
    def echo(value: str) -> str:
        return value

    assert echo(Texts.text) == Texts.text
    assert echo.get(Texts.text) == Texts.text


def test_a_function_argument_is_not_keyed_by_its_address() -> None:
    cached = Cached(MemoryCache(), key_builder("shop"), time=600)

    @cached
    def listing(predicate: Any) -> list[str]:
        return [name for name in ("tea", "coffee") if predicate(name)]

    with pytest.raises(TypeError, match="argument 'predicate' \\(function\\)"):
        listing(lambda name: name.startswith("t"))
    # a str that mentions an address is trusted (its repr is quoted)
    assert listing.get("a lambda at 0x10>") is None


def test_refresh_that_gives_nothing_to_store_drops_the_old_item() -> None:
    cached = Cached(MemoryCache(), key_builder("shop"), time=600)
    rows = {"tea": "Tea v1"}

    @cached
    def product(name: str) -> str | None:
        return rows.get(name)

    assert product("tea") == "Tea v1"
    del rows["tea"]
    assert product.refresh("tea") is None
    assert product("tea") is None  # not the deleted row


class Minimal:
    """A wheezy-style backend: get, set, add, delete, incr only."""

    def __init__(self) -> None:
        self.items: dict[Any, Any] = {}

    def get(self, key: Any, namespace: Any = None) -> Any:
        return self.items.get(key)

    def set(self, key: Any, value: Any, time: Any = 0, namespace: Any = None) -> bool:
        self.items[key] = value
        return True

    def add(self, key: Any, value: Any, time: Any = 0, namespace: Any = None) -> bool:
        if key in self.items:
            return False
        self.items[key] = value
        return True

    def delete(self, key: Any, seconds: Any = 0, namespace: Any = None) -> bool:
        return self.items.pop(key, None) is not None

    def incr(
        self, key: Any, delta: int = 1, namespace: Any = None, initial_value: Any = None
    ) -> Any:
        if key not in self.items:
            if initial_value is None:
                return None
            self.items[key] = initial_value
        self.items[key] += delta
        return self.items[key]


@pytest.mark.parametrize("pattern", ["get_or_add", "get_or_set", "get_or_create"])
def test_a_backend_without_multi_calls_keeps_working_with_a_dependency(pattern: str) -> None:
    cached = Cached(Minimal(), time=60)  # type: ignore[arg-type]
    assert getattr(cached, pattern)("k", lambda: "v", lambda: "master") == "v"
    assert cached.invalidate("k")
    assert getattr(cached, pattern)("k", lambda: "w", lambda: "master") == "w"


# -- the generated hit path keys as make_key does ------------------------------------


def _pos_only(a: int, b: str = "x", /, c: Any = None) -> Any:
    return (a, b, c)


def _kw_only(a: int, *, key: str = "k", result: Any = (1, 2)) -> Any:
    return (a, key, result)


def _mutable_default(a: int, tags: list[str] = []) -> Any:  # noqa: B006  # its repr keys
    return (a, tags)


def _no_parameters() -> Any:
    return "none"


def _reserved(_caching_head: int, b: int = 2) -> Any:
    return (_caching_head, b)


def _variadic(a: int, *args: int, **kwargs: int) -> Any:
    return (a, args, kwargs)


class _Repository:
    def listing(self, locale: str = "en", sort_order: int = 1) -> Any:
        return (locale, sort_order)


_CALLS: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = [
    (_pos_only, (1,), {}),
    (_pos_only, (1, "y"), {}),
    (_pos_only, (1, "y"), {"c": 3.5}),
    (_pos_only, (1, "y", b"z"), {}),
    (_kw_only, (1,), {}),
    (_kw_only, (1,), {"result": None}),
    (_kw_only, (2,), {"key": "a b"}),  # a space: hashed
    (_mutable_default, (1,), {}),
    (_mutable_default, (1, ["a"]), {}),
    (_mutable_default, (), {"a": 2, "tags": []}),
    (_no_parameters, (), {}),
    (_reserved, (1,), {}),
    (_reserved, (1,), {"b": 3}),
    (_variadic, (1, 2, 3), {"z": 1, "y": 2}),
    (_variadic, (1,), {}),
    (_Repository.listing, (_Repository(),), {}),
    (_Repository.listing, (_Repository(), "uk"), {"sort_order": 2}),
    (_Repository.listing, (_Repository(),), {"locale": "x" * 300}),  # too long: hashed
]


def _wrapped(func: Any) -> Any:
    """``func`` behind a ``functools.wraps`` wrapper: its signature is
    ``func``'s (``__wrapped__``), its own code is ``(*args, **kwargs)``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper


@pytest.mark.parametrize("wrap", [False, True], ids=["function", "wrapped"])
@pytest.mark.parametrize(("func", "args", "kwargs"), _CALLS)
def test_the_hit_path_keys_every_signature_as_make_key(
    func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], wrap: bool
) -> None:
    """The decorator's hit path (generated for a plain function:
    docs/PERFORMANCE.md, "Decorated hits"; general for a wrapped one) reads
    and stores under exactly the key that ``key_builder``'s make-key gives,
    and keeps the function's signature."""
    cache = MemoryCache()
    target = _wrapped(func) if wrap else func
    decorated = Cached(cache, key_builder("t"), time=60)(target)
    expected = key_builder("t")(target)(*args, **kwargs)
    first = decorated(*args, **kwargs)
    assert first == func(*args, **kwargs)
    assert cache.get(expected) == first
    cache.set(expected, "stored")  # a hit reads this key
    assert decorated(*args, **kwargs) == "stored"
    assert decorated.key(*args, **kwargs) == expected
    assert inspect.signature(decorated) == inspect.signature(func)


_SENTINEL = object()


def test_the_hit_path_takes_a_parameter_named_type_and_a_sentinel_default() -> None:
    def listing(type: str = "tea", marker: object = _SENTINEL) -> Any:
        return (type, marker is _SENTINEL)

    cache = MemoryCache()
    decorated = Cached(cache, key_builder("t"), time=60)(listing)
    assert decorated() == ("tea", True)
    assert decorated() == ("tea", True)  # a hit: the template calls no builtin by name
    assert decorated(type="coffee") == ("coffee", True)
    with pytest.raises(TypeError, match="default repr"):
        decorated("tea", object())  # another object at another address: refused


def test_a_wrapped_function_is_called_as_before_with_its_own_defaults() -> None:
    def inner(a: int, b: int = 1) -> Any:
        return (a, b)

    @functools.wraps(inner)
    def outer(a: int, b: int = 2) -> Any:
        return (a, b)

    decorated = Cached(MemoryCache(), key_builder("t"), time=60)(outer)
    assert decorated(5) == (5, 2)  # outer's own default, as the undecorated call


def test_the_hit_path_raises_for_a_wrong_call_as_the_function() -> None:
    decorated = Cached(MemoryCache(), key_builder("t"), time=60)(_kw_only)
    with pytest.raises(TypeError, match=r"^_kw_only\(\) takes 1 positional"):
        decorated(1, 2)  # type: ignore[misc]
    with pytest.raises(TypeError, match=r"^_kw_only\(\) got an unexpected keyword"):
        decorated(1, other=2)  # type: ignore[call-arg]
