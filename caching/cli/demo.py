"""``python -m caching demo``: the demo shop run as a scripted scenario.

Five steps, each printed with what it expects and what happened: read-through
caching with ``@cached``, group invalidation with ``CacheDependency``, a
thundering herd tamed by ``get_or_create``, a sign-in lockout, and logging
once per period with ``OnePassHandler``. On the embedded default
(``memory://``) no server is needed; ``--url memcached://host:port`` runs the
same scenario on memcached. Exit status 0 when every step behaved, 1 when one
did not, 3 when the server cannot be reached.
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from caching.cli.connect import DEFAULT_URL, open_reached
from caching.cli.errors import EXIT_FAILED, EXIT_OK
from caching.cli.service import Catalog, Shop, SignInRequest

__all__ = ["STEPS", "Step", "add_parser", "run", "run_scenario"]

#: Concurrent requests for the daily report, and the seconds it takes to build.
HERD = 20
BUILD_SECONDS = 0.2


@dataclass
class Step:
    """One step of the scenario: what it printed and what went wrong."""

    title: str
    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        """Add a line to the report."""
        self.lines.append(line)

    def expect(self, holds: bool, what: str) -> None:
        """Record ``what`` as a failure unless ``holds``."""
        if not holds:
            self.failures.append(what)


def _ms(seconds: float) -> str:
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    return f"{seconds * 1000:.1f} ms"


def read_through(shop: Shop, step: Step) -> None:
    """``@cached`` product reads: one catalog read, then hits."""
    reads = shop.catalog.reads
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        product = shop.product(1)
        timings.append(time.perf_counter() - started)
    loads = shop.catalog.reads - reads
    step.say(f"product(1) asked 3 times: {loads} catalog read, {3 - loads} cache hits")
    step.say(f"first call {_ms(timings[0])} (catalog), then {_ms(min(timings[1:]))} (cache)")
    step.expect(loads == 1, f"expected 1 catalog read, saw {loads}")
    step.expect(product is not None and product["name"] == "Green tea", f"got {product!r}")


def invalidation(shop: Shop, step: Step) -> None:
    """Listings tied to one dependency key; a price change drops them all."""
    reads = shop.catalog.reads
    for _ in range(2):
        shop.category("tea")
        shop.category("coffee")
    loads = shop.catalog.reads - reads
    step.say(f"2 listings asked twice each: {loads} catalog reads")
    step.expect(loads == 2, f"expected 2 catalog reads, saw {loads}")
    shop.update_price(1, 5.2)
    reads = shop.catalog.reads
    tea, product = shop.category("tea"), shop.product(1)
    coffee_cached = shop.cache.get(f"{shop.prefix}category:coffee") is None
    loads = shop.catalog.reads - reads
    step.say(f"update_price(1, 5.2) invalidated product 1 and every listing: {loads} re-reads")
    prices = {p["price"] for p in tea if p["id"] == 1}
    price = product["price"] if product else None
    step.say(f"product(1) now costs {price}; the tea listing shows {sorted(prices)}")
    step.expect(loads == 2, f"expected 2 re-reads after the update, saw {loads}")
    step.expect(prices == {5.2}, f"the tea listing shows stale prices {prices}")
    step.expect(product is not None and product["price"] == 5.2, f"product(1) is {product!r}")
    step.expect(coffee_cached, "the coffee listing survived the invalidation")


def thundering_herd(shop: Shop, step: Step) -> None:
    """``HERD`` threads ask for one expensive report at once."""
    builds = []

    def build() -> dict[str, Any]:
        builds.append(threading.get_ident())
        time.sleep(BUILD_SECONDS)
        return {"orders": 1280, "revenue": 51234.5}

    barrier = threading.Barrier(HERD)
    answers: list[tuple[int, float, Any]] = []

    def request() -> None:
        barrier.wait()
        started = time.perf_counter()
        report = shop.daily_report(build)
        answers.append((threading.get_ident(), time.perf_counter() - started, report))

    threads = [threading.Thread(target=request) for _ in range(HERD)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    waits = sorted(latency for ident, latency, _ in answers if ident not in builds) or [0.0]
    served = sum(report is not None for _, _, report in answers)
    times = "time" if len(builds) == 1 else "times"
    step.say(
        f"{HERD} concurrent requests for the daily report: creator called {len(builds)} {times}"
    )
    step.say(
        f"building takes {_ms(BUILD_SECONDS)}; the other {HERD - len(builds)} requests got "
        f"the report after {_ms(waits[0])} .. {_ms(waits[-1])}"
    )
    step.expect(len(builds) == 1, f"the report was built {len(builds)} times")
    step.expect(served == HERD, f"only {served} of {HERD} requests got the report")


def lockout(shop: Shop, step: Step) -> None:
    """Failed sign-ins lock a user out; a success resets the count."""

    def attempts(user: str, *passwords: str) -> list[Any]:
        return [shop.sign_in(SignInRequest(user, password)) for password in passwords]

    alice = attempts("alice", "x", "y", "wonderland", "x", "y", "wonderland")
    step.say(f"alice: 2 failures, success, 2 failures, success -> {alice}")
    step.expect(alice == [False, False, True, False, False, True], "a success did not reset")
    bob = attempts("bob", "1", "2", "3", "builder")
    step.say(f"bob: 3 failures, then the right password -> {bob}")
    step.say(f"alerts raised: {shop.alerts}")
    step.expect(bob == [False, False, False, "locked"], "bob was not locked out")
    step.expect(shop.alerts == ["bob"], f"expected one alert for bob, got {shop.alerts}")


def log_once(shop: Shop, step: Step) -> None:
    """Identical errors are emitted once per period."""
    for order in range(50):
        shop.log.error("payment gateway timed out", extra={"order": order})
    shop.log.error("inventory service unreachable")
    messages = [record.getMessage() for record in shop.emitted]
    step.say(f"51 errors logged (50 identical): {len(messages)} emitted: {messages}")
    expected = ["payment gateway timed out", "inventory service unreachable"]
    step.expect(messages == expected, f"expected {expected}")


STEPS: list[tuple[str, Callable[[Shop, Step], None]]] = [
    ("read-through cache (@cached, shared tier)", read_through),
    ("group invalidation (CacheDependency)", invalidation),
    ("thundering herd (get_or_create)", thundering_herd),
    ("sign-in lockout (Locker)", lockout),
    ("log once per period (OnePassHandler, local tier)", log_once),
]


def run_scenario(shop: Shop) -> list[Step]:
    """Run every step of :data:`STEPS` on ``shop``; a step that raises fails."""
    steps = []
    for title, play in STEPS:
        step = Step(title)
        try:
            play(shop, step)
        except Exception as exc:
            step.failures.append(f"raised {type(exc).__name__}: {exc}")
        steps.append(step)
    return steps


def run(args: argparse.Namespace) -> int:
    """Run the scenario on ``args.url`` and print the report."""
    shared, reached = open_reached(args.url)
    shop = Shop(shared, Catalog(), prefix=f"demo:{uuid.uuid4().hex[:8]}:")
    print(f"caching demo: shared tier {args.url}, local tier memory:// (in-process)")
    print(f"ping: {reached}")
    started = time.perf_counter()
    steps = run_scenario(shop)
    for number, step in enumerate(steps, 1):
        print(f"\n{number}. {step.title}: {'FAILED' if step.failures else 'ok'}")
        for line in step.lines:
            print(f"   {line}")
        for failure in step.failures:
            print(f"   FAILED: {failure}")
    failed = [step.title for step in steps if step.failures]
    took = time.perf_counter() - started
    if failed:
        print(f"\n{len(failed)} of {len(steps)} steps misbehaved ({took:.1f} s)")
        return EXIT_FAILED
    print(f"\nall {len(steps)} steps behaved as expected ({took:.1f} s)")
    return EXIT_OK


def add_parser(commands: Any) -> None:
    """Add the ``demo`` command to the ``python -m caching`` parser."""
    parser = commands.add_parser(
        "demo", help="run the demo service's scenario", description=__doc__
    )
    parser.add_argument("--url", default=DEFAULT_URL, help=f"cache URL (default {DEFAULT_URL})")
    parser.set_defaults(run=run)
