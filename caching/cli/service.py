"""The demo service: a small shop back end built only from caching's public API.

- :class:`Catalog` stands in for the database: slow reads, counted.
- :class:`Shop` wires the caches: a :class:`~caching.CacheClient` with a
  ``local`` tier (in-process, per worker) and a ``shared`` tier (the URL's
  backend, e.g. memcached), product reads cached with ``@cached``, category
  listings tied to a :class:`~caching.CacheDependency` so that one call
  invalidates them all, a report built once however many requests ask for it
  (``get_or_create``), a sign-in guarded by a lockout, and a logger that emits
  each distinct error once per minute.

Every key the service writes starts with its ``prefix``, so that several runs
can share one memcached without seeing each other's items.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from caching import CacheClient, CacheDependency, MemoryCache
from caching.contract import Cache
from caching.patterns import Cached, key_builder
from caching.patterns.lockout import Counter, Locker
from caching.patterns.onepass_handler import OnePassHandler

__all__ = ["Catalog", "Shop", "SignInRequest"]

Product = dict[str, Any]

#: The users of the demo and their passwords.
PASSWORDS = {"alice": "wonderland", "bob": "builder"}


@dataclass
class Catalog:
    """The service's database: every read takes ``latency`` seconds and is counted."""

    latency: float = 0.01
    products: dict[int, Product] = field(
        default_factory=lambda: {
            1: {"id": 1, "name": "Green tea", "category": "tea", "price": 4.5},
            2: {"id": 2, "name": "Black tea", "category": "tea", "price": 3.9},
            3: {"id": 3, "name": "Espresso", "category": "coffee", "price": 6.0},
        }
    )
    reads: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _read(self) -> None:
        with self._lock:
            self.reads += 1
        time.sleep(self.latency)

    def product(self, product_id: int) -> Product | None:
        """One product, or ``None``."""
        self._read()
        found = self.products.get(product_id)
        return dict(found) if found else None

    def category(self, name: str) -> list[Product]:
        """The products of category ``name``."""
        self._read()
        return [dict(p) for p in self.products.values() if p["category"] == name]


@dataclass(frozen=True)
class SignInRequest:
    """A sign-in attempt: the lockout counts failures per ``username``."""

    username: str
    password: str


class Shop:
    """The service. See the module docstring for what each part shows.

    :param shared: the backend shared by all workers (the ``--url`` one).
    :param catalog: the database.
    :param prefix: starts every key the service writes.
    :param max_failures: failed sign-ins that lock a user out.
    """

    def __init__(
        self, shared: Cache, catalog: Catalog, prefix: str = "shop:", max_failures: int = 3
    ) -> None:
        self.catalog = catalog
        self.prefix = prefix
        self.cache = CacheClient({"local": MemoryCache(), "shared": shared}, "shared")
        self.cached = Cached(
            self.cache,
            key_builder(prefix + "catalog"),
            time=300,
            namespace="shared",
            key_prefix=prefix + "one_pass:",
        )
        self.dependency = CacheDependency(self.cache, time=300, namespace="shared")
        self.product, self.product_key = self._cached_product()
        self.alerts: list[str] = []
        self.sign_in = self._guarded_sign_in(max_failures)
        self.emitted: list[logging.LogRecord] = []
        self.log = self._one_pass_logger()

    # -- catalog reads -----------------------------------------------------

    def _cached_product(
        self,
    ) -> tuple[Callable[[int], Product | None], Callable[[int], str]]:
        catalog = self.catalog

        def product(product_id: int) -> Product | None:
            return catalog.product(product_id)

        make_key = key_builder(self.prefix + "catalog")(product)
        return self.cached(product), make_key

    def category(self, name: str) -> list[Product]:
        """Category listing, cached and tied to the catalog's dependency key."""
        key = f"{self.prefix}category:{name}"
        listing: list[Product] = self.cached.get_or_set(
            key, lambda: self.catalog.category(name), lambda: self.prefix + "catalog-changed"
        )
        return listing

    def update_price(self, product_id: int, price: float) -> None:
        """Change a price, then drop the product and every listing from the cache."""
        self.catalog.products[product_id]["price"] = price
        self.cached.delete(self.product_key(product_id))
        self.dependency.delete(self.prefix + "catalog-changed")

    # -- expensive report, built once ---------------------------------------

    def daily_report(self, build: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
        """The daily report: one caller builds it, concurrent callers wait for it."""
        report: dict[str, Any] | None = self.cached.get_or_create(
            self.prefix + "report:daily", build
        )
        return report

    # -- sign-in lockout ----------------------------------------------------

    def _guarded_sign_in(self, max_failures: int) -> Callable[[SignInRequest], Any]:
        locker = Locker(
            self.cache,
            forbid_action=lambda request: "locked",
            namespace="shared",
            key_prefix=self.prefix + "lockout",
            by_user=lambda **terms: Counter(key_func=lambda request: request.username, **terms),
        )
        lockout = locker.define(
            "sign in",
            by_user={
                "count": max_failures,
                "period": 60,
                "duration": 300,
                "alert": lambda request, name, counter: self.alerts.append(request.username),
            },
        )

        @lockout.forbid_locked
        @lockout.guard
        def sign_in(request: SignInRequest) -> bool:
            return PASSWORDS.get(request.username) == request.password

        return sign_in  # type: ignore[no-any-return]

    # -- logging once per period --------------------------------------------

    def _one_pass_logger(self) -> logging.Logger:
        emitted = self.emitted

        class Collect(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                emitted.append(record)

        logger = logging.getLogger(f"caching.demo.{self.prefix}")
        logger.propagate = False
        logger.handlers[:] = [OnePassHandler(Collect(), self.cache, 60, namespace="local")]
        return logger
