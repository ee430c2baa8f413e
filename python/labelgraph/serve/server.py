"""Running the backend: load, optionally resync from Label Studio and start the pusher, then serve with uvicorn."""

from __future__ import annotations

import logging

import numpy as np
from threadpoolctl import threadpool_limits

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


def one_thread_per_task() -> threadpool_limits:
    """Limit OpenMP and BLAS to one thread each in this process (for as long as the result is alive).

    A serving process runs webhooks and the refresh of the active-learning order at the same
    time. An update's OpenMP team waits at every barrier for its slowest thread, so a team thread
    sharing a core with the refresh stretches the update many times (serve benchmark, n = 100k, 2
    cores: p99 of the first 100 webhooks 644 ms with every pool on both cores, 82 ms with one
    thread each; benchmarks/serve/RESULTS.md). One thread each lets the webhook and the refresh
    run on a core each, the refresh at the lowest priority.
    """
    return threadpool_limits(limits=1)


def serve(config: ServeConfig, *, label_config: str | None = None, embeddings: np.ndarray | None = None,
          log_level: str = "info") -> None:
    """Serve ``config`` until interrupted (blocking); ``embeddings`` if already read from ``config.embeddings``."""
    import uvicorn

    backend, pusher = start_backend(config, label_config=label_config, embeddings=embeddings)
    limits = one_thread_per_task()  # after the start: the graph and first session use every core
    app = create_app(backend)
    try:
        uvicorn.run(app, host=config.host, port=config.port, log_level=log_level, server_header=False,
                    h11_max_incomplete_event_size=64 * 1024, timeout_keep_alive=30)
    finally:
        if pusher is not None:
            pusher.stop()
        backend.close()
        limits.restore_original_limits()


