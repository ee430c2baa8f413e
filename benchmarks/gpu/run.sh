#!/usr/bin/env bash
# One command on a CUDA machine: build labelgraph with CUDA in its own folder (no install), run
# tests/gpu and the CPU oracle of the GPU algorithm, then time every GPU variant against torch and
# CuPy with CUDA events, writing $OUT/gpu_results.json (OUT defaults to benchmarks/gpu/out).
# Sized for 6 minutes of GPU time on an H100/H200; each stage has its own time limit.
#   benchmarks/gpu/run.sh              # everything
#   benchmarks/gpu/run.sh --dry-run    # on a machine without a GPU: build, skip-tests, tiny CPU timings
set -euo pipefail
cd "$(dirname "$0")/../.."

PY=${PYTHON:-python3}
OUT_DIR=${OUT:-benchmarks/gpu/out}
BUILD=${LABELGRAPH_GPU_BUILD:-/tmp/labelgraph_gpu_build}
ARCH=${CUDA_ARCHITECTURES:-90}
mkdir -p "$OUT_DIR"
start=$(date +%s)
stage() { echo "== $1 ($(($(date +%s) - start)) s)"; }

stage "build (CUDA architectures $ARCH) in $BUILD"
generator=()
if command -v ninja >/dev/null && [ ! -f "$BUILD/CMakeCache.txt" ]; then generator=(-G Ninja); fi
timeout 240 cmake -S . -B "$BUILD" "${generator[@]}" -DLABELGRAPH_CUDA=ON -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CUDA_ARCHITECTURES="$ARCH" -DSKBUILD_PROJECT_VERSION=0.1.0 \
  -DPython_EXECUTABLE="$(command -v "$PY")" -Dpybind11_DIR="$("$PY" -m pybind11 --cmakedir)" \
  >"$OUT_DIR/cmake.log" 2>&1 || { tail -30 "$OUT_DIR/cmake.log"; exit 1; }
timeout 240 cmake --build "$BUILD" -j "$(nproc)" >"$OUT_DIR/build.log" 2>&1 || { tail -40 "$OUT_DIR/build.log"; exit 1; }

# The package from this checkout with the new extension, ahead of any installed labelgraph.
STAGE="$BUILD/pkg"
rm -rf "$STAGE" && mkdir -p "$STAGE"
cp -r python/labelgraph "$STAGE/"
find "$STAGE/labelgraph" -name '_core*.so' -delete
cp "$BUILD"/_core*.so "$STAGE/labelgraph/"
export PYTHONPATH="$STAGE${PYTHONPATH:+:$PYTHONPATH}"
"$PY" -c "import labelgraph, json; print(json.dumps(labelgraph.build_info()))" | tee "$OUT_DIR/build_info.json"

stage "tests/gpu (CUDA kernels vs CPU kernels) and tests/test_gpu_algorithm.py (the CPU oracle)"
set +e
timeout 150 "$PY" -m pytest tests/gpu tests/test_gpu_algorithm.py -q -rs -p no:cacheprovider >"$OUT_DIR/tests.log" 2>&1
tests_status=$?
set -e
tail -15 "$OUT_DIR/tests.log"

stage "timings"
set +e
timeout 300 "$PY" benchmarks/gpu/time_gpu.py --out "$OUT_DIR/gpu_results.json" "$@" 2>&1 | tee "$OUT_DIR/timings.log"
timing_status=${PIPESTATUS[0]}
set -e

stage "done: tests exit $tests_status, timings exit $timing_status"
if [ "$tests_status" -ne 0 ] || [ "$timing_status" -ne 0 ]; then exit 1; fi
