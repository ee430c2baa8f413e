"""Shared argparse pieces: a subcommand with its example, and options several commands take."""

from __future__ import annotations

import argparse
from typing import Any, Callable


def add_command(sub: Any, common: argparse.ArgumentParser, name: str, summary: str, description: str,
                examples: str, run: Callable[..., dict[str, Any]]) -> argparse.ArgumentParser:
    """A subparser whose --help ends with worked examples; ``run(args, console)`` does the work."""
    parser = sub.add_parser(name, parents=[common], help=summary, description=description,
                            epilog="examples:\n" + examples, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(run=run)
    return parser


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1; got {value}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0; got {value}")
    return value


def fraction(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1); got {value}")
    return value


def add_graph_options(parser: argparse.ArgumentParser) -> None:
    """``--k`` and ``--temperature`` for commands that build or weight a kNN graph."""
    parser.add_argument("--k", type=positive_int, default=10,
                        help="neighbours per row when the graph is built from embeddings (default 10)")
    parser.add_argument("--temperature", type=positive_float, default=0.02,
                        help="edge weight exp(similarity / T) (default 0.02)")


def add_label_options(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--labels", required=required, metavar="FILE",
                        help="labels, one per row in the order of the embeddings: .npy (ints, -1 = unlabeled; or "
                             "strings) or CSV with a header id,label (class names; empty = unlabeled)")
    parser.add_argument("--classes", metavar="FILE_OR_LIST",
                        help="the class names, in order: a file with one name a line, or a,b,c; a label outside "
                             "them is an error (default: the names found, sorted)")
