"""labelgraph as a Label Studio ML backend (`labelgraph serve`): live pseudo-labels and an active-learning order.

Needs the ``serve`` extra (``pip install "labelgraph[serve]"``: Starlette, uvicorn, httpx2).
Layers: :mod:`~labelgraph.serve.model` (the session and its snapshots) and
:mod:`~labelgraph.serve.journal` know nothing of HTTP; :mod:`~labelgraph.serve.backend` does
what each endpoint means; :mod:`~labelgraph.serve.app` is the HTTP layer;
:mod:`~labelgraph.serve.push` talks to Label Studio. See docs/label_studio.md.
"""

from __future__ import annotations

from labelgraph.serve.config import ServeConfig
from labelgraph.serve.journal import AnnotationEvent, Journal
from labelgraph.serve.label_config import ChoicesControl, parse_label_config
from labelgraph.serve.model import LabelModel, Snapshot

__all__ = ["AnnotationEvent", "Backend", "ChoicesControl", "Journal", "LabelModel", "ServeConfig", "Snapshot",
           "create_app", "parse_label_config", "serve", "start_backend"]


def __getattr__(name: str) -> object:
    # The parts that import Starlette / httpx2 load on first use, so the core works without the extra.
    if name == "Backend":
        from labelgraph.serve.backend import Backend
        return Backend
    if name == "create_app":
        from labelgraph.serve.app import create_app
        return create_app
    if name in ("serve", "start_backend"):
        from labelgraph.serve import server
        return getattr(server, name)
    raise AttributeError(f"module 'labelgraph.serve' has no attribute {name!r}")
