// Dense cosine kernels over float32 (and float16) row-major matrices.
//
// Algorithms
//   cosine_paired   one pass over a and b, accumulating a·b, |a|², |b|² per
//                   row in SIMD lanes: O(N·D), memory-bound, no temporaries.
//   cosine_block    the na×nb cosine matrix of two small row sets: inverse
//                   norms once, then 1×4 register-blocked dot products.
//   cosine_grouped  per CSR group, the block streamed in strips of rows
//                   (detail::stream_block_f32) and reduced on the fly to mean,
//                   max, BERTScore-style greedy precision / recall / F1, or
//                   "matched" (the mean of precision and recall).
//                   Memory per worker: one strip (at most ~256 KB, or two
//                   rows) plus O(na + nb) norms, never the na×nb block.
//   cosine_topk     (topk.cpp) exact blocked top-k, never the full matrix.
// Numerical policy
//   Products accumulate in float32 lanes (several independent accumulators),
//   the final ratio in double: relative error ~1e-6 for D ≤ 4096. A zero
//   vector has cosine 0.0 with anything; NaN in a row propagates to every
//   score that uses the row; results are clamped to [-1, 1]. Rows whose norm²
//   leaves [kSafeMin, kSafeMax] (tiny or huge values: float32 products would
//   underflow or overflow) are recomputed in double, in every kernel
//   (l2_normalize included). Each output is
//   computed by one thread from its own inputs only, in a fixed order: the
//   same bits for any worker count or batch split. SIMD paths differ from the
//   scalar path only by float rounding.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cpu.hpp"

namespace ds {

// matched = (precision + recall) / 2: each row's best match on the other
// side, averaged over both sides' rows; one pass, where precision and recall
// separately would compute the block twice.
enum class GroupReduce : int { mean = 0, max = 1, precision = 2, recall = 3, f1 = 4, matched = 5 };

void cosine_paired_f32(const float* a, const float* b, std::size_t n, std::size_t d, float* out, int workers);
void cosine_paired_f16(const std::uint16_t* a, const std::uint16_t* b, std::size_t n, std::size_t d, float* out,
                       int workers);

// Throws std::invalid_argument unless off[0] == 0, off is non-decreasing and
// off[groups] == nrows. `name` is used in the message.
void validate_offsets(const std::int64_t* off, std::size_t groups, std::size_t nrows, const char* name);

// Cosine matrix (row-major na×nb) of rows a[0..na) against b[0..nb).
// `scratch` must hold na + nb floats (inverse norms).
void cosine_block_f32(const float* a, std::size_t na, const float* b, std::size_t nb, std::size_t d, float* out,
                      float* scratch);

// Empty groups (no row on either side) give NaN: there is nothing to compare.
void cosine_grouped_f32(const float* a, const std::int64_t* a_off, const float* b, const std::int64_t* b_off,
                        std::size_t groups, std::size_t d, GroupReduce reduce, float* out, int workers);

// Exact top-k cosine of each query against the corpus; ties broken by the
// lower corpus index, NaN scores rank last. Requires 1 <= k <= nc.
void cosine_topk_f32(const float* q, std::size_t nq, const float* c, std::size_t nc, std::size_t d, std::size_t k,
                     float* scores, std::int64_t* indices, int workers);

// Row-wise L2 normalization: zero rows stay zero, NaN rows become NaN, rows
// with an infinite value give NaN there and 0 elsewhere (x / inf), rows whose
// norm² leaves the float32-safe range are scaled in double.
void l2_normalize_f32(const float* x, std::size_t n, std::size_t d, float* out, int workers);

float half_to_float(std::uint16_t h) noexcept;

namespace detail {
// Per-ISA primitive table, shared by the dense, top-k and alignment kernels.
struct DotTable {
  // out[r] = cosine(a_r, b_r) for r in [0, rows)
  void (*paired_f32)(const float* a, const float* b, std::size_t d, std::size_t rows, float* out);
  void (*paired_f16)(const std::uint16_t* a, const std::uint16_t* b, std::size_t d, std::size_t rows, float* out);
  // out[j] = a · b_j for four rows b_0..b_3
  void (*dot4)(const float* a, const float* b0, const float* b1, const float* b2, const float* b3, std::size_t d,
               float* out);
  // out[4*i + j] = a_i · b_j for two rows a_0, a_1 and four rows b_0..b_3
  void (*dot2x4)(const float* a0, const float* a1, const float* b0, const float* b1, const float* b2,
                 const float* b3, std::size_t d, float* out);
  float (*dot)(const float* a, const float* b, std::size_t d);
};
const DotTable& dot_table(Isa isa) noexcept;
inline const DotTable& dot_table() noexcept { return dot_table(active_isa()); }

// 2PR/(P+R) when P and R have the same sign, else 0 (with opposite signs
// P+R can be ~0: the plain formula has a pole there). NaN in -> NaN out.
inline double harmonic_f1(double p, double r) noexcept {
  if (p != p || r != r) return p + r;
  return ((p > 0 && r > 0) || (p < 0 && r < 0)) ? 2.0 * p * r / (p + r) : 0.0;
}
// Cosine from accumulated products, with the degenerate cases decided here.
float finish_cosine(double dot, double na, double nb) noexcept;
// 1/|x| (0 for a zero row, NaN for a NaN row).
float inv_norm(double sumsq) noexcept;
// Norms² inside [kSafeMin, kSafeMax] keep float32 products accurate; rows
// outside it (tiny or huge values) are recomputed in double.
constexpr double kSafeMin = 1e-30, kSafeMax = 1e30;
bool in_safe_range(double sumsq) noexcept;
double sumsq_double(const float* x, std::size_t d) noexcept;
double dot_double(const float* a, const float* b, std::size_t d) noexcept;

// inv[i] = 1/|x_i| from float32 products; returns true when some row's norm²
// is outside the safe range (NaN excluded), i.e. the block needs the double path.
bool inverse_norms_f32(const float* x, std::size_t n, std::size_t d, float* inv) noexcept;
// `rows` rows of a cosine block (row-major rows×nb) from precomputed inverse
// norms; `exact` selects the double path for the whole block. An entry's bits
// depend only on its position and the block's `exact` flag, so any split
// into strips gives the same values as the whole block.
void cosine_rows_f32(const float* a, std::size_t rows, const float* b, std::size_t nb, std::size_t d,
                     const float* inv_a, const float* inv_b, bool exact, float* out) noexcept;
// Rows per strip: even (so row pairs fall as in the whole block), and at
// most kStripFloats entries unless that is under two rows.
constexpr std::size_t kStripFloats = std::size_t{1} << 16;
inline std::size_t strip_rows(std::size_t nb) noexcept {
  const std::size_t r = nb ? (kStripFloats / nb) & ~std::size_t{1} : kStripFloats;
  return r < 2 ? 2 : r;
}

struct BlockScratch {
  std::vector<float> inv, strip;
};

// The na×nb cosine block of a against b, delivered as consecutive strips in
// row order: visit(i0, rows, strip) with strip[r * nb + j] = cos(a_{i0+r}, b_j).
// Reducers that consume strips in order see exactly the sequence of values the
// whole block would give, so streamed sums are bit-identical to unstreamed ones.
template <class Visit>
void stream_block_f32(const float* a, std::size_t na, const float* b, std::size_t nb, std::size_t d,
                      BlockScratch& s, Visit&& visit) {
  if (s.inv.size() < na + nb) s.inv.resize(na + nb);
  const bool exact_a = inverse_norms_f32(a, na, d, s.inv.data());
  const bool exact_b = inverse_norms_f32(b, nb, d, s.inv.data() + na);
  const std::size_t step = strip_rows(nb);
  const std::size_t cap = (step < na ? step : na) * nb;
  if (s.strip.size() < cap) s.strip.resize(cap);
  for (std::size_t i0 = 0; i0 < na; i0 += step) {
    const std::size_t rows = step < na - i0 ? step : na - i0;
    cosine_rows_f32(a + i0 * d, rows, b, nb, d, s.inv.data() + i0, s.inv.data() + na, exact_a || exact_b,
                    s.strip.data());
    visit(i0, rows, static_cast<const float*>(s.strip.data()));
  }
}
}  // namespace detail

}  // namespace ds
