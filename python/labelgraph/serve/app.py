"""The HTTP layer: Label Studio's ML-backend endpoints on Starlette, with auth, a body limit and 4xx for bad input.

Starlette (an ASGI toolkit, BSD, with few dependencies of its own and uvicorn as its server) was
chosen over Flask (WSGI: the server would need its own threading story) and FastAPI (its
validation layer adds pydantic and answers bad bodies in its own shape; the payloads here are
checked by :mod:`labelgraph.serve.payloads` anyway). Handlers are ``async``; the work that
writes (journal commit with fsync, session update) runs in Starlette's thread pool, so a slow
disk never stalls ``/health``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
from typing import Any, Awaitable, Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from labelgraph.serve.backend import Backend
from labelgraph.serve.payloads import PayloadError, parse_json

logger = logging.getLogger("labelgraph.serve")


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 past ``limit`` bytes (the declared length first, then as it streams)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise PayloadError("bad Content-Length header")
        if int(declared) > limit:
            raise PayloadError(f"the body is larger than {limit} bytes", 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadError(f"the body is larger than {limit} bytes", 413)
        chunks.append(chunk)
    return b"".join(chunks)


class _Auth:
    """``Authorization`` check: HTTP basic (Label Studio's ML-backend auth) or a bearer token; none if neither is set."""

    def __init__(self, basic: str | None, token: str | None) -> None:
        self._basic = None if basic is None else base64.b64encode(basic.encode()).decode()
        self._token = token

    @property
    def required(self) -> bool:
        return self._basic is not None or self._token is not None

    def allows(self, header: str | None) -> bool:
        if not self.required:
            return True
        if not header or " " not in header:
            return False
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() == "basic" and self._basic is not None:
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                return False
            return hmac.compare_digest(value.encode(), self._basic.encode())
        if scheme.lower() == "bearer" and self._token is not None:
            return hmac.compare_digest(value.encode(), self._token.encode())
        return False


def create_app(backend: Backend) -> Starlette:
    """The ASGI app of ``backend``: ``GET /health`` (open, no data), ``POST /setup``, ``/predict``, ``/webhook``.

    Every answer is JSON. Bad input gets a 4xx ``{"error": "<short message>"}``; an unexpected
    failure a 500 ``{"error": "internal error"}`` (the traceback goes to the log, never to the client).
    """
    config = backend.config
    auth = _Auth(config.basic_auth, config.token)

    def endpoint(work: Callable[[dict[str, Any]], Any]) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def handle(request: Request) -> JSONResponse:
            if not auth.allows(request.headers.get("authorization")):
                return JSONResponse({"error": "unauthorised"}, status_code=401,
                                    headers={"WWW-Authenticate": 'Basic realm="labelgraph"'})
            try:
                payload = parse_json(await _body(request, config.max_body_bytes))
                return JSONResponse(await run_in_threadpool(work, payload))
            except PayloadError as error:
                return _error(error.message, error.status)
            except Exception:  # noqa: BLE001 - the last resort: a short 500, the traceback to the log only
                logger.exception("%s %s failed", request.method, request.url.path)
                return _error("internal error", 500)
        return handle

    async def health(request: Request) -> JSONResponse:
        return JSONResponse(backend.health())

    def setup(payload: dict[str, Any]) -> dict[str, Any]:
        schema = payload.get("schema", payload.get("label_config"))
        if not isinstance(schema, str):
            raise PayloadError("/setup needs 'schema', the project's labelling config")
        return backend.setup(schema)

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/", health, methods=["GET"]),
        Route("/setup", endpoint(setup), methods=["POST"]),
        Route("/predict", endpoint(backend.predict), methods=["POST"]),
        Route("/webhook", endpoint(backend.webhook), methods=["POST"]),
    ]
    return Starlette(routes=routes, debug=False)
