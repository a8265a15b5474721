#include "text_lcs_summary.hpp"

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "parallel.hpp"

namespace ds::text {
namespace {

struct Scratch {
  std::vector<std::int32_t> table;
  std::vector<char> in_union;
};

// Marks in `mark` the positions of r taken by one LCS of r and c.
void mark_lcs(const std::uint64_t* r, std::size_t m, const std::uint64_t* c, std::size_t n, Scratch& s,
              std::vector<char>& mark) {
  if (m == 0 || n == 0) return;
  const std::size_t w = n + 1;
  s.table.assign((m + 1) * w, 0);
  std::int32_t* t = s.table.data();
  for (std::size_t i = 1; i <= m; ++i) {
    const std::uint64_t ri = r[i - 1];
    std::int32_t* row = t + i * w;
    const std::int32_t* up = row - w;
    for (std::size_t j = 1; j <= n; ++j)
      row[j] = ri == c[j - 1] ? up[j - 1] + 1 : std::max(up[j], row[j - 1]);
  }
  std::size_t i = m, j = n;
  while (i > 0 && j > 0) {
    if (r[i - 1] == c[j - 1]) {
      mark[i - 1] = 1;
      --i;
      --j;
    } else if (t[i * w + j - 1] > t[(i - 1) * w + j]) {
      --j;
    } else {
      --i;
    }
  }
}

std::int64_t pair_hits(const std::uint64_t* rid, const std::int64_t* rso, std::int64_t r0, std::int64_t r1,
                       const std::uint64_t* cid, const std::int64_t* cso, std::int64_t c0, std::int64_t c1,
                       Scratch& s) {
  std::unordered_map<std::uint64_t, std::int64_t> cnt_r, cnt_c;
  for (std::int64_t k = rso[r0]; k < rso[r1]; ++k) ++cnt_r[rid[k]];
  for (std::int64_t k = cso[c0]; k < cso[c1]; ++k) ++cnt_c[cid[k]];
  std::int64_t hits = 0;
  std::vector<char> mark;
  for (std::int64_t a = r0; a < r1; ++a) {
    const std::uint64_t* r = rid + rso[a];
    const auto m = static_cast<std::size_t>(rso[a + 1] - rso[a]);
    mark.assign(m, 0);
    for (std::int64_t b = c0; b < c1; ++b)
      mark_lcs(r, m, cid + cso[b], static_cast<std::size_t>(cso[b + 1] - cso[b]), s, mark);
    for (std::size_t i = 0; i < m; ++i) {
      if (!mark[i]) continue;
      auto itc = cnt_c.find(r[i]);
      auto itr = cnt_r.find(r[i]);
      if (itc != cnt_c.end() && itr != cnt_r.end() && itc->second > 0 && itr->second > 0) {
        ++hits;
        --itc->second;
        --itr->second;
      }
    }
  }
  return hits;
}

}  // namespace

void lcs_summary_hits(const std::uint64_t* ref_ids, const std::int64_t* ref_sent_off, const std::int64_t* ref_pair_off,
                      const std::uint64_t* cand_ids, const std::int64_t* cand_sent_off,
                      const std::int64_t* cand_pair_off, std::size_t n, std::int64_t* hits, int workers) {
  parallel_for(n, workers, 16, [&](std::size_t lo, std::size_t hi) {
    Scratch s;
    for (std::size_t i = lo; i < hi; ++i)
      hits[i] = pair_hits(ref_ids, ref_sent_off, ref_pair_off[i], ref_pair_off[i + 1], cand_ids, cand_sent_off,
                          cand_pair_off[i], cand_pair_off[i + 1], s);
  });
}

}  // namespace ds::text
