"""Exit statuses of the command line and the one error it reports."""

from __future__ import annotations

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_UNREACHABLE", "EXIT_USAGE", "CliError"]

#: Every demo step or contract rule behaved as expected.
EXIT_OK = 0
#: A demo step or a contract rule did not.
EXIT_FAILED = 1
#: Bad arguments or a bad cache URL (argparse's status).
EXIT_USAGE = 2
#: The cache server cannot be reached.
EXIT_UNREACHABLE = 3


class CliError(Exception):
    """A failure the command line reports as one line and an exit status.

    :param message: the line to print (without the command's name).
    :param status: the exit status, one of the ``EXIT_*`` constants.
    """

    def __init__(self, message: str, status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.status = status
