"""caching.events: the events of a scripted pattern run are exactly the
expected sequence; listeners of one Cached and of all; a failing listener
never reaches the caller; no listener, no event built."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from caching import MemoryCache, events
from caching.events import LISTENING, Event
from caching.patterns import Cached, key_builder
from caching.regions import Region


@pytest.fixture
def seen() -> Iterator[list[Event]]:
    got: list[Event] = []
    unsubscribe = events.subscribe(got.append)
    yield got
    unsubscribe()
    assert not LISTENING


def names(got: list[Event]) -> list[tuple[str, object]]:
    return [(event.name, event.key) for event in got]


def test_a_scripted_run_gives_exactly_its_events(seen: list[Event]) -> None:
    cached = Cached(MemoryCache(), key_builder("shop"), time=60, namespace="ns")
    assert cached.get_or_create("k", lambda: "v") == "v"  # miss, created
    assert cached.get_or_create("k", lambda: "w") == "v"  # hit

    @cached
    def page(n: int) -> str:
        return f"page {n}"

    page(1)  # miss, created
    page(1)  # hit
    with pytest.raises(ZeroDivisionError):
        cached.get_or_set("bad", lambda: 1 // 0)  # miss, create_failed
    assert names(seen) == [
        ("miss", "k"),
        ("created", "k"),
        ("hit", "k"),
        ("miss", "shop-page:1"),
        ("created", "shop-page:1"),
        ("hit", "shop-page:1"),
        ("miss", "bad"),
        ("create_failed", "bad"),
    ]
    assert {event.namespace for event in seen} == {"ns"}
    created = seen[1]
    assert created.seconds is not None
    assert created.seconds >= 0
    assert isinstance(seen[-1].error, ZeroDivisionError)


def test_waiters_and_stale_values_are_reported(seen: list[Event]) -> None:
    cached = Cached(MemoryCache(), time=1, stale=30)
    release = threading.Event()

    def slow() -> str:
        release.wait(5)
        return "v"

    holder = threading.Thread(target=cached.get_or_create, args=("k", slow))
    holder.start()
    time.sleep(0.1)  # the holder has the pass
    waiter = threading.Thread(target=cached.get_or_create, args=("k", slow))
    waiter.start()
    time.sleep(0.1)
    release.set()
    holder.join(5)
    waiter.join(5)
    waited = [event for event in seen if event.name == "waited"]
    assert len(waited) == 1
    assert waited[0].seconds is not None
    assert waited[0].seconds > 0.05
    time.sleep(1.2)  # stale now
    seen.clear()
    cached.refresh = "background"
    assert cached.get_or_create("k", lambda: "w") == "v"
    assert ("stale_served", "k") in names(seen)


def test_a_listener_of_one_cached_and_a_failing_one() -> None:
    mine: list[Event] = []
    cached, other = Cached(MemoryCache()), Cached(MemoryCache())
    unsubscribe = cached.subscribe(mine.append)
    broken = cached.subscribe(lambda event: 1 // 0)
    assert LISTENING
    assert cached.get_or_set("k", lambda: "v") == "v"  # the failing listener is logged only
    other.get_or_set("k", lambda: "v")
    assert names(mine) == [("miss", "k"), ("created", "k")]
    unsubscribe()
    broken()
    assert not LISTENING


def test_a_region_names_itself_in_its_events() -> None:
    # the region's call runs inline: its events are this thread's (a
    # background rebuild an earlier test left running emits on its own)
    mine: list[Event] = []
    here = threading.get_ident()
    unsubscribe = events.subscribe(
        lambda event: mine.append(event) if threading.get_ident() == here else None
    )
    try:
        region = Region("evented", time=60).configure("memory://")
        region.get_or_set("k", lambda: 1)
    finally:
        unsubscribe()
    assert mine
    assert {event.namespace for event in mine} == {"evented"}


def test_no_listener_no_event_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    monkeypatch.setattr(
        Cached, "_emit", lambda self, name, key, *rest: built.append(name), raising=True
    )
    cached = Cached(MemoryCache(), time=60)
    cached.get_or_create("k", lambda: "v")
    cached.get_or_create("k", lambda: "v")
    assert built == []


def test_a_dropped_cached_gives_its_listeners_back() -> None:
    import gc
    import warnings

    cached = Cached(MemoryCache())
    cached.subscribe(lambda event: None)
    assert LISTENING
    del cached
    with warnings.catch_warnings():  # what earlier tests left unclosed is theirs
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    assert not LISTENING
