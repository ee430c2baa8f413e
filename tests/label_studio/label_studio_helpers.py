"""Helpers of the Label Studio end-to-end tests: a free port, a started Label Studio and its token."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx2


@dataclass(frozen=True)
class LabelStudio:
    url: str
    token: str  # a personal access token (JWT refresh token)
    cookies: dict[str, str] = field(default_factory=dict)  # the test user's web session (for a screenshot)

    def client(self) -> httpx2.Client:
        return httpx2.Client(base_url=self.url, auth=_PersonalAccessToken(self.url, self.token), timeout=60)


class _PersonalAccessToken(httpx2.Auth):
    """Bearer access tokens from a personal access token, renewed when Label Studio says 401 (they live minutes)."""

    def __init__(self, url: str, token: str) -> None:
        self._url, self._token, self._access = url, token, ""

    def _renew(self) -> None:
        answer = httpx2.post(f"{self._url}/api/token/refresh/", json={"refresh": self._token}, timeout=30)
        answer.raise_for_status()
        self._access = answer.json()["access"]

    def auth_flow(self, request: httpx2.Request):  # type: ignore[no-untyped-def]
        if not self._access:
            self._renew()
        request.headers["Authorization"] = f"Bearer {self._access}"
        response = yield request
        if response.status_code == 401:
            self._renew()
            request.headers["Authorization"] = f"Bearer {self._access}"
            yield request
