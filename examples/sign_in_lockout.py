"""Lock a user out after three failed sign-ins; a success resets the count."""

from __future__ import annotations

import sys
import uuid
from typing import Any

from caching import from_url
from caching.patterns.lockout import Counter, Locker

cache = from_url(sys.argv[1] if len(sys.argv) > 1 else "memory://")
alerts: list[str] = []


def by_user(**terms: Any) -> Counter:
    return Counter(key_func=lambda username: username, **terms)


locker = Locker(
    cache,
    forbid_action=lambda username: "locked out",
    key_prefix=f"example-{uuid.uuid4().hex[:8]}",  # fresh on every run
    by_user=by_user,
)
lockout = locker.define(
    "sign in",
    by_user={
        "count": 3,  # failures ...
        "period": 60,  # ... within a minute ...
        "duration": 300,  # ... lock the user out for five minutes
        "alert": lambda username, name, counter: alerts.append(username),
    },
)


@lockout.forbid_locked
@lockout.guard  # counts False answers; a True answer resets the count
def sign_in(username: str, password: str) -> bool:
    return password == "secret"


assert [sign_in("ann", "x"), sign_in("ann", "y"), sign_in("ann", "secret")] == [
    False,
    False,
    True,
]
assert [sign_in("ann", "x"), sign_in("ann", "y")] == [False, False]  # count restarted
assert [sign_in("bob", p) for p in ("1", "2", "3")] == [False, False, False]
assert sign_in("bob", "secret") == "locked out"
assert alerts == ["bob"]
print("sign-in lockout: bob locked after 3 failures (alert raised); ann reset by success")
