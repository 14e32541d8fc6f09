"""Lock a user out after three failed sign-ins; a success resets the count.

Each term counts under its own key (``<prefix>:sign_in:by_user:<name>``,
``<prefix>:sign_in:by_ip:<address>``), so failures as the user "10.0.0.7"
never lock out the address 10.0.0.7. While the cache is down, the default
``on_failure="local"`` keeps counting in this process.
"""

from __future__ import annotations

import sys
import uuid
from typing import Any, NamedTuple

from caching import from_url
from caching.patterns.lockout import Counter, Locker

cache = from_url(sys.argv[1] if len(sys.argv) > 1 else "memory://")
alerts: list[str] = []
prefix = f"example-{uuid.uuid4().hex[:8]}"  # fresh on every run


class Attempt(NamedTuple):
    username: str
    ip: str


def by_user(**terms: Any) -> Counter:
    return Counter(key_func=lambda attempt: attempt.username, **terms)


def by_ip(**terms: Any) -> Counter:
    return Counter(key_func=lambda attempt: attempt.ip, **terms)


locker = Locker(
    cache,
    forbid_action=lambda attempt: "locked out",
    key_prefix=prefix,
    on_failure="local",  # the default; "open" lets calls through, "closed" forbids them
    by_user=by_user,
    by_ip=by_ip,
)
lockout = locker.define(
    "sign in",
    by_user={
        "count": 3,  # failures ...
        "period": 60,  # ... within a minute ...
        "duration": 300,  # ... lock the user out for five minutes
        "alert": lambda attempt, name, counter: alerts.append(attempt.username),
    },
    by_ip={"count": 20, "period": 60, "duration": 300},
)


@lockout.forbid_locked
@lockout.guard  # counts False answers; a True answer resets the count
def sign_in(attempt: Attempt, password: str) -> bool:
    return password == "secret"


ann, bob = Attempt("ann", "192.0.2.1"), Attempt("bob", "192.0.2.2")
assert [sign_in(ann, "x"), sign_in(ann, "y"), sign_in(ann, "secret")] == [False, False, True]
assert [sign_in(ann, "x"), sign_in(ann, "y")] == [False, False]  # count restarted
assert [sign_in(bob, p) for p in ("1", "2", "3")] == [False, False, False]
assert sign_in(bob, "secret") == "locked out"
assert alerts == ["bob"]
assert cache.get(f"lock:{prefix}:sign_in:by_user:bob") == 1

# three failures as the user "10.0.0.7" lock that user name, not the address
for password in ("1", "2", "3"):
    sign_in(Attempt("10.0.0.7", "192.0.2.3"), password)
assert sign_in(Attempt("carol", "10.0.0.7"), "secret") is True
print(
    "sign-in lockout: bob locked after 3 failures (alert raised); ann reset by success; "
    "the user '10.0.0.7' locked, not the address"
)
