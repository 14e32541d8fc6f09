"""``caching._method_binding``: a cached method through its instance calls the
function and every act with the instance first, whatever the arguments;
through its class it is the decorated function itself; compiled where
built, and its source as a pure-Python install runs it."""

from __future__ import annotations

import abc
import copy
import inspect
from types import ModuleType
from typing import Any

import pytest

from caching import MemoryCache, _method_binding
from caching.patterns import Cached, key_builder
from tests.interpreted import source_module

MODULES = {"built": _method_binding, "source": source_module(_method_binding)}


def _decorated(binding: ModuleType) -> tuple[type[Any], list[tuple[Any, ...]]]:
    """A class whose ``echo`` and ``count`` are cached through ``binding``,
    and the calls its functions saw."""
    calls: list[tuple[Any, ...]] = []
    cached = Cached(MemoryCache(), key_builder("b"), time=60)

    def echo(self: Any, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        """Echo the call."""
        calls.append((self, args, kwargs))
        return (self.name, args, tuple(sorted(kwargs.items())))

    def count(cls: Any, kind: str = "all") -> str:
        calls.append((cls, kind))
        return f"{cls.__name__}:{kind}"

    class Repository:
        def __init__(self, name: str) -> None:
            self.name = name

    Repository.echo = binding.CachedMethod(cached(echo).wrapper)  # type: ignore[attr-defined]
    built = cached(classmethod(count))
    Repository.count = binding.CachedClassMethod(built.wrapper)  # type: ignore[attr-defined]
    return Repository, calls


@pytest.fixture(params=list(MODULES))
def binding(request: pytest.FixtureRequest) -> ModuleType:
    return MODULES[request.param]


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), ((1,), {}), ((1, 2), {}), ((1, 2, 3), {}), ((1, 2, 3, 4, 5), {}), ((1,), {"k": 2})],
)
def test_the_call_gets_the_instance_first_and_every_argument_in_order(
    binding: ModuleType, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    repository_class, calls = _decorated(binding)
    first = repository_class("a")
    bound = first.echo
    assert type(bound) is binding.BoundCall
    expected = ("a", args, tuple(sorted(kwargs.items())))
    assert bound(*args, **kwargs) == expected
    assert calls == [(first, args, kwargs)]
    assert repository_class("b").echo(*args, **kwargs) == expected  # a hit: self is no key part
    assert len(calls) == 1


def test_the_acts_get_the_instance_and_the_class_gets_the_function(binding: ModuleType) -> None:
    repository_class, calls = _decorated(binding)
    first = repository_class("a")
    key = first.echo.key(1, k=2)
    assert key.startswith("b-echo")
    assert key == repository_class("other").echo.key(1, k=2)  # self is no key part
    assert first.echo.get(1) is None
    assert first.echo.set("stored", 1) is True
    assert first.echo(1) == "stored"
    assert first.echo.invalidate(1) is True
    assert first.echo.get(1) is None
    assert first.echo.refresh(1) == ("a", (1,), ())
    assert first.echo.original(first, 9) == ("a", (9,), ())
    assert first.echo.__name__ == "echo"
    bound_signature = "(*args: 'Any', **kwargs: 'Any') -> 'tuple[Any, ...]'"
    assert str(inspect.signature(first.echo)) == bound_signature  # self bound
    assert str(inspect.signature(first.count)) == "(kind: 'str' = 'all') -> 'str'"
    unbound = repository_class.echo
    assert unbound is vars(repository_class)["echo"].wrapper  # as a plain function's
    assert unbound(first, 1) == ("a", (1,), ())
    assert unbound.key(first, 1) == first.echo.key(1)
    descriptor = vars(repository_class)["echo"]
    assert descriptor.__name__ == "echo"
    assert descriptor.__doc__ == "Echo the call."  # the function's, for help()
    assert descriptor.__module__ == __name__
    descriptor.marked = True  # as another decorator may
    assert descriptor.marked is True
    assert vars(repository_class)["echo"](first, 1) == ("a", (1,), ())
    assert repr(vars(repository_class)["echo"]).startswith("<cached method ")
    assert repr(first.echo).startswith("<bound cached method ")
    with pytest.raises(AttributeError):
        _ = first.echo.no_such_attribute
    copied = copy.copy(first.echo)
    assert copied(1) == first.echo(1)
    assert copied.instance is first
    assert len([c for c in calls if c[0] is first]) == 2  # refresh, original (then hits)


def test_a_classmethod_is_bound_to_its_class_through_class_and_instance(
    binding: ModuleType,
) -> None:
    repository_class, calls = _decorated(binding)
    assert repository_class.count("x") == "Repository:x"
    assert repository_class("a").count("x") == "Repository:x"  # a hit, bound to the class
    assert repository_class.count.get("x") == "Repository:x"
    assert repository_class.count.invalidate("x") is True
    assert calls == [(repository_class, "x")]
    with pytest.raises(TypeError, match="is a classmethod"):
        vars(repository_class)["count"]("x")


def test_an_abstract_cached_method_is_abstract(binding: ModuleType) -> None:
    """``abc.abstractmethod`` over a cached method marks it, as over a function."""
    cached = Cached(MemoryCache(), key_builder("b"))

    def rows(self: Any) -> list[int]:
        return [1]

    method = abc.abstractmethod(binding.CachedMethod(cached(rows).wrapper))
    base = abc.ABCMeta("Base", (), {"rows": method})
    assert base.__abstractmethods__ == frozenset({"rows"})
    with pytest.raises(TypeError, match="abstract"):
        base()
