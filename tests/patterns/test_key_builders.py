"""Key builders: wheezy's format, defaults applied, always valid keys."""

from __future__ import annotations

from typing import Any

import pytest

from caching import MemoryCache
from caching.key_rules import key_bytes
from caching.patterns import key_builder, key_format, key_formatter
from caching.patterns.key_builders import safe_key


def list_items(self: Any, locale: str = "en", sort_order: int = 1) -> None:
    pass


def find(name: Any, *tags: Any, limit: int = 10, **filters: Any) -> None:
    pass


def test_key_format_is_wheezys() -> None:
    assert key_format(list_items, "repo") == "repo-list_items:%r:%r"
    assert key_formatter("repo")(list_items) == "repo-list_items:%r:%r"
    assert key_format(find, "p") == "p-find:%r:%r:%r:%r"


def test_defaults_are_applied_so_equal_calls_share_a_key() -> None:
    make_key = key_builder("repo")(list_items)
    assert make_key("self") == "repo-list_items:'en':1"
    assert make_key("self") == make_key("self", "en") == make_key("self", locale="en")
    assert make_key("self", "en", 1) == make_key(None, sort_order=1, locale="en")
    assert make_key("self", "uk") == "repo-list_items:'uk':1"
    assert make_key("self", sort_order=0) == "repo-list_items:'en':0"


def test_self_is_left_out_of_the_key() -> None:
    make_key = key_builder("repo")(list_items)
    assert make_key(object(), "uk") == make_key(object(), "uk")


def test_varargs_and_kwargs_are_keyed_in_a_stable_order() -> None:
    make_key = key_builder("p")(find)
    assert make_key("a", 1, 2, b=2, a=1) == make_key("a", 1, 2, a=1, b=2)
    assert make_key("a", 1) != make_key("a", 2)
    assert make_key("a", limit=10) == make_key("a")


def test_wrong_arguments_raise_type_error_like_a_call() -> None:
    make_key = key_builder("repo")(list_items)
    with pytest.raises(TypeError):
        make_key()
    with pytest.raises(TypeError):
        make_key("self", "en", 1, 2)
    with pytest.raises(TypeError):
        make_key("self", country="uk")


@pytest.mark.parametrize(
    "value",
    [
        "a b",
        "tab\there",
        "new\nline",
        "\x00\x7f",
        "ünïcödé ключ 键",
        "x" * 300,
        "ü" * 200,
        b"\x00 bytes",
        ("tuple", "with space"),
        {"k": "v w"},
        1.5,
        None,
        "",
    ],
)
def test_every_key_is_valid_whatever_the_argument(value: Any) -> None:
    key = key_builder("repo")(list_items)("self", value)
    key_bytes(key)  # raises InvalidKeyError when invalid
    assert key.startswith("repo-list_items")
    cache = MemoryCache()
    assert cache.set(key, "v") is True
    assert cache.get(key) == "v"


def test_readable_when_possible_hashed_otherwise() -> None:
    make_key = key_builder("repo")(list_items)
    assert make_key("self", "ünï") == "repo-list_items:'ünï':1"
    hashed = make_key("self", "a b")
    assert hashed.startswith("repo-list_items#")
    assert len(hashed) == len("repo-list_items#") + 40
    assert make_key("self", "a b") == hashed
    assert make_key("self", "a  b") != hashed


def test_a_prefix_that_is_not_a_valid_key_still_gives_valid_keys() -> None:
    key = key_builder("my repo " * 40)(list_items)("self")
    key_bytes(key)
    assert key.startswith("#")


def test_safe_key() -> None:
    assert safe_key("plain") == "plain"
    assert safe_key("a b", "head").startswith("head#")
    assert safe_key("a b", "bad head").startswith("#")
    assert safe_key("a b") != safe_key("a  b")


def test_percent_signs_in_prefix_and_defaults() -> None:
    def rate(self: Any, unit: str = "100%", scale: float = 0.5) -> None:
        pass

    make_key = key_builder("50%off")(rate)
    assert make_key(None) == "50%off-rate:'100%':0.5"
    assert make_key(None, "%s") == "50%off-rate:'%s':0.5"
    assert make_key(None, unit="%r", scale=2) == "50%off-rate:'%r':2"


def test_mutable_defaults_are_read_at_call_time() -> None:
    tags: list[str] = []

    def search(text: str, tags: list[str] = tags) -> None:
        pass

    make_key = key_builder("s")(search)
    assert make_key("a") == "s-search:'a':[]"
    tags.append("new")
    assert make_key("a") == "s-search:'a':['new']"


def test_keyword_only_and_positional_only_parameters() -> None:
    def lookup(region: str, /, name: str, *, exact: bool = True) -> None:
        pass

    make_key = key_builder("l")(lookup)
    assert make_key("eu", "bob") == "l-lookup:'eu':'bob':True"
    assert make_key("eu", name="bob", exact=False) == "l-lookup:'eu':'bob':False"
    with pytest.raises(TypeError):
        make_key(region="eu", name="bob")


def test_self_passed_by_keyword_is_left_out() -> None:
    make_key = key_builder("repo")(list_items)
    assert make_key(self=None, locale="uk") == "repo-list_items:'uk':1"
