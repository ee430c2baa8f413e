"""The ``labelgraph`` command: one module per subcommand; this file builds the parser and maps errors to exit codes.

Exit codes: 0 ok, 1 unexpected error (a bug: set LABELGRAPH_DEBUG=1 for the traceback), 2 bad input
(a one-line ``labelgraph <command>: <file or option>: <problem>`` on stderr), 3 an optional package is
missing, 130 interrupted (one line; ``labelgraph.__main__`` also covers Ctrl-C during the imports).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from typing import Any

from labelgraph.cli import audit, bench, demo, embed, graph, propagate, select, serve, simulate
from labelgraph.cli._args import Parser, fill_defaults
from labelgraph.cli._console import Console
from labelgraph.cli._errors import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_MISSING_DEPENDENCY,
    EXIT_OK,
    EXIT_UNEXPECTED,
    InputError,
    MissingDependencyError,
    one_line,
)

COMMANDS = (demo, embed, graph, propagate, select, audit, simulate, bench, serve)

_EPILOG = """exit codes: 0 ok, 1 unexpected error (LABELGRAPH_DEBUG=1 shows the traceback), 2 bad input,
3 missing optional package, 130 interrupted. Every command takes --quiet and --json (one JSON summary on stdout).

first run:  labelgraph demo            (the whole method on real data, writes a report folder)"""


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``labelgraph`` and its subcommands."""
    common = Parser(add_help=False)
    common.add_argument("--quiet", "-q", action="store_true", help="no messages and no progress bars")
    common.add_argument("--json", action="store_true", help="print one JSON summary on stdout (nothing else)")
    parser = Parser(prog="labelgraph", description="Label-efficient data curation on kNN graphs.",
                                     epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (see the module docstring)."""
    args = build_parser().parse_args(argv)
    fill_defaults(args)
    console = Console(quiet=args.quiet, json_summary=args.json)
    name = args.command
    try:
        summary: dict[str, Any] = args.run(args, console)
    except InputError as error:
        return _fail(name, error.message, EXIT_BAD_INPUT)
    except (ValueError, TypeError) as error:  # a library check on the user's input that no command wrapped
        if os.environ.get("LABELGRAPH_DEBUG"):
            traceback.print_exc()
        return _fail(name, str(error), EXIT_BAD_INPUT)
    except MissingDependencyError as error:
        return _fail(name, str(error), EXIT_MISSING_DEPENDENCY)
    except KeyboardInterrupt:
        return _fail(name, "interrupted", EXIT_INTERRUPTED)
    except Exception as error:  # noqa: BLE001 - the last resort: say it is a bug, keep the traceback one env var away
        if os.environ.get("LABELGRAPH_DEBUG"):
            traceback.print_exc()
        return _fail(name, f"unexpected error: {type(error).__name__}: {error} "
                           "(set LABELGRAPH_DEBUG=1 for the traceback and please report it)", EXIT_UNEXPECTED)
    if args.json:
        print(json.dumps({"command": name, **summary}, default=_plain))
    return EXIT_OK


def _fail(command: str, message: str, code: int) -> int:
    print(f"labelgraph {command}: {one_line(message)}", file=sys.stderr, flush=True)
    return code


def _plain(value: Any) -> Any:
    """numpy scalars and paths in summaries."""
    if hasattr(value, "item"):
        return value.item()
    return str(value)
