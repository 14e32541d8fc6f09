from __future__ import annotations

from datetime import timedelta

import pytest

from caching.expiry import MAX_EXPTIME, MAX_RELATIVE, expires_at, lifetime, seconds, to_exptime

NOW = 1_800_000_000


@pytest.mark.parametrize(
    ("time", "exptime"),
    [
        (0, 0),
        (10, 10),
        (-5, -5),
        (timedelta(seconds=10), 10),
        (timedelta(milliseconds=1), 1),
        (timedelta(0), 0),
        (timedelta(seconds=-0.5), -1),
        (timedelta(days=30), MAX_RELATIVE),
        (timedelta(days=31), NOW + 31 * 86400),
        (MAX_EXPTIME, MAX_EXPTIME),
        (timedelta(seconds=MAX_EXPTIME - NOW), MAX_EXPTIME),
        (-(2**64), -(2**64)),
        (timedelta(days=-(10**6)), -(10**6) * 86400),
    ],
)
def test_to_exptime(time: int | timedelta, exptime: int) -> None:
    assert to_exptime(time, NOW) == exptime


@pytest.mark.parametrize("bad", [1.0, "1", None, True, [1]])
def test_to_exptime_refuses_other_types(bad: object) -> None:
    with pytest.raises(TypeError, match=r"int seconds or datetime\.timedelta"):
        to_exptime(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "time",
    [
        MAX_EXPTIME + 1,
        2**32,
        2**64,
        10**100,
        timedelta(seconds=MAX_EXPTIME + 1 - NOW),
        timedelta(days=365 * 100),
        timedelta.max,
    ],
    ids=["2**31", "2**32", "2**64", "10**100", "lands-at-2**31", "100-years", "timedelta.max"],
)
def test_a_time_memcached_cannot_keep_raises_value_error(time: int | timedelta) -> None:
    with pytest.raises(ValueError, match=r"2\*\*31 - 1 \(2038-01-19 03:14:07 UTC\)"):
        to_exptime(time, NOW)
    with pytest.raises(ValueError, match="2038"):
        expires_at(time, NOW)


def test_max_exptime_is_the_last_second_of_signed_32_bits() -> None:
    from datetime import UTC, datetime

    assert datetime.fromtimestamp(MAX_EXPTIME, UTC) == datetime(2038, 1, 19, 3, 14, 7, tzinfo=UTC)
    assert MAX_EXPTIME == 2**31 - 1


@pytest.mark.parametrize(
    "time", [2**31, 2**64, timedelta(days=365 * 100)], ids=["2**31", "2**64", "100-years"]
)
def test_lifetime_refuses_a_time_memcached_cannot_keep_when_it_is_set(
    time: int | timedelta,
) -> None:
    from caching import MemoryCache
    from caching.patterns import Cached

    with pytest.raises(ValueError, match="2038"):
        lifetime(time)
    with pytest.raises(ValueError, match="2038"):
        Cached(MemoryCache(), time=time)


def test_expires_at() -> None:
    assert expires_at(0, NOW) == 0
    assert expires_at(5, NOW) == NOW + 5
    assert expires_at(MAX_RELATIVE, NOW) == NOW + MAX_RELATIVE
    assert expires_at(MAX_RELATIVE + 1, NOW) == MAX_RELATIVE + 1  # 1970: gone
    assert expires_at(NOW + 100, NOW) == NOW + 100
    assert expires_at(-1, NOW) == -1


@pytest.mark.parametrize(
    ("time", "expected"),
    [
        (0, 0),
        (600, 600),
        (timedelta(milliseconds=500), 1),  # wheezy's total_seconds gives 0: never
        (timedelta(minutes=10), 600),
        (timedelta(days=40), timedelta(days=40)),  # sent as absolute at each store
    ],
)
def test_lifetime(time: int | timedelta, expected: int | timedelta) -> None:
    assert lifetime(time) == expected


def test_seconds() -> None:
    assert seconds(timedelta(milliseconds=250)) == 0.25
    assert seconds(3) == 3.0
    with pytest.raises(TypeError):
        seconds(True)
