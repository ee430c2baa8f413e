"""Workflows on kNN graphs: annotation session, cold-start selection, label audit, learning under label noise."""

from labelgraph.workflows.feature_smoothing import graph_smoothed_features
from labelgraph.workflows.audit import AUDIT_DTYPE, LabelAudit, audit_labels, out_of_sample_probabilities
from labelgraph.workflows.label_issues import find_label_issues, label_quality_scores
from labelgraph.workflows.noise import (
    SmoothedLabels,
    auto_alpha,
    estimate_noise_rate,
    smooth_labels,
    weighted_knn_classify,
    weighted_knn_probabilities,
)
from labelgraph.workflows.session import DEFAULT_STRATEGY, STRATEGIES, AnnotationSession, SessionState
from labelgraph.workflows.reach_query import reach_query
from labelgraph.workflows.typiclust_query import typiclust_query
from labelgraph.workflows.selection import (
    centre_typical_select,
    kmeans_centre_select,
    knn_density,
    random_select,
    select_cold_start,
    typiclust_select,
    usl_select,
)
from labelgraph.workflows.spherical_kmeans import spherical_kmeans

__all__ = [
    "DEFAULT_STRATEGY",
    "STRATEGIES",
    "AnnotationSession",
    "SessionState",
    "AUDIT_DTYPE",
    "LabelAudit",
    "audit_labels",
    "out_of_sample_probabilities",
    "find_label_issues",
    "label_quality_scores",
    "SmoothedLabels",
    "auto_alpha",
    "estimate_noise_rate",
    "smooth_labels",
    "weighted_knn_classify",
    "weighted_knn_probabilities",
    "graph_smoothed_features",
    "kmeans_centre_select",
    "knn_density",
    "random_select",
    "centre_typical_select",
    "select_cold_start",
    "spherical_kmeans",
    "reach_query",
    "typiclust_query",
    "typiclust_select",
    "usl_select",
]
