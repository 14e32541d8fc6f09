"""``NullCache``: accepts everything, remembers nothing.

For switching caching off without changing the code that calls it. It answers
as wheezy.caching's ``NullCache`` does -- stores report success, reads miss,
counters return ``None`` -- and still checks keys, times and counter arguments
like every backend, so a bad call fails here as it would in production.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from caching import counters
from caching.expiry import Time, to_exptime
from caching.key_rules import Key, canonical_key, check_keys, check_mapping

__all__ = ["NullCache"]


def _check_mapping(mapping: Mapping[Key, Any], time: Time) -> list[Key]:
    to_exptime(time)
    check_mapping(mapping)
    check_keys(mapping)
    return []


class NullCache:
    """A cache that stores nothing; see the module docstring for its answers."""

    def set(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        canonical_key(key)
        to_exptime(time)
        return True

    add = set
    replace = set

    def set_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return _check_mapping(mapping, time)

    add_multi = set_multi
    replace_multi = set_multi

    def get(self, key: Key, namespace: str | None = None) -> Any:
        canonical_key(key)
        return None

    def get_multi(self, keys: Iterable[Key], namespace: str | None = None) -> dict[Key, Any]:
        check_keys(keys)
        return {}

    def delete(self, key: Key, seconds: int = 0, namespace: str | None = None) -> bool:
        """As wheezy's NullCache, reports the delete as done (``True``)."""
        canonical_key(key)
        return True

    def delete_multi(
        self, keys: Iterable[Key], seconds: int = 0, namespace: str | None = None
    ) -> bool:
        check_keys(keys)
        return True

    def incr(
        self,
        key: Key,
        delta: int = 1,
        namespace: str | None = None,
        initial_value: int | None = None,
    ) -> int | None:
        canonical_key(key)
        counters.check_delta(delta)
        counters.check_initial(initial_value)
        return None

    decr = incr

    def flush_all(self) -> bool:
        return True

    def ping(self) -> dict[str, float | None]:
        """``{"null": 0.0}``: nothing to reach, it always answers."""
        return {"null": 0.0}
