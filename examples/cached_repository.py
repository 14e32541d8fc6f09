"""A repository whose reads are cached and invalidated together when data changes."""

from __future__ import annotations

import sys

from caching import CacheDependency, from_url
from caching.patterns import Cached, key_builder

cache = from_url(sys.argv[1] if len(sys.argv) > 1 else "memory://")
cached = Cached(cache, key_builder("example-repo"), time=300)
dependency = CacheDependency(cache, time=300)

PRICES = {"tea": 4.5, "coffee": 6.0}
reads: list[str] = []


@cached  # = cached.wraps_get_or_set: key "example-repo-price:'tea'"
def price(item: str) -> float:
    reads.append(item)  # stands for a slow database query
    return PRICES[item]


def price_list() -> dict[str, float]:
    """Cached, and wired to the "prices" dependency key."""
    listing: dict[str, float] = cached.get_or_set(
        "example-repo:price-list", lambda: dict(PRICES), lambda: "example-repo:prices"
    )
    return listing


def update_price(item: str, value: float) -> None:
    PRICES[item] = value
    cached.delete(key_builder("example-repo")(price)(item))
    dependency.delete("example-repo:prices")  # drops every item wired to it


assert [price("tea"), price("tea"), price("tea")] == [4.5, 4.5, 4.5]
assert reads == ["tea"]  # one query, two hits
assert price_list() == {"tea": 4.5, "coffee": 6.0}
update_price("tea", 5.0)
assert price("tea") == 5.0
assert price_list()["tea"] == 5.0
assert reads == ["tea", "tea"]
update_price("tea", 4.5)  # leave a shared server as we found it
print("cached repository: 1 query for 3 reads; the update invalidated both caches")
