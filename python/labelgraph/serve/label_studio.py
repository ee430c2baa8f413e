"""A small client of Label Studio's REST API: the calls the pusher and the resync make, and nothing else.

label-studio-sdk is the official client, but its 2.x releases pin numpy below 2.3 and pull in
opencv, nltk and black; an optional extra of a numerical library must not downgrade numpy, so
these few documented endpoints are called with httpx2 (the maintained successor of httpx, which
Starlette's test client uses too).

Tokens: Label Studio 1.23 issues personal access tokens (JWT refresh tokens, Account & Settings
-> Personal Access Token, or ``POST /api/token/``); they are exchanged for a short-lived access
token at ``/api/token/refresh/`` and sent as ``Authorization: Bearer``. A legacy token (40 hex
characters, where the organisation enabled them) is sent as ``Authorization: Token``.
"""

from __future__ import annotations

from typing import Any

import httpx2


class LabelStudioError(RuntimeError):
    """Label Studio answered with an error or could not be reached."""


def _is_jwt(token: str) -> bool:
    return token.count(".") == 2


class LabelStudioClient:
    """Calls to the Label Studio at ``url`` with ``token`` (a personal access token or a legacy token)."""

    def __init__(self, url: str, token: str, *, timeout: float = 30.0,
                 transport: httpx2.BaseTransport | None = None) -> None:
        self._url = url.rstrip("/")
        self._token = token
        self._access: str | None = None
        self._http = httpx2.Client(timeout=timeout, transport=transport)  # transport: a fake Label Studio in tests

    def _headers(self, renew: bool = False) -> dict[str, str]:
        if not _is_jwt(self._token):
            return {"Authorization": f"Token {self._token}"}
        if self._access is None or renew:
            answer = self._http.post(f"{self._url}/api/token/refresh/", json={"refresh": self._token})
            if answer.status_code != 200:
                raise LabelStudioError(f"Label Studio refused the personal access token ({answer.status_code})")
            self._access = answer.json()["access"]
        return {"Authorization": f"Bearer {self._access}"}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON answer of ``method path`` (one retry with a renewed access token on 401)."""
        try:
            answer = self._http.request(method, self._url + path, headers=self._headers(), **kwargs)
            if answer.status_code == 401 and _is_jwt(self._token):
                answer = self._http.request(method, self._url + path, headers=self._headers(renew=True), **kwargs)
        except httpx2.HTTPError as error:
            raise LabelStudioError(f"{method} {path}: {type(error).__name__}") from None
        if answer.status_code >= 400:
            raise LabelStudioError(f"{method} {path}: HTTP {answer.status_code} {answer.text[:200]}")
        return answer.json() if answer.content else None

    def tasks(self, project: int, *, with_annotations: bool = False, page_size: int = 500) -> list[dict[str, Any]]:
        """Every task of ``project`` (``id``, ``data``; with ``annotations`` when asked)."""
        tasks: list[dict[str, Any]] = []
        page = 1
        while True:
            params: dict[str, Any] = {"project": project, "page": page, "page_size": page_size}
            if with_annotations:
                params["fields"] = "all"
            try:
                answer = self.request("GET", "/api/tasks", params=params)
            except LabelStudioError as error:
                if "HTTP 404" in str(error) and page > 1:  # past the last page
                    break
                raise
            batch = answer.get("tasks", []) if isinstance(answer, dict) else answer
            tasks.extend(batch)
            total = answer.get("total") if isinstance(answer, dict) else None
            if not batch or len(batch) < page_size or (total is not None and len(tasks) >= total):
                break
            page += 1
        return tasks

    def predictions(self, project: int) -> list[dict[str, Any]]:
        """Every prediction of ``project``."""
        answer = self.request("GET", "/api/predictions/", params={"project": project})
        return answer if isinstance(answer, list) else answer.get("results", [])

    def import_predictions(self, project: int, predictions: list[dict[str, Any]]) -> None:
        """Create predictions in bulk (each ``{task, result, score, model_version}``)."""
        self.request("POST", f"/api/projects/{project}/import/predictions", json=predictions)

    def update_prediction(self, prediction: int, body: dict[str, Any]) -> None:
        self.request("PATCH", f"/api/predictions/{prediction}/", json=body)

    def close(self) -> None:
        self._http.close()
