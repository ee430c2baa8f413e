"""Auth, size limits and hostile bodies: always a short 4xx, never a 500, a traceback or a path."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pytest
from serve_helpers import LABEL_CONFIG, annotation_event, blobs
from starlette.testclient import TestClient

from labelgraph.serve import Backend, ServeConfig, create_app

TOKEN = "0123456789abcdef0123"


def _basic(user_password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(user_password.encode()).decode()}


@pytest.fixture
def guarded(make_backend: Callable[..., Backend]) -> TestClient:
    return TestClient(create_app(make_backend(basic_auth="ls:s3cret!", token=TOKEN)), raise_server_exceptions=False)


@pytest.mark.parametrize("headers", [{}, _basic("ls:wrong"), _basic("other:s3cret!"), {"Authorization": "Bearer nope"},
                                     {"Authorization": "Basic !!!notbase64"}, {"Authorization": f"Token {TOKEN}"},
                                     {"Authorization": "Bearer"}])
def test_wrong_or_missing_credentials_get_401(guarded: TestClient, headers: dict[str, str]) -> None:
    for path in ("/predict", "/webhook", "/setup"):
        answer = guarded.post(path, json={"action": "START_TRAINING"}, headers=headers)
        assert answer.status_code == 401 and answer.json() == {"error": "unauthorised"}


def test_basic_auth_and_bearer_token_are_accepted(guarded: TestClient) -> None:
    body = {"action": "START_TRAINING"}
    assert guarded.post("/webhook", json=body, headers=_basic("ls:s3cret!")).status_code == 200
    assert guarded.post("/webhook", json=body, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert guarded.get("/health").status_code == 200  # open: Label Studio's health check, no data


def test_config_checks(tmp_path: Any) -> None:
    base = {"embeddings": tmp_path / "e.npy", "journal": tmp_path / "j.sqlite"}
    for bad, message in [({"token": "short"}, "16 characters"), ({"basic_auth": "nocolon"}, "user:password"),
                         ({"host": "example.com"}, "IP address"), ({"port": 70000}, "port"), ({"k": 0}, "k must"),
                         ({"label_studio_url": "http://x"}, "go together"), ({"resync": True}, "resync"),
                         ({"temperature": "hot"}, "temperature")]:
        with pytest.raises(ValueError, match=message):
            ServeConfig(**base, **bad).checked()
    assert ServeConfig(**base).checked().host == "127.0.0.1"  # local only unless told otherwise


def test_body_size_limit(make_backend: Callable[..., Backend]) -> None:
    client = TestClient(create_app(make_backend(max_body_bytes=1000)), raise_server_exceptions=False)
    answer = client.post("/webhook", content=b'{"action": "' + b"x" * 2000 + b'"}')
    assert answer.status_code == 413 and "1000 bytes" in answer.json()["error"]

    def chunks() -> Any:  # no Content-Length: the limit holds while streaming
        for _ in range(10):
            yield b" " * 500
    assert client.post("/webhook", content=chunks()).status_code == 413


HOSTILE = [
    b"", b"null", b"[]", b'"text"', b"{", b"\xff\xfe\x00", b"[" * 20_000 + b"]" * 20_000, b'{"a":' * 20_000,
    b'{"action": 5}', b'{"action": "ANNOTATION_CREATED"}', b'{"action": "ANNOTATION_CREATED", "annotation": []}',
    b'{"action": "ANNOTATION_CREATED", "annotation": {"id": "1"}}',
    b'{"action": "ANNOTATION_CREATED", "annotation": {"id": 1e400, "task": 1}}',
    b'{"action": "ANNOTATION_CREATED", "annotation": {"id": 1, "task": 1}}',
    b'{"action": "ANNOTATION_CREATED", "annotation": {"id": 1, "task": 99999999999999999999999999999}}',
    b'{"action": "ANNOTATION_CREATED", "annotation": {"id": 1, "task": 1, "result": "x"}, "task": {"id": 1, "data": {"row": 1}}}',
    b'{"action": "ANNOTATION_CREATED", "annotation": {"id": 1, "task": 1, "result": [{"from_name": "label", "value": {"choices": "cat"}}]}, "task": {"id": 1, "data": {"row": 1}}}',
    b'{"action": "ANNOTATION_CREATED", "annotation": {"id": 1, "task": 1, "result": [{"from_name": "label", "value": {"choices": ["wolf"]}}]}, "task": {"id": 1, "data": {"row": 1}}}',
    b'{"action": "ANNOTATION_CREATED", "annotation": {"id": 1, "task": 1, "result": [{"from_name": "label", "value": {"choices": ["cat", "dog"]}}]}, "task": {"id": 1, "data": {"row": 1}}}',
    b'{"action": "ANNOTATION_CREATED", "annotation": {"id": 1, "task": 1, "result": []}, "task": {"id": 1, "data": {"row": -4}}}',
    b'{"action": "ANNOTATION_CREATED", "annotation": {"id": 1, "task": 1, "result": []}, "task": {"id": 1, "data": {"row": NaN}}}',
    b'{"action": "ANNOTATION_CREATED", "annotation": {"id": 1, "task": 1, "result": []}, "task": {"id": 1, "data": []}}',
    b'{"action": "ANNOTATIONS_DELETED", "annotations": [{"id": -1}]}', b'{"action": "ANNOTATIONS_DELETED", "annotations": 3}',
    b'{"action": "ANNOTATION_CREATED", "annotation": {"id": 1, "task": 1, "result": []}, "task": {"id": 1, "data": {"row": "' + b"9" * 5000 + b'"}}}',
]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Path]]:
    """One backend for the read-only hostile-body cases (each is refused, so none changes it)."""
    folder = tmp_path_factory.mktemp("hostile")
    np.save(folder / "emb.npy", blobs(0)[0])
    backend = Backend(ServeConfig(embeddings=folder / "emb.npy", journal=folder / "j.sqlite"), label_config=LABEL_CONFIG)
    yield TestClient(create_app(backend), raise_server_exceptions=False), folder
    backend.close()


@pytest.mark.parametrize("body", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.parametrize("path", ["/webhook", "/predict", "/setup"])
def test_hostile_bodies_get_a_short_4xx(shared: tuple[TestClient, Path], body: bytes, path: str) -> None:
    client, folder = shared
    answer = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert 400 <= answer.status_code < 500, answer.text
    message = answer.json()["error"]
    assert len(message) < 300 and "Traceback" not in message
    assert str(folder) not in message and ".py" not in message and "site-packages" not in message


def test_the_state_is_unchanged_after_refused_events(make_backend: Callable[..., Backend]) -> None:
    backend = make_backend()
    client = TestClient(create_app(backend), raise_server_exceptions=False)
    assert client.post("/webhook", json=annotation_event(1, "wolf")).status_code == 422
    assert backend.model.snapshot.n_labeled == 0 and backend.journal.events() == []


def test_unknown_paths_and_methods(client: TestClient) -> None:
    assert client.get("/predict").status_code == 405
    assert client.post("/train/../../etc/passwd", json={}).status_code == 404


def test_xml_bomb_in_setup(client: TestClient) -> None:
    bomb = ('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "' + "a" * 1000 + '">' +
            "".join(f'<!ENTITY a{i} "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">' for i in range(9)) + ']><View>&a8;</View>')
    answer = client.post("/setup", json={"schema": bomb})
    assert answer.status_code == 422 and "DOCTYPE" in answer.json()["error"]
