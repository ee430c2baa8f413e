"""`labelgraph serve`: a Label Studio ML backend on an embeddings file (live pseudo-labels, active-learning order)."""

from __future__ import annotations

import argparse
import importlib.util
import os
from pathlib import Path
from typing import Any

from labelgraph.cli import _io
from labelgraph.cli._args import add_command, add_graph_options, add_random_state, positive_int
from labelgraph.cli._console import Console
from labelgraph.cli._errors import InputError, MissingDependencyError, about

EXAMPLES = """  labelgraph serve embeddings.npy --journal labels.sqlite                 # http://127.0.0.1:9090, connect it in Label Studio
  labelgraph serve embeddings.npy --journal labels.sqlite --label-studio-url http://127.0.0.1:8080 --project 1 --resync
      (token from $LABEL_STUDIO_API_KEY: pushes predictions, and reads annotations missed while down)
  LABELGRAPH_SERVE_BASIC_AUTH=user:secret labelgraph serve embeddings.npy --journal labels.sqlite
tasks name their row of the embeddings in a data field (default "row": {"data": {"row": 17, ...}})
"""


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(sub, common, "serve", "Label Studio ML backend: live pseudo-labels + what to label next",
                         "Serves Label Studio's ML-backend API (/health, /setup, /predict, /webhook) on a kNN graph of "
                         "the embeddings. Each annotation webhook is committed to a SQLite journal and updates the "
                         "propagation incrementally; predictions carry the pseudo-label and a score that sorts the "
                         "tasks to label next first. Needs the serve extra: pip install 'labelgraph[serve]'.",
                         EXAMPLES, run)
    parser.add_argument("embeddings", help="[n, d] float .npy; task t is row t.data[--task-field]")
    parser.add_argument("--journal", required=True, metavar="FILE",
                        help="SQLite journal of the annotations (created if missing; the kNN graph is cached beside it)")
    parser.add_argument("--task-field", default="row", metavar="NAME", help="task data field holding the row (default row)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; 0.0.0.0 exposes it)")
    parser.add_argument("--port", type=int, default=9090, help="port (default 9090)")
    parser.add_argument("--label-config", metavar="FILE",
                        help="the project's labelling config (XML); default: the one Label Studio sends to /setup")
    parser.add_argument("--queue-size", type=positive_int, default=100, metavar="N",
                        help="tasks ranked first by score: the active-learning order (default 100)")
    parser.add_argument("--max-body-bytes", type=positive_int, default=8 * 1024 * 1024, metavar="BYTES",
                        help="larger requests get 413 (default 8 MiB)")
    parser.add_argument("--label-studio-url", metavar="URL", help="push predictions to this Label Studio")
    parser.add_argument("--project", type=positive_int, metavar="ID", help="the Label Studio project (with --label-studio-url)")
    parser.add_argument("--resync", action="store_true",
                        help="at start, read the project's annotations from Label Studio (webhooks sent while down)")
    parser.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    add_graph_options(parser)
    add_random_state(parser, "the k-means of the cold-start order (TypiClust)")
    parser.epilog += ("\nsecrets come from the environment: LABELGRAPH_SERVE_BASIC_AUTH=user:password (Label Studio's "
                      "ML-backend basic auth), LABELGRAPH_SERVE_TOKEN (Authorization: Bearer, e.g. as a webhook header), "
                      "LABEL_STUDIO_API_KEY (a personal access token, for pushing)")


def _needs_extra() -> None:
    missing = [m for m in ("starlette", "uvicorn", "httpx2") if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingDependencyError(f"labelgraph serve needs {', '.join(missing)}: pip install 'labelgraph[serve]'")


def run(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    _needs_extra()
    from labelgraph.serve.config import ServeConfig
    from labelgraph.serve.server import serve

    X = _io.load_embeddings(args.embeddings)
    journal = Path(args.journal)
    if not journal.parent.is_dir():
        raise InputError("its folder does not exist", journal)
    label_config = None
    if args.label_config is not None:
        path = _io.existing_file(args.label_config)
        label_config = path.read_text(encoding="utf-8", errors="replace")
        from labelgraph.serve.label_config import parse_label_config
        with about(path):
            parse_label_config(label_config)
    token = os.environ.get("LABEL_STUDIO_API_KEY") or None
    if args.label_studio_url is not None and token is None:
        raise InputError("pushing to Label Studio needs its API token in $LABEL_STUDIO_API_KEY "
                         "(a personal access token: Account & Settings in Label Studio)", "--label-studio-url")
    with about("serve options"):
        config = ServeConfig(embeddings=Path(args.embeddings), journal=journal, task_field=args.task_field, k=args.k,
                             temperature=args.temperature, host=args.host, port=args.port,
                             basic_auth=os.environ.get("LABELGRAPH_SERVE_BASIC_AUTH") or None,
                             token=os.environ.get("LABELGRAPH_SERVE_TOKEN") or None,
                             max_body_bytes=args.max_body_bytes, queue_size=args.queue_size,
                             label_studio_url=args.label_studio_url,
                             label_studio_token=token if args.label_studio_url else None, project=args.project,
                             resync=args.resync, random_state=args.random_state).checked()
    from labelgraph.serve.backend import MODEL_VERSION
    console.info(f"labelgraph serve: {X.shape[0]} rows, journal {journal}, on http://{config.host}:{config.port}, "
                 f"model version {MODEL_VERSION}")
    with about(args.embeddings):
        serve(config, label_config=label_config, embeddings=X, log_level=args.log_level)
    return {"stopped": True}
