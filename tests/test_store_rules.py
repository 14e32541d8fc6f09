"""memcached's storage decision (caching.store_rules), every case."""

from __future__ import annotations

import itertools

import pytest

from caching.store_rules import ADD, REPLACE, SET, Decision, store_decision

CASES = list(itertools.product((SET, ADD, REPLACE), (False, True), (False, True), (False, True)))


@pytest.mark.parametrize(("mode", "live", "fits", "expired"), CASES)
def test_store_decision_as_memcached(mode: str, live: bool, fits: bool, expired: bool) -> None:
    decision = store_decision(mode, live, fits, expired)
    if (mode == ADD and live) or (mode == REPLACE and not live):  # NOT_STORED
        # (memcached answers SERVER_ERROR for an oversized one: False, the old
        # item kept all the same)
        assert decision is Decision.KEEP
    elif not fits:  # SERVER_ERROR object too large: a set also unlinks the old item
        assert decision is (Decision.REFUSE if mode == SET else Decision.REFUSE_KEEP)
    else:  # STORED, unreadable at once when its time has passed
        assert decision is (Decision.EXPIRE if expired else Decision.STORE)


@pytest.mark.parametrize(
    ("decision", "stored", "drops_old"),
    [
        (Decision.STORE, True, False),
        (Decision.EXPIRE, True, True),
        (Decision.KEEP, False, False),
        (Decision.REFUSE, False, True),
        (Decision.REFUSE_KEEP, False, False),
    ],
)
def test_what_each_decision_answers(decision: Decision, stored: bool, drops_old: bool) -> None:
    assert decision.stored is stored
    assert decision.drops_old is drops_old
