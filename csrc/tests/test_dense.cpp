#include <cmath>
#include <cstdint>
#include <cstring>
#include <algorithm>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "cpu.hpp"
#include "dense.hpp"
#include "harness.hpp"
#include "parallel.hpp"

namespace {

std::vector<float> randn(std::size_t n, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist;
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

double ref_cos(const float* a, const float* b, std::size_t d) {
  double dot = 0, na = 0, nb = 0;
  for (std::size_t i = 0; i < d; ++i) {
    dot += double(a[i]) * b[i];
    na += double(a[i]) * a[i];
    nb += double(b[i]) * b[i];
  }
  if (na == 0 || nb == 0) return 0;
  return dot / std::sqrt(na * nb);
}

template <class F>
void for_each_isa(F&& f) {
  for (int i = 0; i <= static_cast<int>(ds::detected_isa()); ++i) {
    ds::set_isa_cap(static_cast<ds::Isa>(i));
    f();
  }
  ds::set_isa_cap(ds::detected_isa());
}

const std::size_t kDims[] = {1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 384, 768};

}  // namespace

DS_TEST(paired_matches_reference) {
  for_each_isa([] {
    for (std::size_t d : kDims) {
      const std::size_t n = 37;
      auto a = randn(n * d, 1), b = randn(n * d, 2);
      std::vector<float> out(n);
      ds::cosine_paired_f32(a.data(), b.data(), n, d, out.data(), 3);
      for (std::size_t r = 0; r < n; ++r) DS_CHECK_NEAR(out[r], ref_cos(&a[r * d], &b[r * d], d), 2e-6);
    }
  });
}

DS_TEST(paired_f16_matches_reference) {
  for_each_isa([] {
    for (std::size_t d : kDims) {
      const std::size_t n = 5;
      std::vector<std::uint16_t> a(n * d), b(n * d);
      std::vector<float> af(n * d), bf(n * d);
      std::mt19937 gen(3);
      for (std::size_t i = 0; i < n * d; ++i) {
        // a few exact half values: sign, exponent 13..17, random mantissa
        a[i] = static_cast<std::uint16_t>((gen() & 0x8000u) | ((13u + gen() % 5u) << 10) | (gen() & 0x3ffu));
        b[i] = static_cast<std::uint16_t>((gen() & 0x8000u) | ((13u + gen() % 5u) << 10) | (gen() & 0x3ffu));
        af[i] = ds::half_to_float(a[i]);
        bf[i] = ds::half_to_float(b[i]);
      }
      std::vector<float> out(n);
      ds::cosine_paired_f16(a.data(), b.data(), n, d, out.data(), 1);
      for (std::size_t r = 0; r < n; ++r) DS_CHECK_NEAR(out[r], ref_cos(&af[r * d], &bf[r * d], d), 2e-6);
    }
  });
}

DS_TEST(half_conversion_special_values) {
  DS_CHECK(ds::half_to_float(0x3c00) == 1.0f);
  DS_CHECK(ds::half_to_float(0xc000) == -2.0f);
  DS_CHECK(ds::half_to_float(0x0001) == std::ldexp(1.0f, -24));  // smallest subnormal
  DS_CHECK(std::isinf(ds::half_to_float(0x7c00)));
  DS_CHECK(std::isnan(ds::half_to_float(0x7e00)));
  DS_CHECK(ds::half_to_float(0x7bff) == 65504.0f);
}

DS_TEST(grouped_and_block) {
  for_each_isa([] {
    const std::size_t d = 33;
    std::vector<std::int64_t> ao{0, 3, 3, 8}, bo{0, 2, 4, 5};
    auto a = randn(8 * d, 4), b = randn(5 * d, 5);
    std::vector<float> out(3);
    ds::cosine_grouped_f32(a.data(), ao.data(), b.data(), bo.data(), 3, d, ds::GroupReduce::mean, out.data(), 2);
    double s = 0;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 2; ++j) s += ref_cos(&a[i * d], &b[j * d], d);
    DS_CHECK_NEAR(out[0], s / 6, 2e-6);
    DS_CHECK(std::isnan(out[1]));  // empty side
    ds::cosine_grouped_f32(a.data(), ao.data(), b.data(), bo.data(), 3, d, ds::GroupReduce::max, out.data(), 1);
    double m = -2;
    for (int i = 3; i < 8; ++i) m = std::max(m, ref_cos(&a[i * d], &b[4 * d], d));
    DS_CHECK_NEAR(out[2], m, 2e-6);
  });
}

DS_TEST(grouped_matched_is_mean_of_precision_and_recall) {
  // Groups: 3x2, empty a-side, 5x1, 1x6 with a zero row on a's side, and one
  // multi-strip group (nb large enough that the block streams in strips).
  for_each_isa([] {
    const std::size_t d = 17, big_b = 3 * ds::detail::kStripFloats / 64 + 1;
    std::vector<std::int64_t> ao{0, 3, 3, 8, 9, 9 + 70};
    std::vector<std::int64_t> bo{0, 2, 4, 5, 11, 11 + static_cast<std::int64_t>(big_b)};
    const std::size_t groups = ao.size() - 1, na = 79, nb = static_cast<std::size_t>(bo.back());
    auto a = randn(na * d, 21), b = randn(nb * d, 22);
    std::fill(a.begin() + 8 * d, a.begin() + 9 * d, 0.0f);  // group 3: its only a-row is zero
    std::vector<float> matched(groups), p(groups), r(groups);
    ds::cosine_grouped_f32(a.data(), ao.data(), b.data(), bo.data(), groups, d, ds::GroupReduce::matched,
                           matched.data(), 1);
    ds::cosine_grouped_f32(a.data(), ao.data(), b.data(), bo.data(), groups, d, ds::GroupReduce::precision, p.data(),
                           1);
    ds::cosine_grouped_f32(a.data(), ao.data(), b.data(), bo.data(), groups, d, ds::GroupReduce::recall, r.data(), 1);
    DS_CHECK(std::isnan(matched[1]));  // empty side, like every other reduce
    DS_CHECK(matched[3] == 0.0f);      // a zero row has cosine 0 with everything
    for (std::size_t g = 0; g < groups; ++g) {
      if (g == 1) continue;
      // against the definition, from double cosines
      const auto a0 = static_cast<std::size_t>(ao[g]), a1 = static_cast<std::size_t>(ao[g + 1]);
      const auto b0 = static_cast<std::size_t>(bo[g]), b1 = static_cast<std::size_t>(bo[g + 1]);
      std::vector<double> col(b1 - b0, -2.0);
      double pp = 0;
      for (std::size_t i = a0; i < a1; ++i) {
        double rm = -2.0;
        for (std::size_t j = b0; j < b1; ++j) {
          const double c = ref_cos(&a[i * d], &b[j * d], d);
          rm = std::max(rm, c);
          col[j - b0] = std::max(col[j - b0], c);
        }
        pp += rm;
      }
      double rr = 0;
      for (double c : col) rr += c;
      const double want = 0.5 * (pp / double(a1 - a0) + rr / double(b1 - b0));
      DS_CHECK_NEAR(matched[g], want, 3e-6);
      // and against the kernel's own precision and recall
      DS_CHECK_NEAR(matched[g], 0.5 * (double(p[g]) + double(r[g])), 1e-7);
    }
    for (int w : {2, 3, 8}) {  // same bits for any worker count
      std::vector<float> again(groups);
      ds::cosine_grouped_f32(a.data(), ao.data(), b.data(), bo.data(), groups, d, ds::GroupReduce::matched,
                             again.data(), w);
      DS_CHECK(std::memcmp(again.data(), matched.data(), groups * sizeof(float)) == 0);
    }
  });
}

DS_TEST(streamed_strips_equal_the_whole_block) {
  // The streaming reductions rely on this: strips concatenated in row order
  // are bit-identical to the block computed whole, for odd row counts, for
  // several strips, and on the exact (double) path.
  for_each_isa([] {
    const std::size_t d = 9;
    for (std::size_t nb : {std::size_t{3}, std::size_t{5000}, std::size_t{40000}}) {
      for (bool tiny : {false, true}) {
        const std::size_t na = 2 * ds::detail::strip_rows(nb) + 1;  // last strip: one row
        auto a = randn(na * d, 11), b = randn(nb * d, 12);
        if (tiny)
          for (std::size_t i = 0; i < d; ++i) a[d + i] *= 1e-25f;  // forces the double path
        std::vector<float> whole(na * nb), scratch(na + nb);
        ds::cosine_block_f32(a.data(), na, b.data(), nb, d, whole.data(), scratch.data());
        ds::detail::BlockScratch s;
        std::size_t next = 0, strips = 0;
        bool same = true;
        ds::detail::stream_block_f32(a.data(), na, b.data(), nb, d, s, [&](std::size_t i0, std::size_t rows,
                                                                            const float* sim) {
          same &= i0 == next;
          same &= std::memcmp(sim, whole.data() + i0 * nb, rows * nb * sizeof(float)) == 0;
          next = i0 + rows;
          ++strips;
        });
        DS_CHECK(same && next == na && strips == 3);
        DS_CHECK(s.strip.size() <= std::max(ds::detail::kStripFloats, 2 * nb));
      }
    }
  });
}

DS_TEST(harmonic_f1_has_no_pole) {
  DS_CHECK(ds::detail::harmonic_f1(1.0, -0.99999994) == 0.0);
  DS_CHECK(ds::detail::harmonic_f1(0.0, 0.7) == 0.0);
  DS_CHECK_NEAR(ds::detail::harmonic_f1(0.5, 0.25), 1.0 / 3.0, 1e-15);
  DS_CHECK_NEAR(ds::detail::harmonic_f1(-0.5, -0.25), -1.0 / 3.0, 1e-15);
  DS_CHECK(std::isnan(ds::detail::harmonic_f1(std::nan(""), 0.5)));
}

DS_TEST(offsets_validation) {
  std::vector<std::int64_t> bad_start{1, 2}, decreasing{0, 3, 2, 4}, short_end{0, 1, 2};
  DS_CHECK_THROWS(ds::validate_offsets(bad_start.data(), 1, 2, "a_offsets"), std::invalid_argument);
  DS_CHECK_THROWS(ds::validate_offsets(decreasing.data(), 3, 4, "a_offsets"), std::invalid_argument);
  DS_CHECK_THROWS(ds::validate_offsets(short_end.data(), 2, 3, "a_offsets"), std::invalid_argument);
  ds::validate_offsets(short_end.data(), 2, 2, "a_offsets");
}

DS_TEST(topk_exact_and_deterministic) {
  for_each_isa([] {
    const std::size_t d = 17, nq = 21, nc = 300, k = 5;
    auto q = randn(nq * d, 6), c = randn(nc * d, 7);
    std::vector<float> s1(nq * k), s2(nq * k);
    std::vector<std::int64_t> i1(nq * k), i2(nq * k);
    ds::cosine_topk_f32(q.data(), nq, c.data(), nc, d, k, s1.data(), i1.data(), 1);
    ds::cosine_topk_f32(q.data(), nq, c.data(), nc, d, k, s2.data(), i2.data(), 4);
    for (std::size_t x = 0; x < nq * k; ++x) DS_CHECK(s1[x] == s2[x] && i1[x] == i2[x]);
    for (std::size_t i = 0; i < nq; ++i) {
      double best = -2;
      std::int64_t arg = -1;
      for (std::size_t j = 0; j < nc; ++j) {
        const double v = ref_cos(&q[i * d], &c[j * d], d);
        if (v > best) best = v, arg = static_cast<std::int64_t>(j);
      }
      DS_CHECK(i1[i * k] == arg);
      DS_CHECK_NEAR(s1[i * k], best, 2e-6);
      for (std::size_t r = 1; r < k; ++r) DS_CHECK(s1[i * k + r] <= s1[i * k + r - 1]);
    }
  });
}

DS_TEST(worker_exception_is_rethrown) {
  // parallel_for must join every thread and rethrow the first failure.
  bool caught = false;
  try {
    ds::parallel_for(100, 4, 1, [](std::size_t lo, std::size_t) {
      if (lo > 0) throw std::invalid_argument("boom");
    });
  } catch (const std::invalid_argument&) {
    caught = true;
  }
  DS_CHECK(caught);
}
