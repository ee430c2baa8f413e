"""The `labelgraph` command (and `python -m labelgraph`); the commands live in labelgraph.cli."""

from __future__ import annotations

import sys

EXIT_INTERRUPTED = 130  # as labelgraph.cli._errors, restated so nothing is imported before the guard


def main(argv: list[str] | None = None) -> int:
    """Run the command line; Ctrl-C at any point, imports included, exits 130 with one line.

    The command modules (numpy, scipy, the workflows) are imported here, inside the guard, not at
    the top of this module; ``labelgraph.cli.main`` catches interrupts while a command runs.
    """
    try:
        from labelgraph.cli import main as cli_main

        return cli_main(argv)
    except KeyboardInterrupt:
        print("labelgraph: interrupted", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED


__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
