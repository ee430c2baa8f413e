"""Submitting tasks one by one: to a distributed client as futures, or run at once in this process.

An iterative algorithm built from ``dask.delayed`` grows one graph over all iterations, and dask
re-culls it on every call (quadratic in the iterations; seconds for 20 iterations of 4 blocks).
Futures cost a scheduler message per task and nothing more.
"""

from __future__ import annotations

from typing import Any, Callable


class TaskRunner:
    """``submit(fn, *args, key=...)`` on ``client``, or a direct call when ``client`` is None.

    Arguments may hold earlier handles (also inside lists); the client resolves futures on the
    worker, and the local runner's handles are the values themselves.
    """

    def __init__(self, client: Any) -> None:
        self.client = client

    def submit(self, fn: Callable[..., Any], *args: Any, key: str) -> Any:
        if self.client is None:
            return fn(*args)
        return self.client.submit(fn, *args, key=key, pure=False)

    def put(self, values: list[Any], name: str) -> list[Any]:
        """Handles of ``values`` (from this process) on the cluster, each one task holding its value.

        Not ``client.scatter``: scattered data has no task to recompute it from, so a worker
        lost with it fails every result that needs it. A task whose spec holds the value can be
        rerun anywhere; the price is that the scheduler keeps the values (they came from this
        process's memory anyway), so Dask's warning about large task specs is raised here to
        the largest value.
        """
        if self.client is None:
            return list(values)
        import dask

        largest = max((getattr(v, "nbytes", 0) for v in values), default=0)
        threshold = max(largest + (1 << 20), parse_threshold(dask.config.get("distributed.admin.large-graph-warning-threshold")))
        with dask.config.set({"distributed.admin.large-graph-warning-threshold": threshold}):
            return [self.client.submit(_identity, v, key=f"{name}-{i}", pure=False) for i, v in enumerate(values)]

    def scatter_blocks(self, array: Any) -> list[Any]:
        """One handle per row block of a 2-D dask array (rows kept where they are on the cluster)."""
        blocks = list(array.to_delayed().ravel())
        if self.client is None:
            import dask

            return list(dask.compute(*blocks))
        return list(self.client.compute(blocks))

    def result(self, handle: Any) -> Any:
        return handle if self.client is None else handle.result()

    def results(self, handles: list[Any]) -> list[Any]:
        return handles if self.client is None else self.client.gather(handles)

    def as_dask_array(self, handles: list[Any], shapes: list[tuple[int, ...]], dtype: Any) -> Any:
        """The blocks, concatenated along rows, as a dask array (still on the cluster)."""
        import dask
        import dask.array as da

        parts = [da.from_delayed(dask.delayed(h), shape=s, dtype=dtype) for h, s in zip(handles, shapes)]
        return da.concatenate(parts)


def _identity(value: Any) -> Any:
    return value


def parse_threshold(value: Any) -> int:
    """A Dask byte size setting ("10MB" or a number) in bytes."""
    from dask.utils import parse_bytes

    return int(parse_bytes(value))
