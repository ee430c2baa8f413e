"""A real Label Studio for the end-to-end tests, started once per test session (skipped when it is not installed).

Label Studio pins many packages, so it lives in its own virtual environment; the tests find its
``label-studio`` executable through ``$LABELGRAPH_LABEL_STUDIO`` or PATH. Label Studio 1.23
disables legacy API tokens for new organisations: the test user logs in through the web form
and creates a personal access token (``POST /api/token/``, the API behind Account & Settings),
which the backend exchanges for access tokens at ``/api/token/refresh/``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from typing import Iterator

import pytest

for _module in ("starlette", "httpx2", "uvicorn"):
    pytest.importorskip(_module, reason=f"the serve extra is not installed ({_module} missing)")

import httpx2
from label_studio_helpers import LabelStudio
from server_process import free_port

USER, PASSWORD = "lg-test@example.com", "labelgraph-test-pw"


def label_studio_executable() -> str | None:
    return os.environ.get("LABELGRAPH_LABEL_STUDIO") or shutil.which("label-studio")


def _personal_access_token(url: str) -> tuple[str, dict[str, str]]:
    with httpx2.Client(base_url=url, follow_redirects=True, timeout=60) as web:
        web.get("/user/login/")
        web.post("/user/login/", data={"email": USER, "password": PASSWORD,
                                       "csrfmiddlewaretoken": web.cookies.get("csrftoken")},
                 headers={"Referer": f"{url}/user/login/"})
        answer = web.post("/api/token/", headers={"X-CSRFToken": web.cookies.get("csrftoken") or "",
                                                  "Referer": f"{url}/"})
        answer.raise_for_status()
        return str(answer.json()["token"]), {name: value for name, value in web.cookies.items()}


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabelStudio]:
    executable = label_studio_executable()
    if executable is None:
        pytest.skip("Label Studio is not installed: python -m venv /tmp/lsvenv && /tmp/lsvenv/bin/pip install "
                    "label-studio, then LABELGRAPH_LABEL_STUDIO=/tmp/lsvenv/bin/label-studio")
    folder = tmp_path_factory.mktemp("label-studio")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = folder / "label-studio.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([executable, "start", "--no-browser", "--host", "127.0.0.1", "--port", str(port),
                                    "--data-dir", str(folder / "data"), "--username", USER, "--password", PASSWORD],
                                   stdout=out, stderr=subprocess.STDOUT, cwd=folder,
                                   # the backend listens on 127.0.0.1, which Label Studio's SSRF guards block
                                   # (for ML backends and for webhooks): both switches, as docs/label_studio.md says
                                   env={**os.environ, "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
                                        "ML_BLOCK_LOCAL_IP": "false", "SSRF_PROTECTION_ENABLED": "false"})
    try:
        deadline = time.monotonic() + 300
        while True:
            if process.poll() is not None:
                raise AssertionError(f"Label Studio exited: {log.read_text()[-3000:]}")
            try:
                if httpx2.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("Label Studio did not start within 300 s")
            time.sleep(2)
        token, cookies = _personal_access_token(url)
        yield LabelStudio(url, token, cookies)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
