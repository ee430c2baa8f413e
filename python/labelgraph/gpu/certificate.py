"""The per-row certificate of the GPU kNN: proof that the low-precision pass dropped no true neighbour.

Notation. ``x_i`` is a float32 row, ``r_i = 1 / ||x_i||`` computed in double, ``û_i = x_i r_i``
the exact unit vector, ``u_i = float32(x_i r_i)`` the float32 unit row and ``b_i`` the row the
candidate pass multiplies: ``bf16(u_i)`` (bf16 pass) or ``u_i`` itself (float32 pass). The exact
score is ``c_ij = û_i . û_j``; the rescore returns ``float32(c_ij)`` computed in double (a relative
error of ``d 2^-53`` before the final rounding), the same function as the CPU kernels.

Lemma 1 (row error). ``E_i := ||b_i - û_i||_2 <= ||b_i - u_i||_2 + ||u_i - û_i||_2 <= e_i + 2^-24 (1 + 2^-50)``,
where ``e_i = ||b_i - u_i||_2`` is measured when the rows are rounded (``row_errors``; 0 in the float32
pass). Rounding to nearest changes each coordinate by at most the unit roundoff times its size:
2^-24 for float32, 2^-8 for bf16 (8 significant bits), so ``||u_i - û_i|| <= 2^-24 ||û_i|| = 2^-24``
(``r_i`` itself is off by about 2^-52, the 2^-50 term) and ``e_i <= 2^-8 ||u_i||``: the measured
``e_i`` is never larger than the worst case ``2^-8`` and is about 2.5 times smaller on real rows,
which is why it is used. Below ``2^-126`` (subnormals) the rounding error is absolute, at most
``2^-134``, and is part of the measured ``e_i``; a GPU may also flush such values to zero, which
adds at most ``sqrt(d) 2^-126`` to ``E_i``, far below the absolute slack below.

Lemma 2 (product error). With ``||û|| = 1`` and ``||b_j|| <= 1 + E_j``,
``|b_i . b_j - c_ij| = |(b_i - û_i) . b_j + û_i . (b_j - û_j)| <= E_i (1 + E_j) + E_j``
(Cauchy-Schwarz twice).

Lemma 3 (accumulation). The matrix product sums the ``d`` exact products ``b_ip b_jp`` in float32
in any order (tensor cores may truncate instead of rounding: unit ``2^-23`` rather than ``2^-24``,
Fasi et al., "Numerical behavior of NVIDIA tensor cores", PeerJ CS 2021), so the computed score
``s_ij`` satisfies ``|s_ij - b_i . b_j| <= gamma_d sum_p |b_ip b_jp| <= gamma_d (1 + E_i)(1 + E_j)``
with ``gamma_d = d 2^-23 / (1 - d 2^-23)`` (Higham, Accuracy and Stability, Lemma 3.1).

Bound. For every column ``j`` of the pass, with ``E = max_j E_j``:
``|s_ij - c_ij| <= eps_i := E_i (1 + E) + E + gamma_d (1 + E_i)(1 + E)``.

Certificate. Row ``i`` keeps the ``K`` columns of largest ``s_ij``; let ``t_i`` be the smallest
kept ``s_ij`` (every dropped column has ``s_ij <= t_i``) and ``a_i`` the k-th largest exact score
among the kept columns. A dropped ``j`` has ``c_ij <= s_ij + eps_i <= t_i + eps_i``. If
``a_i - t_i > eps_i + SLACK`` then ``c_ij < a_i - SLACK``, so ``float32(c_ij)`` (computed) is strictly
below ``a_i``: no dropped column can enter the top k, not even on a tie with a lower index, and the
top k of the kept columns is the exact top k. ``SLACK = 1e-6`` covers the float32 rounding of the
exact scores (``<= 2^-24 |c| < 6e-8``), their double computation (``< 1e-12``), the subnormal flush,
and the double arithmetic of this test. The exact score is compared with the low-precision one, so
one ``eps_i`` suffices (comparing two low-precision scores, as the CPU kernel does, takes two).
A row keeping every other row (``K = n - 1``) is certified whatever the scores.
"""

from __future__ import annotations

import numpy as np

BF16_UNIT_ROUNDOFF = 2.0**-8
FLOAT32_UNIT_ROUNDOFF = 2.0**-24
ACCUMULATION_UNIT = 2.0**-23  # float32 sums on tensor cores may truncate (Lemma 3)
SLACK = 1e-6


def accumulation_gamma(d: int) -> float:
    """``gamma_d`` of Lemma 3: relative error bound of a float32 sum of ``d`` products."""
    nu = d * ACCUMULATION_UNIT
    if nu >= 0.5:
        raise ValueError(f"d = {d} columns is too many for the float32 accumulation bound (d * 2**-23 must be < 0.5)")
    return nu / (1.0 - nu)


def row_bounds(row_errors: np.ndarray, max_error: float, d: int) -> np.ndarray:
    """``eps_i`` of every row: the largest ``|s_ij - c_ij|`` over the columns of the pass.

    Args:
        row_errors: ``[r]`` float64 ``e_i = ||b_i - u_i||`` of the rows (zeros in the float32 pass).
        max_error: ``max_j e_j`` over the pass's columns.
        d: number of columns of ``X``.
    """
    unit_error = FLOAT32_UNIT_ROUNDOFF * (1.0 + 2.0**-50)  # ||u_i - û_i||, Lemma 1
    e_i = np.asarray(row_errors, dtype=np.float64) + unit_error
    e_max = float(max_error) + unit_error
    gamma = accumulation_gamma(d)
    return e_i * (1.0 + e_max) + e_max + gamma * (1.0 + e_i) * (1.0 + e_max)


def certify(kth_exact: np.ndarray, smallest_kept: np.ndarray, bounds: np.ndarray, keeps_all: bool) -> np.ndarray:
    """``[r]`` bool: rows whose kept candidates provably hold their exact top k.

    Args:
        kth_exact: ``[r]`` the k-th largest exact (float32) score among each row's kept candidates.
        smallest_kept: ``[r]`` the smallest low-precision score each row kept (``t_i``).
        bounds: ``[r]`` ``eps_i`` from :func:`row_bounds`.
        keeps_all: every row kept every possible neighbour (``K = n - 1``).
    """
    if keeps_all:
        return np.ones(len(kth_exact), dtype=bool)
    gap = np.asarray(kth_exact, dtype=np.float64) - np.asarray(smallest_kept, dtype=np.float64)
    return gap > bounds + SLACK
