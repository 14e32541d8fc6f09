"""Cached: pass-through calls, the patterns and the decorators, on every backend."""

from __future__ import annotations

import inspect
import time
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caching import MemoryCache, NullCache
from caching.contract import Cache
from caching.key_rules import key_bytes
from caching.patterns import Cached, key_builder
from caching.patterns.dependency import dependent_key
from tests.shared import Clock, backend, cache, clock, timed_backends

__all__ = ["backend", "cache", "clock"]


class Recorder:
    """A wheezy-style backend that records the positional calls it receives."""

    def __init__(self) -> None:
        self.inner = MemoryCache()
        self.calls: list[tuple[Any, ...]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def record(*args: Any, **kwargs: Any) -> Any:
            assert not kwargs, f"{name} called with keywords {kwargs}"
            self.calls.append((name, *args))
            return method(*args)

        return record


class Calls:
    """A creator that counts its calls."""

    def __init__(self, value: Any = "value") -> None:
        self.value = value
        self.count = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.count += 1
        return self.value


# -- pass-through ----------------------------------------------------------------


def test_calls_pass_key_value_time_namespace_positionally() -> None:
    recorder = Recorder()
    cached = Cached(recorder, time=timedelta(minutes=1), namespace="ns")  # type: ignore[arg-type]
    cached.set("k", 1)
    cached.add("k2", 2)
    cached.replace("k", 3)
    cached.set_multi({"a": 1})
    cached.add_multi({"b": 1})
    cached.replace_multi({"a": 2})
    cached.get("k")
    cached.get_multi(["k"])
    cached.incr("n", 1, 0)
    cached.decr("n", 1)
    cached.delete("k")
    cached.delete_multi(["a"])
    assert recorder.calls == [
        ("set", "k", 1, 60, "ns"),
        ("add", "k2", 2, 60, "ns"),
        ("replace", "k", 3, 60, "ns"),
        ("set_multi", {"a": 1}, 60, "ns"),
        ("add_multi", {"b": 1}, 60, "ns"),
        ("replace_multi", {"a": 2}, 60, "ns"),
        ("get", "k", "ns"),
        ("get_multi", ["k"], "ns"),
        ("incr", "n", 1, "ns", 0),
        ("decr", "n", 1, "ns", None),
        ("delete", "k", 0, "ns"),
        ("delete_multi", ["a"], 0, "ns"),
    ]


def test_pass_through_results(cache: Cache) -> None:
    cached = Cached(cache, time=60)
    assert cached.add("k", 1) is True
    assert cached.add("k", 2) is False
    assert cached.replace("k", 3) is True
    assert cached.get("k") == 3
    assert cached.set_multi({"a": 1, "b": 2}) == []
    assert cached.add_multi({"a": 5, "c": 3}) == ["a"]
    assert cached.replace_multi({"d": 4}) == ["d"]
    assert cached.get_multi(["a", "b", "c", "d"]) == {"a": 1, "b": 2, "c": 3}
    assert cached.incr("n", 5, initial_value=0) == 5
    assert cached.decr("n", 2) == 3
    assert cached.delete("k") is True
    assert cached.delete_multi(["a", "b"]) is True
    assert cached.get_multi(["a", "b", "k"]) == {}


@timed_backends
def test_items_expire_after_time(cache: Cache, clock: Clock) -> None:
    cached = Cached(cache, time=timedelta(seconds=2))
    cached.set("k", "v")
    assert cached.get("k") == "v"
    clock.advance(3.1)
    assert cached.get("k") is None


def test_set_and_add_with_dependency_key(cache: Cache) -> None:
    cached = Cached(cache, time=60)
    assert cached.set("a", 1, dependency_key="group") is True
    assert cached.add("b", 2, dependency_key="group") is True
    assert cached.add("b", 3, dependency_key="group") is False  # not wired again
    assert sorted(cached.dependency.get_keys("group")) == sorted(
        [dependent_key("group", 1), dependent_key("group", 2), "a", "b", "group"]
    )
    cached.dependency.delete("group")
    assert cached.get_multi(["a", "b"]) == {}


# -- patterns --------------------------------------------------------------------


@pytest.mark.parametrize("pattern", ["get_or_add", "get_or_set", "get_or_create"])
def test_pattern_creates_once_then_hits(cache: Cache, pattern: str) -> None:
    cached = Cached(cache, time=60)
    create = Calls([1, 2])
    method = getattr(cached, pattern)
    assert method("k", create) == [1, 2]
    assert method("k", create) == [1, 2]
    assert create.count == 1
    assert cache.get("k") == [1, 2]


@pytest.mark.parametrize("pattern", ["get_or_add", "get_or_set", "get_or_create"])
def test_pattern_does_not_store_none(cache: Cache, pattern: str) -> None:
    cached = Cached(cache, time=60, timeout=1)
    create = Calls(None)
    assert getattr(cached, pattern)("k", create) is None
    assert getattr(cached, pattern)("k", create) is None
    assert create.count == 2


@pytest.mark.parametrize("pattern", ["get_or_add", "get_or_set", "get_or_create"])
def test_pattern_wires_the_created_item(cache: Cache, pattern: str) -> None:
    cached = Cached(cache, time=60)
    getattr(cached, pattern)("k", Calls(), lambda: "group")
    cached.dependency.delete("group")
    assert cache.get("k") is None


def test_get_or_add_keeps_a_value_stored_meanwhile(cache: Cache) -> None:
    cached = Cached(cache, time=60)

    def create() -> str:
        cache.set("k", "first")
        return "second"

    assert cached.get_or_add("k", create) == "second"
    assert cache.get("k") == "first"
    assert cached.get_or_set("j", lambda: "v") == "v"


def test_get_or_create_releases_the_pass(cache: Cache) -> None:
    cached = Cached(cache, time=60)
    cached.get_or_create("k", Calls())
    assert cache.get("one_pass:k") is None


def test_get_or_create_releases_the_pass_when_the_creator_raises(cache: Cache) -> None:
    cached = Cached(cache, time=60)

    def fail() -> None:
        raise LookupError("database down")

    with pytest.raises(LookupError):
        cached.get_or_create("k", fail)
    assert cache.get("one_pass:k") is None
    assert cached.get_or_create("k", Calls()) == "value"


def test_get_or_create_waiter_that_times_out_creates_itself(cache: Cache) -> None:
    """A pass held by a dead holder: the waiter computes the value itself
    after ``timeout`` rather than returning ``None``."""
    cached = Cached(cache, time=60, timeout=1)
    cache.add("one_pass:k", "held by a dead process", 60)
    create = Calls("mine")
    assert cached.get_or_create("k", create) == "mine"
    assert create.count == 1
    assert cache.get("k") == "mine"


def test_get_or_create_long_and_bytes_keys_get_a_valid_pass_key(cache: Cache) -> None:
    cached = Cached(cache, time=60)
    assert cached.get_or_create("k" * 250, Calls()) == "value"
    assert cached.get_or_create(b"bytes-key", Calls()) == "value"
    key_bytes(cached._pass_key("k" * 250))


def _item(key: str | bytes) -> tuple[str, str | bytes]:
    """What names an item: a ``str`` and its UTF-8 bytes name the same one."""
    if isinstance(key, bytes):
        try:
            return ("text", key.decode("utf-8"))
        except UnicodeDecodeError:
            return ("bytes", key)
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return ("unencodable", key)
    return ("text", key)


LOOKALIKES = [
    b"k\xff",
    "k\\xff",
    "k\\\\xff",
    "k\udcff",
    b"k\xed\xb3\xbf",
    "k",
    b"k",
    "k\u00e9",
    "k\u00e9".encode(),
    "#k",
    "k" * 241,
    "k" * 242,
    b"k" * 242,
    "#" + "0" * 40,
    "a b",
]


def test_distinct_keys_get_distinct_pass_keys() -> None:
    cached = Cached(MemoryCache())
    assert cached._pass_key(b"k\xff") != cached._pass_key("k\\xff")
    for first in LOOKALIKES:
        key_bytes(cached._pass_key(first))  # valid
        for second in LOOKALIKES:
            same = _item(first) == _item(second)
            assert (cached._pass_key(first) == cached._pass_key(second)) is same, (first, second)


def test_plain_keys_keep_wheezys_pass_key() -> None:
    """Processes of wheezy.caching and of this library share passes."""
    cached = Cached(MemoryCache())
    assert cached._pass_key("page:1") == "one_pass:page:1"
    assert cached._pass_key(b"page:1") == "one_pass:page:1"
    assert cached._pass_key("k\u00e9") == "one_pass:k\u00e9"


KEYS = st.one_of(st.text(max_size=300), st.binary(max_size=300))
PREFIXES = st.sampled_from(["one_pass:", "p", "", "#", "p#", "x" * 220, "a b", "k" * 209])


@given(prefix=PREFIXES, first=KEYS, second=KEYS)
def test_pass_keys_are_valid_and_distinct_for_distinct_items(
    prefix: str, first: str | bytes, second: str | bytes
) -> None:
    cached = Cached(MemoryCache(), key_prefix=prefix)
    one, other = cached._pass_key(first), cached._pass_key(second)
    key_bytes(one)
    assert (one == other) is (_item(first) == _item(second))


@given(prefix=PREFIXES, data=st.binary(min_size=1, max_size=300))
def test_bytes_keys_and_their_lookalikes_get_distinct_pass_keys(prefix: str, data: bytes) -> None:
    """A bytes key beside the str keys that spell it in escapes or as text."""
    cached = Cached(MemoryCache(), key_prefix=prefix)
    keys: list[str | bytes] = [
        data,
        data.decode("utf-8", "backslashreplace"),
        data.decode("utf-8", "surrogateescape"),
        data.decode("latin-1"),
        "#" + data.hex(),
        data.hex(),
    ]
    for first in keys:
        for second in keys:
            same = _item(first) == _item(second)
            assert (cached._pass_key(first) == cached._pass_key(second)) is same


@given(first=KEYS)
def test_a_key_and_its_utf8_bytes_share_a_pass_key(first: str | bytes) -> None:
    cached = Cached(MemoryCache())
    if isinstance(first, bytes):
        try:
            twin: str | bytes = first.decode("utf-8")
        except UnicodeDecodeError:
            return
    else:
        try:
            twin = first.encode("utf-8")
        except UnicodeEncodeError:
            return
    assert cached._pass_key(first) == cached._pass_key(twin)


def test_a_pass_on_a_bytes_key_does_not_hold_up_its_lookalike(cache: Cache) -> None:
    cached = Cached(cache, time=60, timeout=20)
    cache.add(cached._pass_key(b"k\xff"), "held by another process", 60)
    create = Calls("v")
    started = time.monotonic()
    assert cached.get_or_create("k\\xff", create) == "v"
    assert time.monotonic() - started < 10  # not held up for the 20 s timeout
    assert create.count == 1
    assert cache.get("k\\xff") == "v"


def test_get_or_create_on_null_cache_always_creates() -> None:
    cached = Cached(NullCache())
    create = Calls()
    assert cached.get_or_create("k", create) == "value"
    assert cached.get_or_create("k", create) == "value"
    assert create.count == 2


def test_get_or_set_multi_creates_only_the_missing(cache: Cache) -> None:
    cached = Cached(cache, time=60)
    asked: list[list[int]] = []

    def create(ids: list[int]) -> dict[int, str]:
        asked.append(sorted(ids))
        return {i: f"v{i}" for i in ids if i != 4}

    def make_key(i: int) -> str:
        return f"item:{i}"

    assert cached.get_or_set_multi(make_key, create, [1, 2]) == {1: "v1", 2: "v2"}
    assert cached.get_or_set_multi(make_key, create, [1, 2, 3, 4]) == {1: "v1", 2: "v2", 3: "v3"}
    assert cached.get_or_set_multi(make_key, create, [1, 2]) == {1: "v1", 2: "v2"}
    assert asked == [[1, 2], [3, 4]]
    assert cache.get_multi(["item:3", "item:4"]) == {"item:3": "v3"}


def test_get_or_set_multi_with_nothing_created(cache: Cache) -> None:
    cached = Cached(cache, time=60)
    cache.set("item:1", "v1")
    assert cached.get_or_set_multi(lambda i: f"item:{i}", lambda ids: {}, [1, 2]) == {1: "v1"}


# -- decorators ------------------------------------------------------------------

DECORATORS = ["wraps_get_or_add", "wraps_get_or_set", "__call__", "wraps_get_or_create"]


@pytest.mark.parametrize("decorator", DECORATORS)
def test_decorator_caches_a_function(cache: Cache, decorator: str) -> None:
    cached = Cached(cache, key_builder("fn"), time=60)
    calls: list[tuple[Any, ...]] = []

    @getattr(cached, decorator)
    def list_items(locale: str = "en", sort_order: int = 1) -> list[Any]:
        """List the items."""
        calls.append((locale, sort_order))
        return [locale, sort_order]

    assert list_items() == ["en", 1]
    assert list_items("en") == ["en", 1]
    assert list_items(locale="en", sort_order=1) == ["en", 1]
    assert list_items(sort_order=2) == ["en", 2]
    assert list_items("uk", 2) == ["uk", 2]
    assert calls == [("en", 1), ("en", 2), ("uk", 2)]
    assert cache.get("fn-list_items:'en':1") == ["en", 1]


@pytest.mark.parametrize("decorator", DECORATORS)
def test_decorator_keeps_metadata(decorator: str) -> None:
    cached = Cached(MemoryCache(), key_builder("fn"))

    @getattr(cached, decorator)
    def list_items(locale: str = "en", sort_order: int = 1) -> list[Any]:
        """List the items."""
        return []

    assert list_items.__name__ == "list_items"
    assert list_items.__doc__ == "List the items."
    assert list_items.__qualname__.endswith("list_items")
    assert str(inspect.signature(list_items)) == (
        "(locale: 'str' = 'en', sort_order: 'int' = 1) -> 'list[Any]'"
    )


@pytest.mark.parametrize("decorator", DECORATORS)
def test_decorator_on_methods_and_classmethods(cache: Cache, decorator: str) -> None:
    cached = Cached(cache, key_builder("repo"), time=60)
    decorate = getattr(cached, decorator)
    calls: list[str] = []

    class Repository:
        def __init__(self, name: str) -> None:
            self.name = name

        @decorate
        def get(self, item_id: int) -> str:
            calls.append(f"{self.name}.get")
            return f"{self.name}:{item_id}"

        @classmethod
        @decorate
        def count(cls, kind: str = "all") -> int:
            calls.append("count")
            return 42

        @decorate
        @classmethod
        def total(cls) -> int:
            calls.append("total")
            return 7

        @staticmethod
        @decorate
        def version(major: int) -> str:
            calls.append("version")
            return f"v{major}"

    first, second = Repository("a"), Repository("b")
    assert first.get(1) == "a:1"
    assert second.get(1) == "a:1"  # self is not part of the key
    assert first.get(item_id=2) == "a:2"
    assert Repository.count() == 42
    assert first.count("all") == 42
    assert Repository.total() == 7
    assert Repository.total() == 7
    assert Repository.version(3) == "v3"
    assert first.version(major=3) == "v3"
    assert calls == ["a.get", "a.get", "count", "total", "version"]
    assert cache.get("repo-get:1") == "a:1"
    assert cache.get("repo-count:'all'") == 42


@pytest.mark.parametrize("decorator", DECORATORS)
def test_decorator_with_awkward_arguments(cache: Cache, decorator: str) -> None:
    cached = Cached(cache, key_builder("fn"), time=60)

    calls: list[Any] = []

    @getattr(cached, decorator)
    def echo(value: Any, suffix: str = "") -> Any:
        calls.append(value)
        return ["echo", value]

    values = ["a b", "ключ 键", "x" * 1000, "\r\nflush_all", b"\x00", (1, "two words")]
    for value in values:
        assert echo(value) == ["echo", value]
        assert echo(value) == ["echo", value]
        assert echo(value=value) == ["echo", value]
    assert calls == values  # each created once, then read back under a valid key


@pytest.mark.parametrize("decorator", DECORATORS)
def test_decorator_with_make_key(cache: Cache, decorator: str) -> None:
    cached = Cached(cache, time=60)

    class Repository:
        @getattr(cached, decorator)(make_key=lambda item_id: f"item:{item_id}")
        def get(self, item_id: int) -> str:
            return f"item {item_id}"

    @getattr(cached, decorator)(make_key=lambda x, y=0: f"sum:{x}:{y}")
    def add(x: int, y: int = 0) -> int:
        return x + y

    assert Repository().get(5) == "item 5"
    assert add(1, y=2) == 3
    assert cache.get_multi(["item:5", "sum:1:2"]) == {"item:5": "item 5", "sum:1:2": 3}


def test_default_key_builder_uses_the_module() -> None:
    cache = MemoryCache()
    cached = Cached(cache)

    @cached
    def answer() -> int:
        return 42

    assert answer() == 42
    assert cache.get(f"{__name__}-answer") == 42


def test_decorated_function_result_none_is_not_cached(cache: Cache) -> None:
    cached = Cached(cache, key_builder("fn"), time=60)
    create = Calls(None)
    decorated = cached(create.__call__, make_key=lambda: "none")
    assert decorated() is None
    assert decorated() is None
    assert create.count == 2


def test_wraps_get_or_set_multi(cache: Cache) -> None:
    cached = Cached(cache, time=60)
    asked: list[list[int]] = []

    @cached.wraps_get_or_set_multi(make_key=lambda i: f"account:{i}")
    def get_accounts(account_ids: list[int], detail: bool = False) -> dict[int, str]:
        """Accounts by id."""
        asked.append(list(account_ids))
        return {i: f"account {i}" for i in account_ids}

    class Repository:
        @cached.wraps_get_or_set_multi(make_key=lambda i: f"account:{i}")
        def get_accounts(self, account_ids: list[int]) -> dict[int, str]:
            asked.append(list(account_ids))
            return {i: f"other {i}" for i in account_ids}

    assert get_accounts([1, 2]) == {1: "account 1", 2: "account 2"}
    assert get_accounts(account_ids=[2, 3], detail=True) == {2: "account 2", 3: "account 3"}
    assert Repository().get_accounts([3, 4]) == {3: "account 3", 4: "other 4"}
    assert asked == [[1, 2], [3], [4]]
    assert get_accounts.__name__ == "get_accounts"
    assert get_accounts.__doc__ == "Accounts by id."


class MissesOnce(MemoryCache):
    """The first read of ``k`` misses: the caller read just before the holder
    of the pass stored the value, and takes the pass after it released it."""

    def __init__(self) -> None:
        super().__init__()
        self.missed = False

    def get(self, key: Any, namespace: str | None = None) -> Any:
        if key == "k" and not self.missed:
            self.missed = True
            return None
        return super().get(key, namespace)


def test_get_or_create_checks_again_after_taking_the_pass() -> None:
    cache = MissesOnce()
    cache.set("k", "made by the previous holder")
    create = Calls("made again")
    assert Cached(cache).get_or_create("k", create) == "made by the previous holder"
    assert create.count == 0


def test_a_sub_second_time_expires_rather_than_never() -> None:
    now = [1_800_000_000.0]
    cached = Cached(MemoryCache(clock=lambda: now[0]), time=timedelta(milliseconds=500))
    cached.set("k", "v")
    assert cached.get("k") == "v"
    now[0] += 1
    assert cached.get("k") is None


class Trusting:
    """A minimal wheezy-style backend over a dict that checks no key."""

    def __init__(self) -> None:
        self.items: dict[Any, Any] = {}

    def get(self, key: Any, namespace: str | None = None) -> Any:
        return self.items.get(key)

    def set(self, key: Any, value: Any, time: Any = 0, namespace: str | None = None) -> bool:
        self.items[key] = value
        return True

    def add(self, key: Any, value: Any, time: Any = 0, namespace: str | None = None) -> bool:
        return self.items.setdefault(key, value) is value

    def delete(self, key: Any, seconds: int = 0, namespace: str | None = None) -> bool:
        return self.items.pop(key, None) is not None


@pytest.mark.parametrize(
    "decorator", ["wraps_get_or_set", "wraps_get_or_add", "wraps_get_or_create"]
)
@pytest.mark.parametrize("argument", ["a b", "tab\there", "x" * 300, "\u00e9t\u00e9 ok", "\x00"])
def test_decorated_keys_are_valid_whatever_the_backend_checks(
    decorator: str, argument: str
) -> None:
    backend = Trusting()
    cached = Cached(backend, key_builder("fn"), time=60)  # type: ignore[arg-type]
    calls = Calls()

    @getattr(cached, decorator)
    def find(name: str) -> Any:
        return calls(name)

    assert find(argument) == find(argument) == "value"
    assert calls.count == 1
    assert backend.items, "the value was stored"
    for key in backend.items:
        key_bytes(key)  # raises InvalidKeyError for a key memcached would refuse
    (key,) = (key for key in backend.items if not key.startswith("one_pass"))
    assert key == key_builder("fn")(find.__wrapped__)(argument)
