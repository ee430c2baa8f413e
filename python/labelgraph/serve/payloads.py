"""Label Studio's JSON (webhook events, /predict and /setup requests) read into typed values; bad input -> PayloadError."""

from __future__ import annotations

import json
from typing import Any

from labelgraph.serve.journal import DELETE, SET, AnnotationEvent
from labelgraph.serve.label_config import ChoicesControl

SET_ACTIONS = ("ANNOTATION_CREATED", "ANNOTATIONS_CREATED", "ANNOTATION_UPDATED")
DELETE_ACTIONS = ("ANNOTATIONS_DELETED", "ANNOTATION_DELETED")
MAX_ID = 2**63 - 1


class PayloadError(Exception):
    """A request the backend refuses: ``status`` (4xx) and a short message without internals."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_json(body: bytes) -> dict[str, Any]:
    """A JSON object from a request body (400 for anything else, including absurd nesting)."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError, UnicodeDecodeError):
        raise PayloadError("the body is not valid JSON") from None
    if not isinstance(value, dict):
        raise PayloadError("the body must be a JSON object")
    return value


def identifier(value: Any, what: str) -> int:
    """A Label Studio id: a non-negative int (not a bool, not a float)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        raise PayloadError(f"{what} must be a non-negative integer id")
    return value


def task_row(task: Any, field: str, n: int) -> int:
    """The embeddings row of a task: ``task["data"][field]``, an int (or digits) in [0, n)."""
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        raise PayloadError("a task must be an object with a 'data' object")
    value = task["data"].get(field)
    if isinstance(value, str) and value.isdigit() and len(value) < 20:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError(f"task data has no integer {field!r} field (the row of the embeddings); add it to the "
                           "imported tasks or start the backend with --task-field NAME", 422)
    if not 0 <= value < n:
        raise PayloadError(f"task data {field}={value} is outside the embeddings' rows 0..{n - 1}", 422)
    return value


def chosen_class(annotation: dict[str, Any], control: ChoicesControl) -> str | None:
    """The class an annotation chooses in ``control``, None if it chooses nothing there."""
    result = annotation.get("result", [])
    if not isinstance(result, list):
        raise PayloadError("annotation.result must be a list")
    for item in result:
        if not isinstance(item, dict) or item.get("from_name") != control.from_name:
            continue
        value = item.get("value")
        choices = value.get("choices") if isinstance(value, dict) else None
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            raise PayloadError("a choices result needs value.choices, a list of strings")
        if len(choices) > 1:
            raise PayloadError(f"{control.from_name} chooses {len(choices)} classes; labelgraph serve takes one per task", 422)
        if choices:
            if choices[0] not in control.classes:
                raise PayloadError(f"class {choices[0]!r} is not one of the label config's choices", 422)
            return choices[0]
    return None


def _as_list(value: Any, what: str) -> list[Any]:
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return value
    raise PayloadError(f"{what} must be an object or a list of objects")


def annotation_events(payload: dict[str, Any], control: ChoicesControl, field: str, n: int) -> list[AnnotationEvent]:
    """The events of an ANNOTATION(S)_CREATED / ANNOTATION_UPDATED webhook."""
    annotations = _as_list(payload.get("annotation"), "annotation")
    if not annotations:
        raise PayloadError("annotation is an empty list")
    tasks = {}
    for task in _as_list(payload.get("task", []), "task"):
        if isinstance(task, dict) and "id" in task:
            tasks[identifier(task["id"], "task.id")] = task
    events = []
    for annotation in annotations:
        if not isinstance(annotation, dict):
            raise PayloadError("annotation must be an object")
        annotation_id = identifier(annotation.get("id"), "annotation.id")
        task_id = annotation.get("task")
        if isinstance(task_id, dict):  # some serialisers nest the task
            tasks.setdefault(identifier(task_id.get("id"), "annotation.task.id"), task_id)
            task_id = task_id.get("id")
        task_id = identifier(task_id, "annotation.task")
        if task_id not in tasks:
            raise PayloadError(f"the webhook carries no data of task {task_id} (enable 'send payload' on the webhook)", 422)
        row = task_row(tasks[task_id], field, n)
        cancelled = annotation.get("was_cancelled") is True
        name = None if cancelled else chosen_class(annotation, control)
        if name is None:  # skipped, or labels nothing in this control: the annotation no longer labels the row
            events.append(AnnotationEvent(DELETE, annotation_id))
        else:
            events.append(AnnotationEvent(SET, annotation_id, task_id, row, name))
    return events


def deleted_annotations(payload: dict[str, Any]) -> list[int]:
    """The annotation ids of an ANNOTATIONS_DELETED webhook."""
    items = payload.get("annotations", payload.get("annotation"))
    return [identifier(item.get("id") if isinstance(item, dict) else item, "annotations[].id")
            for item in _as_list(items, "annotations")]


def predict_tasks(payload: dict[str, Any]) -> list[Any]:
    """The task list of a /predict request."""
    tasks = payload.get("tasks")
    if not isinstance(tasks, list):
        raise PayloadError("/predict needs 'tasks', a list of task objects")
    return tasks
