"""Runs the whole pipeline once and prints (or appends to a file) its markdown table.

    OMP_NUM_THREADS=2 PYTHONPATH=python python benchmarks/pipeline/run_pipeline.py --n 1000000 \
        --cache-graph --out benchmarks/pipeline/RESULTS.md

The graph of each size is cached under $LABELGRAPH_PIPELINE_CACHE (default /tmp/lg/pipeline)
with --cache-graph, and --reuse-graph loads it instead of building it (the graph row then says
"cached"); the memory probe (memory_probe.py) reads the same cache. The run is preceded by
the same pipeline on 600 rows, so imports and one-time setup are not charged to the first step.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pipeline_data import cached_embeddings, load_graph
from pipeline_steps import PipelineSize, as_json, markdown_table, run_pipeline, warm_up


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-threads", type=int, default=2)
    parser.add_argument("--n-select", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--cache-graph", action="store_true", help="store the graph built for the next runs")
    parser.add_argument("--reuse-graph", action="store_true", help="load the cached graph instead of building it")
    parser.add_argument("--graph-file", type=Path, help="use this .npz graph (e.g. stand_in_graph.py's) for the steps "
                        "after the graph; the graph row then says cached")
    parser.add_argument("--out", type=Path, help="append the table to this markdown file (else stdout only)")
    parser.add_argument("--json", type=Path, help="write every step's figures as JSON here")
    args = parser.parse_args(argv)

    size = PipelineSize(args.n, d=args.d, n_select=args.n_select, batches=args.batches, batch_size=args.batch_size)
    data = cached_embeddings(args.n, args.d, args.seed)
    graph = load_graph(args.n, args.d, args.seed, size.k) if args.reuse_graph else None
    if args.graph_file is not None:
        from memory_probe import load_graph_file

        graph = load_graph_file(args.graph_file)
    if args.reuse_graph and graph is None:
        print(f"no cached graph for n={args.n}, d={args.d}: building it", file=sys.stderr)
    warm_up(args.n_threads)
    load_before = os.getloadavg()
    steps = run_pipeline(data, size, seed=args.seed, n_threads=args.n_threads, graph=graph,
                         cache_graph=args.cache_graph)
    load_after = os.getloadavg()
    header = (f"n = {args.n:,}, d = {args.d}, k = {size.k}, {args.n_threads} threads, seed {args.seed}; "
              f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.node()}; "
              f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after"
              + (f"; graph from {args.graph_file.name}" if args.graph_file else ""))
    text = f"{header}\n\n{markdown_table(steps, size)}\n"
    print(text)
    if args.out:
        with open(args.out, "a") as f:
            f.write("\n" + text)
    if args.json:
        args.json.write_text(json.dumps({"n": args.n, "d": args.d, "threads": args.n_threads, "load": [load_before,
                                        load_after], "steps": as_json(steps)}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
