#include "text_bleu_multi.hpp"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <unordered_map>

#include "parallel.hpp"

namespace ds::text {
namespace {

constexpr std::uint32_t NONE = std::numeric_limits<std::uint32_t>::max();

struct Scratch {
  std::unordered_map<std::uint64_t, std::uint32_t> tok;                 // token id -> dense unigram id
  std::vector<std::unordered_map<std::uint64_t, std::uint32_t>> gram;  // per order >= 2: (prev, last) -> id
  std::vector<std::uint32_t> h_prev, h_cur, r_prev, r_cur, r_tok;
  std::vector<std::vector<std::int64_t>> h_count, best;  // per order, indexed by dense id
  std::vector<std::int64_t> r_count;
  std::vector<std::uint32_t> touched;
};

// Dense ids of every hypothesis n-gram of each order; counts per id.
void index_hypothesis(const std::uint64_t* h, std::size_t m, int order, Scratch& s) {
  s.tok.clear();
  s.h_prev.resize(m);
  for (std::size_t j = 0; j < m; ++j) {
    auto it = s.tok.emplace(h[j], static_cast<std::uint32_t>(s.tok.size())).first;
    s.h_prev[j] = it->second;
  }
  s.h_count.resize(static_cast<std::size_t>(order));
  s.best.resize(static_cast<std::size_t>(order));
  s.gram.resize(static_cast<std::size_t>(order));
  s.h_count[0].assign(s.tok.size(), 0);
  for (std::size_t j = 0; j < m; ++j) ++s.h_count[0][s.h_prev[j]];
  s.best[0].assign(s.tok.size(), 0);
  // order k+1 ids from (id of the k-gram at j, unigram id at j + k)
  std::vector<std::uint32_t> uni(s.h_prev);
  for (int k = 1; k < order; ++k) {
    auto& map = s.gram[static_cast<std::size_t>(k)];
    map.clear();
    const std::size_t cnt = m > static_cast<std::size_t>(k) ? m - static_cast<std::size_t>(k) : 0;
    s.h_cur.resize(cnt);
    for (std::size_t j = 0; j < cnt; ++j) {
      const std::uint64_t key = (static_cast<std::uint64_t>(s.h_prev[j]) << 32) | uni[j + static_cast<std::size_t>(k)];
      s.h_cur[j] = map.emplace(key, static_cast<std::uint32_t>(map.size())).first->second;
    }
    s.h_count[static_cast<std::size_t>(k)].assign(map.size(), 0);
    for (std::size_t j = 0; j < cnt; ++j) ++s.h_count[static_cast<std::size_t>(k)][s.h_cur[j]];
    s.best[static_cast<std::size_t>(k)].assign(map.size(), 0);
    s.h_prev.swap(s.h_cur);
  }
}

// Raises best[k][id] to this reference's count of every hypothesis n-gram.
void clip_reference(const std::uint64_t* r, std::size_t m, int order, Scratch& s) {
  s.r_tok.resize(m);
  for (std::size_t j = 0; j < m; ++j) {
    auto it = s.tok.find(r[j]);
    s.r_tok[j] = it == s.tok.end() ? NONE : it->second;
  }
  s.r_prev.assign(s.r_tok.begin(), s.r_tok.end());
  for (int k = 0; k < order; ++k) {
    const auto ku = static_cast<std::size_t>(k);
    const std::size_t cnt = m > ku ? m - ku : 0;
    if (k > 0) {
      const auto& map = s.gram[ku];
      s.r_cur.resize(cnt);
      for (std::size_t j = 0; j < cnt; ++j) {
        const std::uint32_t a = s.r_prev[j], b = s.r_tok[j + ku];
        if (a == NONE || b == NONE) {
          s.r_cur[j] = NONE;
          continue;
        }
        auto it = map.find((static_cast<std::uint64_t>(a) << 32) | b);
        s.r_cur[j] = it == map.end() ? NONE : it->second;
      }
      s.r_prev.swap(s.r_cur);
    }
    auto& best = s.best[ku];
    s.r_count.resize(best.size());
    s.touched.clear();
    for (std::size_t j = 0; j < cnt; ++j) {
      const std::uint32_t id = s.r_prev[j];
      if (id == NONE) continue;
      if (s.r_count[id]++ == 0) s.touched.push_back(id);
    }
    for (std::uint32_t id : s.touched) {
      best[id] = std::max(best[id], s.r_count[id]);
      s.r_count[id] = 0;
    }
  }
}

}  // namespace

void bleu_multi_ref_stats(const std::uint64_t* hyp, const std::int64_t* hyp_off, std::size_t n,
                          const std::vector<IdStream>& refs, int order, std::int64_t* out, int workers) {
  const std::size_t width = 2 + 2 * static_cast<std::size_t>(order);
  parallel_for(n, workers, 64, [&](std::size_t lo, std::size_t hi) {
    Scratch s;
    for (std::size_t i = lo; i < hi; ++i) {
      const std::uint64_t* h = hyp + hyp_off[i];
      const auto m = static_cast<std::size_t>(hyp_off[i + 1] - hyp_off[i]);
      std::int64_t* row = out + i * width;
      std::fill(row, row + width, std::int64_t{0});
      index_hypothesis(h, m, order, s);
      std::int64_t best_diff = -1, closest = 0;
      const auto hl = static_cast<std::int64_t>(m);
      for (const IdStream& st : refs) {
        if (st.present != nullptr && st.present[i] == 0) continue;
        const std::int64_t rl = st.off[i + 1] - st.off[i];
        const std::int64_t d = std::llabs(hl - rl);
        if (best_diff < 0 || d < best_diff) {
          best_diff = d;
          closest = rl;
        } else if (d == best_diff && rl < closest) {
          closest = rl;
        }
        clip_reference(st.ids + st.off[i], static_cast<std::size_t>(rl), order, s);
      }
      row[0] = hl;
      row[1] = closest;
      for (int k = 0; k < order; ++k) {
        const auto ku = static_cast<std::size_t>(k);
        std::int64_t correct = 0;
        const auto& hc = s.h_count[ku];
        const auto& bc = s.best[ku];
        for (std::size_t id = 0; id < hc.size(); ++id) correct += std::min(hc[id], bc[id]);
        row[2 + ku] = correct;
        row[2 + static_cast<std::size_t>(order) + ku] = hl > k ? hl - k : 0;
      }
    }
  });
}

}  // namespace ds::text
