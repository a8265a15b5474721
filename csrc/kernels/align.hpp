// Alignment kernels over CSR groups of embeddings (sentences or tokens).
//
// For each group g, the candidate rows a[a_off[g] .. a_off[g+1]) and the
// reference rows b[b_off[g] .. b_off[g+1]) give an na×nb cosine matrix S
// (detail::stream_block_f32, streamed in strips of rows, never held whole).
// From S, in one pass over the strips:
//   precision  Σ_i wa_i · max_j S_ij / Σ_i wa_i           (greedy, BERTScore P)
//   recall     Σ_j wb_j · max_i S_ij / Σ_j wb_j           (greedy, BERTScore R)
//   f1         2PR / (P + R) when P, R have the same sign, else 0 (no pole)
//   order      best *monotone* alignment: the DP
//                M[i][j] = max(M[i-1][j], M[i][j-1], M[i-1][j-1] + gain_ij),
//                gain_ij = max(S_ij, 0) · (wa_i + wb_j) / 2,
//              normalized by (Σ wa + Σ wb) / 2. Matches may not cross, so an
//              answer making the same points in another order scores lower
//              than its f1; identical answers score 1.
//   coverage   Σ_j wb_j · [max_i S_ij >= threshold] / Σ_j wb_j
// Weights default to 1 (plain means); with idf weights this is BERTScore
// with idf. Cost O(na·nb·d) for S plus O(na·nb) for the DP; memory per worker
// one strip of S (~256 KB, or two rows) plus O(na + nb), reused across groups.
// Degenerate cases: both sides empty → NaN (nothing to compare); one side
// empty → 0 for every score; a NaN anywhere in S → NaN for every score of the
// group; a side whose weights sum to 0 → 0 for the scores that divide by it.
// Each group is computed by one thread in a fixed order, so results are
// bit-identical for any worker count or split of the batch.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ds {

struct AlignOutputs {
  float* precision;
  float* recall;
  float* f1;
  float* order;
  float* coverage;
};

// a_w / b_w may be null (all weights 1). Offsets must be validated by the
// caller (validate_offsets).
void align_grouped_f32(const float* a, const std::int64_t* a_off, const float* a_w, const float* b,
                       const std::int64_t* b_off, const float* b_w, std::size_t groups, std::size_t d,
                       float threshold, AlignOutputs out, int workers);

}  // namespace ds
