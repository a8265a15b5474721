// Tests of the text kernels: multi-reference BLEU statistics, per-pair n-gram
// statistics and LCS, summary-level LCS hits. Each kernel is checked on small
// hand-computed cases and against a deliberately naive implementation written
// here (std::map n-gram counts, full dynamic-programming tables) on random
// inputs, for several worker counts.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness.hpp"
#include "text_bleu_multi.hpp"
#include "text_lcs_summary.hpp"
#include "text_ngram.hpp"

namespace {

using Seq = std::vector<std::uint64_t>;
using Row = std::vector<std::int64_t>;
using Grams = std::map<Seq, std::int64_t>;

// Elements [lo, hi) of v, as "[a, b, ...]".
template <class T>
std::string show(const std::vector<T>& v, std::size_t lo, std::size_t hi) {
  std::string s = lo > 0 ? "[..., " : "[";
  for (std::size_t i = lo; i < std::min(hi, v.size()); ++i) s += (i > lo ? ", " : "") + std::to_string(v[i]);
  return s + (hi < v.size() ? ", ...]" : "]");
}

// Like DS_CHECK(got == want), but says where the two differ (the whole
// vectors when short, else the first difference and its neighbourhood).
template <class T>
void check_same(const std::vector<T>& got, const std::vector<T>& want, const char* file, int line, const char* what) {
  if (got == want) return;
  std::size_t at = 0;
  while (at < got.size() && at < want.size() && got[at] == want[at]) ++at;
  const std::size_t lo = got.size() <= 40 && want.size() <= 40 ? 0 : (at > 8 ? at - 8 : 0);
  const std::size_t hi = got.size() <= 40 && want.size() <= 40 ? 40 : at + 8;
  throw dstest::Failure(std::string(file) + ":" + std::to_string(line) + ": " + what + " (size " +
                        std::to_string(got.size()) + ") first differs at " + std::to_string(at) + ": " +
                        show(got, lo, hi) + ", expected (size " + std::to_string(want.size()) + ") " +
                        show(want, lo, hi));
}
#define CHECK_SAME(got, want) check_same((got), (want), __FILE__, __LINE__, #got)

// CSR layout of a list of sequences, as the kernels take it.
struct Ragged {
  Seq ids;
  std::vector<std::int64_t> off{0};
  explicit Ragged(const std::vector<Seq>& rows) {
    for (const Seq& r : rows) {
      ids.insert(ids.end(), r.begin(), r.end());
      off.push_back(static_cast<std::int64_t>(ids.size()));
    }
  }
};

// Token ids spread over the whole 64-bit range (0 and ~0 included), so no
// kernel can lean on small ids: v = 1 -> 0, v = 0 -> 2^64 - 1.
std::uint64_t tok(std::uint32_t v) { return v == 0 ? ~std::uint64_t{0} : (v - 1) * 0x9E3779B97F4A7C15ull; }

Seq toks(std::initializer_list<std::uint32_t> vs) {
  Seq s;
  for (std::uint32_t v : vs) s.push_back(tok(v));
  return s;
}

Seq random_seq(std::mt19937& g, std::size_t len, std::uint32_t vocab) {
  Seq s(len);
  for (auto& x : s) x = tok(g() % vocab);
  return s;
}

// A sequence sharing runs with `src` (so higher-order n-grams match too).
Seq near_seq(std::mt19937& g, const Seq& src, std::size_t len, std::uint32_t vocab) {
  Seq s;
  while (s.size() < len) {
    if (!src.empty() && g() % 3 != 0) {
      const std::size_t at = g() % src.size(), run = 1 + g() % 6;
      for (std::size_t k = at; k < std::min(src.size(), at + run); ++k) s.push_back(src[k]);
    } else {
      s.push_back(tok(g() % vocab));
    }
  }
  s.resize(len);
  return s;
}

// ---- naive reference implementations

Grams count_grams(const Seq& s, int n) {
  Grams c;
  const auto un = static_cast<std::size_t>(n);
  for (std::size_t i = 0; i + un <= s.size(); ++i) ++c[Seq(s.begin() + static_cast<std::ptrdiff_t>(i),
                                                          s.begin() + static_cast<std::ptrdiff_t>(i + un))];
  return c;
}

std::int64_t count_of(const Grams& c, const Seq& g) {
  auto it = c.find(g);
  return it == c.end() ? 0 : it->second;
}

std::int64_t windows(std::size_t len, int n) {
  const auto l = static_cast<std::int64_t>(len) - n + 1;
  return l > 0 ? l : 0;
}

// sys_len, ref_len, correct[order], total[order] of one segment against the
// references that are present.
Row naive_bleu_row(const Seq& hyp, const std::vector<Seq>& refs, int order) {
  Row row(2 + 2 * static_cast<std::size_t>(order), 0);
  const auto hl = static_cast<std::int64_t>(hyp.size());
  row[0] = hl;
  bool any = false;
  std::int64_t best_len = 0;
  for (const Seq& r : refs) {
    const auto rl = static_cast<std::int64_t>(r.size());
    const std::int64_t d = std::llabs(hl - rl), bd = std::llabs(hl - best_len);
    if (!any || d < bd || (d == bd && rl < best_len)) best_len = rl;
    any = true;
  }
  row[1] = best_len;
  for (int n = 1; n <= order; ++n) {
    Grams most;  // largest count of each n-gram in any single reference
    for (const Seq& r : refs)
      for (const auto& [g, c] : count_grams(r, n)) most[g] = std::max(most[g], c);
    std::int64_t correct = 0;
    for (const auto& [g, c] : count_grams(hyp, n)) correct += std::min(c, count_of(most, g));
    row[1 + static_cast<std::size_t>(n)] = correct;
    row[1 + static_cast<std::size_t>(order + n)] = windows(hyp.size(), n);
  }
  return row;
}

std::int64_t naive_lcs(const Seq& a, const Seq& b) {
  std::vector<std::vector<std::int64_t>> L(a.size() + 1, std::vector<std::int64_t>(b.size() + 1, 0));
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j)
      L[i][j] = a[i - 1] == b[j - 1] ? L[i - 1][j - 1] + 1 : std::max(L[i - 1][j], L[i][j - 1]);
  return L[a.size()][b.size()];
}

// ROUGE-Lsum hits as Lin (2004) and rouge-score define them.
std::int64_t naive_lsum_hits(const std::vector<Seq>& ref, const std::vector<Seq>& cand) {
  std::map<std::uint64_t, std::int64_t> left_r, left_c;
  for (const Seq& s : ref)
    for (auto t : s) ++left_r[t];
  for (const Seq& s : cand)
    for (auto t : s) ++left_c[t];
  std::int64_t hits = 0;
  for (const Seq& r : ref) {
    std::vector<bool> in_union(r.size(), false);
    for (const Seq& c : cand) {
      std::vector<std::vector<int>> L(r.size() + 1, std::vector<int>(c.size() + 1, 0));
      for (std::size_t i = 1; i <= r.size(); ++i)
        for (std::size_t j = 1; j <= c.size(); ++j)
          L[i][j] = r[i - 1] == c[j - 1] ? L[i - 1][j - 1] + 1 : std::max(L[i - 1][j], L[i][j - 1]);
      std::size_t i = r.size(), j = c.size();
      while (i > 0 && j > 0) {
        if (r[i - 1] == c[j - 1]) {
          in_union[i - 1] = true;
          --i;
          --j;
        } else if (L[i][j - 1] > L[i - 1][j]) {
          --j;
        } else {
          --i;
        }
      }
    }
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (!in_union[i] || left_r[r[i]] == 0 || left_c[r[i]] == 0) continue;
      ++hits;
      --left_r[r[i]];
      --left_c[r[i]];
    }
  }
  return hits;
}

// Length of the longest strictly increasing subsequence (patience sorting):
// the LCS of `s` with 0, 1, 2, ... when every token of that run is distinct.
std::int64_t longest_increasing(const Seq& s) {
  Seq tails;
  for (auto x : s) {
    auto it = std::lower_bound(tails.begin(), tails.end(), x);
    if (it == tails.end())
      tails.push_back(x);
    else
      *it = x;
  }
  return static_cast<std::int64_t>(tails.size());
}

// ---- kernel drivers

struct BleuCase {
  std::vector<Seq> hyp;
  std::vector<std::vector<Seq>> refs;               // [stream][segment]
  std::vector<std::vector<std::uint8_t>> present;  // [stream]; empty: always present
};

Row run_bleu(const BleuCase& c, int order, int workers) {
  const Ragged h(c.hyp);
  std::vector<Ragged> rs;
  for (const auto& stream : c.refs) rs.emplace_back(stream);
  std::vector<ds::text::IdStream> streams;
  for (std::size_t s = 0; s < rs.size(); ++s)
    streams.push_back({rs[s].ids.data(), rs[s].off.data(),
                       s < c.present.size() && !c.present[s].empty() ? c.present[s].data() : nullptr});
  const std::size_t width = 2 + 2 * static_cast<std::size_t>(order);
  Row out(c.hyp.size() * width, -7);
  ds::text::bleu_multi_ref_stats(h.ids.data(), h.off.data(), c.hyp.size(), streams, order, out.data(), workers);
  return out;
}

Row naive_bleu(const BleuCase& c, int order) {
  Row out;
  for (std::size_t i = 0; i < c.hyp.size(); ++i) {
    std::vector<Seq> refs;
    for (std::size_t s = 0; s < c.refs.size(); ++s)
      if (s >= c.present.size() || c.present[s].empty() || c.present[s][i] != 0) refs.push_back(c.refs[s][i]);
    const Row r = naive_bleu_row(c.hyp[i], refs, order);
    out.insert(out.end(), r.begin(), r.end());
  }
  return out;
}

struct Lexical {
  Row cand_len, ref_len, ngram, distinct, lcs;
  std::vector<double> bleu, bp;
};

// lexical_batch on pre-tokenized pairs; with_distinct selects the set
// statistics path (ngram_levels) instead of the fused multiset-only one.
Lexical run_lexical(const std::vector<Seq>& cand, const std::vector<Seq>& ref, int word_n, bool with_distinct,
                    int workers) {
  const std::size_t n = cand.size(), per = n * static_cast<std::size_t>(word_n) * 3;
  const Ragged c(cand), r(ref);
  ds::text::Side cs, rs;
  cs.ids = c.ids.data();
  cs.ids_off = c.off.data();
  rs.ids = r.ids.data();
  rs.ids_off = r.off.data();
  ds::text::LexicalParams p;
  p.word_n = word_n;
  p.distinct = with_distinct;
  p.lcs = true;
  p.bleu = word_n >= 1;
  p.bleu_order = word_n;
  Lexical x{Row(n, -7), Row(n, -7), Row(per, -7), Row(with_distinct ? per : 0, -7), Row(n, -7),
            std::vector<double>(n, -7), std::vector<double>(n, -7)};
  ds::text::LexicalOutputs o;
  o.cand_len = x.cand_len.data();
  o.ref_len = x.ref_len.data();
  o.ngram = x.ngram.data();
  o.distinct = with_distinct ? x.distinct.data() : nullptr;
  o.lcs = x.lcs.data();
  o.bleu = x.bleu.data();
  o.bleu_bp = x.bp.data();
  ds::text::lexical_batch(cs, rs, n, p, o, workers);
  return x;
}

// Expected per-order rows {cand total, ref total, match} and
// {distinct cand, distinct ref, distinct shared} of one pair.
void naive_ngram(const Seq& cand, const Seq& ref, int word_n, Row& ngram, Row& distinct) {
  for (int n = 1; n <= word_n; ++n) {
    const Grams gc = count_grams(cand, n), gr = count_grams(ref, n);
    std::int64_t match = 0, shared = 0;
    for (const auto& [g, k] : gc) {
      match += std::min(k, count_of(gr, g));
      shared += gr.count(g) ? 1 : 0;
    }
    ngram.insert(ngram.end(), {windows(cand.size(), n), windows(ref.size(), n), match});
    distinct.insert(distinct.end(),
                    {static_cast<std::int64_t>(gc.size()), static_cast<std::int64_t>(gr.size()), shared});
  }
}

// Ragged summaries: per pair a list of sentences per side.
struct Summaries {
  std::vector<std::vector<Seq>> ref, cand;
};

Row run_lsum(const Summaries& s, int workers) {
  struct Pack {
    Seq ids;
    std::vector<std::int64_t> sent{0}, pair{0};
  } r, c;
  auto fill = [](const std::vector<std::vector<Seq>>& pairs, Pack& out) {
    for (const auto& sents : pairs) {
      for (const Seq& t : sents) {
        out.ids.insert(out.ids.end(), t.begin(), t.end());
        out.sent.push_back(static_cast<std::int64_t>(out.ids.size()));
      }
      out.pair.push_back(static_cast<std::int64_t>(out.sent.size() - 1));
    }
  };
  fill(s.ref, r);
  fill(s.cand, c);
  Row hits(s.ref.size(), -7);
  ds::text::lcs_summary_hits(r.ids.data(), r.sent.data(), r.pair.data(), c.ids.data(), c.sent.data(),
                             c.pair.data(), s.ref.size(), hits.data(), workers);
  return hits;
}

// A random BLEU batch: `n` segments, three reference streams, the first two
// masked (roughly one segment in four absent), lengths 0..max_len.
BleuCase random_bleu_case(std::uint32_t seed, std::size_t n, std::size_t max_len, std::uint32_t vocab) {
  std::mt19937 g(seed);
  BleuCase c;
  c.refs.resize(3);
  c.present.assign(2, std::vector<std::uint8_t>(n));
  for (std::size_t i = 0; i < n; ++i) {
    c.hyp.push_back(random_seq(g, g() % (max_len + 1), vocab));
    for (auto& stream : c.refs) stream.push_back(near_seq(g, c.hyp.back(), g() % (max_len + 1), vocab));
    for (auto& mask : c.present) mask[i] = g() % 4 != 0;
  }
  return c;
}

}  // namespace

// ---------------------------------------------------------------- BLEU multi-ref

DS_TEST(bleu_multi_clips_by_max_over_references) {
  // hyp 1 1 1 2 against r1 = 1 2 3 and r2 = 1 1 5 6 7. Unigram "1": 3 in the
  // hypothesis, at most 2 in one reference -> 2 (a sum over references would
  // allow 3); "2": 1. Bigrams: (1 1) twice in hyp, once in r2; (1 2) once in
  // hyp and r1. Lengths 3 and 5 are both 1 away from 4: the shorter wins.
  BleuCase c;
  c.hyp = {toks({1, 1, 1, 2})};
  c.refs = {{toks({1, 2, 3})}, {toks({1, 1, 5, 6, 7})}};
  CHECK_SAME(run_bleu(c, 2, 1), (Row{4, 3, 3, 2, 4, 3}));
  CHECK_SAME(naive_bleu(c, 2), (Row{4, 3, 3, 2, 4, 3}));
}

DS_TEST(bleu_multi_order_four) {
  // hyp 7 8 9 7 8 9, r1 = 7 8 9 7 8, r2 = 9 7 8 9 1 2 3.
  //   unigrams: 7,8,9 twice each; r1 has 7,8 twice, r2 has 9 twice  -> 6
  //   bigrams: (7 8) x2 [r1: 2], (8 9) x2 [max 1], (9 7) x1 [1]     -> 4
  //   trigrams: (7 8 9) x2 [max 1], (8 9 7) x1, (9 7 8) x1           -> 3
  //   4-grams: 789 7, 89 78, 9 789, each once and each in a reference -> 3
  // Summed over references, (8 9) and (7 8 9) would count 2 each.
  BleuCase c;
  c.hyp = {toks({7, 8, 9, 7, 8, 9})};
  c.refs = {{toks({7, 8, 9, 7, 8})}, {toks({9, 7, 8, 9, 1, 2, 3})}};
  const Row want{6, 5, 6, 4, 3, 3, 6, 5, 4, 3};
  CHECK_SAME(run_bleu(c, 4, 1), want);
  CHECK_SAME(naive_bleu(c, 4), want);
  // order 1 and order 5 from the same segment
  CHECK_SAME(run_bleu(c, 1, 1), (Row{6, 5, 6, 6}));
  // the 5-gram 7 8 9 7 8 is r1 itself
  CHECK_SAME(run_bleu(c, 5, 1), (Row{6, 5, 6, 4, 3, 3, 1, 6, 5, 4, 3, 2}));
}

DS_TEST(bleu_multi_closest_reference_length) {
  BleuCase c;
  c.hyp = {toks({1, 2, 3, 4}), toks({1, 2, 3, 4}), toks({1, 2, 3, 4}), toks({5})};
  c.refs = {
      {toks({1, 2, 3, 4, 5}), toks({1, 2}), toks({1, 2, 3, 4, 5, 6, 7, 8, 9}), toks({5, 5, 5})},
      {toks({4, 4, 4}), toks({1, 2, 3, 4, 5, 6, 7}), toks({2, 3, 4, 1, 9}), toks({})},
      {toks({9, 9, 9, 9, 9, 9}), toks({1, 2, 3, 4, 5}), toks({1, 2}), toks({7, 7})},
  };
  // segment 0: 5 and 3 tie at distance 1 (the longer listed first) -> 3
  // segment 1: 2, 7, 5 -> 5 (distance 1)
  // segment 2: 9, 5, 2 -> 5
  // segment 3: lengths 3, 0, 2 against 1: 0 and 2 tie -> 0
  const Row want{4, 3, 4, 3, 4, 3,  //
                 4, 5, 4, 3, 4, 3,  //
                 4, 5, 4, 3, 4, 3,  //
                 1, 0, 1, 0, 1, 0};
  CHECK_SAME(run_bleu(c, 2, 1), want);
  CHECK_SAME(naive_bleu(c, 2), want);
}

DS_TEST(bleu_multi_present_mask) {
  // Absent references hold tokens that would match (and lengths that would
  // be closest): the kernel must not read them.
  BleuCase c;
  c.hyp = {toks({1, 2, 3}), toks({1, 2, 3}), toks({1, 2, 3}), toks({4, 4})};
  c.refs = {
      {toks({1, 2, 3}), toks({1, 2, 3}), toks({9}), toks({4, 4})},              // masked
      {toks({1, 9, 9, 9, 9}), toks({2, 3}), toks({1, 2, 3}), toks({4, 4, 4})},  // masked
      {toks({3, 3}), toks({3, 3}), toks({3, 3}), toks({3, 3})},                 // always present
  };
  c.present = {{0, 1, 1, 0}, {1, 0, 0, 0}};
  // seg 0: r2 (len 5: "1") and r3 (len 2: "3"); lengths 5 and 2 are 2 and 1 away -> 2
  // seg 1: r1 and r3: full match, length 3
  // seg 2: r1 = "9" and r3 = "3 3": lengths 1 and 2 -> 2; one unigram match
  // seg 3: only r3, nothing shared
  const Row want{3, 2, 2, 0, 3, 2,  //
                 3, 3, 3, 2, 3, 2,  //
                 3, 2, 1, 0, 3, 2,  //
                 2, 2, 0, 0, 2, 1};
  CHECK_SAME(run_bleu(c, 2, 1), want);
  CHECK_SAME(naive_bleu(c, 2), want);
}

DS_TEST(bleu_multi_no_reference_present) {
  // Every reference absent: ref_len 0, no matches, the totals still count
  // the hypothesis n-grams. Its neighbours are unaffected.
  BleuCase c;
  c.hyp = {toks({1, 2, 3}), toks({1, 2, 3}), toks({1, 2})};
  c.refs = {{toks({1, 2, 3}), toks({1, 2, 3}), toks({1, 2})}, {toks({1, 2, 3}), toks({1, 2, 3}), toks({1})}};
  c.present = {{1, 0, 0}, {0, 0, 1}};
  const Row want{3, 3, 3, 2, 1, 0, 3, 2, 1, 0,  //
                 3, 0, 0, 0, 0, 0, 3, 2, 1, 0,  //
                 2, 1, 1, 0, 0, 0, 2, 1, 0, 0};
  CHECK_SAME(run_bleu(c, 4, 1), want);
  CHECK_SAME(naive_bleu(c, 4), want);
  CHECK_SAME(run_bleu(c, 4, 3), want);
}

DS_TEST(bleu_multi_empty_and_short_hypotheses) {
  BleuCase c;
  c.hyp = {toks({}), toks({5}), toks({5, 5}), toks({})};
  c.refs = {{toks({1, 2}), toks({5, 5, 5}), toks({5}), toks({})}};
  const Row want{0, 2, 0, 0, 0, 0, 0, 0, 0, 0,  //
                 1, 3, 1, 0, 0, 0, 1, 0, 0, 0,  //
                 2, 1, 1, 0, 0, 0, 2, 1, 0, 0,  //
                 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  CHECK_SAME(run_bleu(c, 4, 1), want);
  CHECK_SAME(naive_bleu(c, 4), want);
}

DS_TEST(bleu_multi_extreme_token_ids) {
  // 0 and 2^64 - 1 are ordinary tokens.
  BleuCase c;
  const std::uint64_t hi = std::numeric_limits<std::uint64_t>::max();
  c.hyp = {Seq{0, hi, 0, hi}};
  c.refs = {{Seq{hi, 0, hi}}, {Seq{0, 0, 0, 0}}};
  // ref_len 4 (exact); unigrams: 0 x2 (r2 has 4) -> 2, hi x2 (r1 has 2) -> 2;
  // bigrams (0 hi) x2 [r1: 1], (hi 0) x1 [r1: 1] -> 2; trigram (hi 0 hi) in r1 -> 1
  CHECK_SAME(run_bleu(c, 3, 1), (Row{4, 4, 4, 2, 1, 4, 3, 2}));
}

DS_TEST(bleu_multi_zero_segments) {
  BleuCase c;
  c.refs.resize(1);
  CHECK_SAME(run_bleu(c, 4, 3), Row{});
}

DS_TEST(bleu_multi_random_matches_naive_for_any_workers) {
  for (int order : {4, 2, 1, 6}) {
    const BleuCase c = random_bleu_case(100 + static_cast<std::uint32_t>(order), 300, 14, 5);
    const Row want = naive_bleu(c, order);
    for (int workers : {1, 2, 3}) CHECK_SAME(run_bleu(c, order, workers), want);
  }
  // larger vocabulary, longer segments
  const BleuCase c = random_bleu_case(7, 200, 60, 40);
  const Row want = naive_bleu(c, 4);
  for (int workers : {1, 2, 3}) CHECK_SAME(run_bleu(c, 4, workers), want);
}

// ---------------------------------------------------------------- n-grams and LCS

DS_TEST(lcs_length_hand_cases) {
  auto lcs = [](const Seq& a, const Seq& b) { return ds::text::lcs_length(a.data(), a.size(), b.data(), b.size()); };
  DS_CHECK(lcs(toks({1, 2, 3, 2, 4, 1, 2}), toks({2, 4, 3, 1, 2, 1})) == 4);  // ABCBDAB / BDCABA
  DS_CHECK(lcs(toks({}), toks({1, 2})) == 0);
  DS_CHECK(lcs(toks({1, 2}), toks({})) == 0);
  DS_CHECK(lcs(toks({}), toks({})) == 0);
  DS_CHECK(lcs(toks({3}), toks({3})) == 1);
  DS_CHECK(lcs(toks({3}), toks({4})) == 0);
  DS_CHECK(lcs(toks({1, 1, 1}), toks({1, 1})) == 2);
  DS_CHECK(lcs(toks({1, 1}), toks({1, 1, 1, 1, 1})) == 2);
  DS_CHECK(lcs(toks({1, 2, 1, 2}), toks({2, 1, 2, 1})) == 3);
  DS_CHECK(lcs(toks({1, 2, 3}), toks({3, 2, 1})) == 1);
  DS_CHECK(lcs(toks({0, 1}), toks({1, 0})) == 1);  // ids 2^64 - 1 and 0
}

DS_TEST(lcs_length_random_matches_naive) {
  // lengths around the 64-bit word boundaries of the bit-parallel LCS
  std::mt19937 g(21);
  const std::size_t lens[] = {0, 1, 2, 5, 63, 64, 65, 127, 128, 129, 200};
  for (std::size_t la : lens)
    for (std::size_t lb : lens) {
      const std::uint32_t vocab = 2 + g() % 12;
      const Seq a = random_seq(g, la, vocab);
      const Seq b = g() % 2 ? near_seq(g, a, lb, vocab) : random_seq(g, lb, vocab);
      const std::int64_t want = naive_lcs(a, b);
      DS_CHECK(ds::text::lcs_length(a.data(), a.size(), b.data(), b.size()) == want);
      DS_CHECK(ds::text::lcs_length(b.data(), b.size(), a.data(), a.size()) == want);
    }
}

DS_TEST(lcs_length_long_pair_striped_path) {
  // 13000 distinct tokens against a shuffle of them with a tenth replaced:
  // enough shared tokens that the kernel takes its row-striped path
  // (shared * words > 2^21). The LCS with 0..N-1 is then the longest
  // increasing run of the shuffle.
  const std::size_t N = 13000;
  std::mt19937 g(5);
  Seq a(N), b(N);
  for (std::size_t i = 0; i < N; ++i) a[i] = b[i] = i;
  std::shuffle(b.begin(), b.end(), g);
  for (std::size_t i = 0; i < N / 10; ++i) b[g() % N] = g() % 2 ? N + g() % 50 : g() % N;  // foreign or repeat
  Seq in_a;  // b without the foreign tokens
  for (auto x : b)
    if (x < N) in_a.push_back(x);
  const std::int64_t want = longest_increasing(in_a);
  DS_CHECK(want > 150);
  DS_CHECK(ds::text::lcs_length(a.data(), N, b.data(), N) == want);
  DS_CHECK(ds::text::lcs_length(b.data(), N, a.data(), N) == want);
  // the batched path computes the same
  for (bool with_distinct : {false, true}) {
    const Lexical x = run_lexical({b}, {a}, 2, with_distinct, 1);
    DS_CHECK(x.lcs[0] == want);
  }
}

DS_TEST(ngram_stats_hand_cases) {
  // cand "1 1 2 1", ref "1 2 1 3":
  //   unigrams: cand {1:3, 2:1}, ref {1:2, 2:1, 3:1}: match 3; distinct 2, 3, shared 2
  //   bigrams:  cand {11, 12, 21}, ref {12, 21, 13}:   match 2; distinct 3, 3, shared 2
  //   trigrams: cand {112, 121}, ref {121, 213}:       match 1; distinct 2, 2, shared 1
  //   4-grams:  cand {1121}, ref {1213}:               match 0; distinct 1, 1, shared 0
  // LCS 3 ("1 2 1").
  // Then edge cases: an empty side, one token, repeated tokens, no overlap.
  const std::vector<Seq> cand{toks({1, 1, 2, 1}), toks({}), toks({4, 5}), toks({}), toks({6}),
                              toks({6}), toks({2, 2, 2, 2}), toks({1, 2, 3})};
  const std::vector<Seq> ref{toks({1, 2, 1, 3}), toks({4, 5}), toks({}), toks({}), toks({6}),
                             toks({7}), toks({2, 2}), toks({4, 5, 6})};
  const Row ngram{4, 4, 3, 3, 3, 2, 2, 2, 1, 1, 1, 0,  //
                  0, 2, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,  //
                  2, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,  //
                  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  //
                  1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,  //
                  1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  //
                  4, 2, 2, 3, 1, 1, 2, 0, 0, 1, 0, 0,  //
                  3, 3, 0, 2, 2, 0, 1, 1, 0, 0, 0, 0};
  const Row distinct{2, 3, 2, 3, 3, 2, 2, 2, 1, 1, 1, 0,  //
                     0, 2, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,  //
                     2, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,  //
                     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  //
                     1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,  //
                     1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  //
                     1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0,  //
                     3, 3, 0, 2, 2, 0, 1, 1, 0, 0, 0, 0};
  const Row lcs{3, 0, 0, 0, 1, 0, 2, 0};
  for (bool with_distinct : {false, true}) {
    const Lexical x = run_lexical(cand, ref, 4, with_distinct, 1);
    CHECK_SAME(x.ngram, ngram);
    CHECK_SAME(x.lcs, lcs);
    CHECK_SAME(x.cand_len, (Row{4, 0, 2, 0, 1, 1, 4, 3}));
    CHECK_SAME(x.ref_len, (Row{4, 2, 0, 0, 1, 1, 2, 3}));
    if (with_distinct) CHECK_SAME(x.distinct, distinct);
  }
  // the naive counter agrees with the hand table
  Row nn, nd;
  for (std::size_t i = 0; i < cand.size(); ++i) naive_ngram(cand[i], ref[i], 4, nn, nd);
  CHECK_SAME(nn, ngram);
  CHECK_SAME(nd, distinct);
}

DS_TEST(ngram_stats_random_match_naive_for_any_workers) {
  // Short pairs over small vocabularies (many repeats), plus a few long ones
  // over a large vocabulary (the hashed rather than direct-indexed tables).
  std::mt19937 g(77);
  std::vector<Seq> cand, ref;
  for (int i = 0; i < 220; ++i) {
    const bool lng = i % 40 == 3;
    const std::uint32_t vocab = lng ? 2000 : 2 + g() % 6;
    auto length = [&] { return lng ? 500 + g() % 201 : g() % 17; };
    ref.push_back(random_seq(g, length(), vocab));
    cand.push_back(g() % 4 ? near_seq(g, ref.back(), length(), vocab) : random_seq(g, length(), vocab));
  }
  const int word_n = 5;
  Row ngram, distinct, lcs, cl, rl;
  for (std::size_t i = 0; i < cand.size(); ++i) {
    naive_ngram(cand[i], ref[i], word_n, ngram, distinct);
    lcs.push_back(naive_lcs(cand[i], ref[i]));
    cl.push_back(static_cast<std::int64_t>(cand[i].size()));
    rl.push_back(static_cast<std::int64_t>(ref[i].size()));
  }
  for (bool with_distinct : {false, true}) {
    for (int workers : {1, 2, 3}) {
      const Lexical x = run_lexical(cand, ref, word_n, with_distinct, workers);
      CHECK_SAME(x.ngram, ngram);
      CHECK_SAME(x.lcs, lcs);
      CHECK_SAME(x.cand_len, cl);
      CHECK_SAME(x.ref_len, rl);
      if (with_distinct) CHECK_SAME(x.distinct, distinct);
      // BLEU per pair is bleu_from_stats of exactly these statistics
      for (std::size_t i = 0; i < cand.size(); ++i) {
        std::int64_t correct[word_n], total[word_n];
        for (int k = 0; k < word_n; ++k) {
          total[k] = ngram[(i * word_n + static_cast<std::size_t>(k)) * 3 + 0];
          correct[k] = ngram[(i * word_n + static_cast<std::size_t>(k)) * 3 + 2];
        }
        double bp = -1;
        const double b = ds::text::bleu_from_stats(correct, total, word_n, cl[i], rl[i], ds::text::Smooth::exp, 0.0,
                                                   true, &bp);
        DS_CHECK(x.bleu[i] == b && x.bp[i] == bp);
      }
    }
  }
}

DS_TEST(lexical_batch_rejects_bad_options) {
  const std::vector<Seq> one{toks({1, 2})};
  const Ragged r(one);
  ds::text::Side s;
  s.ids = r.ids.data();
  s.ids_off = r.off.data();
  ds::text::LexicalOutputs o;
  ds::text::LexicalParams chrf;
  chrf.chrf_char_order = 6;  // chrF needs the texts
  DS_CHECK_THROWS(ds::text::lexical_batch(s, s, 1, chrf, o, 1), std::invalid_argument);
  ds::text::LexicalParams deep;
  deep.word_n = 65;
  DS_CHECK_THROWS(ds::text::lexical_batch(s, s, 1, deep, o, 1), std::invalid_argument);
}

DS_TEST(bleu_from_stats_hand_cases) {
  using ds::text::Smooth;
  double bp = -1;
  const std::int64_t full[] = {4, 3, 2, 1};
  DS_CHECK_NEAR(ds::text::bleu_from_stats(full, full, 4, 4, 4, Smooth::exp, 0.0, true, &bp), 100.0, 1e-9);
  DS_CHECK(bp == 1.0);
  // brevity penalty exp(1 - 4/2), all precisions 100
  const std::int64_t two[] = {2, 1};
  DS_CHECK_NEAR(ds::text::bleu_from_stats(two, two, 2, 2, 4, Smooth::none, 0.0, true, &bp), 100.0 * std::exp(-1.0),
                1e-9);
  DS_CHECK_NEAR(bp, std::exp(-1.0), 1e-15);
  // no match at all -> 0; no hypothesis -> bp 0
  const std::int64_t none[] = {0, 0}, tot[] = {3, 2};
  DS_CHECK(ds::text::bleu_from_stats(none, tot, 2, 3, 3, Smooth::exp, 0.0, true, &bp) == 0.0);
  DS_CHECK(ds::text::bleu_from_stats(none, none, 2, 0, 3, Smooth::exp, 0.0, true, &bp) == 0.0 && bp == 0.0);
  // exp smoothing: the missing bigram precision is 100 / (2 * 1)
  const std::int64_t c_exp[] = {2, 0}, t_exp[] = {2, 1};
  DS_CHECK_NEAR(ds::text::bleu_from_stats(c_exp, t_exp, 2, 2, 2, Smooth::exp, 0.0, true, nullptr),
                std::sqrt(100.0 * 50.0), 1e-9);
  // floor: 100 * 0.1 / 2;  add-k (k = 1, orders >= 2): 100 * 1 / 3
  const std::int64_t c1[] = {1, 0}, t2[] = {2, 2};
  DS_CHECK_NEAR(ds::text::bleu_from_stats(c1, t2, 2, 3, 3, Smooth::floor, 0.1, true, nullptr),
                std::sqrt(50.0 * 5.0), 1e-9);
  DS_CHECK_NEAR(ds::text::bleu_from_stats(c1, t2, 2, 3, 3, Smooth::add_k, 1.0, true, nullptr),
                std::sqrt(50.0 * 100.0 / 3.0), 1e-9);
  // effective order: orders without any n-gram are left out, or count as 0
  const std::int64_t c_eff[] = {2, 1, 0, 0}, t_eff[] = {2, 1, 0, 0};
  DS_CHECK_NEAR(ds::text::bleu_from_stats(c_eff, t_eff, 4, 2, 2, Smooth::none, 0.0, true, nullptr), 100.0, 1e-9);
  DS_CHECK(ds::text::bleu_from_stats(c_eff, t_eff, 4, 2, 2, Smooth::none, 0.0, false, nullptr) == 0.0);
}

DS_TEST(chrf_from_stats_hand_cases) {
  // one order: P = 2/4, R = 2/5, beta 2: 5 P R / (4 P + R) = 1 / 2.4
  const std::int64_t one[] = {4, 5, 2};
  DS_CHECK_NEAR(ds::text::chrf_from_stats(one, 1, 2.0, false), 100.0 / 2.4, 1e-9);
  // two orders: averaged P = (1/2 + 1) / 2, R = (2/5 + 3/4) / 2
  const std::int64_t two[] = {4, 5, 2, 3, 4, 3};
  const double p = 0.75, r = 0.575;
  DS_CHECK_NEAR(ds::text::chrf_from_stats(two, 2, 2.0, false), 100.0 * 5 * p * r / (4 * p + r), 1e-9);
  // eps smoothing averages the per-order F scores instead
  const double f1 = 1 / 2.4, f2 = 5 * 1.0 * 0.75 / (4 * 1.0 + 0.75);
  DS_CHECK_NEAR(ds::text::chrf_from_stats(two, 2, 2.0, true), 100.0 * (f1 + f2) / 2, 1e-9);
  // an order with no hypothesis n-grams is not averaged in; nothing at all -> 0
  const std::int64_t skip[] = {4, 5, 2, 0, 3, 0};
  DS_CHECK_NEAR(ds::text::chrf_from_stats(skip, 2, 2.0, false), 100.0 / 2.4, 1e-9);
  const std::int64_t zero[] = {0, 0, 0};
  DS_CHECK(ds::text::chrf_from_stats(zero, 1, 2.0, false) == 0.0);
}

DS_TEST(tokenize_batch_whitespace_offsets_and_ids) {
  // Rows 0..599 cycle through three texts (several blocks of 256 rows).
  const char* texts[] = {"a b  a", "", " b\tc "};
  std::vector<const char*> ptr;
  std::vector<std::int64_t> len;
  for (int i = 0; i < 600; ++i) {
    ptr.push_back(texts[i % 3]);
    len.push_back(static_cast<std::int64_t>(std::string(texts[i % 3]).size()));
  }
  for (int workers : {1, 2, 3}) {
    Seq ids;
    std::vector<std::int64_t> off, soff;
    std::string strs;
    ds::text::tokenize_batch(ptr.data(), len.data(), ptr.size(), ds::text::Tokenizer::whitespace, workers, ids, off,
                             &strs, &soff);
    DS_CHECK(off.size() == 601 && off[0] == 0 && off[600] == 1000);
    DS_CHECK(ids.size() == 1000 && soff.size() == 1001 && strs.size() == 1000);
    for (int i = 0; i < 600; ++i) DS_CHECK(off[i + 1] - off[i] == (i % 3 == 0 ? 3 : i % 3 == 1 ? 0 : 2));
    DS_CHECK(strs.compare(0, 5, "ababc") == 0);  // rows 0..2: "a b  a", "", " b\tc "
    DS_CHECK(ids[0] == ids[2] && ids[0] != ids[1] && ids[3] == ids[1] && ids[4] != ids[1] && ids[4] != ids[0]);
    for (std::size_t t = 0; t < ids.size(); ++t) DS_CHECK(ids[t] == ids[t % 5] && soff[t + 1] - soff[t] == 1);
  }
}

// ---------------------------------------------------------------- summary-level LCS

DS_TEST(lcs_summary_hand_cases) {
  Summaries s;
  // Lin (2004): r = w1..w5, c1 = w1 w2 w6 w7 w8, c2 = w1 w3 w8 w9 w5. LCS
  // with c1 is w1 w2, with c2 w1 w3 w5: their union has 4 tokens.
  s.ref.push_back({toks({1, 2, 3, 4, 5})});
  s.cand.push_back({toks({1, 2, 6, 7, 8}), toks({1, 3, 8, 9, 5})});
  // Token counts are shared over the summary: "a" is once in the candidate,
  // so only the first reference sentence gets a hit for it.
  s.ref.push_back({toks({1, 1}), toks({1})});
  s.cand.push_back({toks({1})});
  // A tie between two LCSs of length 1: the backtrack keeps "a" (first
  // token of "a b" against "b a"), which then leaves none for the second
  // reference sentence -> 1 hit (choosing "b" would give 2).
  s.ref.push_back({toks({1, 2}), toks({1})});
  s.cand.push_back({toks({2, 1})});
  // Empty summaries and empty sentences.
  s.ref.push_back({});
  s.cand.push_back({toks({1, 2})});
  s.ref.push_back({toks({1, 2})});
  s.cand.push_back({});
  s.ref.push_back({toks({}), toks({3})});
  s.cand.push_back({toks({3}), toks({})});
  // Repeated tokens: the LCS takes two of the three, both counted.
  s.ref.push_back({toks({4, 4, 4})});
  s.cand.push_back({toks({4, 4})});
  // No shared token.
  s.ref.push_back({toks({1})});
  s.cand.push_back({toks({2})});
  const Row want{4, 1, 1, 0, 0, 1, 2, 0};
  CHECK_SAME(run_lsum(s, 1), want);
  Row naive;
  for (std::size_t i = 0; i < s.ref.size(); ++i) naive.push_back(naive_lsum_hits(s.ref[i], s.cand[i]));
  CHECK_SAME(naive, want);
}

DS_TEST(lcs_summary_random_matches_naive_for_any_workers) {
  std::mt19937 g(31);
  Summaries s;
  for (int i = 0; i < 90; ++i) {
    const std::uint32_t vocab = 2 + g() % 6;
    std::vector<Seq> r, c;
    const std::size_t nr = g() % 5, nc = g() % 5;
    for (std::size_t k = 0; k < nr; ++k) r.push_back(random_seq(g, g() % 10, vocab));
    for (std::size_t k = 0; k < nc; ++k)
      c.push_back(r.empty() || g() % 3 == 0 ? random_seq(g, g() % 10, vocab)
                                            : near_seq(g, r[g() % r.size()], g() % 10, vocab));
    s.ref.push_back(r);
    s.cand.push_back(c);
  }
  Row want;
  for (std::size_t i = 0; i < s.ref.size(); ++i) want.push_back(naive_lsum_hits(s.ref[i], s.cand[i]));
  for (int workers : {1, 2, 3}) CHECK_SAME(run_lsum(s, workers), want);
}
