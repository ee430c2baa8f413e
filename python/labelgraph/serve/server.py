"""Running the backend: load, optionally resync from Label Studio and start the pusher, then serve with uvicorn."""

from __future__ import annotations

import logging

import numpy as np


from labelgraph.serve.app import create_app
from labelgraph.serve.backend import Backend
from labelgraph.serve.config import ServeConfig
from labelgraph.serve.label_studio import LabelStudioClient
from labelgraph.serve.push import PredictionPusher

logger = logging.getLogger("labelgraph.serve")


def start_backend(config: ServeConfig, *, label_config: str | None = None, embeddings: np.ndarray | None = None
                  ) -> tuple[Backend, PredictionPusher | None]:
    """The backend of ``config``, resynced from Label Studio if asked, with its pusher running if configured."""
    backend = Backend(config, label_config=label_config, embeddings=embeddings)
    pusher = None
    if config.pushes:
        assert config.label_studio_url and config.label_studio_token and config.project is not None
        client = LabelStudioClient(config.label_studio_url, config.label_studio_token)
        if config.resync:
            if backend.model is None:
                project = client.request("GET", f"/api/projects/{config.project}")
                backend.setup(project["label_config"])
            changed = backend.resync(client.tasks(config.project, with_annotations=True))
            logger.info("resync from Label Studio: %d annotation changes journaled", changed)
        pusher = PredictionPusher(backend, client, config.project)
        pusher.start()
    return backend, pusher


def serve(config: ServeConfig, *, label_config: str | None = None, embeddings: np.ndarray | None = None,
          log_level: str = "info") -> None:
    """Serve ``config`` until interrupted (blocking); ``embeddings`` if already read from ``config.embeddings``."""
    import uvicorn

    backend, pusher = start_backend(config, label_config=label_config, embeddings=embeddings)
    app = create_app(backend)
    try:
        uvicorn.run(app, host=config.host, port=config.port, log_level=log_level, server_header=False,
                    h11_max_incomplete_event_size=64 * 1024, timeout_keep_alive=30)
    finally:
        if pusher is not None:
            pusher.stop()
        backend.close()


