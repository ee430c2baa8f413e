"""Shared argparse pieces: a subcommand with its example, one-line usage errors, options several commands take.

Options that only matter in some uses of a command (``--k`` when the graph is given as a .npz,
``--strategy`` without ``--labels``) are added with :func:`add_option`: their default is filled in
after parsing, so a command can tell whether the user gave one and reject it where it would be
ignored (:func:`reject_given`).
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any, Callable, NoReturn

from labelgraph.cli._errors import EXIT_BAD_INPUT, InputError, one_line
from labelgraph.defaults import DEFAULT_K, DEFAULT_TEMPERATURE


class Parser(argparse.ArgumentParser):
    """argparse with usage errors on one line: ``labelgraph <command>: <option>: <problem>`` (exit 2)."""

    def error(self, message: str) -> NoReturn:
        message = re.sub(r"^argument ([^:]+): ", lambda m: m.group(1).split("/")[-1] + ": ", message)
        print(f"{self.prog}: {one_line(message)} (see {self.prog} --help)", file=sys.stderr, flush=True)
        sys.exit(EXIT_BAD_INPUT)


def add_command(sub: Any, common: argparse.ArgumentParser, name: str, summary: str, description: str,
                examples: str, run: Callable[..., dict[str, Any]]) -> argparse.ArgumentParser:
    """A subparser whose --help ends with worked examples; ``run(args, console)`` does the work."""
    parser = sub.add_parser(name, parents=[common], help=summary, description=description,
                            epilog="examples:\n" + examples, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(run=run, late_defaults={})
    return parser


def add_option(parser: argparse.ArgumentParser, *flags: str, default: Any, **kwargs: Any) -> None:
    """An option whose ``default`` is filled in after parsing (see :func:`fill_defaults`)."""
    action = parser.add_argument(*flags, default=None, **kwargs)
    parser.get_default("late_defaults")[action.dest] = (default, action.option_strings[-1])


def fill_defaults(args: argparse.Namespace) -> None:
    """Record the late-default options the user gave in ``args.given``, then fill in the others."""
    late = getattr(args, "late_defaults", {})
    args.given = {dest: flag for dest, (_, flag) in late.items() if getattr(args, dest) is not None}
    for dest, (default, _) in late.items():
        if getattr(args, dest) is None:
            setattr(args, dest, default)


def reject_given(args: argparse.Namespace, dests: tuple[str, ...], reason: str) -> None:
    """An input error naming the first of ``dests`` the user gave: it would be ignored (``reason`` says why)."""
    for dest in dests:
        if dest in args.given:
            raise InputError(reason, args.given[dest])


def _number(text: str, kind: type, what: str) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}; got {text!r}") from None


def positive_int(text: str) -> int:
    value = _number(text, int, "an integer >= 1")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1; got {value}")
    return value


def non_negative_int(text: str) -> int:
    value = _number(text, int, "an integer >= 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0; got {value}")
    return value


def positive_float(text: str) -> float:
    value = _number(text, float, "a number > 0")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0; got {value}")
    return value


def temperature_arg(text: str) -> float | str:
    """``auto`` (chosen from the graph, see labelgraph.temperature) or a finite number > 0."""
    return "auto" if text.strip().lower() == "auto" else positive_float(text)


def fraction(text: str) -> float:
    value = _number(text, float, "a number in (0, 1)")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1); got {value}")
    return value


def add_graph_options(parser: argparse.ArgumentParser, *, temperature: bool = True) -> None:
    """``--k`` (and ``--temperature``) for commands that build or weight a kNN graph."""
    add_option(parser, "--k", type=positive_int, default=DEFAULT_K,
               help=f"neighbours per row when the graph is built from embeddings (default {DEFAULT_K})")
    if temperature:
        add_option(parser, "--temperature", type=temperature_arg, default=DEFAULT_TEMPERATURE, metavar="T",
                   help="edge weight exp(similarity / T): a number > 0, or 'auto' (chosen from the graph's "
                        f"similarities, without labels) (default {DEFAULT_TEMPERATURE})")


def add_random_state(parser: argparse.ArgumentParser, what: str) -> None:
    """``--random-state``: the seed of ``what`` (scikit-learn's name; the API's ``random_state``)."""
    add_option(parser, "--random-state", type=non_negative_int, default=0, metavar="SEED",
               help=f"seed of {what} (default 0)")


def add_max_iter(parser: argparse.ArgumentParser, default: int, what: str = "propagation steps") -> None:
    """``--max-iter``: the iteration cap (scikit-learn's name; the API's ``max_iter``)."""
    add_option(parser, "--max-iter", type=positive_int, default=default, help=f"most {what} (default {default})")


def add_label_options(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--labels", required=required, metavar="FILE",
                        help="labels, one per row in the order of the embeddings: .npy (ints, -1 = unlabeled; or "
                             "strings) or CSV with a header id,label (class names; empty = unlabeled)")
    parser.add_argument("--classes", metavar="FILE_OR_LIST",
                        help="the class names, in order: an existing file with one name a line, or a comma-separated "
                             "list a,b,c (one class: a,); a label outside them is an error (default: the names "
                             "found, sorted)")
