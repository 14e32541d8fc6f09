"""Locker and Lockout: counting, locking, alerts, concurrency, cache failures."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pytest

from caching import MemoryCache, NullCache, from_url
from caching.contract import Cache
from caching.key_rules import Key
from caching.patterns.lockout import Counter, Locker, Lockout, NullLocker, NullLockout
from tests.shared import Clock, backend, cache, clock, memcached_url, timed_backends
from tests.workers import (
    Context,
    lockout_failures,
    run_processes,
    run_threads,
    sign_in_lockouts,
)

__all__ = ["backend", "cache", "clock", "memcached_url"]


class Service:
    """A sign-in whose outcome the test sets; what guarded methods receive as ctx."""

    def __init__(self, ip: str = "10.0.0.1", user: str = "alice") -> None:
        self.ip = ip
        self.user = user
        self.succeed = False


def make_lockout(
    cache: Cache,
    alerts: list[str] | None = None,
    **terms: dict[str, Any],
) -> Lockout:
    def alert(ctx: Any, name: str, counter: Counter) -> None:
        if alerts is not None:
            alerts.append(f"{name}:{counter.count}")

    locker = Locker(
        cache,
        forbid_action=lambda ctx: "forbidden",
        by_ip=lambda **t: Counter(key_func=lambda ctx: ctx.ip, alert=alert, **t),
        by_user=lambda **t: Counter(key_func=lambda ctx: ctx.user, reset=False, alert=alert, **t),
    )
    return locker.define("sign in", **terms)


def guarded_sign_in(lockout: Lockout) -> Any:
    @lockout.forbid_locked
    @lockout.guard
    def sign_in(ctx: Service) -> bool:
        """Sign the user in."""
        return ctx.succeed

    return sign_in


def test_lock_engages_after_count_failures(cache: Cache) -> None:
    alerts: list[str] = []
    lockout = make_lockout(cache, alerts, by_ip={"count": 3, "period": 60, "duration": 60})
    sign_in = guarded_sign_in(lockout)
    service = Service()
    assert [sign_in(service) for _ in range(3)] == [False, False, False]
    assert sign_in(service) == "forbidden"
    assert alerts == ["sign in:3"]
    assert sign_in(Service(ip="10.0.0.2")) is False  # other addresses are not locked


def test_decorators_keep_metadata() -> None:
    lockout = make_lockout(MemoryCache(), by_ip={"count": 3, "period": 60, "duration": 60})
    sign_in = guarded_sign_in(lockout)
    assert sign_in.__name__ == "sign_in"
    assert sign_in.__doc__ == "Sign the user in."


def test_success_resets_only_the_counters_that_support_it(cache: Cache) -> None:
    lockout = make_lockout(
        cache,
        by_ip={"count": 3, "period": 60, "duration": 60},
        by_user={"count": 4, "period": 60, "duration": 60},
    )
    sign_in = guarded_sign_in(lockout)
    service = Service()
    sign_in(service)
    sign_in(service)
    service.succeed = True
    assert sign_in(service) is True  # resets by_ip, not by_user
    service.succeed = False
    sign_in(service)
    assert sign_in(service) is False  # by_ip at 2, by_user at 4: user locked next
    assert sign_in(service) == "forbidden"
    lockout.reset(service)
    assert sign_in(service) == "forbidden"  # the by_user lock has no reset
    lockout.force_reset(service)
    assert sign_in(service) is False


def test_quota_counts_successes(cache: Cache) -> None:
    lockout = make_lockout(cache, by_ip={"count": 2, "period": 60, "duration": 60})

    @lockout.forbid_locked(action=lambda ctx: "over quota")
    @lockout.quota
    def download(ctx: Service) -> bool:
        return ctx.succeed

    service = Service()
    assert download(service) is False  # failures do not count
    service.succeed = True
    assert [download(service), download(service), download(service)] == [True, True, "over quota"]


@timed_backends
def test_period_and_duration_in_timedelta_expire(cache: Cache, clock: Clock) -> None:
    lockout = make_lockout(
        cache, by_ip={"count": 2, "period": timedelta(seconds=2), "duration": timedelta(seconds=2)}
    )
    sign_in = guarded_sign_in(lockout)
    service = Service()
    sign_in(service)
    clock.advance(3.1)  # the period has passed: the count starts again
    sign_in(service)
    assert sign_in(service) is False
    assert sign_in(service) == "forbidden"
    clock.advance(3.1)  # the lock has passed
    assert sign_in(service) is False


def test_forbid_locked_costs_one_round_trip() -> None:
    reads: list[str] = []

    class Counting(MemoryCache):
        def get_multi(self, keys: Any, namespace: str | None = None) -> dict[Key, Any]:
            reads.append("get_multi")
            return super().get_multi(keys, namespace)

        def get(self, key: Key, namespace: str | None = None) -> Any:
            reads.append("get")
            return super().get(key, namespace)

    lockout = make_lockout(
        Counting(),
        by_ip={"count": 2, "period": 60, "duration": 60},
        by_user={"count": 2, "period": 60, "duration": 60},
    )

    @lockout.forbid_locked
    def view(ctx: Service) -> str:
        return "page"

    assert view(Service()) == "page"
    assert reads == ["get_multi"]


def test_keys_are_valid_whatever_key_func_returns(cache: Cache) -> None:
    lockout = make_lockout(cache, by_user={"count": 2, "period": 60, "duration": 60})
    sign_in = guarded_sign_in(lockout)
    for user in ["bob smith", "ключ\n键", "x" * 400, 42]:
        service = Service(user=user)  # type: ignore[arg-type]
        sign_in(service)
        sign_in(service)
        assert sign_in(service) == "forbidden"


class ExpiresBetweenAddAndIncr(MemoryCache):
    """The counter exists when ``add`` runs and is gone when ``incr`` runs."""

    def __init__(self) -> None:
        super().__init__()
        self.raced = False

    def add(self, key: Key, value: Any, time: Any = 0, namespace: str | None = None) -> bool:
        if not self.raced and not str(key).startswith("lock:"):
            self.raced = True
            return False  # as if the item existed, then expired before incr
        return super().add(key, value, time, namespace)


def test_counter_expiring_between_add_and_incr_is_created_again() -> None:
    """wheezy.caching's incr gets None here and the guarded call raises TypeError."""
    cache = ExpiresBetweenAddAndIncr()
    lockout = make_lockout(cache, by_ip={"count": 2, "period": 60, "duration": 60})
    sign_in = guarded_sign_in(lockout)
    service = Service()
    assert sign_in(service) is False
    assert cache.raced
    assert sign_in(service) is False
    assert sign_in(service) == "forbidden"


class DownCache(NullCache):
    """A cache whose server is down: every call answers "nothing happened"."""

    def add(self, key: Key, value: Any, time: Any = 0, namespace: str | None = None) -> bool:
        super().add(key, value, time, namespace)
        return False

    def delete_multi(self, keys: Any, seconds: Any = 0, namespace: str | None = None) -> bool:
        super().delete_multi(keys, seconds, namespace)
        return False


class Switch(MemoryCache):
    """A MemoryCache that can be taken down: it then answers "nothing
    happened" (as an adapter does) and counts the calls it got meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.calls_while_down = 0

    def add(self, key: Key, value: Any, time: Any = 0, namespace: str | None = None) -> bool:
        if self.down:
            self.calls_while_down += 1
            return False
        return super().add(key, value, time, namespace)

    def incr(
        self, key: Key, delta: int = 1, namespace: str | None = None, initial_value: Any = None
    ) -> Any:
        if self.down:
            self.calls_while_down += 1
            return None
        return super().incr(key, delta, namespace, initial_value)

    def get_multi(self, keys: Any, namespace: str | None = None) -> dict[Key, Any]:
        if self.down:
            self.calls_while_down += 1
            return {}
        return super().get_multi(keys, namespace)

    def delete_multi(self, keys: Any, seconds: Any = 0, namespace: str | None = None) -> bool:
        if self.down:
            self.calls_while_down += 1
            return False
        return super().delete_multi(keys, seconds, namespace)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("on_failure", "answers"),
    [
        ("local", [False, "forbidden", "forbidden"]),
        ("open", [False, False, False]),
        ("closed", ["forbidden", "forbidden", "forbidden"]),
    ],
)
def test_a_cache_failure_never_breaks_a_guarded_call(on_failure: str, answers: list[Any]) -> None:
    alerts: list[str] = []
    locker = Locker(
        DownCache(),
        forbid_action=lambda ctx: "forbidden",
        on_failure=on_failure,
        by_ip=lambda **t: Counter(
            key_func=lambda ctx: ctx.ip, alert=lambda *a: alerts.append("!"), **t
        ),
    )
    sign_in = guarded_sign_in(
        locker.define("sign in", by_ip={"count": 1, "period": 60, "duration": 60})
    )
    service = Service()
    assert [sign_in(service) for _ in range(3)] == answers
    assert alerts == (["!"] if on_failure == "local" else [])
    service = Service(ip="10.0.0.9")
    service.succeed = True
    assert sign_in(service) == ("forbidden" if on_failure == "closed" else True)


def test_on_failure_is_checked() -> None:
    with pytest.raises(ValueError, match="'local', 'open', 'closed'"):
        Locker(MemoryCache(), lambda ctx: None, on_failure="fail-open")
    with pytest.raises(TypeError):
        Locker(MemoryCache(), lambda ctx: None, on_failure=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'local', 'open', 'closed'"):
        NullLocker(MemoryCache(), lambda ctx: None, on_failure="closed ")
    with pytest.raises(ValueError, match="retry_period"):
        Locker(MemoryCache(), lambda ctx: None, retry_period=-1)
    assert Locker(MemoryCache(), lambda ctx: None).on_failure == "local"
    # wheezy's positional arguments still work
    locker = Locker(MemoryCache(), lambda ctx: "no", None, "x", by_ip=lambda **t: Counter(**t))
    assert locker.key_prefix == "x"


def test_a_failing_cache_is_left_alone_for_the_retry_period() -> None:
    cache, clock = Switch(), FakeClock()
    locker = Locker(
        cache,
        forbid_action=lambda ctx: "forbidden",
        retry_period=5,
        clock=clock,
        by_ip=lambda **t: Counter(key_func=lambda ctx: ctx.ip, **t),
    )
    lockout = locker.define("sign in", by_ip={"count": 10, "period": 60, "duration": 60})
    sign_in = lockout.guard(lambda ctx: False)
    cache.down = True
    sign_in(Service())  # the failure: 3 tries of add + incr
    assert cache.calls_while_down == 6
    for _ in range(5):
        sign_in(Service())  # counted in this process only
    assert cache.calls_while_down == 6
    clock.now += 5
    sign_in(Service())  # tried again
    assert cache.calls_while_down == 12
    cache.down = False
    clock.now += 5
    sign_in(Service())
    assert cache.get("c:sign_in:by_ip:10.0.0.1") == 1  # back in the shared cache
    sign_in(Service())
    sign_in(Service())  # the 10th failure in this process: locked here
    assert lockout.locked(Service()) is True
    assert cache.get("lock:c:sign_in:by_ip:10.0.0.1") is None
    clock.now += 61  # the local lock expires
    assert lockout.locked(Service()) is False


def test_a_reset_reaches_both_stores() -> None:
    cache, clock = Switch(), FakeClock()
    locker = Locker(
        cache,
        forbid_action=lambda ctx: "forbidden",
        clock=clock,
        by_ip=lambda **t: Counter(key_func=lambda ctx: ctx.ip, **t),
    )
    sign_in = guarded_sign_in(
        locker.define("sign in", by_ip={"count": 2, "period": 60, "duration": 60})
    )
    service = Service()
    cache.down = True
    sign_in(service)  # counted here: 1
    cache.down = False
    clock.now += 2
    service.succeed = True
    assert sign_in(service) is True  # resets the local counter too
    service.succeed = False
    assert sign_in(service) is False  # 1 in the shared cache, none here
    assert sign_in(service) is False
    assert sign_in(service) == "forbidden"


def test_terms_on_equal_values_do_not_share_counters(cache: Cache) -> None:
    """Three failed sign-ins as the user "10.0.0.7" do not lock out a real
    user signing in from the address 10.0.0.7 (wheezy keys both terms
    c:sign_in:10.0.0.7)."""
    lockout = make_lockout(
        cache,
        by_ip={"count": 3, "period": 60, "duration": 60},
        by_user={"count": 3, "period": 60, "duration": 60},
    )
    sign_in = guarded_sign_in(lockout)
    attacker = Service(ip="192.0.2.1", user="10.0.0.7")
    assert [sign_in(attacker) for _ in range(4)] == [False, False, False, "forbidden"]
    user = Service(ip="10.0.0.7", user="alice")
    assert sign_in(user) is False  # not locked: the attacker's lock is by_user
    user.succeed = True
    assert sign_in(user) is True
    assert cache.get("lock:c:sign_in:by_user:10.0.0.7") == 1
    assert cache.get("lock:c:sign_in:by_ip:192.0.2.1") == 1
    assert cache.get_multi(["lock:c:sign_in:by_ip:10.0.0.7", "c:sign_in:by_ip:10.0.0.7"]) == {}


def test_a_lockout_built_by_hand_names_counters_by_index(cache: Cache) -> None:
    counters = [Counter(lambda ctx: ctx.ip, 2, 60, 60), Counter(lambda ctx: ctx.ip, 3, 60, 60)]
    lockout = Lockout("api", counters, lambda ctx: "forbidden", cache, None, "c:api:")
    lockout.incr(Service())
    assert cache.get_multi(["c:api:0:10.0.0.1", "c:api:1:10.0.0.1"]) == {
        "c:api:0:10.0.0.1": 1,
        "c:api:1:10.0.0.1": 1,
    }


@pytest.mark.parametrize(("count", "locked"), [(40, True), (41, False)])
def test_threads_failing_together_lock_after_exactly_count(
    cache: Cache, count: int, locked: bool
) -> None:
    alerts: list[str] = []
    lockout = make_lockout(cache, alerts, by_ip={"count": count, "period": 60, "duration": 60})
    sign_in = guarded_sign_in(lockout)

    def work(_: int) -> None:
        for _ in range(5):
            sign_in(Service())

    run_threads(8, work)  # 40 failures
    assert lockout.locked(Service()) is locked
    assert len(alerts) == int(locked)


def test_null_locker_never_locks() -> None:
    locker = NullLocker(MemoryCache(), lambda ctx: "forbidden")
    lockout = locker.define("sign in", by_ip={"count": 1})
    assert isinstance(lockout, NullLockout)

    def sign_in(ctx: Any) -> bool:
        return False

    assert lockout.guard(sign_in) is sign_in
    assert lockout.quota(sign_in) is sign_in
    assert lockout.forbid_locked(sign_in) is sign_in
    assert lockout.forbid_locked(action=lambda ctx: None)(sign_in) is sign_in
    lockout.incr(None)
    lockout.reset(None)
    lockout.force_reset(None)
    assert lockout.locked(None) is False


def test_unknown_term_raises_key_error() -> None:
    with pytest.raises(KeyError):
        make_lockout(MemoryCache(), by_phase_of_moon={"count": 1})


@pytest.mark.memcached
def test_processes_failing_together_lock_once_after_exactly_count(memcached_url: str) -> None:
    cache = from_url(memcached_url)
    # 3 processes x 2 threads x 4 failures = 24 failures of one address, each
    # counted by two lockouts: one locks at 24, the other would at 25.
    run_processes(lockout_failures, 3, memcached_url, [24, 25], 2, 4)
    lockouts = sign_in_lockouts(cache, [24, 25])
    assert lockouts[24].locked(Context("10.0.0.1")) is True
    assert lockouts[25].locked(Context("10.0.0.1")) is False
    assert cache.get("alerts:sign_in_24") == 1
    assert cache.get("alerts:sign_in_25") is None


def test_a_forked_child_starts_with_an_empty_local_store() -> None:
    """A child process counts on its own: it does not inherit the parent's
    local counters and locks (nor a store whose lock another thread held)."""
    cache, clock = Switch(), FakeClock()
    locker = Locker(
        cache,
        forbid_action=lambda ctx: "forbidden",
        clock=clock,
        by_ip=lambda **t: Counter(key_func=lambda ctx: ctx.ip, **t),
    )
    lockout = locker.define("sign in", by_ip={"count": 2, "period": 60, "duration": 60})
    sign_in = guarded_sign_in(lockout)
    cache.down = True
    assert [sign_in(Service()), sign_in(Service()), sign_in(Service())] == [
        False,
        False,
        "forbidden",
    ]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            answers = [sign_in(Service()), sign_in(Service()), sign_in(Service())]
            os.write(write, repr(answers).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = pipe.read()
    os.waitpid(pid, 0)
    assert child == repr([False, False, "forbidden"])
    assert sign_in(Service()) == "forbidden"  # the parent's lock is still set


def test_every_due_alert_fires_when_one_raises(cache: Cache) -> None:
    """One event locks two counters and the first counter's alert raises:
    the second's alert fires all the same, then incr raises the first error
    (before: the second lock engaged with no alert, ever)."""
    fired: list[str] = []

    def failing(ctx: Any, name: str, counter: Counter) -> None:
        fired.append("by_ip")
        raise RuntimeError("alert by_ip failed")

    def second(ctx: Any, name: str, counter: Counter) -> None:
        fired.append("by_user")

    locker = Locker(
        cache,
        forbid_action=lambda ctx: "forbidden",
        by_ip=lambda **t: Counter(key_func=lambda ctx: ctx.ip, alert=failing, **t),
        by_user=lambda **t: Counter(key_func=lambda ctx: ctx.user, alert=second, **t),
    )
    once = {"count": 1, "period": 60, "duration": 60}
    lockout = locker.define(f"alerts-{os.getpid()}-{id(cache)}", by_ip=once, by_user=once)
    with pytest.raises(RuntimeError, match="alert by_ip failed"):
        lockout.incr(Service())
    assert sorted(fired) == ["by_ip", "by_user"]
    assert lockout.locked(Service())


class JumpingClock(FakeClock):
    """A clock that jumps to ``to`` at its ``jump_at``-th read."""

    def __init__(self, jump_at: int, to: float) -> None:
        super().__init__()
        self.reads, self.jump_at, self.to = 0, jump_at, to

    def __call__(self) -> float:
        self.reads += 1
        if self.reads >= self.jump_at:
            self.now = self.to
        return self.now


def _local_lockout(cache: Cache, clock: FakeClock) -> Lockout:
    counter = Counter(key_func=lambda ctx: ctx, count=1, period=60, duration=600)
    return Lockout(
        "sign in", [counter], lambda ctx: "forbidden", cache, None, "c:",
        terms=["by_ip"], on_failure="local", retry_period=1.0, clock=clock,
    )  # fmt: skip


@pytest.mark.parametrize("jump_at", [1, 2, 3, 4, 5])
def test_a_retry_period_ending_during_locked_keeps_the_local_lock(jump_at: int) -> None:
    # locked() reads "failing" once: the retry period ending between two
    # reads sent a "local" lockout down the "closed" path, past its local lock
    cache, clock = Switch(), JumpingClock(jump_at=10**9, to=0.0)
    lockout = _local_lockout(cache, clock)
    cache.down = True
    lockout.incr("10.0.0.7")  # counted and locked in this process
    cache.down = False
    fallback = lockout._fallback
    clock.now, clock.reads, clock.jump_at = fallback._failing_until - 0.5, 0, jump_at
    clock.to = fallback._failing_until + 0.001
    assert lockout.locked("10.0.0.7") is True


@pytest.mark.parametrize("jump_at", [1, 2, 3, 4, 5])
def test_a_retry_period_ending_during_locked_locks_nothing_new(jump_at: int) -> None:
    cache, clock = Switch(), JumpingClock(jump_at=10**9, to=0.0)
    lockout = _local_lockout(cache, clock)
    cache.down = True
    assert lockout.locked("10.0.0.9") is False  # noted nowhere: no lock
    lockout._fallback.fail()
    fallback = lockout._fallback
    clock.now, clock.reads, clock.jump_at = fallback._failing_until - 0.5, 0, jump_at
    clock.to = fallback._failing_until + 0.001
    cache.calls_while_down = 0
    assert lockout.locked("10.0.0.9") is False
    assert cache.calls_while_down == 1  # one get_multi, no add/incr checks
