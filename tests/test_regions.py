"""Regions (issue 14, points 2-4): declared at import time, configured from INI,
env or dict, invalidated whole, also across two processes on memcached."""

from __future__ import annotations

import configparser
import math
import multiprocessing
import os
import re
import time
from datetime import timedelta
from typing import Any

import pytest

import caching
from caching import CacheClient, CacheError, MemoryCache, RegionNotConfiguredError
from caching.regions import Region, declared
from tests import region_workers, servers

# -- declared at import time, as an application's modules do -----------------

short_term = Region("short_term")
long_term = Region("long_term", time=3600)
CALLS: list[tuple[str, Any]] = []


@short_term.cache_on_arguments
def product_page(product_id: int) -> str:
    CALLS.append(("product_page", product_id))
    return f"page {product_id}"


class Catalogue:
    @long_term
    def list_items(self, locale: str = "en") -> list[str]:
        CALLS.append(("list_items", locale))
        return [f"item-{locale}"]


INI = """
[app:main]
cache.regions = short_term, long_term
cache.short_term.url = memory://?max_items=10000
cache.short_term.time = 60
cache.long_term.url = memory://?max_items=10000
cache.long_term.time = 3600
cache.long_term.invalidation_check = 0.5
"""

ENV = {
    "PATH": "/usr/bin",  # not the prefix: left alone
    "CACHE_REGIONS": "short_term,long_term",
    "CACHE_SHORT_TERM_URL": "memory://?max_items=10000",
    "CACHE_SHORT_TERM_TIME": "60",
    "CACHE_LONG_TERM_URL": "memory://?max_items=10000",
    "CACHE_LONG_TERM_TIME": "3600",
    "CACHE_LONG_TERM_INVALIDATION_CHECK": "0.5",
}

NESTED = {
    "short_term": {"url": "memory://?max_items=10000", "time": 60},
    "long_term": {
        "url": "memory://?max_items=10000",
        "time": timedelta(hours=1),
        "invalidation_check": 0.5,
    },
}


def _ini() -> Any:
    parser = configparser.ConfigParser()
    parser.read_string(INI)
    return parser["app:main"]


FORMS = {
    "ini": lambda: caching.configure(_ini(), prefix="cache."),
    "env": lambda: caching.configure(ENV, prefix="CACHE_"),
    "os.environ": lambda: caching.configure(os.environ, prefix="CACHE_"),
    "nested": lambda: caching.configure(NESTED),
}


def test_a_region_used_before_configuration_raises_naming_it() -> None:
    region = Region("never_configured")

    @region.cache_on_arguments
    def slow(x: int) -> int:
        return x

    for call in (lambda: slow(1), lambda: slow.get(1), lambda: region.get("k")):
        with pytest.raises(RegionNotConfiguredError, match="'never_configured'"):
            call()
    assert issubclass(RegionNotConfiguredError, CacheError)
    assert region.is_configured is False
    with pytest.raises(RegionNotConfiguredError):
        region.invalidate()


@pytest.mark.parametrize("form", FORMS)
def test_configure_from_each_form(form: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.upper().startswith("CACHE_")]:
        monkeypatch.delenv(name)  # only the test's own
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    regions = FORMS[form]()
    assert sorted(regions) == ["long_term", "short_term"]
    assert regions["short_term"] is short_term
    assert regions["long_term"] is long_term
    assert short_term.time == 60
    assert long_term.time in (3600, timedelta(hours=1))
    assert long_term.invalidation_check == 0.5
    assert short_term.invalidation_check == 1.0  # the default
    # equal URLs share one backend; the client's namespaces are the regions
    assert short_term.backend is long_term.backend
    assert isinstance(short_term.backend, MemoryCache)
    client = regions.client
    assert isinstance(client, CacheClient)
    assert sorted(client.namespaces) == ["long_term", "short_term"]
    # each namespace is the region's own view of the shared backend (its
    # keys scoped by the region's name and generation)
    assert client.namespaces["short_term"] is short_term.cache

    CALLS.clear()
    assert product_page(7) == product_page(7) == "page 7"
    repo = Catalogue()
    assert repo.list_items("uk") == repo.list_items("uk") == ["item-uk"]
    assert CALLS == [("product_page", 7), ("list_items", "uk")]
    # regions sharing a backend do not share items
    assert short_term.get(product_page.key(7)) == "page 7"
    assert long_term.get(product_page.key(7)) is None


def test_configure_directly_and_regions_created_on_demand() -> None:
    backend = MemoryCache()
    region = Region("direct").configure(backend, time=30, timeout="5", cache_none="true")
    assert region.backend is backend
    assert (region.time, region.timeout, region.cache_none) == (30, 5, True)
    regions = caching.configure({"cache.nobody_declared.url": "memory://"})
    made = regions["nobody_declared"]
    assert isinstance(made, Region)
    assert made.is_configured
    assert made in declared()["nobody_declared"]
    assert made.set("k", 1) is True
    assert made.get("k") == 1


def test_different_urls_get_different_backends() -> None:
    regions = caching.configure(
        {"a_one": {"url": "memory://"}, "b_two": {"url": "memory://?max_items=5"}}
    )
    assert regions["a_one"].backend is not regions["b_two"].backend


BAD = [
    # (config, prefix, words the message must hold)
    ({"cache.short_term.url": "memory://", "cache.short_term.colour": "red"}, "cache.",
     ["'cache.short_term.colour'", "'short_term'", "accepted", "url", "time"]),
    ({"cache.short_term.url": "memory://", "cache.short_term.time": "soon"}, "cache.",
     ["'cache.short_term.time'", "'short_term'", "'soon'", "seconds"]),
    ({"cache.short_term.time": "60"}, "cache.", ["'short_term'", "no url"]),
    ({"cache.regions": "short_term", "cache.other.url": "memory://"}, "cache.",
     ["'cache.other.url'", "'other'", "accepted: short_term"]),
    ({"CACHE_SHORT_TERM_COLOUR": "red"}, "CACHE_", ["'CACHE_SHORT_TERM_COLOUR'", "url", "time"]),
    ({"CACHE_SHORT_TERM_URL": "memory://", "CACHE_SHORT_TERM_CACHE_NONE": "maybe"}, "CACHE_",
     ["'CACHE_SHORT_TERM_CACHE_NONE'", "'short_term'", "true or false"]),
    ({"short_term": {"url": "memory://", "invalidation_check": -1}}, "cache.",
     ["'short_term.invalidation_check'", "'short_term'", ">= 0"]),
    ({"short_term": {"url": "nope://"}}, "cache.", ["'nope://'"]),
    ({"unrelated": "1"}, "cache.", ["no cache region", "'cache.'"]),
    ({"cache.bad name.url": "memory://"}, "cache.", ["'bad name'", "letters"]),
]  # fmt: skip


@pytest.mark.parametrize(("config", "prefix", "words"), BAD)
def test_bad_config_raises_value_error_naming_it(
    config: dict[str, Any], prefix: str, words: list[str]
) -> None:
    with pytest.raises(ValueError, match=re.escape(words[0])) as error:
        caching.configure(config, prefix=prefix)
    for word in words:
        assert word in str(error.value), (word, str(error.value))


def test_region_configure_refuses_unknown_settings() -> None:
    with pytest.raises(ValueError, match=r"'colour'.*'direct2'.*accepted: cache_none"):
        Region("direct2").configure("memory://", colour="red")
    with pytest.raises(ValueError, match="bad region name"):
        Region("two words")


def test_env_region_names_with_underscores_are_parsed_from_the_right() -> None:
    regions = caching.configure(
        {
            "APP_CACHE_MY_LONG_NAME_URL": "memory://",
            "APP_CACHE_MY_LONG_NAME_KEY_PREFIX": "guard:",
            "APP_CACHE_MY_LONG_NAME_TIMEOUT": "3",
        },
        prefix="APP_CACHE_",
    )
    region = regions["my_long_name"]
    assert (region.key_prefix, region.timeout) == ("guard:", 3)


# -- invalidating a whole region ----------------------------------------------


def test_invalidate_a_region_on_memory_is_immediate() -> None:
    region = Region("inv_memory").configure(MemoryCache(), time=60)
    other = Region("inv_other").configure(region.backend, time=60)  # type: ignore[arg-type]
    calls: list[int] = []

    @region.cache_on_arguments
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    @other
    def cube(x: int) -> int:
        calls.append(-x)
        return x**3

    assert square(3) == square(3) == 9
    assert cube(2) == cube(2) == 8
    region.set("plain", "v")
    region.dependency.add("group", square.key(4))
    assert calls == [3, -2]
    assert region.invalidate() is True
    assert region.get("plain") is None  # every item stored before reads as a miss
    assert square(3) == 9
    assert calls == [3, -2, 3]
    assert cube(2) == 8  # another region on the same backend is untouched
    assert calls == [3, -2, 3]
    # fn.invalidate, fn.key and CacheDependency keep working in the new generation
    assert square.invalidate(3) is True
    assert square(3) == 9
    assert calls == [3, -2, 3, 3]
    square(4)
    region.dependency.add("group", square.key(4))
    assert region.dependency.delete("group") is True
    assert square.get(4) is None
    assert region.get(square.key(3)) == 9


def test_region_keys_stay_valid_and_distinct() -> None:
    region = Region("keys").configure(MemoryCache())
    long = "k" * 250
    assert region.set(long, 1)
    assert region.set(long[:-1] + "j", 2)
    assert (region.get(long), region.get(long[:-1] + "j")) == (1, 2)
    assert region.set(b"bytes\xff", 3)
    assert region.get(b"bytes\xff") == 3
    assert region.get_multi([long, b"bytes\xff", "missing"]) == {long: 1, b"bytes\xff": 3}
    with pytest.raises(caching.InvalidKeyError):
        region.get("a b")


@pytest.mark.memcached
@pytest.mark.slow
def test_invalidate_a_region_across_two_processes() -> None:
    check = 0.5
    spawn = multiprocessing.get_context("spawn")
    with servers.running(servers.memcached()) as server:  # its own: cmd_get is not shared
        events = {name: spawn.Event() for name in ("A_ready", "B_ready", "measured", "invalidated")}
        results = spawn.Queue()
        hits, pause = 40, 0.05  # 2 s of hits: 4 periods
        children = [
            spawn.Process(
                target=region_workers.reporting,
                args=("region_process", results, role, server.address, check, events, hits, pause),
            )
            for role in ("A", "B")
        ]
        for child in children:
            child.start()
        try:
            answers = [results.get(timeout=60) for _ in children]
        finally:
            for child in children:
                child.join(10)
                if child.is_alive():
                    child.terminate()
    assert all(ok for ok, _ in answers), answers
    by_role = {("A" if "invalidated" in a else "B"): a for _, a in answers}
    a, b = by_role["A"], by_role["B"]
    assert a["invalidated"] is True
    assert a["miss_here"] is True  # the invalidating process: at once
    assert b["made_during_hits"] == 0  # they were hits
    periods = math.ceil(b["elapsed"] / check) + 1
    # one get per hit, plus at most one read of the generation per period
    assert hits <= b["cmd_get"] <= hits + periods, b
    assert b["rerun_after"] is not None, "B never saw the invalidation"
    assert b["rerun_after"] <= check + 0.5, b
    assert b["after"].startswith("report x by B #")  # made again by B


@pytest.mark.parametrize(
    "decorator", ["wraps_get_or_set", "wraps_get_or_add", "cache_on_arguments"]
)
def test_a_region_invalidated_during_a_rebuild(decorator: str) -> None:
    import threading

    region = Region("inv_rebuild").configure(MemoryCache(), time=60)
    db = {"row": "old"}
    read, go = threading.Event(), threading.Event()
    calls: list[str] = []

    @getattr(region, decorator)
    def listing(name: str) -> str:
        calls.append(name)
        row = db["row"]
        if len(calls) == 1:
            read.set()
            assert go.wait(30)
        return f"{name}:{row}"

    answers: list[str] = []
    thread = threading.Thread(target=lambda: answers.append(listing("tea")))
    thread.start()
    assert read.wait(30)
    db["row"] = "new"
    region.invalidate()  # the whole region, while the creator builds
    go.set()
    thread.join(30)
    assert answers == ["tea:old"]
    assert listing.get("tea") != "tea:old"
    assert listing("tea") == "tea:new"
    assert len(calls) == 2


def test_a_region_invalidated_during_a_multi_rebuild() -> None:
    import threading

    region = Region("inv_multi").configure(MemoryCache(), time=60)
    db = {"row": "old"}
    read, go = threading.Event(), threading.Event()
    calls: list[list[int]] = []

    @region.wraps_get_or_set_multi(make_key=lambda i: f"item:{i}")
    def items(ids: list[int]) -> dict[int, str]:
        calls.append(list(ids))
        row = db["row"]
        if len(calls) == 1:
            read.set()
            assert go.wait(30)
        return {i: f"{i}:{row}" for i in ids}

    thread = threading.Thread(target=lambda: items([1]))
    thread.start()
    assert read.wait(30)
    db["row"] = "new"
    region.invalidate()
    go.set()
    thread.join(30)
    assert items([1]) == {1: "1:new"}


class _SlowGeneration(MemoryCache):
    """A backend whose read of a region's generation is slow once told (a
    round trip under load): a refresh reads the old generation, then sleeps."""

    def __init__(self) -> None:
        super().__init__()
        import threading

        self.slow = threading.Event()
        self.read = threading.Event()

    def get(self, key: Any, namespace: str | None = None) -> Any:
        value = super().get(key, namespace)
        if self.slow.is_set() and str(key).startswith("region:"):
            self.read.set()
            import time

            time.sleep(0.05)
        return value


def test_an_invalidation_is_not_undone_by_a_refresh_that_began_before_it() -> None:
    import threading
    import time

    backend = _SlowGeneration()
    region = Region("rollback", invalidation_check=1.0).configure(backend, time=60)
    calls: list[int] = []

    @region
    def f(x: int) -> str:
        calls.append(x)
        return f"v{len(calls)}"

    assert f(1) == "v1"
    time.sleep(1.05)  # the period is over: the next call reads the generation again
    backend.slow.set()
    other = threading.Thread(target=f, args=(1,))
    other.start()
    assert backend.read.wait(5)  # that thread holds the old generation
    assert region.invalidate()
    backend.slow.clear()
    other.join(5)
    assert f(1) != "v1", "the invalidating process served a value of the old generation"


def test_concurrent_first_calls_all_use_the_generation_read() -> None:
    """20 threads call a region's function first, together, while the read
    of the generation is slow: none goes on with keys of no generation (one
    creation; before, the threads that came during the read stored under
    generation 0 and created again under the generation read)."""
    import threading

    backend = _SlowGeneration()
    backend.slow.set()
    region = Region("first_read").configure(backend, time=60)
    calls: list[int] = []

    @region.cache_on_arguments
    def f(x: int) -> int:
        calls.append(x)
        time.sleep(0.1)
        return x

    barrier = threading.Barrier(20)

    def call() -> None:
        barrier.wait()
        assert f(7) == 7

    threads = [threading.Thread(target=call) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    backend.slow.clear()
    assert calls == [7]
    assert region.get(f.key(7)) == 7


class _Counting:
    """A backend's calls, counted by method, and the reads of a region's
    generation key (``get``/``get_multi`` naming a ``region:`` key)."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.calls = 0
        self.generation_reads = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.backend, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if name in ("get", "get_multi") and "region:" in repr(args[:1]):
                self.generation_reads += 1
            return method(*args, **kwargs)

        return call


@pytest.mark.memcached
def test_a_generation_the_server_does_not_answer_is_read_again_after_a_while() -> None:
    """memcached down at start-up (a real server, stopped): the region's
    calls answer as misses, and read the generation again at most once per
    ``min(invalidation_check, UNANSWERED_RETRY)`` seconds, not at every
    call (before: 12 backend calls per call, the generation read each
    time); once the server is back, the generation is read and kept."""
    from caching.regions import UNANSWERED_RETRY
    from tests.adapters.conftest import builder

    with servers.running(servers.memcached()) as server:
        server.stop()
        backend = _Counting(builder("pymemcache")(server.address, timeout=1.0))
        region = Region("down_at_start", invalidation_check=60).configure(backend, time=60)
        calls: list[int] = []

        @region
        def f(x: int) -> int:
            calls.append(x)
            return x

        assert f(1) == 1
        first_reads, first_calls = backend.generation_reads, backend.calls
        assert first_reads >= 1
        started = time.monotonic()
        for _ in range(10):
            assert f(1) == 1
        elapsed = time.monotonic() - started
        reads = backend.generation_reads - first_reads
        assert reads <= 1 + int(elapsed / UNANSWERED_RETRY), (reads, elapsed)
        per_call = (backend.calls - first_calls) / 10
        assert per_call <= first_calls, per_call  # the first call read it, the others did not
        assert calls == [1] * 11  # nothing stored: each call creates
        assert region._scoped.generation == 0

        server.start()
        time.sleep(UNANSWERED_RETRY + 0.1)
        assert f(2) == 2  # reads the generation: now known
        assert region._scoped.generation != 0
        reads = backend.generation_reads
        for _ in range(10):
            assert f(2) == 2
        assert backend.generation_reads == reads  # known: not read again this period
        assert calls == [1] * 11 + [2]
        backend.backend.close()


class _CountingGeneration(MemoryCache):
    """A MemoryCache whose reads of a region's generation are counted and
    slow (a round trip under load)."""

    def __init__(self) -> None:
        super().__init__()
        self.generation_reads = 0

    def get(self, key: Any, namespace: str | None = None) -> Any:
        if str(key).startswith("region:"):
            self.generation_reads += 1
            time.sleep(0.05)
        return super().get(key, namespace)


def test_concurrent_first_calls_wait_for_the_one_read_of_the_generation() -> None:
    """20 threads call a region's function first, together: one reads the
    generation, the others wait for that read rather than read it too
    (before: each read it, 20 reads), and one creation for all."""
    import threading

    backend = _CountingGeneration()
    region = Region("first_wait").configure(backend, time=60)
    calls: list[int] = []

    @region.cache_on_arguments
    def f(x: int) -> int:
        calls.append(x)
        time.sleep(0.1)
        return x

    barrier = threading.Barrier(20)
    results: list[int] = []

    def call() -> None:
        barrier.wait()
        results.append(f(7))

    threads = [threading.Thread(target=call) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == [7] * 20
    assert backend.generation_reads == 1
    assert calls == [7]


class _DelayedGeneration(MemoryCache):
    """A MemoryCache whose reads of a region's generation take ``delay``
    seconds (a server answering slowly)."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def get(self, key: Any, namespace: str | None = None) -> Any:
        if str(key).startswith("region:"):
            time.sleep(self.delay)
        return super().get(key, namespace)


def test_a_waiter_of_a_slow_first_read_reads_the_generation_rather_than_use_none() -> None:
    """The first read of the generation takes longer than FIRST_READ_WAIT: a
    thread that waited for it reads the generation itself, and never serves
    the item of generation 0 (before: it went on with the keys of no
    generation and served what an outage had stored there)."""
    import threading

    from caching import regions

    backend = _DelayedGeneration(regions.FIRST_READ_WAIT + 0.5)
    region = Region("slow_first").configure(backend, time=60)
    backend.set("region:slow_first:generation", 7)
    backend.set("slow_first.0:k", "stale: stored under no generation")
    backend.set("slow_first.7:k", "current")
    got: dict[str, Any] = {}

    def reader() -> None:
        got["reader"] = region.get("k")

    def other() -> None:
        time.sleep(0.05)  # the reader's read is under way
        got["other"] = region.get("k")

    threads = [threading.Thread(target=reader), threading.Thread(target=other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert got == {"reader": "current", "other": "current"}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_forked_during_the_first_read_reads_the_generation_itself() -> None:
    """A fork while another thread reads the first generation: the child
    (where that thread does not exist) reads the generation on its next call,
    with no wait (before: every call of the child waited FIRST_READ_WAIT and
    used the keys of generation 0)."""
    import threading

    backend = _DelayedGeneration(1.0)
    region = Region("fork_first").configure(backend, time=60)
    backend.set("region:fork_first:generation", 3)
    backend.set("fork_first.3:k", "v3")
    reader = threading.Thread(target=region.get, args=("k",))
    reader.start()
    time.sleep(0.1)  # the reader is inside the 1 s read
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report and leave at once
        try:
            backend.delay = 0.0
            started = time.monotonic()
            values = [region.get("k") for _ in range(3)]
            report = f"{time.monotonic() - started:.3f} {values!r}"
        except BaseException as exc:  # reported to the parent
            report = f"error {exc!r}"
        os.write(write_end, report.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        report = pipe.read()
    os.waitpid(pid, 0)
    reader.join(10)
    took, values = report.split(" ", 1)
    assert values == repr(["v3", "v3", "v3"]), report
    assert float(took) < 0.9, report  # no wait of FIRST_READ_WAIT (1 s) per call


def test_the_client_of_configure_reads_and_writes_the_regions_items() -> None:
    regions = caching.configure(
        {"short_term": {"url": "memory://", "time": 60}, "long_term": {"url": "memory://"}}
    )

    @regions["short_term"]
    def price(item: str) -> float:
        return 1.5

    assert price("tea") == 1.5
    key = price.key("tea")
    client = regions.client
    assert client.get(key, "short_term") == 1.5
    assert client.set("k", "written in short_term", namespace="short_term")
    assert client.get("k", "long_term") is None  # the namespaces are apart
    assert client.delete(key, namespace="short_term")
    assert price.get("tea") is None


def test_a_declared_name_keeps_its_case_through_ini_and_env() -> None:
    declared_region = Region("shortTerm")
    parser = configparser.ConfigParser()
    parser.read_string("[app]\ncache.shortTerm.url = memory://\ncache.shortTerm.time = 60\n")
    regions = caching.configure(dict(parser["app"]), prefix="cache.")
    assert regions["shortTerm"] is declared_region
    assert declared_region.is_configured
    assert declared_region.time == 60


def test_other_variables_under_the_env_prefix_are_left_alone_with_a_regions_list() -> None:
    env = {
        "CACHE_REGIONS": "api",
        "CACHE_API_URL": "memory://",
        "CACHE_DIR": "/var/cache/app",  # another program's variable
    }
    regions = caching.configure(env, prefix="CACHE_")
    assert list(regions) == ["api"]
    with pytest.raises(ValueError, match="unknown cache setting 'CACHE_DIR'"):
        caching.configure({"CACHE_API_URL": "memory://", "CACHE_DIR": "/x"}, prefix="CACHE_")
