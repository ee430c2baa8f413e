"""Times labelgraph's CUDA kNN graph and propagation against the best torch / CuPy baselines (benchmarks/gpu/run.sh).

Every figure is a median of CUDA-event timings after a warm-up, next to the two ceilings measured
in the same run (device-to-device copy bandwidth, bf16 matrix-product rate on random data), and
every variant's result is checked (kNN: exact against float64 on sampled rows; propagation:
against torch.sparse.mm). ``--dry-run`` runs the same code at tiny sizes on the CPU (numpy backend
for labelgraph, CPU torch, no CuPy) to check the script without a GPU.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import warnings
from typing import Any, Callable

import numpy as np

import labelgraph

try:
    import torch
except ImportError:  # pragma: no cover - the GPU machines have torch
    torch = None


class Timer:
    """Median wall time of ``fn`` over ``repeat`` runs after ``warmup``: CUDA events on a GPU, else perf_counter."""

    def __init__(self, cuda: bool) -> None:
        self.cuda = cuda

    def __call__(self, fn: Callable[[], Any], repeat: int = 3, warmup: int = 1) -> float:
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(repeat):
            if self.cuda:
                start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                torch.cuda.synchronize()
                start.record()
                fn()
                stop.record()
                torch.cuda.synchronize()
                times.append(start.elapsed_time(stop) / 1e3)
            else:
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
        return statistics.median(times)


def ceilings(timer: Timer, device: str, size: dict[str, int]) -> dict[str, float]:
    """Copy bandwidth (bytes read + written per second) and bf16 matmul rate (FLOP/s) on random data."""
    src = torch.rand(size["copy_floats"], device=device)
    dst = torch.empty_like(src)
    t_copy = timer(lambda: dst.copy_(src), repeat=10, warmup=3)
    m = size["matmul"]
    a = torch.randn(m, m, device=device, dtype=torch.bfloat16)
    b = torch.randn(m, m, device=device, dtype=torch.bfloat16)
    t_mm = timer(lambda: a @ b, repeat=10, warmup=3)
    return {"copy_bytes_per_s": 2 * size["copy_floats"] * 4 / t_copy, "bf16_flop_per_s": 2 * m**3 / t_mm}


def torch_knn(X: Any, k: int, block: int) -> tuple[Any, Any]:
    """The best plain torch: normalise once, bf16 tiles of ``block`` rows against all, topk(k + 1), drop self."""
    Xn = torch.nn.functional.normalize(X, dim=1).to(torch.bfloat16)
    n = X.shape[0]
    indices = torch.empty((n, k), dtype=torch.int64, device=X.device)
    sims = torch.empty((n, k), dtype=torch.float32, device=X.device)
    for start in range(0, n, block):
        stop = min(start + block, n)
        scores = Xn[start:stop] @ Xn.T
        rows = torch.arange(stop - start, device=X.device)
        scores[rows, rows + start] = -float("inf")
        top = torch.topk(scores, k, dim=1)
        sims[start:stop], indices[start:stop] = top.values.float(), top.indices
    return indices, sims


def exact_rows(X: Any, rows: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
    """float64 top-k of sampled rows (self excluded): the check of every kNN variant."""
    X64 = torch.nn.functional.normalize(X.double(), dim=1)
    scores = X64[rows] @ X64.T
    scores[torch.arange(len(rows)), rows] = -float("inf")
    top = torch.topk(scores, k, dim=1)
    return top.indices.cpu().numpy(), top.values.float().cpu().numpy()


def recall(found: np.ndarray, found_sims: np.ndarray, truth: np.ndarray, truth_sims: np.ndarray,
           tol: float = 1e-6) -> float:
    """Share of the true neighbours found, tie-aware: a true neighbour missed counts as found when
    its score is within ``tol`` of the k-th found one (an equal float32 score ordered by index)."""
    hits = []
    for a, sa, b, sb in zip(found, found_sims, truth, truth_sims, strict=True):
        got = set(a.tolist())
        hits.append(np.mean([j in got or s <= sa[-1] + tol for j, s in zip(b.tolist(), sb.tolist(), strict=True)]))
    return float(np.mean(hits))


def bench_knn(timer: Timer, args: argparse.Namespace, size: dict[str, int], peak: float) -> dict[str, Any]:
    n, d, k = size["knn_n"], size["knn_d"], args.k
    gen = torch.Generator(device=args.device).manual_seed(0)
    # Clustered rows (centres plus noise of a scale that varies per row), closer to embeddings
    # than isotropic noise, whose cosines concentrate (most rows would then go to the refinement).
    centres = torch.randn(max(n // 100, 2), d, device=args.device, generator=gen)
    X = centres[torch.randint(0, centres.shape[0], (n,), device=args.device, generator=gen)]
    scale = 0.05 + 0.95 * torch.rand(n, 1, device=args.device, generator=gen)
    X = (X + scale * torch.randn(n, d, device=args.device, generator=gen)).float().contiguous()
    sample = torch.randperm(n, device=args.device, generator=gen)[:size["check_rows"]]
    truth_idx, truth_sim = exact_rows(X, sample, k)
    if args.device == "cuda":
        torch.cuda.empty_cache()  # torch's cache would hide free memory from labelgraph's budget
    useful = 2.0 * n * n * d  # the full similarity matrix: what a method without symmetry computes
    out: dict[str, Any] = {"n": n, "d": d, "k": k, "useful_flop": useful}

    def ours() -> Any:
        source = X if args.device == "cuda" else X.numpy()
        if args.device == "cuda":
            return labelgraph.knn_graph(source, k, device="cuda")
        from labelgraph.gpu import NumpyBackend, knn_graph_tiled
        return knn_graph_tiled(NumpyBackend(), source, k)

    result = ours()
    idx = result.indices if args.device == "cuda" else torch.from_numpy(result[0])
    sims = result.similarities if args.device == "cuda" else torch.from_numpy(result[1])
    stats = result.stats if args.device == "cuda" else result[2]
    got_idx, got_sim = idx[sample].cpu().numpy(), sims[sample].cpu().numpy()
    t = timer(ours, repeat=args.repeat, warmup=0)
    out["labelgraph"] = {"seconds": t, "effective_flop_per_s": useful / t, "fraction_of_bf16_peak": useful / t / peak,
                         "recall_sampled": recall(got_idx, got_sim, truth_idx, truth_sim),
                         "max_abs_sim_error_sampled": float(np.abs(got_sim - truth_sim).max()), "stats": stats}
    tidx, tsim = torch_knn(X, k, size["torch_block"])
    t_torch = timer(lambda: torch_knn(X, k, size["torch_block"]), repeat=args.repeat, warmup=0)
    out["torch_bf16_mm_topk"] = {
        "seconds": t_torch, "effective_flop_per_s": useful / t_torch, "fraction_of_bf16_peak": useful / t_torch / peak,
        "recall_sampled": recall(tidx[sample].cpu().numpy(), tsim[sample].cpu().numpy(), truth_idx, truth_sim),
        "max_abs_sim_error_sampled": float(np.abs(tsim[sample].cpu().numpy() - truth_sim).max()),
        "block_rows": size["torch_block"]}
    out["speedup_vs_torch"] = t_torch / t
    return out


def random_csr(n: int, per_row: int, device: str, seed: int) -> tuple[Any, Any, Any]:
    """CSR with ``per_row`` distinct-ish random columns a row (sorted), row-normalised positive weights."""
    gen = torch.Generator(device=device).manual_seed(seed)
    cols = torch.randint(0, n, (n, per_row), device=device, generator=gen, dtype=torch.int64)
    cols = torch.sort(cols, dim=1).values.to(torch.int32)
    values = torch.rand(n, per_row, device=device, generator=gen) + 0.1
    values = (values / values.sum(dim=1, keepdim=True)).float()
    indptr = torch.arange(0, n * per_row + 1, per_row, device=device, dtype=torch.int64)
    return indptr, cols.reshape(-1).contiguous(), values.reshape(-1).contiguous()


def bench_propagation(timer: Timer, args: argparse.Namespace, size: dict[str, int], copy_bw: float) -> dict[str, Any]:
    from labelgraph.gpu.propagate_cuda import propagate_csr_cuda

    n, per_row, c, iters = size["prop_n"], 10, 10, size["prop_iter"]
    indptr, indices, values = random_csr(n, per_row, args.device, 1)
    gen = torch.Generator(device=args.device).manual_seed(2)
    labeled = torch.rand(n, device=args.device, generator=gen) < 0.01
    labels = torch.where(labeled, torch.randint(0, c, (n,), device=args.device, generator=gen), -1).to(torch.int32)
    nnz = n * per_row
    floor_bytes = 8 * (n + 1) + 8 * nnz + 2 * 4 * n * c  # CSR once, Y read once and written once per iteration
    out: dict[str, Any] = {"n": n, "nnz": nnz, "classes": c, "iterations": iters, "min_bytes_per_iter": floor_bytes}

    def ours(steps: int) -> Any:
        if args.device == "cuda":
            return propagate_csr_cuda(indptr, indices, values, labels, c, steps, None, None, like=labels)
        return propagate_csr_numpy(indptr, indices, values, labels, c, steps)

    soft = ours(iters)[0]
    t_full = timer(lambda: ours(iters), repeat=args.repeat)
    t_zero = timer(lambda: ours(0), repeat=args.repeat)
    per_iter = max(t_full - t_zero, 1e-12) / iters

    onehot = torch.nn.functional.one_hot(labels[labeled].long(), c).float()
    with warnings.catch_warnings():  # torch: "sparse CSR support is in beta"
        warnings.simplefilter("ignore", UserWarning)
        A = torch.sparse_csr_tensor(indptr, indices.long(), values, size=(n, n))

    def torch_loop() -> Any:
        Y = torch.zeros(n, c, device=args.device)
        Y[labeled] = onehot
        for _ in range(iters):
            Y = torch.sparse.mm(A, Y)
            Y[labeled] = onehot
        return Y

    Y_torch = torch_loop()
    t_torch = timer(torch_loop, repeat=args.repeat) / iters
    soft_np = soft.cpu().numpy() if hasattr(soft, "cpu") else np.asarray(soft)
    err = float(np.abs(soft_np - Y_torch.cpu().numpy()).max() / max(float(Y_torch.abs().max()), 1e-30))
    out["labelgraph"] = {"seconds_per_iter": per_iter, "fraction_of_copy_bw": floor_bytes / per_iter / copy_bw,
                         "max_rel_diff_vs_torch": err}
    out["torch_sparse_mm_csr"] = {"seconds_per_iter": t_torch, "fraction_of_copy_bw": floor_bytes / t_torch / copy_bw}
    out["speedup_vs_torch"] = t_torch / per_iter
    try:
        import cupy
        import cupyx.scipy.sparse as cusparse
    except ImportError:
        out["cupy_cusparse_spmm"] = {"skipped": "cupy not installed"}
        return out
    if args.device != "cuda":
        out["cupy_cusparse_spmm"] = {"skipped": "dry run"}
        return out
    M = cusparse.csr_matrix((cupy.asarray(values), cupy.asarray(indices), cupy.asarray(indptr)), shape=(n, n))
    lab = cupy.asarray(labeled)
    onehot_c = cupy.asarray(onehot)

    def cupy_loop() -> Any:
        Y = cupy.zeros((n, c), dtype=cupy.float32)
        Y[lab] = onehot_c
        for _ in range(iters):
            Y = M @ Y  # cuSPARSE SpMM
            Y[lab] = onehot_c
        return Y

    cupy_loop()
    t_cupy = timer(cupy_loop, repeat=args.repeat) / iters
    out["cupy_cusparse_spmm"] = {"seconds_per_iter": t_cupy, "fraction_of_copy_bw": floor_bytes / t_cupy / copy_bw}
    out["speedup_vs_cupy"] = t_cupy / per_iter
    return out


def propagate_csr_numpy(indptr: Any, indices: Any, values: Any, labels: Any, c: int, steps: int) -> tuple[Any, ...]:
    """Dry run stand-in for the CUDA kernel: clamped sweeps with scipy (the same update)."""
    import scipy.sparse as sp

    n = labels.shape[0]
    A = sp.csr_array((values.numpy(), indices.numpy(), indptr.numpy()), shape=(n, n))
    lab = labels.numpy()
    Y = np.zeros((n, c), dtype=np.float32)
    Y[lab >= 0, lab[lab >= 0]] = 1.0
    for _ in range(steps):
        new = (A @ Y).astype(np.float32)
        new[lab >= 0] = Y[lab >= 0]
        Y = new
    return (Y,)


SIZES = {
    "full": {"copy_floats": 1 << 30, "matmul": 8192, "knn_n": 1_000_000, "knn_d": 384, "torch_block": 4096,
             "check_rows": 1000, "prop_n": 10_000_000, "prop_iter": 20},
    "dry": {"copy_floats": 1 << 16, "matmul": 128, "knn_n": 3000, "knn_d": 384, "torch_block": 512,
            "check_rows": 200, "prop_n": 20_000, "prop_iter": 5},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--dry-run", action="store_true", help="tiny sizes on the CPU (checks the script)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=("knn", "propagation"), default=None)
    args = parser.parse_args()
    if torch is None:
        print("time_gpu.py needs torch", file=sys.stderr)
        return 2
    args.device = "cpu" if args.dry_run else "cuda"
    if not args.dry_run and not torch.cuda.is_available():
        print("no CUDA device visible to torch; use --dry-run to check the script on the CPU", file=sys.stderr)
        return 2
    size = SIZES["dry" if args.dry_run else "full"]
    timer = Timer(cuda=not args.dry_run)
    report: dict[str, Any] = {
        "dry_run": args.dry_run, "command": " ".join(sys.argv), "python": platform.python_version(),
        "torch": torch.__version__, "labelgraph_build": labelgraph.build_info(),
        "gpu": torch.cuda.get_device_name() if not args.dry_run else None,
    }
    report["ceilings"] = ceilings(timer, args.device, size)
    print(json.dumps(report["ceilings"]), flush=True)
    if args.only in (None, "knn"):
        report["knn"] = bench_knn(timer, args, size, report["ceilings"]["bf16_flop_per_s"])
        print(json.dumps({k: v for k, v in report["knn"].items()}, default=str), flush=True)
    if args.only in (None, "propagation"):
        report["propagation"] = bench_propagation(timer, args, size, report["ceilings"]["copy_bytes_per_s"])
        print(json.dumps(report["propagation"]), flush=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2, default=str)
    ok = True
    if "knn" in report:
        ok &= report["knn"]["labelgraph"]["recall_sampled"] == 1.0
    if "propagation" in report:
        ok &= report["propagation"]["labelgraph"]["max_rel_diff_vs_torch"] < 1e-4
    print(("OK" if ok else "MISMATCH") + f": wrote {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
