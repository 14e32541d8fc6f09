"""AsyncLocker/AsyncLockout: the lockout's guard, quota and forbid_locked on
coroutine functions, over AsyncMemoryCache and a real memcached (the async
adapter); the same decisions and keys as the sync Lockout, which refuses
coroutine functions."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import pytest

from caching import MemoryCache, from_url
from caching.aio import InLoop
from caching.aio.lockout import AsyncLocker, AsyncLockout, AsyncNullLocker
from caching.patterns.lockout import Counter, Locker, Lockout
from tests import servers
from tests.aio.backends import emcache_at
from tests.aio.test_patterns import make, run

__all__ = ["make"]  # the fixture: AsyncMemoryCache and the async adapter on memcached

OPS = ["guard", "quota", "locked", "reset", "force_reset"]
TERMS = {"by_ip": {"count": 3, "period": 60, "duration": 60}}


class Service:
    """What guarded functions receive as ctx; the test sets the outcome."""

    def __init__(self, ip: str = "10.0.0.1", user: str = "alice") -> None:
        self.ip = ip
        self.user = user
        self.succeed = False


def term_factories(alerts: list[str]) -> dict[str, Any]:
    async def alert(ctx: Any, name: str, counter: Counter) -> None:
        await asyncio.sleep(0)  # an async alert is awaited
        alerts.append(f"{name}:{ctx.ip}:{counter.count}")

    return {
        "by_ip": lambda **t: Counter(key_func=lambda ctx: ctx.ip, alert=alert, **t),
        "by_user": lambda **t: Counter(key_func=lambda ctx: ctx.user, reset=False, **t),
    }


def async_lockout(cache: Any, alerts: list[str], **options: Any) -> AsyncLockout:
    async def forbid(ctx: Any) -> str:
        await asyncio.sleep(0)
        return "forbidden"

    locker = AsyncLocker(cache, forbid_action=forbid, **options, **term_factories(alerts))
    return locker.define("sign in", **TERMS)


def sync_lockout(cache: Any, alerts: list[str], **options: Any) -> Lockout:
    def alert(ctx: Any, name: str, counter: Counter) -> None:
        alerts.append(f"{name}:{ctx.ip}:{counter.count}")

    terms: dict[str, Any] = {
        "by_ip": lambda **t: Counter(key_func=lambda ctx: ctx.ip, alert=alert, **t),
        "by_user": lambda **t: Counter(key_func=lambda ctx: ctx.user, reset=False, **t),
    }
    locker = Locker(cache, forbid_action=lambda ctx: "forbidden", **options, **terms)
    return locker.define("sign in", **TERMS)


def guarded(lockout: AsyncLockout) -> Any:
    @lockout.forbid_locked
    @lockout.guard
    async def sign_in(ctx: Service) -> bool:
        """Sign the user in."""
        await asyncio.sleep(0)
        return ctx.succeed

    return sign_in


def test_guard_locks_after_count_failures_and_awaits_actions(make: Callable[[], Any]) -> None:
    alerts: list[str] = []

    async def body(cache: Any) -> None:
        sign_in = guarded(async_lockout(cache, alerts))
        assert asyncio.iscoroutinefunction(sign_in)
        assert sign_in.__name__ == "sign_in"
        service = Service()
        assert [await sign_in(service) for _ in range(3)] == [False, False, False]
        assert await sign_in(service) == "forbidden"
        assert alerts == ["sign in:10.0.0.1:3"]
        assert await sign_in(Service(ip="10.0.0.2")) is False  # other addresses are not locked

    run(make(), body)


def test_guard_success_resets_and_quota_counts_successes(make: Callable[[], Any]) -> None:
    alerts: list[str] = []

    async def body(cache: Any) -> None:
        lockout = async_lockout(cache, alerts)
        sign_in = guarded(lockout)
        service = Service()
        for _ in range(5):  # two failures then a success, again and again: never locked
            service.succeed = False
            assert await sign_in(service) is False
            assert await sign_in(service) is False
            service.succeed = True
            assert await sign_in(service) is True
        assert not await lockout.locked(service)

        @lockout.forbid_locked
        @lockout.quota
        async def download(ctx: Service) -> bool:
            return True

        other = Service(ip="10.0.0.9")
        assert [await download(other) for _ in range(4)] == [True, True, True, "forbidden"]
        assert await lockout.locked(other)
        await lockout.force_reset(other)
        assert not await lockout.locked(other)
        assert alerts == ["sign in:10.0.0.9:3"]

    run(make(), body)


def test_a_herd_of_failures_in_one_loop_locks_once(make: Callable[[], Any]) -> None:
    """50 concurrent failures: the lock engages once, its alert fires once,
    and every call after the herd is forbidden."""
    alerts: list[str] = []

    async def body(cache: Any) -> None:
        sign_in = guarded(async_lockout(cache, alerts))
        service = Service()
        answers = await asyncio.gather(*(sign_in(service) for _ in range(50)))
        assert set(answers) <= {False, "forbidden"}
        assert answers.count(False) >= 3
        assert alerts == ["sign in:10.0.0.1:3"]
        assert await sign_in(service) == "forbidden"

    run(make(), body)


def test_the_loop_keeps_running_while_a_guarded_call_waits_on_memcached(
    memcached_server: servers.Server,
) -> None:
    """A guarded call awaits memcached: a ticker task of the same loop runs
    between its round trips (a blocking call would starve it)."""
    servers.flush(memcached_server)

    async def body(cache: Any) -> None:
        sign_in = guarded(async_lockout(cache, []))
        ticks = 0
        done = False

        async def ticker() -> None:
            nonlocal ticks
            while not done:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        before = ticks
        for _ in range(20):  # 20 failures: add/incr/get_multi round trips
            await sign_in(Service(ip=f"10.1.0.{random.randrange(256)}"))
        during = ticks - before
        done = True
        await task
        assert during >= 20

    run(emcache_at([memcached_server.address]), body)


def test_sync_and_async_services_share_counters_and_locks_on_memcached(
    memcached_server: servers.Server,
) -> None:
    servers.flush(memcached_server)
    sync_cache = from_url(f"memcached://{memcached_server.address}?client=pymemcache&timeout=5")
    sync_alerts: list[str] = []
    sync = sync_lockout(sync_cache, sync_alerts)

    @sync.forbid_locked
    @sync.guard
    def sync_sign_in(ctx: Service) -> bool:
        return ctx.succeed

    async def body(cache: Any) -> None:
        alerts: list[str] = []
        sign_in = guarded(async_lockout(cache, alerts))
        service = Service()
        assert sync_sign_in(service) is False
        assert await sign_in(service) is False
        assert sync_sign_in(service) is False  # the third failure: the sync lockout locks
        assert sync_alerts == ["sign in:10.0.0.1:3"]
        assert await sign_in(service) == "forbidden"  # the async one honours it
        other = Service(ip="10.0.0.2")
        assert [await sign_in(other) for _ in range(3)] == [False, False, False]
        assert alerts == ["sign in:10.0.0.2:3"]
        assert sync_sign_in(other) == "forbidden"

    try:
        run(emcache_at([memcached_server.address]), body)
    finally:
        sync_cache.close()  # type: ignore[attr-defined]


def test_the_same_script_makes_the_same_decisions_and_items_as_the_sync_lockout() -> None:
    """A seeded script of guarded calls, resets and lock checks on both
    lockouts: the same answers, alerts and items (keys and values)."""
    rng = random.Random(16)
    script = [(rng.choices(OPS, weights=[6, 3, 3, 1, 1])[0], rng.randrange(4)) for _ in range(400)]

    def frozen() -> float:
        return 1_000_000.0  # both stores' items expire at the same seconds

    sync_store, async_store = MemoryCache(clock=frozen), MemoryCache(clock=frozen)
    sync_alerts: list[str] = []
    async_alerts: list[str] = []
    both_terms = {"by_ip": TERMS["by_ip"], "by_user": {"count": 2, "period": 60, "duration": 60}}
    sync = Locker(sync_store, lambda ctx: "forbidden", **_plain_terms(sync_alerts)).define(
        "sign in", **both_terms
    )
    aio = AsyncLocker(
        InLoop(async_store), lambda ctx: "forbidden", **term_factories(async_alerts)
    ).define("sign in", **both_terms)
    sync_answers = []
    for op, n in script:  # each answer, and every item after the step
        sync_answers.append((_sync_step(sync, op, n), _items(sync_store)))

    async def async_steps() -> list[Any]:
        answers = []
        for op, n in script:
            answers.append((await _async_step(aio, op, n), _items(async_store)))
        return answers

    assert asyncio.run(async_steps()) == sync_answers
    decisions = [answer for answer, _ in sync_answers]
    assert {"forbidden", True, False} <= set(decisions)
    assert async_alerts == sync_alerts
    assert len(sync_alerts) >= 2  # the script does lock (by_ip alerts; by_user has none)
    assert any("lock:c:sign_in:by_user:" in str(items) for _, items in sync_answers)


def _items(store: MemoryCache) -> dict[Any, list[Any]]:
    return {key: list(item) for key, item in store._items.items()}


def _plain_terms(alerts: list[str]) -> dict[str, Any]:
    def alert(ctx: Any, name: str, counter: Counter) -> None:
        alerts.append(f"{name}:{ctx.ip}:{counter.count}")

    return {
        "by_ip": lambda **t: Counter(key_func=lambda ctx: ctx.ip, alert=alert, **t),
        "by_user": lambda **t: Counter(key_func=lambda ctx: ctx.user, reset=False, **t),
    }


def _ctx(n: int) -> Service:
    service = Service(ip=f"10.0.0.{n % 2}", user=f"user{n // 2}")
    service.succeed = n == 3
    return service


def _sync_step(lockout: Lockout, op: str, n: int) -> Any:
    ctx = _ctx(n)
    if op in ("guard", "quota"):
        func = lockout.forbid_locked(getattr(lockout, op)(lambda ctx: ctx.succeed))
        return func(ctx)
    return getattr(lockout, op)(ctx)


async def _async_step(lockout: AsyncLockout, op: str, n: int) -> Any:
    ctx = _ctx(n)
    if op in ("guard", "quota"):

        async def outcome(ctx: Service) -> bool:
            return ctx.succeed

        func = lockout.forbid_locked(getattr(lockout, op)(outcome))
        return await func(ctx)
    return await getattr(lockout, op)(ctx)


@pytest.mark.parametrize("on_failure", ["local", "open", "closed"])
def test_on_failure_modes_over_a_down_server(on_failure: str) -> None:
    """No server at all: ``local`` locks in this process after ``count``
    failures, ``open`` lets every call through, ``closed`` forbids all."""
    with servers.running(servers.memcached()) as server:
        address = server.address
        server.stop()

        async def body(cache: Any) -> list[Any]:
            sign_in = guarded(async_lockout(cache, [], on_failure=on_failure))
            return [await sign_in(Service()) for _ in range(5)]

        cache = emcache_at([address], timeout=0.3, connect_timeout=0.3)
        answers = run(cache, body)
    expected = {
        "local": [False, False, False, "forbidden", "forbidden"],
        "open": [False] * 5,
        "closed": ["forbidden"] * 5,
    }[on_failure]
    assert answers == expected


@pytest.mark.parametrize("decorator", ["guard", "quota", "forbid_locked"])
def test_the_sync_lockout_refuses_coroutine_functions(decorator: str) -> None:
    lockout = sync_lockout(MemoryCache(), [])

    async def sign_in(ctx: Service) -> bool:
        return False

    with pytest.raises(TypeError, match="AsyncLocker"):
        getattr(lockout, decorator)(sign_in)


@pytest.mark.parametrize("decorator", ["guard", "quota"])
def test_the_sync_lockout_refuses_a_coroutine_answer_rather_than_count_a_success(
    decorator: str,
) -> None:
    """A plain function answering a coroutine (a truthy object): a
    ``TypeError``, the coroutine closed (never run, no warning), nothing
    counted nor reset."""
    store = MemoryCache()
    lockout = sync_lockout(store, [])
    ran = False

    async def check(ctx: Service) -> bool:
        nonlocal ran
        ran = True
        return False

    wrapped = getattr(lockout, decorator)(lambda ctx: check(ctx))
    service = Service()
    lockout.incr(service)
    before = dict(store._items)
    with pytest.raises(TypeError, match="coroutine"):
        wrapped(service)
    assert not ran
    assert store._items == before


class _AwaitableResult:
    """A result object that also supports ``await`` (some ORM and HTTP
    clients' results), true or false as told."""

    def __init__(self, ok: bool) -> None:
        self.ok = ok

    def __bool__(self) -> bool:
        return self.ok

    def __await__(self) -> Any:
        yield
        return self


@pytest.mark.parametrize("kind", ["asyncio.Future", "truthy __await__", "false __await__"])
def test_the_sync_lockout_judges_other_awaitables_by_their_truth(kind: str) -> None:
    """Only a coroutine is refused: a plain function answering an
    asyncio.Future or an object with __await__ is served its answer, which
    counts by its truth as any (before: TypeError after the function ran)."""
    loop = asyncio.new_event_loop()
    try:
        answer: Any = {
            "asyncio.Future": loop.create_future(),
            "truthy __await__": _AwaitableResult(True),
            "false __await__": _AwaitableResult(False),
        }[kind]
        success = bool(answer)
        guard_lockout = sync_lockout(MemoryCache(), [])
        quota_lockout = sync_lockout(MemoryCache(), [])
        guarded = guard_lockout.guard(lambda ctx: answer)
        counted = quota_lockout.quota(lambda ctx: answer)
        service = Service()
        for _ in range(3):  # the count of TERMS
            assert guarded(service) is answer
            assert counted(service) is answer
        # guard: three failures lock, successes do not; quota: the reverse
        assert guard_lockout.locked(service) is (not success)
        assert quota_lockout.locked(service) is success
    finally:
        loop.close()


def test_the_async_null_locker_never_counts_nor_locks() -> None:
    cache = MemoryCache()
    lockout = AsyncNullLocker(InLoop(cache), lambda ctx: "forbidden", **_plain_terms([])).define(
        "sign in", **TERMS
    )

    async def sign_in(ctx: Service) -> bool:
        return False

    assert lockout.guard(sign_in) is sign_in
    assert lockout.quota(sign_in) is sign_in
    assert lockout.forbid_locked(sign_in) is sign_in
    assert lockout.forbid_locked()(sign_in) is sign_in

    async def body() -> list[Any]:
        for _ in range(5):
            await lockout.incr(Service())
        await lockout.reset(Service())
        await lockout.force_reset(Service())
        return [await sign_in(Service()), await lockout.locked(Service())]

    assert asyncio.run(body()) == [False, False]
    assert len(cache) == 0


def test_every_due_alert_fires_when_one_raises(make: Callable[[], Any]) -> None:
    """As the sync lockout: one event locks two counters, the first alert
    raises (an async one) and the second still fires; then incr raises it."""
    fired: list[str] = []

    async def failing(ctx: Any, name: str, counter: Counter) -> None:
        fired.append("by_ip")
        raise RuntimeError("alert by_ip failed")

    def second(ctx: Any, name: str, counter: Counter) -> None:
        fired.append("by_user")

    async def body(cache: Any) -> None:
        locker = AsyncLocker(
            cache,
            forbid_action=lambda ctx: "forbidden",
            by_ip=lambda **t: Counter(key_func=lambda ctx: ctx.ip, alert=failing, **t),
            by_user=lambda **t: Counter(key_func=lambda ctx: ctx.user, alert=second, **t),
        )
        once = {"count": 1, "period": 60, "duration": 60}
        lockout = locker.define(f"alerts-{random.random()}", by_ip=once, by_user=once)
        with pytest.raises(RuntimeError, match="alert by_ip failed"):
            await lockout.incr(Service())
        assert sorted(fired) == ["by_ip", "by_user"]
        assert await lockout.locked(Service())

    run(make(), body)
