"""MemoryCache beyond the contract suite: exact expiry seconds, reclaiming,
eviction, copies, key encoders, the injected clock, heavy concurrency."""

from __future__ import annotations

import enum
import hashlib
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest
from freezegun import freeze_time

from caching import InvalidKeyError, MemoryCache
from caching.encoding import hash_encode
from tests.workers import run_threads


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.5) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_relative_expiry_is_exact_to_the_second() -> None:
    with freeze_time("2026-11-21 12:00:00.999") as frozen:
        cache = MemoryCache()
        cache.set("k", "v", 3)  # stored at second T
        frozen.tick(2.0)  # T+2, .999
        assert cache.get("k") == "v"
        frozen.tick(0.001)  # T+3, .000
        assert cache.get("k") is None


def test_absolute_expiry_is_exact_to_the_second() -> None:
    clock = FakeClock(1_800_000_000.0)
    cache = MemoryCache(clock=clock)
    cache.set("k", "v", 1_800_000_010)
    clock.now = 1_800_000_009.99
    assert cache.get("k") == "v"
    clock.now = 1_800_000_010.0
    assert cache.get("k") is None


def test_injected_clock_drives_expiry() -> None:
    clock = FakeClock()
    cache = MemoryCache(clock=clock)
    cache.set_multi({"a": 1, "b": 2}, 10)
    clock.now += 9
    assert cache.get_multi(["a", "b"]) == {"a": 1, "b": 2}
    clock.now += 1
    assert cache.get_multi(["a", "b"]) == {}
    assert cache.add("a", 3) is True


def test_expired_items_are_reclaimed_without_being_read() -> None:
    clock = FakeClock()
    cache = MemoryCache(clock=clock)
    for i in range(5000):
        cache.set(f"k{i}", i, 1 + i % 5)
    cache.set("forever", 1)
    assert len(cache) == 5001
    clock.now += 6
    cache.set("trigger", 1)  # any write reclaims what has expired
    assert len(cache) == 2


def test_get_multi_reclaims_what_has_expired_when_no_write_comes() -> None:
    clock = FakeClock()
    cache = MemoryCache(clock=clock)
    cache.set_multi({f"k{i}": i for i in range(100)}, 1)
    cache.set("forever", 1)
    clock.now += 2
    assert cache.get_multi(["forever", "k1"]) == {"forever": 1}
    assert len(cache) == 1


def test_rewriting_items_does_not_grow_the_expiry_index() -> None:
    clock = FakeClock()
    cache = MemoryCache(clock=clock)
    for second in range(3000):
        clock.now += 1
        cache.set("hot", second, 600)  # a new expiry second every time
    assert len(cache) == 1
    assert cache._indexed <= 2 * len(cache) + 1024 + 1


def test_get_multi_sees_expiry_across_index_rebuilds() -> None:
    # "long" is rewritten with a new expiry second each time, so stale index
    # entries pile up and the index is rebuilt every few hundred writes; the
    # short-lived item written at each step must still expire on time.
    clock = FakeClock()
    cache = MemoryCache(clock=clock)
    for step in range(2500):
        clock.now += 1
        cache.set("long", step, 5000)
        cache.set("short", step, 1)
        assert cache.get_multi(["short", "long"]) == {"short": step, "long": step}
        clock.now += 1  # a read only: nothing is reclaimed
        assert cache.get_multi(["short", "long"]) == {"long": step}
        assert cache.get("short") is None
        clock.now -= 1


def test_max_items_evicts_the_least_recently_used() -> None:
    cache = MemoryCache(max_items=3)
    cache.set_multi({"a": 1, "b": 2, "c": 3})
    assert cache.get("a") == 1  # a is now the most recently used
    cache.set("d", 4)
    assert cache.get_multi(["a", "b", "c", "d"]) == {"a": 1, "c": 3, "d": 4}
    assert len(cache) == 3


def test_max_items_drops_expired_items_before_evicting_live_ones() -> None:
    clock = FakeClock()
    cache = MemoryCache(max_items=3, clock=clock)
    cache.set("short", 1, 1)
    cache.set_multi({"b": 2, "c": 3})
    clock.now += 2
    cache.set("d", 4)
    assert cache.get_multi(["b", "c", "d"]) == {"b": 2, "c": 3, "d": 4}


def test_counter_created_by_incr_counts_against_max_items() -> None:
    cache = MemoryCache(max_items=2)
    cache.set_multi({"a": 1, "b": 2})
    assert cache.incr("n", initial_value=0) == 1
    assert len(cache) == 2
    assert cache.get("a") is None


def test_returned_objects_are_shared_by_default() -> None:
    cache = MemoryCache()
    cache.set("k", [1])
    cache.get("k").append(2)
    assert cache.get("k") == [1, 2]


def test_copy_values_isolates_readers_and_writers() -> None:
    cache = MemoryCache(copy_values=True)
    original = {"n": [1]}
    cache.set("k", original)
    original["n"].append(2)
    first = cache.get("k")
    first["n"].append(3)
    assert cache.get("k") == {"n": [1]}
    assert cache.get_multi(["k"]) == {"k": {"n": [1]}}
    assert cache.incr("c", initial_value=1) == 2
    assert cache.get("c") == 2


def test_copy_values_keeps_bytes_as_given_and_copies_containers() -> None:
    cache = MemoryCache(copy_values=True)
    pickled = b"\x80\x05\x95\x05\x00\x00\x00\x00\x00\x00\x00]\x94."  # pickle of []
    cache.set_multi({"raw": pickled, "list": [], "text": "t", "n": 5})
    assert cache.get("raw") == pickled  # bytes are returned as stored, never unpickled
    assert cache.get_multi(["raw", "list", "text", "n"]) == {
        "raw": pickled,
        "list": [],
        "text": "t",
        "n": 5,
    }
    assert cache.get("list") is not cache.get("list")  # a fresh copy per read
    with pytest.raises(ValueError, match="not an int"):
        cache.incr("list")  # a container is no counter, copied or not
    assert cache.incr("n", 2) == 7


def test_copy_values_measures_the_pickled_copy_against_the_item_size() -> None:
    cache = MemoryCache(copy_values=True, max_item_size=1000)
    assert cache.set("k", list(range(100))) is True
    assert cache.set("k", list(range(1000))) is False  # about 3 KB pickled
    assert cache.get("k") is None  # the refused set dropped the old item


def test_options_are_fixed_at_construction() -> None:
    cache = MemoryCache(max_items=3, max_item_size=100, copy_values=True)
    assert (cache.max_items, cache.max_item_size, cache.copy_values) == (3, 100, True)
    with pytest.raises(AttributeError):
        cache.copy_values = False  # type: ignore[misc]


def test_an_item_stored_already_expired_is_dropped_by_the_next_write() -> None:
    clock = FakeClock()
    cache = MemoryCache(clock=clock)
    assert cache.set("gone", 1, -1) is True
    assert cache.set("past", 1, int(clock.now) - 10) is True  # absolute, in the past
    assert cache.get_multi(["gone", "past"]) == {}
    assert cache.add("gone", 2) is True  # reads as missing
    cache.set("trigger", 1)
    assert len(cache) == 2  # "gone" (added again) and "trigger"


def test_copy_values_refuses_an_unpicklable_value() -> None:
    cache = MemoryCache(copy_values=True)
    with pytest.raises(TypeError, match="cannot cache a lock"):
        cache.set("k", threading.Lock())
    assert cache.get("k") is None


def test_max_item_size_can_be_changed_or_turned_off() -> None:
    small = MemoryCache(max_item_size=1000)
    assert small.set("k", b"x" * 900) is True
    assert small.set("k", b"x" * 1000) is False
    assert small.set("big", list(range(1000))) is False  # measured pickled
    unbounded = MemoryCache(max_item_size=None)
    assert unbounded.set("k", b"x" * (2 * 1024 * 1024)) is True


def test_item_size_counts_key_and_overhead_as_memcached_does() -> None:
    cache = MemoryCache()
    assert cache.set("k", b"y" * (1024 * 1024 - 60)) is True  # 1 + 1048516 + 59
    assert cache.set("k", b"y" * (1024 * 1024 - 59)) is False
    assert cache.set("k", "\u00e9" * 300_000) is True  # 600,000 bytes in UTF-8
    assert cache.set("k", "\u00e9" * 600_000) is False  # 1,200,000 bytes


def _shapes(size: int) -> list[Any]:
    """Values of several kinds whose serialised size grows with ``size``."""
    text = "y" * size
    return [
        [text],
        {"a": text, "n": 1},
        {"rec": {"tags": [text[: size // 2], text[size // 2 :]]}},
        ("\u00e9" * (size // 2),),
        "\u00e9" * (size // 2) + "_",
        b"1" + b"x" * size,  # bytes that start like a number: pickled
        1 << (8 * max(size - 17, 1)),
    ]


@pytest.mark.parametrize("key_length", [1, 250])
def test_a_batch_refuses_exactly_what_single_stores_refuse(key_length: int) -> None:
    # set_multi bounds a whole batch by one pickle and measures value by
    # value only near the limit: its answers must be set's, to the byte
    limit = 4096
    key = "k" * key_length
    edge = limit - 59 - key_length - 4 - 12  # a one-item list's pickle: 12 bytes more
    for size in range(edge - 60, edge + 60):
        for value in _shapes(size):
            single = MemoryCache(max_item_size=limit).set(key, value)
            batch = MemoryCache(max_item_size=limit)
            small = {"s": 1}
            failed = batch.set_multi({key: value, "other": small})
            assert failed == ([] if single else [key]), (size, type(value))
            assert batch.get("other") == small
            assert (batch.get(key) is not None) is single


def test_a_batch_of_values_that_each_fit_is_stored_whole() -> None:
    # the batch's pickle is far over the limit; each value fits alone
    cache = MemoryCache(max_item_size=4096)
    values = {f"k{i}": {"a": "y" * 3000, "i": i} for i in range(10)}
    assert cache.set_multi(values) == []
    assert cache.get_multi(list(values)) == values
    values["k3"] = {"a": "y" * 4096}
    assert cache.set_multi(values) == ["k3"]


@pytest.mark.parametrize(
    ("max_items", "max_item_size"), [(0, None), (-1, None), (None, 0), ("3", None)]
)
def test_bad_options_raise(max_items: Any, max_item_size: Any) -> None:
    with pytest.raises(ValueError, match="must be a positive int"):
        MemoryCache(max_items=max_items, max_item_size=max_item_size)


def test_key_encode_makes_any_key_valid_and_keeps_the_callers_keys() -> None:
    cache = MemoryCache(key_encode=hash_encode(hashlib.sha1))
    long_key = "a key with spaces " * 30
    assert cache.set(long_key, 1) is True
    assert cache.get(long_key) == 1
    assert cache.get_multi([long_key, "other"]) == {long_key: 1}
    assert cache.add_multi({long_key: 2, "new key": 3}) == [long_key]
    assert cache.incr("a counter", initial_value=0) == 1
    assert cache.delete(long_key) is True


def test_key_encode_result_is_still_checked() -> None:
    cache = MemoryCache(key_encode=lambda key: key)
    with pytest.raises(InvalidKeyError):
        cache.set("a b", 1)


def test_incr_is_atomic_under_heavy_threads() -> None:
    cache = MemoryCache()
    threads, per_thread = 8, 10_000
    start = threading.Barrier(threads)

    def work() -> None:
        start.wait()
        for _ in range(per_thread):
            cache.incr("n", initial_value=0)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert cache.get("n") == threads * per_thread


def test_concurrent_readers_never_see_an_expired_item() -> None:
    # Writers store items whose value is their own (absolute) expiry second and
    # move the clock on; readers check every value they get against the clock
    # read before the call. Thread switches are made frequent so that reads
    # interleave with the reclaiming of expired items.
    clock = FakeClock()
    cache = MemoryCache(clock=clock)
    keys = [f"k{i}" for i in range(40)]
    stale: list[tuple[float, dict[Any, Any]]] = []

    def write(index: int) -> None:
        for step in range(3000):
            if step % 100 == 0:
                clock.now += 1
            expiry = int(clock.now) + 1
            cache.set(keys[(step * 7 + index) % len(keys)], expiry, expiry)

    def read(index: int) -> None:
        for _ in range(3000):
            before = clock.now
            found = cache.get_multi(keys)
            if any(value <= before for value in found.values()):
                stale.append((before, found))

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        run_threads(4, lambda index: (write if index < 2 else read)(index))
    finally:
        sys.setswitchinterval(switch)
    assert stale == []


class _Level(enum.IntEnum):
    LOW = 3


@pytest.mark.parametrize("copy_values", [False, True])
def test_incr_of_an_int_subclass_raises_as_on_the_adapters(copy_values: bool) -> None:
    # The adapters pickle an int subclass, which memcached does not count.
    cache = MemoryCache(copy_values=copy_values)
    cache.set("n", _Level.LOW)
    with pytest.raises(ValueError, match="_Level"):
        cache.incr("n")
    with pytest.raises(ValueError, match="_Level"):
        cache.decr("n")
    assert cache.get("n") is _Level.LOW
    cache.set("b", True)  # a bool is sent as "01", which memcached counts
    assert cache.incr("b") == 2


def test_incr_error_names_the_stored_type_even_when_copied() -> None:
    cache = MemoryCache(copy_values=True)
    cache.set("n", [1])
    with pytest.raises(ValueError, match="list"):
        cache.incr("n")


def test_a_reader_inside_a_write_sees_the_old_item_or_none() -> None:
    # The old value's finalizer runs inside the store that replaces it: a read
    # there must see a whole item, never the new value with the old expiry.
    cache = MemoryCache(max_item_size=None)
    seen = []

    class Old:
        def __del__(self) -> None:
            seen.append(cache.get("k"))

    cache.set("k", Old())
    cache.set("k", "never readable", -1)
    assert cache.get("k") is None
    assert seen == [None]


def _race(writer: Callable[[], None], reader: Callable[[], None]) -> None:
    """Run ``writer`` in a loop while ``reader`` runs once, switching threads often."""
    stop = threading.Event()

    def write(index: int) -> None:
        while not stop.is_set():
            writer()

    def read(index: int) -> None:
        try:
            reader()
        finally:
            stop.set()

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        run_threads(2, lambda index: (write if index == 0 else read)(index))
    finally:
        sys.setswitchinterval(switch)


def test_get_never_returns_an_item_stored_already_expired_under_threads() -> None:
    cache = MemoryCache()
    bad = []

    def writer() -> None:
        cache.set("k", "live")
        cache.set("k", "dead", -1)

    def reader() -> None:
        for _ in range(50_000):
            if cache.get("k") == "dead":
                bad.append(1)

    _race(writer, reader)
    assert bad == []


def test_get_multi_never_returns_an_item_stored_already_expired_under_threads() -> None:
    clock = FakeClock()
    cache = MemoryCache(clock=clock)
    keys = [f"k{i}" for i in range(50)]
    bad = []
    step = iter(range(10**9))

    def writer() -> None:
        i = next(step)
        clock.now += 0.5
        cache.set(keys[i % 50], "dead", int(clock.now))  # absolute, = now: expired
        cache.set(keys[(i + 25) % 50], "live", 0)

    def reader() -> None:
        for _ in range(20_000):
            if "dead" in cache.get_multi(keys).values():
                bad.append(1)

    _race(writer, reader)
    assert bad == []


def test_get_multi_survives_a_concurrent_flush() -> None:
    cache = MemoryCache()
    errors = []

    def writer() -> None:
        cache.set("k", 1, 100)
        cache.flush_all()

    def reader() -> None:
        try:
            for _ in range(50_000):
                cache.get_multi(["k"])
        except Exception as exc:  # an IndexError from a heap emptied meanwhile
            errors.append(exc)

    _race(writer, reader)
    assert errors == []


class _Counted:
    """A value that counts how often it is pickled."""

    pickles = 0

    def __reduce__(self) -> tuple[Any, ...]:
        type(self).pickles += 1
        return (_Counted, ())


@pytest.mark.parametrize("copy_values", [False, True])
def test_add_over_a_live_item_and_replace_without_one_serialise_nothing(
    copy_values: bool,
) -> None:
    cache = MemoryCache(copy_values=copy_values)
    cache.set("live", 1)
    _Counted.pickles = 0
    assert cache.add("live", _Counted()) is False
    assert cache.replace("missing", _Counted()) is False
    assert cache.add("live", [_Counted()]) is False
    assert _Counted.pickles == 0
    with pytest.raises(InvalidKeyError):
        cache.replace("bad key", _Counted())  # the key is still checked
    assert cache.add("new", [_Counted()]) is True
    assert _Counted.pickles == 1  # measured (and copied, once, with copy_values)


class _CountingLock:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acquired = 0

    def acquire(self, blocking: bool = True) -> bool:
        self.acquired += 1
        return self.lock.acquire(blocking)

    def release(self) -> None:
        self.lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


@pytest.mark.parametrize("method", ["set_multi", "add_multi", "replace_multi"])
def test_a_batch_is_stored_under_one_acquisition_of_the_lock(method: str) -> None:
    cache = MemoryCache()
    cache.set_multi({f"k{i}": 0 for i in range(0, 10, 2)}, 60)
    counting = cache._lock = _CountingLock()  # type: ignore[assignment]
    batch = {f"k{i}": {"n": i} for i in range(10)}
    failed = getattr(cache, method)(batch, 60)
    assert counting.acquired == 1
    held = [f"k{i}" for i in range(0, 10, 2)]  # live before the call
    new = [f"k{i}" for i in range(1, 10, 2)]
    expected_failed = {"set_multi": [], "add_multi": held, "replace_multi": new}[method]
    assert failed == expected_failed
    found = cache.get_multi(list(batch))
    for key in batch:
        if method == "add_multi" and key in held:
            assert found[key] == 0
        elif key in expected_failed:
            assert key not in found
        else:
            assert found[key] == batch[key]


def test_a_batch_is_checked_whole_before_anything_is_stored() -> None:
    cache = MemoryCache()
    with pytest.raises(TypeError):
        cache.set_multi({"a": 1, "b": threading.Lock()})
    with pytest.raises(InvalidKeyError):
        cache.set_multi({"a": 1, "bad key": 2})
    with pytest.raises(ValueError, match="latest expiry"):
        cache.set_multi({"a": 1}, 2**40)  # a time memcached cannot keep
    assert cache.get("a") is None
    assert len(cache) == 0


@pytest.mark.parametrize("size", [3, 16, 17, 100])
def test_get_multi_answers_alike_for_small_and_large_batches(size: int) -> None:
    clock = FakeClock()
    cache = MemoryCache(clock=clock)
    keys = [f"k{i}" for i in range(size)]
    cache.set_multi({key: i for i, key in enumerate(keys)}, 10)
    cache.set("short", "gone", 1)
    cache.set("none", None)
    clock.now += 2
    asked = [*keys[:-1], b"k%d" % (size - 1), "short", "none", "absent"]
    assert cache.get_multi(asked) == {
        **{key: i for i, key in enumerate(keys[:-1])},
        b"k%d" % (size - 1): size - 1,
    }
    with pytest.raises(InvalidKeyError):
        cache.get_multi([*keys[: size - 1], "bad key"])
    clock.now += 10
    assert cache.get_multi(asked) == {}
