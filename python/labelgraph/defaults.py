"""Defaults shared by every API and command, so each concept has one value and one stated reason."""

# Edge weight W_ij = exp(cos_ij / T). "auto": T is chosen from the graph's similarities without
# labels (labelgraph.temperature: the median row's softmax over its k neighbours has 0.85 k
# effective neighbours), so the weights discriminate as much on tightly packed similarities
# (Fashion-MNIST pixels: T ~ 0.018 at k=10) as on broad ones (sentence embeddings: T ~ 0.10).
# The fixed 0.02 that was the default before, chosen on Fashion-MNIST, lost 4 points of LP
# accuracy on Debian descriptions (benchmarks/label_efficiency/RESULTS.md ("Propagation settings")).
DEFAULT_TEMPERATURE = "auto"

# Neighbours per row of the kNN graph (Bai et al. 2021 and Iscen et al. 2019 use 10-50).
DEFAULT_K = 10
