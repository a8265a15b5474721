// Summary-level LCS (ROUGE-Lsum, Lin 2004 section 3.2) over sentence-split pairs.
//
// For each reference sentence r, the union of the token positions of one LCS
// of r with every candidate sentence is taken; each position's token counts
// as a hit while both sides still have an unused occurrence of it (token
// counts are shared over the whole summary). The LCS read-out follows the
// classic dynamic-programming table and backtrack (prefer a diagonal match,
// then the left cell when it is strictly larger, else the upper cell), so
// the chosen positions, and therefore the hits, equal rouge-score's.
// Cost per pair: O(sum_r sum_c |r| |c|) time, O(max |r| |c|) memory.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ds::text {

// Ragged input: tokens `ids`, token offsets per sentence `sent_off`
// (length S+1), and sentence offsets per pair `pair_off` (length N+1), for
// each side. Writes hits[i] for pair i. Deterministic for any workers.
void lcs_summary_hits(const std::uint64_t* ref_ids, const std::int64_t* ref_sent_off, const std::int64_t* ref_pair_off,
                      const std::uint64_t* cand_ids, const std::int64_t* cand_sent_off,
                      const std::int64_t* cand_pair_off, std::size_t n, std::int64_t* hits, int workers);

}  // namespace ds::text
