// Per-pair n-gram statistics, LCS, BLEU and chrF over token sequences, and
// the batched drivers that tokenize and score whole batches in one call.
//
// N-gram counting is exact and collision-free given the token ids: each
// order n gets dense per-pair ids, and an n-gram is identified by the pair
// of dense ids of its two overlapping (n-1)-grams, so keys never overflow
// and no n-gram hashing is involved. N-grams whose (n-1)-gram halves do not
// occur on both sides cannot match and are skipped (unless set statistics
// are requested, which need every distinct n-gram). Cost per pair:
// O((m + n) * orders) expected hash-table operations.
//
// ROUGE-L uses the bit-parallel LCS of Allison-Dix / Hyyro: O(m * n / 64)
// word operations with the shorter side packed into bits; very long pairs
// switch to a row-striped variant whose memory is O(m + n).
//
// BLEU and chrF reproduce sacrebleu's arithmetic operation by operation in
// double precision (std::log / std::exp), so scores agree to the last bit
// or within a few ulps.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "text_tokenize.hpp"

namespace ds::text {

enum class Smooth : int { none = 0, floor = 1, add_k = 2, exp = 3 };

// One side of a batch: either UTF-8 texts (ptr + byte length per row) or
// pre-tokenized ids (values + int64 CSR offsets).
struct Side {
  const char* const* text = nullptr;
  const std::int64_t* text_len = nullptr;
  const std::uint64_t* ids = nullptr;
  const std::int64_t* ids_off = nullptr;
};

struct LexicalParams {
  Tokenizer tok = Tokenizer::unicode;
  int word_n = 0;          // n-gram orders 1..word_n for per-order stats
  bool distinct = false;   // also distinct (set) counts per order
  bool lcs = false;
  // chrF (enabled when chrf_char_order + chrf_word_order > 0; needs texts)
  int chrf_char_order = 0;
  int chrf_word_order = 0;
  double chrf_beta = 2.0;
  bool chrf_eps_smoothing = false;
  bool chrf_whitespace = false;  // keep whitespace in character n-grams
  // BLEU (needs word_n >= bleu_order)
  bool bleu = false;
  int bleu_order = 4;
  Smooth smooth = Smooth::exp;
  double smooth_value = 0.0;
  bool effective_order = true;
};

struct LexicalOutputs {
  std::int64_t* cand_len = nullptr;  // tokens per candidate (N)
  std::int64_t* ref_len = nullptr;   // tokens per reference (N)
  std::int64_t* ngram = nullptr;     // N x word_n x 3: cand total, ref total, multiset match
  std::int64_t* distinct = nullptr;  // N x word_n x 3: distinct cand, distinct ref, distinct shared
  std::int64_t* lcs = nullptr;       // N
  double* chrf = nullptr;            // N, 0..100
  // N x (char_order + word_order) x 3: sacrebleu's chrF statistics per order
  // (hyp n-grams (0 when the reference has none), ref n-grams, matches);
  // summed over pairs they give corpus-level chrF.
  std::int64_t* chrf_stats = nullptr;
  double* bleu = nullptr;            // N, 0..100
  double* bleu_bp = nullptr;         // N
};

// Scores pair i = (cand[i], ref[i]) for i < n. Deterministic for any workers.
void lexical_batch(const Side& cand, const Side& ref, std::size_t n, const LexicalParams& p,
                   const LexicalOutputs& out, int workers);

// Tokenizes rows into stable 64-bit ids; optionally the normalized token
// strings too (concatenated UTF-8 + int64 offsets per token).
void tokenize_batch(const char* const* text, const std::int64_t* len, std::size_t n, Tokenizer tok, int workers,
                    std::vector<std::uint64_t>& ids, std::vector<std::int64_t>& offsets, std::string* strings,
                    std::vector<std::int64_t>* string_offsets);

// Single-pair building blocks (exposed for the C++ tests and benchmarks).
std::int64_t lcs_length(const std::uint64_t* a, std::size_t m, const std::uint64_t* b, std::size_t n);
double bleu_from_stats(const std::int64_t* correct, const std::int64_t* total, int order, std::int64_t sys_len,
                       std::int64_t ref_len, Smooth smooth, double smooth_value, bool effective_order, double* bp_out);
double chrf_from_stats(const std::int64_t* stats, int orders, double beta, bool eps_smoothing);

}  // namespace ds::text
