"""Multi-label data on kNN graphs: label sets propagated class by class, per-class thresholds, audit, queries.

Example:
    >>> import numpy as np, labelgraph
    >>> from labelgraph.datasets import synthetic_multilabel
    >>> from labelgraph.multilabel import MultiLabelPropagator, find_multilabel_issues
    >>> X, Y = synthetic_multilabel(300, 4, 16)
    >>> graph = labelgraph.knn_graph(X, 10)
    >>> known = np.arange(300) < 60
    >>> result = MultiLabelPropagator(graph).propagate(np.where(known[:, None], Y, False), known, 50)
    >>> result.predicted.shape, find_multilabel_issues(graph, Y).shape
    ((300, 4), (300,))
"""

from labelgraph.multilabel.audit import (
    MultiLabelAudit,
    audit_multilabel,
    find_multilabel_issues,
)
from labelgraph.multilabel.inputs import (
    LabelSets,
    format_label_names,
    label_sets,
    parse_label_names,
)
from labelgraph.multilabel.propagation import (
    DEFAULT_THRESHOLD_RULE,
    MultiLabelPropagator,
    MultiLabelResult,
    propagate_multilabel,
)
from labelgraph.multilabel.query import multilabel_uncertainty, query_multilabel

__all__ = [
    "DEFAULT_THRESHOLD_RULE",
    "LabelSets",
    "MultiLabelAudit",
    "MultiLabelPropagator",
    "MultiLabelResult",
    "audit_multilabel",
    "find_multilabel_issues",
    "format_label_names",
    "label_sets",
    "multilabel_uncertainty",
    "parse_label_names",
    "propagate_multilabel",
    "query_multilabel",
]
