// Exact top-k cosine, blocked so that the full similarity matrix never exists.
//
// Corpus inverse norms are computed once. Queries are processed in blocks of
// kQueryBlock against corpus tiles of kTile rows (a tile stays in L2 while the
// block's queries stream over it); each dot product goes through the 1×4
// register-blocked primitive. Every query keeps a size-k heap ordered by
// (score desc, index asc, NaN last), so the result does not depend on the
// tile order or on how queries are split between workers.
// Cost: O(nq·nc·d) flops, O(nq·k) extra memory.
#include <algorithm>
#include <cmath>
#include <vector>

#include "dense.hpp"
#include "parallel.hpp"

namespace ds {
namespace {

constexpr std::size_t kQueryBlock = 8;
constexpr std::size_t kTile = 128;

struct Hit {
  float score;
  std::int64_t index;
};

// True when x ranks before y.
inline bool better(const Hit& x, const Hit& y) {
  const bool xn = std::isnan(x.score), yn = std::isnan(y.score);
  if (xn != yn) return yn;
  if (!xn && x.score != y.score) return x.score > y.score;
  return x.index < y.index;
}

// Min-heap on `better`: the worst kept hit is at the front.
struct TopK {
  std::vector<Hit> heap;
  std::size_t k;
  explicit TopK(std::size_t k_) : k(k_) { heap.reserve(k_); }
  void push(Hit h) {
    if (heap.size() < k) {
      heap.push_back(h);
      std::push_heap(heap.begin(), heap.end(), better);
    } else if (better(h, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), better);
      heap.back() = h;
      std::push_heap(heap.begin(), heap.end(), better);
    }
  }
};

}  // namespace

void cosine_topk_f32(const float* q, std::size_t nq, const float* c, std::size_t nc, std::size_t d, std::size_t k,
                     float* scores, std::int64_t* indices, int workers) {
  const auto& t = detail::dot_table();
  std::vector<float> inv_c(nc);
  std::vector<double> exact_c(nc, -1.0);  // norm² in double for rows outside the float32-safe range
  parallel_for(nc, workers, 4096, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t j = lo; j < hi; ++j) {
      const float s = t.dot(c + j * d, c + j * d, d);
      inv_c[j] = detail::inv_norm(s);
      if (!std::isnan(s) && !detail::in_safe_range(s)) exact_c[j] = detail::sumsq_double(c + j * d, d);
    }
  });
  const std::size_t nblocks = (nq + kQueryBlock - 1) / kQueryBlock;
  parallel_for(nblocks, workers, 1, [&](std::size_t blo, std::size_t bhi) {
    std::vector<TopK> tops;
    float dots[8];
    for (std::size_t blk = blo; blk < bhi; ++blk) {
      const std::size_t q0 = blk * kQueryBlock, q1 = std::min(nq, q0 + kQueryBlock);
      tops.assign(q1 - q0, TopK(k));
      float inv_q[kQueryBlock];
      double exact_q[kQueryBlock];
      for (std::size_t i = q0; i < q1; ++i) {
        const float s = t.dot(q + i * d, q + i * d, d);
        inv_q[i - q0] = detail::inv_norm(s);
        exact_q[i - q0] = (!std::isnan(s) && !detail::in_safe_range(s)) ? detail::sumsq_double(q + i * d, d) : -1.0;
      }
      // Score one (query, corpus row) pair into the query's heap.
      auto emit = [&](std::size_t i, std::size_t j, float dot) {
        const double eq = exact_q[i - q0];
        if (eq >= 0.0 || exact_c[j] >= 0.0) {  // tiny or huge rows: exact double cosine
          const float* qi = q + i * d;
          const double sq = eq >= 0.0 ? eq : detail::sumsq_double(qi, d);
          const double sc = exact_c[j] >= 0.0 ? exact_c[j] : detail::sumsq_double(c + j * d, d);
          tops[i - q0].push(Hit{detail::finish_cosine(detail::dot_double(qi, c + j * d, d), sq, sc),
                                static_cast<std::int64_t>(j)});
          return;
        }
        double sc = static_cast<double>(dot) * inv_q[i - q0] * inv_c[j];
        if (sc > 1.0) sc = 1.0;
        if (sc < -1.0) sc = -1.0;
        tops[i - q0].push(Hit{static_cast<float>(sc), static_cast<std::int64_t>(j)});
      };
      for (std::size_t t0 = 0; t0 < nc; t0 += kTile) {
        const std::size_t t1 = std::min(nc, t0 + kTile);
        const std::size_t j4 = t0 + ((t1 - t0) & ~std::size_t{3});
        std::size_t i = q0;
        for (; i + 2 <= q1; i += 2) {  // two queries × four corpus rows per step
          const float *qa = q + i * d, *qb = qa + d;
          for (std::size_t j = t0; j < j4; j += 4) {
            t.dot2x4(qa, qb, c + j * d, c + (j + 1) * d, c + (j + 2) * d, c + (j + 3) * d, d, dots);
            for (std::size_t u = 0; u < 4; ++u) emit(i, j + u, dots[u]), emit(i + 1, j + u, dots[4 + u]);
          }
          for (std::size_t j = j4; j < t1; ++j) emit(i, j, t.dot(qa, c + j * d, d)), emit(i + 1, j, t.dot(qb, c + j * d, d));
        }
        for (; i < q1; ++i) {
          const float* qi = q + i * d;
          for (std::size_t j = t0; j < j4; j += 4) {
            t.dot4(qi, c + j * d, c + (j + 1) * d, c + (j + 2) * d, c + (j + 3) * d, d, dots);
            for (std::size_t u = 0; u < 4; ++u) emit(i, j + u, dots[u]);
          }
          for (std::size_t j = j4; j < t1; ++j) emit(i, j, t.dot(qi, c + j * d, d));
        }
      }
      for (std::size_t i = q0; i < q1; ++i) {
        auto& h = tops[i - q0].heap;
        std::sort(h.begin(), h.end(), better);
        for (std::size_t r = 0; r < k; ++r) {
          scores[i * k + r] = h[r].score;
          indices[i * k + r] = h[r].index;
        }
      }
    }
  });
}

}  // namespace ds
