// BLEU segment statistics against several references per hypothesis, as
// sacrebleu computes them: each hypothesis n-gram count is clipped by its
// largest count in any one reference (max over references, not a sum), and
// the reference length is the one closest to the hypothesis length (the
// shorter on ties). Exact: n-grams are identified by dense ids built from
// the hypothesis's own n-grams (no hashing of n-grams; a reference n-gram
// that is not a hypothesis n-gram cannot match and is skipped).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ds::text {

// One reference stream: token ids + CSR offsets (one row per segment) and
// an optional mask (nullptr = every segment has this reference).
struct IdStream {
  const std::uint64_t* ids = nullptr;
  const std::int64_t* off = nullptr;
  const std::uint8_t* present = nullptr;
};

// out: n x (2 + 2 * order) int64, sacrebleu's layout per segment:
// sys_len, ref_len, correct[order], total[order]. A segment with no
// reference present gets ref_len 0 and no matches. Deterministic for any
// worker count.
void bleu_multi_ref_stats(const std::uint64_t* hyp, const std::int64_t* hyp_off, std::size_t n,
                          const std::vector<IdStream>& refs, int order, std::int64_t* out, int workers);

}  // namespace ds::text
