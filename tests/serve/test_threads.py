"""The serving process runs every thread pool single-threaded, and lowers the refresh thread's priority."""

from __future__ import annotations

import os
import sys
import threading

import pytest
from threadpoolctl import threadpool_info

from labelgraph.serve.backend import _lower_this_threads_priority
from labelgraph.serve.server import one_thread_per_task


def test_one_thread_per_task_limits_and_restores() -> None:
    before = {(p["user_api"], p["filepath"]): p["num_threads"] for p in threadpool_info()}
    assert any(api == "openmp" for api, _ in before)  # labelgraph's kernels load OpenMP
    limits = one_thread_per_task()
    try:
        assert all(p["num_threads"] == 1 for p in threadpool_info())
    finally:
        limits.restore_original_limits()
    assert {(p["user_api"], p["filepath"]): p["num_threads"] for p in threadpool_info()} == before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")
def test_refresh_priority_applies_to_the_calling_thread_only() -> None:
    seen: dict[str, int] = {}

    def lowered() -> None:
        _lower_this_threads_priority()
        seen["thread"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    main = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    worker = threading.Thread(target=lowered)
    worker.start()
    worker.join()
    assert seen["thread"] == 19
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == main
