// UTF-8 decoding, Python-compatible whitespace, code point classes for the
// "unicode" tokenizer, simple lower-casing, and the stable 64-bit token hash.
//
// Everything here is header-only and allocation-free; the tokenizers call it
// once per byte or code point. Classes and lower-case mappings come from a
// table generated from Python's unicodedata (text_unicode_tables.hpp), so
// the C++ and the pure-Python oracle agree code point for code point.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "text_unicode_tables.hpp"

namespace ds::text {

// Decodes one code point at s[i] (i < n). Returns the number of bytes, or 0
// when the sequence is invalid (overlong, surrogate, > U+10FFFF, truncated).
inline int decode_utf8(const unsigned char* s, std::size_t i, std::size_t n, std::uint32_t& cp) {
  const unsigned c0 = s[i];
  if (c0 < 0x80) {
    cp = c0;
    return 1;
  }
  if (c0 < 0xC2) return 0;
  if (c0 < 0xE0) {
    if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80) return 0;
    cp = ((c0 & 0x1Fu) << 6) | (s[i + 1] & 0x3Fu);
    return 2;
  }
  if (c0 < 0xF0) {
    if (i + 2 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80) return 0;
    cp = ((c0 & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu);
    if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return 3;
  }
  if (c0 < 0xF5) {
    if (i + 3 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80)
      return 0;
    cp = ((c0 & 0x07u) << 18) | ((s[i + 1] & 0x3Fu) << 12) | ((s[i + 2] & 0x3Fu) << 6) | (s[i + 3] & 0x3Fu);
    if (cp < 0x10000 || cp > 0x10FFFF) return 0;
    return 4;
  }
  return 0;
}

// Byte offset of the first invalid sequence, or n when the text is valid.
inline std::size_t find_invalid_utf8(const char* text, std::size_t n) {
  const auto* s = reinterpret_cast<const unsigned char*>(text);
  std::size_t i = 0;
  while (i < n) {
    // skip ASCII eight bytes at a time
    while (i + 8 <= n) {
      std::uint64_t w;
      std::memcpy(&w, s + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    if (s[i] < 0x80) {
      ++i;
      continue;
    }
    std::uint32_t cp;
    const int k = decode_utf8(s, i, n, cp);
    if (k == 0) return i;
    i += static_cast<std::size_t>(k);
  }
  return n;
}

inline int encode_utf8(std::uint32_t cp, char* out) {
  if (cp < 0x80) {
    out[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<char>(0xC0 | (cp >> 6));
    out[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<char>(0xE0 | (cp >> 12));
    out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = static_cast<char>(0xF0 | (cp >> 18));
  out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
  out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  out[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

// Python's str.isspace() (what str.split() with no argument splits on).
inline bool py_isspace(std::uint32_t c) {
  if (c < 0x80) return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20);
  if (c == 0x85 || c == 0xA0 || c == 0x1680 || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
      c == 0x3000)
    return true;
  return c >= 0x2000 && c <= 0x200A;
}

// Length in bytes of a Python-whitespace character at s[i], or 0.
inline int space_len(const unsigned char* s, std::size_t i, std::size_t n) {
  const unsigned c = s[i];
  if (c < 0x80) return py_isspace(c) ? 1 : 0;
  if (c != 0xC2 && c != 0xE1 && c != 0xE2 && c != 0xE3) return 0;
  std::uint32_t cp;
  const int k = decode_utf8(s, i, n, cp);
  return (k && py_isspace(cp)) ? k : 0;
}

enum UClass : std::uint8_t { kSep = 0, kWord = 1, kDigit = 2, kCjk = 3, kPunct = 4, kIgnore = 5 };

inline UClass uclass(std::uint32_t c) {
  using namespace tables;
  const std::uint32_t* end = kClassStart + kClassRanges;
  const std::uint32_t* it = std::upper_bound(kClassStart, end, c);
  return static_cast<UClass>(kClassOf[(it - kClassStart) - 1]);
}

// Python's chr(c).lower() for non-ASCII c: writes 1 or 2 code points.
inline int lower_nonascii(std::uint32_t c, std::uint32_t out[2]) {
  using namespace tables;
  int lo = 0, hi = kLowerCount;
  while (lo < hi) {
    const int mid = (lo + hi) / 2;
    if (kLower[mid][0] < c)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < kLowerCount && kLower[lo][0] == c) {
    out[0] = kLower[lo][1];
    if (kLower[lo][2]) {
      out[1] = kLower[lo][2];
      return 2;
    }
    return 1;
  }
  out[0] = c;
  return 1;
}

// Stable 64-bit hash of a token's bytes (little-endian word reads; the same
// bytes give the same id on every run, platform and worker count). Written
// for this project: 8-byte blocks folded with a multiply-rotate step, then
// a 64-bit avalanche finalizer.
inline std::uint64_t hash_bytes(const char* p, std::size_t n) {
  constexpr std::uint64_t k1 = 0x9E3779B97F4A7C15ull, k2 = 0xC2B2AE3D27D4EB4Full, k3 = 0x165667B19E3779F9ull;
  std::uint64_t h = k3 ^ (static_cast<std::uint64_t>(n) * k1);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    w *= k2;
    w = (w << 31) | (w >> 33);
    h ^= w * k1;
    h = ((h << 27) | (h >> 37)) * k1 + k3;
  }
  if (i < n) {
    std::uint64_t w = 0;
    std::memcpy(&w, p + i, n - i);
    w *= k2;
    w = (w << 31) | (w >> 33);
    h ^= w * k1;
    h = ((h << 27) | (h >> 37)) * k1 + k3;
  }
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ull;
  h ^= h >> 33;
  return h;
}

}  // namespace ds::text
