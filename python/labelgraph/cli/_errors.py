"""What the command line reports to the user: input errors (exit 2), missing extras (exit 3)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_BAD_INPUT = 2  # argparse uses 2 for usage errors too
EXIT_MISSING_DEPENDENCY = 3
EXIT_INTERRUPTED = 130


class InputError(Exception):
    """A problem with what the user gave: a file, an option, or their combination.

    ``main`` prints ``labelgraph <command>: <file>: <problem>`` on one line and exits with 2;
    ``path`` is the file, or the option (``--classes``) when no file is at fault.
    """

    def __init__(self, problem: str, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return f"{self.path}: {self.problem}"


class MissingDependencyError(Exception):
    """An optional package the command needs is not installed (exit 3, with the pip command)."""


def one_line(text: str) -> str:
    """Collapse whitespace so every error is a single line on stderr."""
    return " ".join(str(text).split())


def wrap_library_error(error: Exception, path: str | Path) -> InputError:
    """A labelgraph ValueError/TypeError about data read from ``path``, as an input error naming it."""
    return InputError(one_line(str(error)), path)


@contextlib.contextmanager
def about(path: str | Path) -> Iterator[None]:
    """Library argument checks (ValueError, TypeError) raised inside, as input errors naming ``path``.

    Wraps the library calls that work on data read from a user's file, so every message says which
    file it concerns (the library names its arguments, not the user's files).
    """
    try:
        yield
    except (ValueError, TypeError) as error:
        raise wrap_library_error(error, path) from None
