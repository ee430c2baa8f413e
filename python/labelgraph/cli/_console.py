"""What a command shows while it runs: messages on stdout, notices and progress bars (tqdm) on stderr."""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Callable, Iterator

from tqdm import tqdm


class Console:
    """Messages on stdout (none with ``--quiet`` or ``--json``), progress bars on stderr.

    Bars show only on a terminal (tqdm's ``disable=None``) and never with ``--quiet``, so logs
    and pipes stay clean; with ``--json`` stdout carries nothing but the summary.
    """

    def __init__(self, quiet: bool = False, json_summary: bool = False) -> None:
        self.quiet = quiet
        self.json_summary = json_summary

    def info(self, message: str) -> None:
        if not (self.quiet or self.json_summary):
            print(message, flush=True)

    def notice(self, message: str) -> None:
        """One-line notice on stderr (policy fallbacks the user should know about); hidden by --quiet."""
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)

    def bar(self, total: float, desc: str, unit: str = "it") -> tqdm:
        return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False, dynamic_ncols=True,
                    disable=True if self.quiet else None)

    @contextlib.contextmanager
    def fraction_bar(self, desc: str) -> Iterator[Callable[[float], None]]:
        """A 0-100% bar driven by a ``progress(fraction)`` callback (the kNN kernel's)."""
        with self.bar(100, desc, unit="%") as bar:
            def update(fraction: float) -> None:
                bar.update(round(100 * fraction) - bar.n)
            yield update

    def iterate(self, items: Any, desc: str, total: int | None = None, unit: str = "it") -> Iterator[Any]:
        with self.bar(total if total is not None else len(items), desc, unit) as bar:
            for item in items:
                yield item
                bar.update(1)
