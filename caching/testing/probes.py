"""The contract's rules as probes of a live backend.

Each :class:`Rule` of :data:`RULES` exercises one rule of CONTRACT.md through
the contract calls alone, on keys of its own (``caching-cli:...``), which it
deletes. ``python -m caching check`` runs them on a live server or proxy, and
:class:`caching.testing.ContractTests` runs them on every backend it tests, so
the two never drift apart. Needs nothing but the standard library.
"""

from __future__ import annotations

import datetime
import reprlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from caching.contract import Cache
from caching.errors import InvalidKeyError
from caching.expiry import MAX_EXPTIME
from caching.key_rules import MAX_KEY_LENGTH
from caching.testing.clock import REAL_CLOCK, Clock
from caching.testing.data_model import as_data, in_data_model, serializer_of

__all__ = [
    "RULES",
    "Outcome",
    "Probe",
    "Rule",
    "RuleBrokenError",
    "UnsupportedError",
    "expect",
    "probe_key",
    "run_rule",
    "run_rules",
]

#: Seconds to wait for an item stored with ``time=1`` to expire, and
#: between two reads of it.
EXPIRY_WAIT = 3.0
EXPIRY_POLL = 0.05

#: A value over memcached's default item size limit (1 MiB), in bytes.
OVERSIZED = 2 * 1024 * 1024


class RuleBrokenError(Exception):
    """A rule does not hold; the message says what was seen."""


class UnsupportedError(Exception):
    """The set-up declines an optional operation, as the contract allows."""


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 40


def _short(value: Any) -> str:
    return _SHORT.repr(value)


def expect(what: str, actual: Any, expected: Any) -> None:
    """Raise :class:`RuleBrokenError` unless ``actual == expected``."""
    if actual != expected or type(actual) is not type(expected):
        raise RuleBrokenError(f"{what} returned {_short(actual)}, expected {_short(expected)}")


def probe_key(label: str) -> str:
    """A key no service uses: ``caching-cli:<label>:<random hex>``."""
    return f"caching-cli:{label}:{uuid.uuid4().hex}"


@dataclass
class Probe:
    """What a rule's probe works with: the backend, its clock and the keys it made."""

    cache: Cache
    keys: list[str]
    clock: Clock = REAL_CLOCK

    def key(self, label: str) -> str:
        """A fresh key of this check, deleted when the check ends."""
        key = probe_key(label)
        self.keys.append(key)
        return key


def _values(probe: Probe) -> str:
    values: list[Any] = ["text é", b"\x00bytes", 42, 1.5, [1, "a"], {"a": (1, 2)}, {1, 2}]
    serializer = serializer_of(probe.cache)
    for value in values:
        key = probe.key("value")
        if serializer != "pickle" and not in_data_model(value):
            try:
                probe.cache.set(key, value)
            except TypeError:
                pass
            else:
                raise RuleBrokenError(f"set of {_short(value)} under {serializer} did not raise")
            expect(f"get after a refused set of {_short(value)}", probe.cache.get(key), None)
            continue
        expected = value if serializer == "pickle" else as_data(value)
        expect(f"set(..., {_short(value)})", probe.cache.set(key, value), True)
        expect(f"get after set of {_short(value)}", probe.cache.get(key), expected)
    key = probe.key("none")
    probe.cache.set(key, None)
    expect("get of a stored None", probe.cache.get(key), None)
    if serializer != "pickle":
        return f"the {serializer} data model reads back equal (a set raises TypeError)"
    return "str, bytes, int, float, list, dict, set read back equal; None reads as a miss"


def _store(probe: Probe) -> str:
    cache, key = probe.cache, probe.key("store")
    expect("replace on a missing key", cache.replace(key, 1), False)
    expect("add on a missing key", cache.add(key, 1), True)
    expect("add on a live key", cache.add(key, 2), False)
    expect("replace on a live key", cache.replace(key, 3), True)
    expect("get after replace", cache.get(key), 3)
    return "add/replace answer True/False as memcached does"


def _delete(probe: Probe) -> str:
    cache, key = probe.cache, probe.key("delete")
    cache.set(key, 1)
    expect("delete of a live key", cache.delete(key), True)
    expect("get after delete", cache.get(key), None)
    expect("delete of a missing key", cache.delete(key), False)
    expect("delete_multi of missing keys", cache.delete_multi([key, probe.key("x")]), True)
    return "delete True then False; delete_multi True"


def _multi(probe: Probe) -> str:
    cache = probe.cache
    first, second, missing = probe.key("m1"), probe.key("m2"), probe.key("m3")
    expect("set_multi", cache.set_multi({first: 1, second.encode(): 2}), [])
    expect("add_multi over a live key", cache.add_multi({first: 9, missing: 3}), [first])
    cache.delete(missing)
    found = cache.get_multi([first, second.encode(), missing])
    expect("get_multi", found, {first: 1, second.encode(): 2})
    expect("replace_multi of a missing key", cache.replace_multi({missing: 1}), [missing])
    return "get_multi keys as given, misses left out; _multi stores list the keys not stored"


def _counters(probe: Probe) -> str:
    cache, key = probe.cache, probe.key("counter")
    expect("incr of a missing key", cache.incr(key), None)
    expect("incr with initial_value=0", cache.incr(key, 1, initial_value=0), 1)
    expect("incr by 5", cache.incr(key, 5), 6)
    expect("decr by 10", cache.decr(key, 10), 0)
    cache.set(key, 2**64 - 1)
    expect("incr at 2**64-1", cache.incr(key), 0)
    expect("decr with initial_value=10", cache.decr(probe.key("c"), initial_value=10), 9)
    cache.set(key, "text")
    try:
        cache.incr(key)
    except ValueError:
        pass
    else:
        raise RuleBrokenError("incr of a non-numeric value did not raise ValueError")
    expect("set after a failed incr", cache.set(key, 7), True)
    expect("incr after a failed incr", cache.incr(key), 8)
    return "unsigned 64-bit: incr wraps, decr stops at 0; initial_value; bad value raises"


def _item_size(probe: Probe) -> str:
    cache, key = probe.cache, probe.key("size")
    expect("set of a 100 KiB value", cache.set(key, b"x" * 102400), True)
    big = b"x" * OVERSIZED
    if cache.set(key, big):
        expect(f"get of a stored {OVERSIZED}-byte value", cache.get(key), big)
        return f"a {OVERSIZED}-byte value is stored: the server's limit is above it"
    expect("get after a refused set", cache.get(key), None)
    expect("set after a refused set", cache.set(key, 1), True)
    expect("set_multi of an oversized value", cache.set_multi({key: big}), [key])
    return f"a {OVERSIZED}-byte value is refused with False, no error; the connection stays usable"


_BAD_KEYS: list[Any] = ["", "a b", "a\r\nflush_all", "tab\tkey", "x" * (MAX_KEY_LENGTH + 1)]


def _keys(probe: Probe) -> str:
    cache = probe.cache
    for bad in _BAD_KEYS:
        try:
            cache.set(bad, 1)
        except InvalidKeyError:
            continue
        raise RuleBrokenError(f"set with key {bad[:20]!r} did not raise InvalidKeyError")
    try:
        cache.get(42)  # type: ignore[arg-type]
    except TypeError:
        pass
    else:
        raise RuleBrokenError("get with an int key did not raise TypeError")
    longest = probe.key("k")
    longest += "x" * (MAX_KEY_LENGTH - len(longest))
    probe.keys.append(longest)
    expect("set with a 250-byte key", cache.set(longest, 1), True)
    unicode = probe.key("ключ")
    cache.set(unicode, "v")
    expect("get of a str key by its UTF-8 bytes", cache.get(unicode.encode()), "v")
    return "bad keys raise InvalidKeyError, 250 bytes pass, str and its UTF-8 bytes agree"


def _expiry(probe: Probe) -> str:
    cache, clock = probe.cache, probe.clock
    past = int(clock.now()) - 3600
    for label, ttl in (("negative", -1), ("past timestamp", past)):
        key = probe.key("expired")
        cache.set(key, 1, ttl)
        expect(f"get of an item stored with a {label} time", cache.get(key), None)
    key = probe.key("ttl")
    cache.set(key, 1, datetime.timedelta(seconds=1))
    expect("get right after set with time=1s", cache.get(key), 1)
    started = clock.now()
    while cache.get(key) is not None:
        if clock.now() - started > EXPIRY_WAIT:
            raise RuleBrokenError(
                f"an item stored with time=1 is still readable after {EXPIRY_WAIT} s"
            )
        clock.advance(EXPIRY_POLL)
    expect("add over an expired item", cache.add(key, 2), True)
    far = probe.key("2038")
    expect(f"set with time={MAX_EXPTIME} (2**31-1)", cache.set(far, 1, MAX_EXPTIME), True)
    expect(f"get after set with time={MAX_EXPTIME}", cache.get(far), 1)
    try:
        cache.set(far, 2, MAX_EXPTIME + 1)
    except ValueError:
        pass
    else:
        raise RuleBrokenError(
            "set with time=2**31 (past January 2038: memcached stores it and never "
            "returns it) did not raise ValueError"
        )
    expect("get after a refused time", cache.get(far), 1)
    return (
        f"time=1 expired after {clock.now() - started:.1f} s; past times never readable; "
        "2**31-1 kept, 2**31 refused"
    )


def _flush_all(probe: Probe) -> str:
    cache, key = probe.cache, probe.key("flush")
    cache.set(key, 1, 300)
    if not cache.flush_all():
        raise UnsupportedError("flush_all answered False: refused here (twemproxy refuses it)")
    expect("get after flush_all", cache.get(key), None)
    return "flush_all dropped every item"


@dataclass(frozen=True)
class Rule:
    """One contract rule and the probe that exercises it.

    :param name: what ``check`` prints.
    :param section: the heading of CONTRACT.md that states the rule.
    :param probe: exercises the rule on a live backend; raises
        :class:`RuleBrokenError` when it does not hold.
    :param destructive: the probe drops items it did not make.
    """

    name: str
    section: str
    probe: Callable[[Probe], str]
    destructive: bool = False


RULES: list[Rule] = [
    Rule("values", "Values", _values),
    Rule("add/replace", "Methods", _store),
    Rule("delete", "Methods", _delete),
    Rule("multi-key", "Methods", _multi),
    Rule("counters", "Counters", _counters),
    Rule("item size", "Values", _item_size),
    Rule("key rules", "Keys", _keys),
    Rule("expiry", "Time", _expiry),
    Rule("flush_all", "Methods", _flush_all, destructive=True),
]


@dataclass(frozen=True)
class Outcome:
    """The result of one rule: ``status`` is ``ok``, ``FAIL``, ``no`` (an
    optional operation the set-up refuses, as the contract allows) or ``skip``."""

    rule: str
    status: str
    detail: str


def _try(rule: Rule, probe: Probe) -> Outcome:
    try:
        return Outcome(rule.name, "ok", rule.probe(probe))
    except RuleBrokenError as exc:
        return Outcome(rule.name, "FAIL", str(exc))
    except UnsupportedError as exc:
        return Outcome(rule.name, "no", str(exc))
    except Exception as exc:  # an adapter that raises breaks the Failures rule
        return Outcome(rule.name, "FAIL", f"raised {type(exc).__name__}: {exc}")


def run_rule(rule: Rule, cache: Cache, clock: Clock = REAL_CLOCK) -> Outcome:
    """Probe one rule on ``cache`` and delete the keys it made.

    :param clock: the time ``cache`` sees (the expiry probe waits on it).
    """
    probe = Probe(cache, [], clock)
    try:
        return _try(rule, probe)
    finally:
        if probe.keys:
            cache.delete_multi(probe.keys)


def run_rules(cache: Cache, flush: bool = False) -> list[Outcome]:
    """Probe every rule of :data:`RULES` on ``cache``.

    :param flush: also probe ``flush_all``, which drops every item.
    :returns: one outcome per rule, in order.
    """
    probe = Probe(cache, [])
    outcomes = [_try(rule, probe) for rule in RULES if not rule.destructive]
    cache.delete_multi(probe.keys)  # before a destructive probe can break the connection
    for rule in RULES:
        if not rule.destructive:
            continue
        if flush:
            outcomes.append(_try(rule, probe))
        else:
            outcomes.append(Outcome(rule.name, "skip", "drops every item: pass --flush to probe"))
    return outcomes
