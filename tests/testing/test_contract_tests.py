"""``caching.testing.ContractTests`` run as a user runs it, on a backend of their own.

Each test writes a test module and the toy backends of ``tests/testing/toy.py``
into a fresh directory outside the repository (pytest's ``pytester``) and runs
pytest there in a subprocess, with none of this repository's configuration:
the correct toy passes the whole suite, each toy that breaks one rule fails
the tests of that rule, and a subclass without a ``cache`` fixture is told
what is missing.
"""

from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

import caching
from caching.testing import suite
from caching.testing.keys import CALLS

pytest_plugins = ["pytester"]

TOY = Path(__file__).with_name("toy.py")

#: A user's test module: the whole suite on ``{backend}`` from ``toy.py``, on
#: frozen time so that the expiry tests tick instead of sleeping.
SUITE_ON = """\
import time
from collections.abc import Iterator

import pytest
from freezegun import freeze_time

from caching.testing import Clock, ContractTests
from toy import {backend}


class Test{backend}(ContractTests):
    @pytest.fixture
    def cache(self) -> {backend}:
        return {backend}()

    @pytest.fixture
    def clock(self) -> Iterator[Clock]:
        with freeze_time("2026-11-21 12:00:00.25") as frozen:
            yield Clock(now=time.time, advance=lambda seconds: frozen.tick(seconds), frozen=True)
"""

#: A user's test module that forgets the ``cache`` fixture.
WITHOUT_CACHE = """\
from caching.testing import ContractTests


class TestForgetful(ContractTests):
    pass
"""

FORGOTTEN = "TestForgetful needs a `cache` fixture returning the backend to test"

_STATUS = {"error": "error", "failure": "failed", "skipped": "skipped"}


@dataclass(frozen=True)
class Case:
    """One test of a sub-run, from its JUnit XML report."""

    status: str  # passed, failed, error or skipped
    text: str  # the failure's or error's message and report ("" when passed)


@dataclass(frozen=True)
class SubRun:
    """A pytest run in the pytester directory: its output and each test, by name."""

    result: pytest.RunResult
    cases: dict[str, Case]

    def named(self, status: str) -> set[str]:
        return {name for name, case in self.cases.items() if case.status == status}


def _cases(report: Path) -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for testcase in ET.parse(report).getroot().iter("testcase"):
        name = testcase.get("name", "")
        assert name not in cases, f"{name} reported twice"
        outcomes = [child for child in testcase if child.tag in _STATUS]
        # an error (setup, teardown) outranks a failure, which outranks a skip
        outcomes.sort(key=lambda child: list(_STATUS).index(child.tag))
        if outcomes:
            first = outcomes[0]
            text = f"{first.get('message', '')}\n{first.text or ''}"
            cases[name] = Case(_STATUS[first.tag], text)
        else:
            cases[name] = Case("passed", "")
    return cases


def run_module(pytester: pytest.Pytester, source: str) -> SubRun:
    """Run pytest on ``source`` (a test module) next to a copy of ``toy.py``.

    The directory has an ini file of its own (warnings are errors, as here),
    so nothing of this repository's configuration (xdist, doctests, import
    mode) reaches the run.
    """
    pytester.makeini("[pytest]\nfilterwarnings =\n    error\n")
    pytester.makepyfile(toy=TOY.read_text(encoding="utf-8"), test_backend=source)
    report = pytester.path / "report.xml"
    result = pytester.runpytest_subprocess(
        "-p", "no:xdist", "-p", "no:cacheprovider", "-rfE", f"--junitxml={report}", timeout=60
    )
    return SubRun(result, _cases(report))


def contract_test_count() -> int:
    """How many tests ``ContractTests`` holds, counted from its methods and
    their ``parametrize`` marks (not from a pytest run)."""
    count = 0
    for name in dir(suite.ContractTests):
        if name.startswith("test"):
            marks = getattr(getattr(suite.ContractTests, name), "pytestmark", [])
            count += math.prod(len(mark.args[1]) for mark in marks if mark.name == "parametrize")
    return count


@pytest.fixture(autouse=True)
def _same_caching(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sub-runs import the ``caching`` this run imported, wherever it is installed."""
    here = str(Path(caching.__file__).parents[1])
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
    )


def test_correct_toy_passes_the_whole_suite(pytester: pytest.Pytester) -> None:
    run = run_module(pytester, SUITE_ON.format(backend="ToyCache"))
    expected = contract_test_count()
    run.result.stdout.fnmatch_lines([f"collected {expected} items"])
    assert run.result.parseoutcomes() == {"passed": expected}, run.result.stdout.str()
    assert run.result.ret == pytest.ExitCode.OK
    assert len(run.cases) == expected
    assert run.named("passed") == set(run.cases)


def _invalid_key_tests(*keys: str | bytes) -> set[str]:
    test = "test_invalid_key_raises_before_anything_happens"
    return {f"{test}[{key!r}-{call}]" for key in keys for call in CALLS}


#: Each broken toy of toy.py, and tests of the rule it breaks that must fail.
BROKEN: dict[str, set[str]] = {
    "AddOverwrites": {
        "test_add_stores_only_when_missing",
        "test_a_stored_none_is_an_item",
        "test_exactly_one_concurrent_add_wins",
        "test_check_probe_holds[add/replace]",
    },
    "DeleteAlwaysTrue": {
        "test_delete_reports_whether_an_item_was_removed",
        "test_check_probe_holds[delete]",
    },
    "IncrNoWrap": {
        "test_incr_wraps_at_2_to_the_64",
        "test_check_probe_holds[counters]",
    },
    "GetMultiByBytes": {
        "test_get_multi_keys_results_as_the_caller_gave_them",
        "test_get_multi_returns_only_the_keys_found",
        "test_check_probe_holds[multi-key]",
    },
    "KeepsAnyTime": {
        "test_time_memcached_cannot_keep_raises_value_error_and_stores_nothing[2**31]",
        "test_time_memcached_cannot_keep_raises_value_error_and_stores_nothing[2**64]",
        "test_check_probe_holds[expiry]",
    },
    "NoKeyCheck": {
        *_invalid_key_tests("a b", "a" * 251, b"b" * 251),
        "test_injected_command_creates_nothing",
        "test_check_probe_holds[key rules]",
    },
}


@pytest.mark.parametrize("backend", BROKEN)
def test_toy_breaking_one_rule_fails_that_rules_tests(
    pytester: pytest.Pytester, backend: str
) -> None:
    run = run_module(pytester, SUITE_ON.format(backend=backend))
    assert run.result.ret == pytest.ExitCode.TESTS_FAILED
    assert len(run.cases) == contract_test_count()
    failed = run.named("failed")
    assert BROKEN[backend] <= failed, sorted(BROKEN[backend] - failed)
    assert run.result.parseoutcomes() == {
        "failed": len(failed),
        "passed": len(run.cases) - len(failed),
    }
    # the break is one rule: the rest of the contract still holds
    assert {"test_set_stores_and_overwrites", "test_get_misses_with_none"} <= run.named("passed")


def test_subclass_without_a_cache_fixture_is_told_what_is_missing(
    pytester: pytest.Pytester,
) -> None:
    run = run_module(pytester, WITHOUT_CACHE)
    expected = contract_test_count()
    assert run.result.ret == pytest.ExitCode.TESTS_FAILED
    assert run.result.parseoutcomes() == {"errors": expected}
    assert len(run.cases) == expected
    assert all(case.status == "error" and FORGOTTEN in case.text for case in run.cases.values())
    # the message alone, no traceback: what the error report shows under each test
    run.result.stdout.fnmatch_lines(
        ["*_ ERROR at setup of TestForgetful.test_get_misses_with_none _*", FORGOTTEN],
        consecutive=True,
    )
