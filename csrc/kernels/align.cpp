#include "align.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "dense.hpp"
#include "parallel.hpp"

namespace ds {

namespace {

struct Scratch {
  detail::BlockScratch block;
  std::vector<float> col_max;
  std::vector<double> dp;
};

void set_all(const AlignOutputs& o, std::size_t g, float v) {
  o.precision[g] = o.recall[g] = o.f1[g] = o.order[g] = o.coverage[g] = v;
}

void align_one(const float* a, std::size_t na, const float* wa, const float* b, std::size_t nb, const float* wb,
               std::size_t d, float threshold, Scratch& s, const AlignOutputs& o, std::size_t g) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  if (na == 0 && nb == 0) return set_all(o, g, nan);
  if (na == 0 || nb == 0) return set_all(o, g, 0.0f);
  if (s.col_max.size() < nb) s.col_max.resize(nb);
  if (s.dp.size() < nb + 1) s.dp.resize(nb + 1);

  auto w_a = [&](std::size_t i) { return wa ? static_cast<double>(wa[i]) : 1.0; };
  auto w_b = [&](std::size_t j) { return wb ? static_cast<double>(wb[j]) : 1.0; };

  // One sweep over S in strips of rows (row order): row maxima (greedy
  // precision), column maxima, and one step of the monotone-alignment DP per
  // row over a rolling row of M. Every sum runs in row order, as over the
  // whole block, so the strip size never changes a bit of the result.
  float* col_max = s.col_max.data();
  std::fill(col_max, col_max + nb, -std::numeric_limits<float>::infinity());
  double* dp = s.dp.data();
  std::fill(dp, dp + nb + 1, 0.0);
  double p_num = 0, wa_sum = 0;
  bool any_nan = false;
  detail::stream_block_f32(a, na, b, nb, d, s.block, [&](std::size_t i0, std::size_t rows, const float* sim) {
    for (std::size_t k = 0; k < rows * nb && !any_nan; ++k) any_nan = std::isnan(sim[k]);
    if (any_nan) return;  // every score of the group is NaN: skip the rest
    for (std::size_t r = 0; r < rows; ++r) {
      const std::size_t i = i0 + r;
      const float* row = sim + r * nb;
      float m = -std::numeric_limits<float>::infinity();
      for (std::size_t j = 0; j < nb; ++j) {
        m = std::max(m, row[j]);
        col_max[j] = std::max(col_max[j], row[j]);
      }
      p_num += w_a(i) * m;
      wa_sum += w_a(i);
      double diag = 0.0;  // M[i-1][j-1]
      const double wi = w_a(i);
      for (std::size_t j = 1; j <= nb; ++j) {
        const double up = dp[j];  // M[i-1][j]
        const double gain = std::max(static_cast<double>(row[j - 1]), 0.0) * 0.5 * (wi + w_b(j - 1));
        double best = std::max(up, dp[j - 1]);  // dp[j-1] is M[i][j-1] now
        best = std::max(best, diag + gain);
        diag = up;
        dp[j] = best;
      }
    }
  });
  if (any_nan) return set_all(o, g, nan);

  double r_num = 0, wb_sum = 0, cov = 0;
  for (std::size_t j = 0; j < nb; ++j) {
    r_num += w_b(j) * col_max[j];
    wb_sum += w_b(j);
    if (col_max[j] >= threshold) cov += w_b(j);
  }
  const double p = wa_sum > 0 ? p_num / wa_sum : 0.0;
  const double r = wb_sum > 0 ? r_num / wb_sum : 0.0;
  o.precision[g] = static_cast<float>(p);
  o.recall[g] = static_cast<float>(r);
  o.f1[g] = static_cast<float>(detail::harmonic_f1(p, r));
  o.coverage[g] = wb_sum > 0 ? static_cast<float>(cov / wb_sum) : 0.0f;
  const double denom = 0.5 * (wa_sum + wb_sum);
  double ord = denom > 0 ? dp[nb] / denom : 0.0;
  if (ord > 1.0) ord = 1.0;
  o.order[g] = static_cast<float>(ord);
}

}  // namespace

void align_grouped_f32(const float* a, const std::int64_t* a_off, const float* a_w, const float* b,
                       const std::int64_t* b_off, const float* b_w, std::size_t groups, std::size_t d,
                       float threshold, AlignOutputs out, int workers) {
  parallel_for(groups, workers, 64, [&](std::size_t lo, std::size_t hi) {
    Scratch s;
    for (std::size_t g = lo; g < hi; ++g) {
      const auto a0 = static_cast<std::size_t>(a_off[g]), na = static_cast<std::size_t>(a_off[g + 1]) - a0;
      const auto b0 = static_cast<std::size_t>(b_off[g]), nb = static_cast<std::size_t>(b_off[g + 1]) - b0;
      align_one(a + a0 * d, na, a_w ? a_w + a0 : nullptr, b + b0 * d, nb, b_w ? b_w + b0 : nullptr, d, threshold, s,
                out, g);
    }
  });
}

}  // namespace ds
