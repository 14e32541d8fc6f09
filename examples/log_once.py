"""An error repeated in a loop reaches the log once per minute, not every time."""

from __future__ import annotations

import logging
import sys
import uuid

from caching import from_url
from caching.patterns.onepass_handler import OnePassHandler

cache = from_url(sys.argv[1] if len(sys.argv) > 1 else "memory://")


class Remember(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


inner = Remember()  # in a service: a StreamHandler, SMTPHandler, ...
logger = logging.getLogger("example.payments")
logger.propagate = False
logger.addHandler(OnePassHandler(inner, cache, time=60))

run = uuid.uuid4().hex[:8]  # a shared cache remembers messages of earlier runs for a minute
for _ in range(100):
    logger.error("payment gateway timed out (run %s)", run)
logger.error("payment gateway refused the card (run %s)", run)
assert inner.messages == [
    f"payment gateway timed out (run {run})",
    f"payment gateway refused the card (run {run})",
]
print(f"log once: 101 errors logged, {len(inner.messages)} emitted")
