"""Defaults shared by every API and command, so each concept has one value and one stated reason."""

# Edge weight W_ij = exp(cos_ij / T). 0.02 is the workflows' and the command line's value, chosen on
# Fashion-MNIST (benchmarks/workflows/RESULTS.md); it sits between the 0.01 of Iscen et al. (CVPR
# 2019) and the 0.05-0.1 that suit broader similarity spreads such as sentence embeddings.
DEFAULT_TEMPERATURE = 0.02

# Neighbours per row of the kNN graph (Bai et al. 2021 and Iscen et al. 2019 use 10-50).
DEFAULT_K = 10
