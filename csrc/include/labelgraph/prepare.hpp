// Preparation of a propagation operator from a caller's CSR in O(nnz), in parallel: the CSR checks,
// the symmetry test, the reorder decision and the fused (reorder +) normalisation into float32.
#pragma once

#include <cmath>
#include <cstdint>

#include "labelgraph/propagate.hpp"

namespace labelgraph {

// The first problem check_csr_cpu found; kind none when the CSR is well formed. `position` indexes
// indptr (kind indptr_decreases: indptr[position + 1] < indptr[position]) or the stored entries.
enum class CsrProblem { none, indptr_decreases, index_out_of_range, unsorted, duplicate, not_finite };
struct CsrCheck {
  CsrProblem kind = CsrProblem::none;
  int64_t position = 0;
};

// Checks a CSR of n rows whose indptr starts at 0 and ends at nnz (checked by the caller), in the
// order the problems are reported: indptr non-decreasing, column indices in [0, n), sorted and
// unique within each row, values finite. Each kind reports its lowest position, so the answer
// does not depend on the thread count. Index and value types are the scipy ones.
template <class Indptr, class Index, class Value>
CsrCheck check_csr_cpu(int64_t n, const Indptr* indptr, const Index* indices, const Value* data, int n_threads);

// How the caller's values become log-weights: log W = s / T (temperature > 0: similarities) or
// log W = log(w) (temperature == 0: the values are weights, >= 0; zero weights are missing edges).
struct EdgeWeights {
  double temperature = 0.0;
  template <class Value>
  double log_weight(Value v) const {
    return temperature > 0.0 ? double(v) / temperature : std::log(double(v));
  }
};

// True when the CSR (sorted unique column indices) with log-weights `weights(data)` equals its
// transpose exactly. O(nnz): each entry above the diagonal finds its mirror by binary search in the
// mirror row, and the entries below the diagonal must be as many. Stops early at a missing mirror.
template <class Value>
bool csr_is_symmetric(const CsrView& graph, const Value* data, EdgeWeights weights, int n_threads);

// Fraction of the nonzeros (estimated on a sample of rows) whose column lies more than `window`
// rows from their row: gathers a sweep makes outside the rows it recently read.
double far_fraction(const CsrView& graph, int64_t window);

// The cost model of the reorder. A sweep in data order pays, per nonzero whose column is far from
// its row, a gather from memory instead of cache; renumbering breadth-first and permuting the CSR
// costs about kReorderCostInFarGathers far gathers per nonzero (benchmarks/propagation_RESULTS.md,
// "One call at 10^6 rows"). It pays when the sweeps' saving exceeds that: sweeps x far fraction >
// the cost, and only when Y ([n, row_bytes]) does not fit in cache, where no gather is far.
// `sweeps` < 0: unknown (an operator reused by many calls): pays whenever the graph is not local.
struct ReorderDecision {
  bool reorder = false;
  double far_fraction = 0.0;
};
ReorderDecision reorder_pays(const CsrView& graph, int64_t row_bytes, int64_t sweeps);

// Log-degrees and normalised float32 weights of the CSR in its own order (no copy of the graph):
// out[p] as propagation_weights_cpu gives for log_w[p] = weights.log_weight(data[p]), bit for bit.
// Throws std::invalid_argument on a negative weight or a value / T that overflows double.
template <class Value>
void prepare_weights_cpu(const CsrView& graph, const Value* data, EdgeWeights weights, Normalization normalization,
                         int n_threads, float* out);

// The same operator renumbered: new node r is old node order[r] (a permutation). Writes the
// permuted indptr [n + 1], indices [nnz] (sorted within each row) and normalised values [nnz], bit
// for bit what permute_csr followed by propagation_weights_cpu gives, without a float64 copy of
// the graph.
template <class Value>
void prepare_permuted_cpu(const CsrView& graph, const Value* data, EdgeWeights weights, Normalization normalization,
                          const int64_t* order, int n_threads, int64_t* out_indptr, int32_t* out_indices,
                          float* out_values);

}  // namespace labelgraph
