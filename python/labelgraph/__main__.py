"""The `labelgraph` command (and `python -m labelgraph`); the commands live in labelgraph.cli."""

from __future__ import annotations

import sys

from labelgraph.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
