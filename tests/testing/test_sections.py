"""CONTRACT.md, the contract suite and ``check``'s probes name the same sections."""

from __future__ import annotations

import re
from pathlib import Path

from caching.testing.probes import RULES
from caching.testing.suite import SECTIONS, ContractTests

CONTRACT = Path(__file__).parents[2] / "docs" / "CONTRACT.md"

#: Sections whose rules need a server that fails or several servers: tested by
#: tests/adapters (test_faults.py, test_multi_server.py), not by the suite.
SERVER_ONLY = {"Failures", "Multi-server"}


def _sections() -> set[str]:
    """The first word of each ``## `` heading of CONTRACT.md."""
    headings = re.findall(r"^## (\S+)", CONTRACT.read_text(encoding="utf-8"), re.MULTILINE)
    return set(headings)


def test_every_suite_class_and_probe_names_a_section_of_the_contract() -> None:
    sections = _sections()
    assert {part.section for part in SECTIONS} <= sections
    assert {rule.section for rule in RULES} <= sections


def test_the_suite_covers_every_section_a_single_backend_can_show() -> None:
    covered = {part.section for part in SECTIONS}
    assert covered == _sections() - SERVER_ONLY


def test_every_contract_test_belongs_to_a_section() -> None:
    tests = {name for name in dir(ContractTests) if name.startswith("test_")}
    assert tests
    assert tests == {name for part in SECTIONS for name in vars(part) if name.startswith("test_")}
