"""The command frame: help everywhere, one clear line for bad arguments.

The argument matrix runs in-process through :func:`caching.cli.main`; a few
cases also run as real subprocesses to prove that no traceback escapes.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from caching.cli import main
from tests.cli.runner import caching_cli, one_line_error

COMMANDS = ["demo", "bench", "check"]


def _main(args: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        status = main(args)
    except SystemExit as exc:  # argparse exits on --help and on bad arguments
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _main([command, "--help"], capsys)
    assert status == 0
    assert out.startswith(f"usage: python -m caching {command}")


def test_top_level_help_lists_the_commands() -> None:
    result = caching_cli("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["serve"], "invalid choice: 'serve'"),
        (["check"], "the following arguments are required: url"),
        (["bench", "--ops", "0"], "expected a positive number of operations, got '0'"),
        (["bench", "--ops", "many"], "expected a positive number of operations, got 'many'"),
        (["bench", "--nope"], "unrecognized arguments: --nope"),
    ],
)
def test_bad_arguments_get_one_line_and_status_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = _main(args, capsys)
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1
    assert message in err
    assert err.rstrip().endswith("(see --help)")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://localhost", "unknown cache URL scheme in 'redis://localhost'"),
        ("memory://?max_items=lots", "bad value for option 'max_items'"),
        ("memcached://127.0.0.1:99999", "bad port '99999'"),
    ],
)
@pytest.mark.parametrize("command", COMMANDS)
def test_bad_url_gets_one_line_and_status_2(
    command: str, url: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [command, url] if command == "check" else [command, "--url", url]
    status, out, err = _main(args, capsys)
    assert status == 2
    assert out == ""
    assert err.startswith(f"caching {command}: ")
    assert err.count("\n") == 1
    assert message in err


@pytest.mark.parametrize(
    "args", [["bench", "--ops", "-1"], ["check", "memcached://127.0.0.1:99999"]]
)
def test_a_real_process_prints_one_line_and_no_traceback(args: list[str]) -> None:
    result = caching_cli(*args)
    assert result.returncode == 2
    assert one_line_error(result).startswith(("python -m caching bench: error:", "caching check:"))
