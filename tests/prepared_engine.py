"""The C++ incremental engine (``_core.PreparedOperator``) built from a LabelPropagator's public operator, for engine tests.

Tests of the engine's own knobs (``dense_rows``, the rows an update returns, ``out=``) drive the
binding directly; everything else goes through ``LabelPropagator.update`` and the session.
"""

from __future__ import annotations

import numpy as np

from labelgraph import LabelPropagator, PropagationResult, _core


def engine_after_propagate(prop: LabelPropagator, labels: np.ndarray, max_iter: int, *, alpha: float | None,
                           tol: float, n_classes: int) -> tuple[_core.PreparedOperator, PropagationResult]:
    """A new engine over ``prop``'s normalised operator (kernel order), after one propagation of ``labels``.

    Returns the engine and the propagation's result (rows in the caller's order).
    """
    S = prop.operator(internal_order=True)
    engine = _core.PreparedOperator(np.ascontiguousarray(S.indptr, np.int64), np.ascontiguousarray(S.indices, np.int32),
                                    np.ascontiguousarray(S.data, np.float32), prop.order, prop.symmetric)
    soft, hard, unreached, n_iter, converged, _, _ = engine.propagate(
        np.asarray(labels, np.int32), n_classes, n_iter=max_iter, alpha=-1.0 if alpha is None else alpha, tol=tol)
    return engine, PropagationResult(soft, hard, unreached, int(n_iter), bool(converged))
