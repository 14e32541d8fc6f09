"""The command line: ``python -m caching demo|bench|check|stats``.

Standard library only. Exit status: ``0`` all good, ``1`` a demo step or a
contract rule failed, ``2`` bad arguments or URL, ``3`` the cache server
cannot be reached. Every error is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from caching import __version__
from caching.cli import bench, check, demo, stats
from caching.cli.errors import EXIT_FAILED, EXIT_USAGE, CliError

__all__ = ["build_parser", "main"]

_COMMANDS = (demo, bench, check, stats)


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m caching`` parser, one sub-command per module of
    :mod:`caching.cli` (each adds itself with its ``add_parser``)."""
    parser = _Parser(
        prog="python -m caching",
        description="Run the demo service, benchmark a backend, or check a server "
        "against the cache contract.",
    )
    parser.add_argument("--version", action="version", version=f"caching {__version__}")
    commands = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", parser_class=_Parser
    )
    commands.required = True
    for command in _COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command.

    :param argv: the arguments after the program name; ``None`` reads
        ``sys.argv``.
    :returns: the exit status (see the module docstring).
    """
    args = build_parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except CliError as exc:
        print(f"caching {args.command}: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print(f"caching {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line, never a traceback
        print(f"caching {args.command}: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return status
