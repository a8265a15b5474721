#include "dense.hpp"

#include <algorithm>
#include <cstring>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "parallel.hpp"

#if DS_X86
#include <immintrin.h>
#endif

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's avx512fintrin.h trips -Wmaybe-uninitialized (at -O2 with
// sanitizers) and -Wuninitialized (at -O2 without) inside its own
// _mm512_undefined_* helpers, e.g. through _mm512_extractf64x4_pd: header
// false positives (GCC bug 105593) that -DDISTILLSCOPE_WERROR=ON turned into
// a failed plain RelWithDebInfo build.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace ds {

float half_to_float(std::uint16_t h) noexcept {
  const std::uint32_t sign = (static_cast<std::uint32_t>(h) & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1fu;
  std::uint32_t mant = h & 0x3ffu;
  std::uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalize
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      bits = sign | static_cast<std::uint32_t>(127 - 15 - e) << 23 | (mant & 0x3ffu) << 13;
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | (exp + 127 - 15) << 23 | (mant << 13);
  }
  float f;
  static_assert(sizeof(f) == sizeof(bits), "float must be 32-bit");
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

namespace detail {

float finish_cosine(double dot, double na, double nb) noexcept {
  if (std::isnan(dot) || std::isnan(na) || std::isnan(nb)) return std::numeric_limits<float>::quiet_NaN();
  if (na == 0.0 || nb == 0.0) return 0.0f;
  double c = dot / (std::sqrt(na) * std::sqrt(nb));
  if (std::isnan(c)) return std::numeric_limits<float>::quiet_NaN();  // inf/inf
  if (c > 1.0) c = 1.0;
  if (c < -1.0) c = -1.0;
  return static_cast<float>(c);
}

float inv_norm(double sumsq) noexcept {
  if (std::isnan(sumsq)) return std::numeric_limits<float>::quiet_NaN();
  if (sumsq == 0.0) return 0.0f;
  return static_cast<float>(1.0 / std::sqrt(sumsq));
}

bool in_safe_range(double sumsq) noexcept { return sumsq >= kSafeMin && sumsq <= kSafeMax; }

double sumsq_double(const float* x, std::size_t d) noexcept {
  double s = 0;
  for (std::size_t i = 0; i < d; ++i) s += static_cast<double>(x[i]) * x[i];
  return s;
}

double dot_double(const float* a, const float* b, std::size_t d) noexcept {
  double s = 0;
  for (std::size_t i = 0; i < d; ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

namespace {

// ---------------------------------------------------------------- scalar
// The reference path: double accumulation, no SIMD.
void paired_f32_scalar(const float* a, const float* b, std::size_t d, std::size_t rows, float* out) {
  for (std::size_t r = 0; r < rows; ++r, a += d, b += d) {
    double dot = 0, na = 0, nb = 0;
    for (std::size_t i = 0; i < d; ++i) {
      const double x = a[i], y = b[i];
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
    out[r] = finish_cosine(dot, na, nb);
  }
}

void paired_f16_scalar(const std::uint16_t* a, const std::uint16_t* b, std::size_t d, std::size_t rows, float* out) {
  for (std::size_t r = 0; r < rows; ++r, a += d, b += d) {
    double dot = 0, na = 0, nb = 0;
    for (std::size_t i = 0; i < d; ++i) {
      const double x = half_to_float(a[i]), y = half_to_float(b[i]);
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
    out[r] = finish_cosine(dot, na, nb);
  }
}

// True when a float32 accumulation cannot be trusted (a norm² underflowed or
// overflowed float32); NaN is not "unsafe": it propagates as it is.
inline bool unsafe_pair(double na, double nb) {
  return (!std::isnan(na) && !in_safe_range(na)) || (!std::isnan(nb) && !in_safe_range(nb));
}

float dot_scalar(const float* a, const float* b, std::size_t d) {
  double s = 0;
  for (std::size_t i = 0; i < d; ++i) s += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(s);
}

void dot4_scalar(const float* a, const float* b0, const float* b1, const float* b2, const float* b3, std::size_t d,
                 float* out) {
  out[0] = dot_scalar(a, b0, d);
  out[1] = dot_scalar(a, b1, d);
  out[2] = dot_scalar(a, b2, d);
  out[3] = dot_scalar(a, b3, d);
}

void dot2x4_scalar(const float* a0, const float* a1, const float* b0, const float* b1, const float* b2,
                   const float* b3, std::size_t d, float* out) {
  dot4_scalar(a0, b0, b1, b2, b3, d, out);
  dot4_scalar(a1, b0, b1, b2, b3, d, out + 4);
}

#if DS_X86
// ---------------------------------------------------------------- AVX2
// Horizontal sum: the 8 lanes are folded to 4 in float, then widened to double.
DS_TARGET_AVX2 inline double hsum256(__m256 v) {
  const __m128 sum4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128d d = _mm_add_pd(_mm_cvtps_pd(sum4), _mm_cvtps_pd(_mm_movehl_ps(sum4, sum4)));
  return _mm_cvtsd_f64(d) + _mm_cvtsd_f64(_mm_unpackhi_pd(d, d));
}

DS_TARGET_AVX2 inline __m256i tail_mask8(std::size_t rem) {
  alignas(32) static const int table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(table + 8 - rem));
}

DS_TARGET_AVX2 void paired_f32_avx2(const float* a, const float* b, std::size_t d, std::size_t rows, float* out) {
  const __m256i mask = tail_mask8(d % 8);
  const std::size_t d16 = d & ~std::size_t{15}, d8 = d & ~std::size_t{7};
  for (std::size_t r = 0; r < rows; ++r, a += d, b += d) {
    __m256 dot0 = _mm256_setzero_ps(), dot1 = _mm256_setzero_ps();
    __m256 na0 = _mm256_setzero_ps(), na1 = _mm256_setzero_ps();
    __m256 nb0 = _mm256_setzero_ps(), nb1 = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i < d16; i += 16) {
      const __m256 x0 = _mm256_loadu_ps(a + i), y0 = _mm256_loadu_ps(b + i);
      const __m256 x1 = _mm256_loadu_ps(a + i + 8), y1 = _mm256_loadu_ps(b + i + 8);
      dot0 = _mm256_fmadd_ps(x0, y0, dot0);
      na0 = _mm256_fmadd_ps(x0, x0, na0);
      nb0 = _mm256_fmadd_ps(y0, y0, nb0);
      dot1 = _mm256_fmadd_ps(x1, y1, dot1);
      na1 = _mm256_fmadd_ps(x1, x1, na1);
      nb1 = _mm256_fmadd_ps(y1, y1, nb1);
    }
    for (; i < d8; i += 8) {
      const __m256 x = _mm256_loadu_ps(a + i), y = _mm256_loadu_ps(b + i);
      dot0 = _mm256_fmadd_ps(x, y, dot0);
      na0 = _mm256_fmadd_ps(x, x, na0);
      nb0 = _mm256_fmadd_ps(y, y, nb0);
    }
    if (i < d) {
      const __m256 x = _mm256_maskload_ps(a + i, mask), y = _mm256_maskload_ps(b + i, mask);
      dot1 = _mm256_fmadd_ps(x, y, dot1);
      na1 = _mm256_fmadd_ps(x, x, na1);
      nb1 = _mm256_fmadd_ps(y, y, nb1);
    }
    const double na = hsum256(_mm256_add_ps(na0, na1)), nb = hsum256(_mm256_add_ps(nb0, nb1));
    if (unsafe_pair(na, nb)) {
      paired_f32_scalar(a, b, d, 1, out + r);  // float32 lanes under/overflowed: redo in double
    } else {
      out[r] = finish_cosine(hsum256(_mm256_add_ps(dot0, dot1)), na, nb);
    }
  }
}

DS_TARGET_AVX2 void paired_f16_avx2(const std::uint16_t* a, const std::uint16_t* b, std::size_t d, std::size_t rows,
                                    float* out) {
  const std::size_t d16 = d & ~std::size_t{15}, d8 = d & ~std::size_t{7};
  for (std::size_t r = 0; r < rows; ++r, a += d, b += d) {
    __m256 dot0 = _mm256_setzero_ps(), dot1 = _mm256_setzero_ps();
    __m256 na0 = _mm256_setzero_ps(), na1 = _mm256_setzero_ps();
    __m256 nb0 = _mm256_setzero_ps(), nb1 = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i < d16; i += 16) {
      const __m256 x0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)));
      const __m256 y0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i)));
      const __m256 x1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i + 8)));
      const __m256 y1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i + 8)));
      dot0 = _mm256_fmadd_ps(x0, y0, dot0);
      na0 = _mm256_fmadd_ps(x0, x0, na0);
      nb0 = _mm256_fmadd_ps(y0, y0, nb0);
      dot1 = _mm256_fmadd_ps(x1, y1, dot1);
      na1 = _mm256_fmadd_ps(x1, x1, na1);
      nb1 = _mm256_fmadd_ps(y1, y1, nb1);
    }
    for (; i < d8; i += 8) {
      const __m256 x = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)));
      const __m256 y = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i)));
      dot0 = _mm256_fmadd_ps(x, y, dot0);
      na0 = _mm256_fmadd_ps(x, x, na0);
      nb0 = _mm256_fmadd_ps(y, y, nb0);
    }
    double dot = hsum256(_mm256_add_ps(dot0, dot1)), na = hsum256(_mm256_add_ps(na0, na1)),
           nb = hsum256(_mm256_add_ps(nb0, nb1));
    for (; i < d; ++i) {
      const double x = _cvtsh_ss(a[i]), y = _cvtsh_ss(b[i]);
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
    out[r] = finish_cosine(dot, na, nb);
  }
}

DS_TARGET_AVX2 float dot_avx2(const float* a, const float* b, std::size_t d) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  std::size_t i = 0;
  for (; i + 16 <= d; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  for (; i + 8 <= d; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  if (i < d) {
    const __m256i m = tail_mask8(d - i);
    s1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m), s1);
  }
  return static_cast<float>(hsum256(_mm256_add_ps(s0, s1)));
}

DS_TARGET_AVX2 void dot4_avx2(const float* a, const float* b0, const float* b1, const float* b2, const float* b3,
                              std::size_t d, float* out) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
  std::size_t i = 0;
  for (; i + 8 <= d; i += 8) {
    const __m256 x = _mm256_loadu_ps(a + i);
    s0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b0 + i), s0);
    s1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b1 + i), s1);
    s2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b2 + i), s2);
    s3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b3 + i), s3);
  }
  if (i < d) {
    const __m256i m = tail_mask8(d - i);
    const __m256 x = _mm256_maskload_ps(a + i, m);
    s0 = _mm256_fmadd_ps(x, _mm256_maskload_ps(b0 + i, m), s0);
    s1 = _mm256_fmadd_ps(x, _mm256_maskload_ps(b1 + i, m), s1);
    s2 = _mm256_fmadd_ps(x, _mm256_maskload_ps(b2 + i, m), s2);
    s3 = _mm256_fmadd_ps(x, _mm256_maskload_ps(b3 + i, m), s3);
  }
  out[0] = static_cast<float>(hsum256(s0));
  out[1] = static_cast<float>(hsum256(s1));
  out[2] = static_cast<float>(hsum256(s2));
  out[3] = static_cast<float>(hsum256(s3));
}

// 2×4 register block: 8 independent accumulators hide the FMA latency and
// each loaded b vector feeds two FMAs (6 loads per 8 FMAs).
DS_TARGET_AVX2 void dot2x4_avx2(const float* a0, const float* a1, const float* b0, const float* b1, const float* b2,
                                const float* b3, std::size_t d, float* out) {
  __m256 s00 = _mm256_setzero_ps(), s01 = _mm256_setzero_ps(), s02 = _mm256_setzero_ps(), s03 = _mm256_setzero_ps();
  __m256 s10 = _mm256_setzero_ps(), s11 = _mm256_setzero_ps(), s12 = _mm256_setzero_ps(), s13 = _mm256_setzero_ps();
  auto step = [&](__m256 x0, __m256 x1, __m256 y0, __m256 y1, __m256 y2, __m256 y3) DS_TARGET_AVX2 {
    s00 = _mm256_fmadd_ps(x0, y0, s00);
    s01 = _mm256_fmadd_ps(x0, y1, s01);
    s02 = _mm256_fmadd_ps(x0, y2, s02);
    s03 = _mm256_fmadd_ps(x0, y3, s03);
    s10 = _mm256_fmadd_ps(x1, y0, s10);
    s11 = _mm256_fmadd_ps(x1, y1, s11);
    s12 = _mm256_fmadd_ps(x1, y2, s12);
    s13 = _mm256_fmadd_ps(x1, y3, s13);
  };
  std::size_t i = 0;
  for (; i + 8 <= d; i += 8)
    step(_mm256_loadu_ps(a0 + i), _mm256_loadu_ps(a1 + i), _mm256_loadu_ps(b0 + i), _mm256_loadu_ps(b1 + i),
         _mm256_loadu_ps(b2 + i), _mm256_loadu_ps(b3 + i));
  if (i < d) {
    const __m256i m = tail_mask8(d - i);
    step(_mm256_maskload_ps(a0 + i, m), _mm256_maskload_ps(a1 + i, m), _mm256_maskload_ps(b0 + i, m),
         _mm256_maskload_ps(b1 + i, m), _mm256_maskload_ps(b2 + i, m), _mm256_maskload_ps(b3 + i, m));
  }
  out[0] = static_cast<float>(hsum256(s00));
  out[1] = static_cast<float>(hsum256(s01));
  out[2] = static_cast<float>(hsum256(s02));
  out[3] = static_cast<float>(hsum256(s03));
  out[4] = static_cast<float>(hsum256(s10));
  out[5] = static_cast<float>(hsum256(s11));
  out[6] = static_cast<float>(hsum256(s12));
  out[7] = static_cast<float>(hsum256(s13));
}

// ---------------------------------------------------------------- AVX-512
DS_TARGET_AVX512 inline double hsum512(__m512 v) {
  const __m256 lo = _mm512_castps512_ps256(v);
  const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
  return hsum256(_mm256_add_ps(lo, hi));
}

DS_TARGET_AVX512 void paired_f32_avx512(const float* a, const float* b, std::size_t d, std::size_t rows, float* out) {
  const std::size_t d32 = d & ~std::size_t{31}, d16 = d & ~std::size_t{15};
  const __mmask16 tail = static_cast<__mmask16>((1u << (d % 16)) - 1u);
  for (std::size_t r = 0; r < rows; ++r, a += d, b += d) {
    __m512 dot0 = _mm512_setzero_ps(), dot1 = _mm512_setzero_ps();
    __m512 na0 = _mm512_setzero_ps(), na1 = _mm512_setzero_ps();
    __m512 nb0 = _mm512_setzero_ps(), nb1 = _mm512_setzero_ps();
    std::size_t i = 0;
    for (; i < d32; i += 32) {
      const __m512 x0 = _mm512_loadu_ps(a + i), y0 = _mm512_loadu_ps(b + i);
      const __m512 x1 = _mm512_loadu_ps(a + i + 16), y1 = _mm512_loadu_ps(b + i + 16);
      dot0 = _mm512_fmadd_ps(x0, y0, dot0);
      na0 = _mm512_fmadd_ps(x0, x0, na0);
      nb0 = _mm512_fmadd_ps(y0, y0, nb0);
      dot1 = _mm512_fmadd_ps(x1, y1, dot1);
      na1 = _mm512_fmadd_ps(x1, x1, na1);
      nb1 = _mm512_fmadd_ps(y1, y1, nb1);
    }
    for (; i < d16; i += 16) {
      const __m512 x = _mm512_loadu_ps(a + i), y = _mm512_loadu_ps(b + i);
      dot0 = _mm512_fmadd_ps(x, y, dot0);
      na0 = _mm512_fmadd_ps(x, x, na0);
      nb0 = _mm512_fmadd_ps(y, y, nb0);
    }
    if (i < d) {
      const __m512 x = _mm512_maskz_loadu_ps(tail, a + i), y = _mm512_maskz_loadu_ps(tail, b + i);
      dot1 = _mm512_fmadd_ps(x, y, dot1);
      na1 = _mm512_fmadd_ps(x, x, na1);
      nb1 = _mm512_fmadd_ps(y, y, nb1);
    }
    const double na = hsum512(_mm512_add_ps(na0, na1)), nb = hsum512(_mm512_add_ps(nb0, nb1));
    if (unsafe_pair(na, nb)) {
      paired_f32_scalar(a, b, d, 1, out + r);  // float32 lanes under/overflowed: redo in double
    } else {
      out[r] = finish_cosine(hsum512(_mm512_add_ps(dot0, dot1)), na, nb);
    }
  }
}

DS_TARGET_AVX512 void paired_f16_avx512(const std::uint16_t* a, const std::uint16_t* b, std::size_t d,
                                        std::size_t rows, float* out) {
  const std::size_t d16 = d & ~std::size_t{15};
  for (std::size_t r = 0; r < rows; ++r, a += d, b += d) {
    __m512 dot0 = _mm512_setzero_ps(), na0 = _mm512_setzero_ps(), nb0 = _mm512_setzero_ps();
    std::size_t i = 0;
    for (; i < d16; i += 16) {
      const __m512 x = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i)));
      const __m512 y = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i)));
      dot0 = _mm512_fmadd_ps(x, y, dot0);
      na0 = _mm512_fmadd_ps(x, x, na0);
      nb0 = _mm512_fmadd_ps(y, y, nb0);
    }
    double dot = hsum512(dot0), na = hsum512(na0), nb = hsum512(nb0);
    for (; i < d; ++i) {
      const double x = _cvtsh_ss(a[i]), y = _cvtsh_ss(b[i]);
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
    out[r] = finish_cosine(dot, na, nb);
  }
}

DS_TARGET_AVX512 float dot_avx512(const float* a, const float* b, std::size_t d) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 32 <= d; i += 32) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
  }
  for (; i + 16 <= d; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
  if (i < d) {
    const __mmask16 m = static_cast<__mmask16>((1u << (d - i)) - 1u);
    s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
  }
  return static_cast<float>(hsum512(_mm512_add_ps(s0, s1)));
}

DS_TARGET_AVX512 void dot4_avx512(const float* a, const float* b0, const float* b1, const float* b2, const float* b3,
                                  std::size_t d, float* out) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 16 <= d; i += 16) {
    const __m512 x = _mm512_loadu_ps(a + i);
    s0 = _mm512_fmadd_ps(x, _mm512_loadu_ps(b0 + i), s0);
    s1 = _mm512_fmadd_ps(x, _mm512_loadu_ps(b1 + i), s1);
    s2 = _mm512_fmadd_ps(x, _mm512_loadu_ps(b2 + i), s2);
    s3 = _mm512_fmadd_ps(x, _mm512_loadu_ps(b3 + i), s3);
  }
  if (i < d) {
    const __mmask16 m = static_cast<__mmask16>((1u << (d - i)) - 1u);
    const __m512 x = _mm512_maskz_loadu_ps(m, a + i);
    s0 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m, b0 + i), s0);
    s1 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m, b1 + i), s1);
    s2 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m, b2 + i), s2);
    s3 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m, b3 + i), s3);
  }
  out[0] = static_cast<float>(hsum512(s0));
  out[1] = static_cast<float>(hsum512(s1));
  out[2] = static_cast<float>(hsum512(s2));
  out[3] = static_cast<float>(hsum512(s3));
}
DS_TARGET_AVX512 void dot2x4_avx512(const float* a0, const float* a1, const float* b0, const float* b1,
                                    const float* b2, const float* b3, std::size_t d, float* out) {
  __m512 s00 = _mm512_setzero_ps(), s01 = _mm512_setzero_ps(), s02 = _mm512_setzero_ps(), s03 = _mm512_setzero_ps();
  __m512 s10 = _mm512_setzero_ps(), s11 = _mm512_setzero_ps(), s12 = _mm512_setzero_ps(), s13 = _mm512_setzero_ps();
  auto step = [&](__m512 x0, __m512 x1, __m512 y0, __m512 y1, __m512 y2, __m512 y3) DS_TARGET_AVX512 {
    s00 = _mm512_fmadd_ps(x0, y0, s00);
    s01 = _mm512_fmadd_ps(x0, y1, s01);
    s02 = _mm512_fmadd_ps(x0, y2, s02);
    s03 = _mm512_fmadd_ps(x0, y3, s03);
    s10 = _mm512_fmadd_ps(x1, y0, s10);
    s11 = _mm512_fmadd_ps(x1, y1, s11);
    s12 = _mm512_fmadd_ps(x1, y2, s12);
    s13 = _mm512_fmadd_ps(x1, y3, s13);
  };
  std::size_t i = 0;
  for (; i + 16 <= d; i += 16)
    step(_mm512_loadu_ps(a0 + i), _mm512_loadu_ps(a1 + i), _mm512_loadu_ps(b0 + i), _mm512_loadu_ps(b1 + i),
         _mm512_loadu_ps(b2 + i), _mm512_loadu_ps(b3 + i));
  if (i < d) {
    const __mmask16 m = static_cast<__mmask16>((1u << (d - i)) - 1u);
    step(_mm512_maskz_loadu_ps(m, a0 + i), _mm512_maskz_loadu_ps(m, a1 + i), _mm512_maskz_loadu_ps(m, b0 + i),
         _mm512_maskz_loadu_ps(m, b1 + i), _mm512_maskz_loadu_ps(m, b2 + i), _mm512_maskz_loadu_ps(m, b3 + i));
  }
  out[0] = static_cast<float>(hsum512(s00));
  out[1] = static_cast<float>(hsum512(s01));
  out[2] = static_cast<float>(hsum512(s02));
  out[3] = static_cast<float>(hsum512(s03));
  out[4] = static_cast<float>(hsum512(s10));
  out[5] = static_cast<float>(hsum512(s11));
  out[6] = static_cast<float>(hsum512(s12));
  out[7] = static_cast<float>(hsum512(s13));
}
#endif  // DS_X86

constexpr DotTable kScalar{paired_f32_scalar, paired_f16_scalar, dot4_scalar, dot2x4_scalar, dot_scalar};
#if DS_X86
constexpr DotTable kAvx2{paired_f32_avx2, paired_f16_avx2, dot4_avx2, dot2x4_avx2, dot_avx2};
constexpr DotTable kAvx512{paired_f32_avx512, paired_f16_avx512, dot4_avx512, dot2x4_avx512, dot_avx512};
#endif

}  // namespace

const DotTable& dot_table(Isa isa) noexcept {
#if DS_X86
  if (isa == Isa::avx512) return kAvx512;
  if (isa == Isa::avx2) return kAvx2;
#endif
  (void)isa;
  return kScalar;
}

}  // namespace detail

// Rows per task: enough work per thread to amortize spawning.
constexpr std::size_t kPairedGrain = 4096;

void cosine_paired_f32(const float* a, const float* b, std::size_t n, std::size_t d, float* out, int workers) {
  const auto& t = detail::dot_table();
  parallel_for(n, workers, kPairedGrain, [&](std::size_t lo, std::size_t hi) {
    t.paired_f32(a + lo * d, b + lo * d, d, hi - lo, out + lo);
  });
}

void cosine_paired_f16(const std::uint16_t* a, const std::uint16_t* b, std::size_t n, std::size_t d, float* out,
                       int workers) {
  const auto& t = detail::dot_table();
  parallel_for(n, workers, kPairedGrain, [&](std::size_t lo, std::size_t hi) {
    t.paired_f16(a + lo * d, b + lo * d, d, hi - lo, out + lo);
  });
}

void validate_offsets(const std::int64_t* off, std::size_t groups, std::size_t nrows, const char* name) {
  if (off[0] != 0)
    throw std::invalid_argument(std::string(name) + "[0] must be 0, got " + std::to_string(off[0]));
  for (std::size_t g = 0; g < groups; ++g) {
    if (off[g + 1] < off[g])
      throw std::invalid_argument(std::string(name) + " must be non-decreasing: " + name + "[" +
                                  std::to_string(g + 1) + "]=" + std::to_string(off[g + 1]) + " < " + name + "[" +
                                  std::to_string(g) + "]=" + std::to_string(off[g]));
  }
  if (static_cast<std::uint64_t>(off[groups]) != nrows)
    throw std::invalid_argument(std::string(name) + "[-1] must equal the number of rows (" + std::to_string(nrows) +
                                "), got " + std::to_string(off[groups]));
}

namespace detail {

bool inverse_norms_f32(const float* x, std::size_t n, std::size_t d, float* inv) noexcept {
  const auto& t = dot_table();
  bool unsafe = false;
  for (std::size_t i = 0; i < n; ++i) {
    const float s = t.dot(x + i * d, x + i * d, d);
    unsafe |= !std::isnan(s) && !in_safe_range(s);
    inv[i] = inv_norm(s);
  }
  return unsafe;
}

void cosine_rows_f32(const float* a, std::size_t na, const float* b, std::size_t nb, std::size_t d,
                     const float* inv_a, const float* inv_b, bool exact, float* out) noexcept {
  if (exact) {  // rows too small or too large for float32 products: exact double path
    for (std::size_t i = 0; i < na; ++i) {
      const double sa = sumsq_double(a + i * d, d);
      for (std::size_t j = 0; j < nb; ++j)
        out[i * nb + j] = finish_cosine(dot_double(a + i * d, b + j * d, d), sa, sumsq_double(b + j * d, d));
    }
    return;
  }
  const auto& t = dot_table();
  // Raw dot products, 2 a-rows × 4 b-rows at a time. dot2x4 and dot4 run the
  // same per-pair accumulation, so each entry's value depends only on its
  // position, never on the worker split or on where a strip starts.
  float tmp[8];
  std::size_t i = 0;
  for (; i + 2 <= na; i += 2) {
    const float *a0 = a + i * d, *a1 = a0 + d;
    float *r0 = out + i * nb, *r1 = r0 + nb;
    std::size_t j = 0;
    for (; j + 4 <= nb; j += 4) {
      t.dot2x4(a0, a1, b + j * d, b + (j + 1) * d, b + (j + 2) * d, b + (j + 3) * d, d, tmp);
      for (int u = 0; u < 4; ++u) r0[j + u] = tmp[u], r1[j + u] = tmp[4 + u];
    }
    for (; j < nb; ++j) r0[j] = t.dot(a0, b + j * d, d), r1[j] = t.dot(a1, b + j * d, d);
  }
  for (; i < na; ++i) {
    const float* ai = a + i * d;
    float* row = out + i * nb;
    std::size_t j = 0;
    for (; j + 4 <= nb; j += 4) {
      t.dot4(ai, b + j * d, b + (j + 1) * d, b + (j + 2) * d, b + (j + 3) * d, d, tmp);
      for (int u = 0; u < 4; ++u) row[j + u] = tmp[u];
    }
    for (; j < nb; ++j) row[j] = t.dot(ai, b + j * d, d);
  }
  for (i = 0; i < na; ++i) {
    float* row = out + i * nb;
    for (std::size_t j = 0; j < nb; ++j) {
      double c = static_cast<double>(row[j]) * inv_a[i] * inv_b[j];
      if (c > 1.0) c = 1.0;
      if (c < -1.0) c = -1.0;
      row[j] = static_cast<float>(c);  // NaN passes through both comparisons
    }
  }
}

}  // namespace detail

void cosine_block_f32(const float* a, std::size_t na, const float* b, std::size_t nb, std::size_t d, float* out,
                      float* scratch) {
  const bool exact_a = detail::inverse_norms_f32(a, na, d, scratch);
  const bool exact_b = detail::inverse_norms_f32(b, nb, d, scratch + na);
  detail::cosine_rows_f32(a, na, b, nb, d, scratch, scratch + na, exact_a || exact_b, out);
}

namespace {

// NaN-sticky running maximum: once a NaN is seen the result stays NaN.
inline float max_nan(float acc, float v) { return (std::isnan(v) || v > acc) ? v : acc; }

// One group's reduction, fed strip by strip in row order. The sums run in
// the same order as over the whole block (row-major for mean, row order for
// precision, column order after all rows for recall), so the result does not
// depend on the strip size.
struct GroupReducer {
  GroupReduce reduce;
  std::size_t na, nb;
  std::vector<float>& col_max;
  double sum = 0, p = 0;
  float m = -std::numeric_limits<float>::infinity();
  bool any_nan = false;

  GroupReducer(GroupReduce r, std::size_t na_, std::size_t nb_, std::vector<float>& cm)
      : reduce(r), na(na_), nb(nb_), col_max(cm) {
    if (reduce != GroupReduce::mean && reduce != GroupReduce::max) {
      if (col_max.size() < nb) col_max.resize(nb);
      std::fill(col_max.begin(), col_max.begin() + static_cast<std::ptrdiff_t>(nb),
                -std::numeric_limits<float>::infinity());
    }
  }

  void add(std::size_t rows, const float* sim) {
    const std::size_t n = rows * nb;
    switch (reduce) {
      case GroupReduce::mean:
        for (std::size_t k = 0; k < n; ++k) sum += sim[k];
        return;
      case GroupReduce::max:
        for (std::size_t k = 0; k < n && !any_nan; ++k) {
          any_nan = std::isnan(sim[k]);
          m = max_nan(m, sim[k]);
        }
        return;
      default:
        for (std::size_t i = 0; i < rows; ++i) {
          const float* row = sim + i * nb;
          float rm = -std::numeric_limits<float>::infinity();
          for (std::size_t j = 0; j < nb; ++j) {
            rm = max_nan(rm, row[j]);
            col_max[j] = max_nan(col_max[j], row[j]);
          }
          p += rm;  // NaN when the row held a NaN (max_nan is sticky)
        }
    }
  }

  float finish() const {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    switch (reduce) {
      case GroupReduce::mean:
        return static_cast<float>(sum / static_cast<double>(na * nb));
      case GroupReduce::max:
        return any_nan ? nan : m;
      default: {
        double r = 0;
        for (std::size_t j = 0; j < nb; ++j) r += col_max[j];
        const double pp = p / static_cast<double>(na), rr = r / static_cast<double>(nb);
        if (reduce == GroupReduce::precision) return static_cast<float>(pp);
        if (reduce == GroupReduce::recall) return static_cast<float>(rr);
        // Averaged in double from the same pp and rr: equal to the mean of
        // the float32 precision and recall up to their rounding; NaN in
        // either propagates.
        if (reduce == GroupReduce::matched) return static_cast<float>(0.5 * (pp + rr));
        if (std::isnan(pp) || std::isnan(rr)) return nan;
        return static_cast<float>(detail::harmonic_f1(pp, rr));
      }
    }
  }
};

}  // namespace

void cosine_grouped_f32(const float* a, const std::int64_t* a_off, const float* b, const std::int64_t* b_off,
                        std::size_t groups, std::size_t d, GroupReduce reduce, float* out, int workers) {
  parallel_for(groups, workers, 256, [&](std::size_t lo, std::size_t hi) {
    detail::BlockScratch scratch;
    std::vector<float> col_max;
    for (std::size_t g = lo; g < hi; ++g) {
      const std::size_t a0 = static_cast<std::size_t>(a_off[g]), na = static_cast<std::size_t>(a_off[g + 1]) - a0;
      const std::size_t b0 = static_cast<std::size_t>(b_off[g]), nb = static_cast<std::size_t>(b_off[g + 1]) - b0;
      if (na == 0 || nb == 0) {
        out[g] = std::numeric_limits<float>::quiet_NaN();
        continue;
      }
      GroupReducer red(reduce, na, nb, col_max);
      detail::stream_block_f32(a + a0 * d, na, b + b0 * d, nb, d, scratch,
                               [&](std::size_t, std::size_t rows, const float* sim) { red.add(rows, sim); });
      out[g] = red.finish();
    }
  });
}

void l2_normalize_f32(const float* x, std::size_t n, std::size_t d, float* out, int workers) {
  const auto& t = detail::dot_table();
  parallel_for(n, workers, 4096, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t r = lo; r < hi; ++r) {
      const float* row = x + r * d;
      float* o = out + r * d;
      const float s = t.dot(row, row, d);
      if (!std::isnan(s) && !detail::in_safe_range(s)) {
        // |x|² underflowed or overflowed float32 (or sits at its edge): scale
        // in double. An infinite value gives inv = 0, so inf·0 = NaN there and
        // 0 elsewhere, as x / |x| would.
        const double ss = detail::sumsq_double(row, d);
        const double inv = ss == 0.0 ? 0.0 : 1.0 / std::sqrt(ss);
        for (std::size_t i = 0; i < d; ++i) o[i] = static_cast<float>(static_cast<double>(row[i]) * inv);
        continue;
      }
      const float inv = detail::inv_norm(s);
      for (std::size_t i = 0; i < d; ++i) o[i] = row[i] * inv;
    }
  });
}

}  // namespace ds
