"""What the command line reports to the user: input errors (exit 2), missing extras (exit 3)."""

from __future__ import annotations

import os
from pathlib import Path

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_BAD_INPUT = 2  # argparse uses 2 for usage errors too
EXIT_MISSING_DEPENDENCY = 3
EXIT_INTERRUPTED = 130


class InputError(Exception):
    """A problem with what the user gave: a file, an option, or their combination.

    ``main`` prints ``labelgraph <command>: <file>: <problem>`` on one line and exits with 2.
    """

    def __init__(self, problem: str, path: str | os.PathLike[str] | None = None) -> None:
        self.path = None if path is None else str(path)
        self.problem = problem
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return self.problem if self.path is None else f"{self.path}: {self.problem}"


class MissingDependencyError(Exception):
    """An optional package the command needs is not installed (exit 3, with the pip command)."""


def one_line(text: str) -> str:
    """Collapse whitespace so every error is a single line on stderr."""
    return " ".join(str(text).split())


def wrap_library_error(error: Exception, path: str | Path | None) -> InputError:
    """A labelgraph ValueError/TypeError about data read from ``path``, as an input error naming it."""
    return InputError(one_line(str(error)), path)
