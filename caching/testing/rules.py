"""The probes of ``python -m caching check``, run by the contract suite."""

from __future__ import annotations

import pytest

from caching.contract import Cache
from caching.testing.clock import Clock
from caching.testing.probes import RULES, Rule, run_rule

__all__ = ["RuleTests"]


class RuleTests:
    """Every rule that ``python -m caching check`` probes on a live server
    holds on the backend (CONTRACT.md, each rule's section)."""

    section = "Methods"

    @pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
    def test_check_probe_holds(self, cache: Cache, clock: Clock, rule: Rule) -> None:
        outcome = run_rule(rule, cache, clock)
        assert outcome.status == "ok", f"{rule.name}: {outcome.detail}"
