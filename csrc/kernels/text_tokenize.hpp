// Tokenizers over UTF-8 text, each a single left-to-right scan that hands
// every token's normalized bytes to a callback (no allocation per token).
//
//   rouge     rouge-score's default tokenizer: Python str.lower(), then runs
//             of [a-z0-9]; everything else separates. (U+0130 and the Kelvin
//             sign lower-case to ASCII in Python, so they are handled too.)
//   13a       sacrebleu's default BLEU tokenizer (mteval-v13a): the same
//             string replacements and the same four regex passes, applied
//             in order on bytes (each pass is a 1- or 2-character pattern,
//             for which a byte scan and Python's re.sub agree exactly),
//             then a split on Python whitespace.
//   unicode   distillscope's default: lower-cased runs of letters, marks and
//             digits; each CJK ideograph, kana and hangul syllable its own
//             token; every other punctuation or symbol its own token;
//             "3.14" and "1,000" stay one token; full-width ASCII folded.
//   whitespace  split on Python whitespace only (sacrebleu's "none").
//
// Cost: O(bytes) per text; 13a makes up to 8 passes over a scratch buffer.
// Invalid UTF-8 never crashes a tokenizer (an undecodable byte separates
// tokens); callers validate bytes input first and report the row.
#pragma once
#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "text_utf8.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ds::text {

enum class Tokenizer : int { rouge = 0, t13a = 1, unicode = 2, whitespace = 3 };

struct TokScratch {
  std::string a, b, word;
};

namespace detail {
inline bool all_ascii(const unsigned char* s, std::size_t n) {
  std::size_t i = 0;
  std::uint64_t acc = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s + i, 8);
    acc |= w;
  }
  for (; i < n; ++i) acc |= s[i];
  return (acc & 0x8080808080808080ull) == 0;
}

// Bit i of the result: byte p[i] (i < len <= 64) belongs to a token.
// SSE2 (part of every x86-64) classifies 16 bytes per instruction; other
// targets use the scalar loop. Only for ASCII text (signed compares).
enum class RunClass { not_space, alnum_lower };

inline bool run_member(RunClass k, unsigned char c) {
  if (k == RunClass::not_space)
    return !(static_cast<unsigned char>(c - 9) < 5u || static_cast<unsigned char>(c - 0x1C) < 5u);
  return static_cast<unsigned char>(c - 'a') < 26u || static_cast<unsigned char>(c - '0') < 10u;
}

inline std::uint64_t run_mask(RunClass k, const unsigned char* p, std::size_t len) {
#if defined(__SSE2__)
  if (len == 64) {
    std::uint64_t m = 0;
    for (int q = 0; q < 4; ++q) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * q));
      __m128i in;
      if (k == RunClass::not_space) {
        const __m128i ws1 = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(8)), _mm_cmplt_epi8(v, _mm_set1_epi8(14)));
        const __m128i ws2 =
            _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(0x1B)), _mm_cmplt_epi8(v, _mm_set1_epi8(0x21)));
        in = _mm_or_si128(ws1, ws2);  // whitespace; inverted below
      } else {
        const __m128i lo = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('a' - 1)), _mm_cmplt_epi8(v, _mm_set1_epi8('z' + 1)));
        const __m128i dg = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)), _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
        in = _mm_or_si128(lo, dg);
      }
      m |= static_cast<std::uint64_t>(static_cast<std::uint16_t>(_mm_movemask_epi8(in))) << (16 * q);
    }
    return k == RunClass::not_space ? ~m : m;
  }
#endif
  std::uint64_t m = 0;
  for (std::size_t i = 0; i < len; ++i) m |= static_cast<std::uint64_t>(run_member(k, p[i])) << i;
  return m;
}

// Calls f(start, end) for every maximal run of token bytes (ASCII text):
// 64 bytes are classified into a bit mask at a time and run starts and ends
// are walked with bit scans, with no per-byte branches.
template <class F>
inline void for_each_run(const unsigned char* s, std::size_t n, RunClass k, F&& f) {
  bool open = false;
  std::size_t start = 0;
  for (std::size_t base = 0; base < n; base += 64) {
    const std::size_t len = std::min<std::size_t>(64, n - base);
    const std::uint64_t valid = len == 64 ? ~std::uint64_t{0} : ((std::uint64_t{1} << len) - 1);
    const std::uint64_t m = run_mask(k, s + base, len) & valid;
    const std::uint64_t prev = (m << 1) | (open ? 1u : 0u);
    std::uint64_t starts = m & ~prev;
    std::uint64_t ends = ~m & prev & valid;
    for (;;) {
      if (open) {
        if (!ends) break;
        const std::size_t e = base + static_cast<std::size_t>(__builtin_ctzll(ends));
        ends &= ends - 1;
        f(start, e);
        open = false;
      } else {
        if (!starts) break;
        start = base + static_cast<std::size_t>(__builtin_ctzll(starts));
        starts &= starts - 1;
        open = true;
      }
    }
  }
  if (open) f(start, n);
}
}  // namespace detail

namespace detail {
// rouge: byte -> lower-cased token byte, 0 = separator, 1 = non-ASCII lead
struct RougeTable {
  unsigned char t[256];
  constexpr RougeTable() : t() {
    for (int c = 0; c < 256; ++c) {
      unsigned char v = 0;
      if (c >= 'a' && c <= 'z') v = static_cast<unsigned char>(c);
      if (c >= '0' && c <= '9') v = static_cast<unsigned char>(c);
      if (c >= 'A' && c <= 'Z') v = static_cast<unsigned char>(c + 32);
      if (c >= 0x80) v = 1;
      t[c] = v;
    }
  }
};
inline constexpr RougeTable kRouge{};
}  // namespace detail

template <class Emit>
void tokenize_rouge(const char* text, std::size_t n, TokScratch& sc, Emit&& emit) {
  const auto* s = reinterpret_cast<const unsigned char*>(text);
  std::string& w = sc.word;
  w.resize(n + 1);  // a token is never longer than the text
  char* buf = &w[0];
  if (detail::all_ascii(s, n)) {  // lower-case everything once, then hash runs in place
    auto* lw = reinterpret_cast<unsigned char*>(buf);
    for (std::size_t i = 0; i < n; ++i) {
      const unsigned char c = s[i];
      lw[i] = static_cast<unsigned char>(c + ((static_cast<unsigned char>(c - 'A') < 26u) << 5));
    }
    detail::for_each_run(lw, n, detail::RunClass::alnum_lower,
                         [&](std::size_t a, std::size_t b) { emit(static_cast<const char*>(buf) + a, b - a); });
    return;
  }
  std::size_t len = 0;
  std::size_t i = 0;
  while (i < n) {
    const unsigned char v = detail::kRouge.t[s[i]];
    if (v > 1) {
      buf[len++] = static_cast<char>(v);
      ++i;
      continue;
    }
    if (v == 0) {
      if (len) emit(static_cast<const char*>(buf), len);
      len = 0;
      ++i;
      continue;
    }
    std::uint32_t cp = 0;
    const int k = decode_utf8(s, i, n, cp);
    i += static_cast<std::size_t>(k ? k : 1);
    if (k && cp == 0x212A) {  // KELVIN SIGN lower-cases to ASCII 'k'
      buf[len++] = 'k';
      continue;
    }
    if (k && cp == 0x130) buf[len++] = 'i';  // 'İ'.lower() == 'i' + U+0307 (a separator)
    if (len) emit(static_cast<const char*>(buf), len);
    len = 0;
  }
  if (len) emit(static_cast<const char*>(buf), len);
}

template <class Emit>
void split_whitespace(const char* text, std::size_t n, Emit&& emit) {
  const auto* s = reinterpret_cast<const unsigned char*>(text);
  if (detail::all_ascii(s, n)) {
    detail::for_each_run(s, n, detail::RunClass::not_space,
                         [&](std::size_t a, std::size_t b) { emit(text + a, b - a); });
    return;
  }
  std::size_t i = 0, start = 0;
  bool in_tok = false;
  while (i < n) {
    const unsigned char c = s[i];
    // printable ASCII is never whitespace: the common case, no decoding
    const int k = (c > 0x20 && c < 0x80) ? 0 : space_len(s, i, n);
    if (k) {
      if (in_tok) emit(text + start, i - start);
      in_tok = false;
      i += static_cast<std::size_t>(k);
    } else {
      if (!in_tok) {
        start = i;
        in_tok = true;
      }
      ++i;
    }
  }
  if (in_tok) emit(text + start, n - start);
}

namespace detail {
// str.replace(pat, rep): every non-overlapping occurrence, left to right.
inline bool replace_all(std::string& s, std::string_view pat, std::string_view rep, std::string& tmp) {
  std::size_t p = s.find(pat);
  if (p == std::string::npos) return false;
  tmp.clear();
  std::size_t last = 0;
  while (p != std::string::npos) {
    tmp.append(s, last, p - last);
    tmp.append(rep);
    last = p + pat.size();
    p = s.find(pat, last);
  }
  tmp.append(s, last, std::string::npos);
  s.swap(tmp);
  return true;
}
inline bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
// 13a pass 1 class: [\{-\~\[-\` -\&\(-\+\:-\@\/]
inline constexpr bool is_13a_punct(unsigned c) {
  return (c >= 0x7B && c <= 0x7E) || (c >= 0x5B && c <= 0x60) || (c >= 0x20 && c <= 0x26) ||
         (c >= 0x28 && c <= 0x2B) || (c >= 0x3A && c <= 0x40) || c == 0x2F;
}
struct Punct13aTable {
  bool t[256];
  constexpr Punct13aTable() : t() {
    for (unsigned c = 0; c < 256; ++c) t[c] = is_13a_punct(c);
  }
};
inline constexpr Punct13aTable kPunct13a{};

enum class Pass { dot_after_nondigit, dot_before_nondigit, dash_after_digit };

// One of the 13a regex passes 2-4 from `in` to `out`:
//   dot_after_nondigit   ([^0-9])([\.,]) -> '\1 \2 '
//   dot_before_nondigit  ([\.,])([^0-9]) -> ' \1 \2'
//   dash_after_digit     ([0-9])(-)      -> '\1 \2 '
inline void sparse_pass(const std::string& in, std::string& out, Pass pass) {
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const std::size_t m = in.size();
  out.resize(m * 2);
  char* o = &out[0];
  std::size_t copied = 0, consumed = 0;
  const bool dash = pass == Pass::dash_after_digit;
  auto copy_to = [&](std::size_t end) {
    if (end > copied) {
      std::memcpy(o, in.data() + copied, end - copied);
      o += end - copied;
    }
    copied = end;
  };
  // next occurrence of the pass's special byte(s), found with memchr
  const char* base = in.data();
  const char* nd = dash ? nullptr : static_cast<const char*>(std::memchr(base, '.', m));
  const char* nc = dash ? nullptr : static_cast<const char*>(std::memchr(base, ',', m));
  const char* nh = dash ? static_cast<const char*>(std::memchr(base, '-', m)) : nullptr;
  for (;;) {
    const char* hit;
    if (dash) {
      if (!nh) break;
      hit = nh;
      nh = static_cast<const char*>(std::memchr(hit + 1, '-', m - static_cast<std::size_t>(hit + 1 - base)));
    } else {
      if (!nd && !nc) break;
      if (nd && (!nc || nd < nc)) {
        hit = nd;
        nd = static_cast<const char*>(std::memchr(hit + 1, '.', m - static_cast<std::size_t>(hit + 1 - base)));
      } else {
        hit = nc;
        nc = static_cast<const char*>(std::memchr(hit + 1, ',', m - static_cast<std::size_t>(hit + 1 - base)));
      }
    }
    const auto j = static_cast<std::size_t>(hit - base);
    const unsigned char c = p[j];
    if (pass == Pass::dot_before_nondigit) {
      if (j >= consumed && j + 1 < m && !is_digit(p[j + 1])) {
        copy_to(j);
        o[0] = ' ';
        o[1] = static_cast<char>(c);
        o[2] = ' ';
        o[3] = static_cast<char>(p[j + 1]);
        o += 4;
        copied = consumed = j + 2;
      }
    } else if (j >= 1 && j - 1 >= consumed && (dash ? is_digit(p[j - 1]) : !is_digit(p[j - 1]))) {
      copy_to(j - 1);
      o[0] = static_cast<char>(p[j - 1]);
      o[1] = ' ';
      o[2] = static_cast<char>(c);
      o[3] = ' ';
      o += 4;
      copied = consumed = j + 1;
    }
  }
  copy_to(m);
  out.resize(static_cast<std::size_t>(o - out.data()));
}
}  // namespace detail

template <class Emit>
void tokenize_13a(const char* text, std::size_t n, TokScratch& sc, Emit&& emit) {
  const auto* s = reinterpret_cast<const unsigned char*>(text);
  // sacrebleu applies str.rstrip() before tokenizing: walk back over
  // trailing Python whitespace, one UTF-8 character at a time
  std::size_t end = n;
  while (end > 0) {
    if (s[end - 1] < 0x80) {
      if (!py_isspace(s[end - 1])) break;
      --end;
      continue;
    }
    std::size_t st = end - 1;
    while (st > 0 && end - st < 4 && (s[st] & 0xC0) == 0x80) --st;
    std::uint32_t cp = 0;
    const int k = decode_utf8(s, st, n, cp);
    if (k == 0 || st + static_cast<std::size_t>(k) != end || !py_isspace(cp)) break;
    end = st;
  }
  std::string& a = sc.a;
  std::string& b = sc.b;
  // The string replacements apply only when their patterns occur; usually
  // none does and pass 1 reads the caller's text directly.
  const char* src = text;
  std::size_t src_n = end;
  {
    const std::string_view t(text, end);
    if (t.find('&') != std::string_view::npos || t.find("<skipped>") != std::string_view::npos ||
        t.find("-\n") != std::string_view::npos) {
      a.assign(text, end);
      detail::replace_all(a, "<skipped>", "", b);
      detail::replace_all(a, "-\n", "", b);
      for (char& c : a)
        if (c == '\n') c = ' ';
      if (a.find('&') != std::string::npos) {
        detail::replace_all(a, "&quot;", "\"", b);
        detail::replace_all(a, "&amp;", "&", b);
        detail::replace_all(a, "&lt;", "<", b);
        detail::replace_all(a, "&gt;", ">", b);
      }
      src = a.data();
      src_n = a.size();
    }
  }
  // pass 1 over f' {line} ': ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> ' \1 '. The
  // class contains the space itself; a space is written once instead of
  // three times, which changes no later match (a space's neighbours are
  // still spaces). '\n' -> ' ' (sacrebleu's replacement) happens here too.
  b.resize(src_n * 3 + 2);
  char* o = &b[0];
  *o++ = ' ';
  bool has_dot = false, has_dash = false;
  unsigned seen_dot = 0, seen_dash = 0;
  for (std::size_t q = 0; q < src_n; ++q) {
    // branch-free: always write three bytes, advance by 3 for a
    // punctuation byte (' ', c, ' ') and by 1 otherwise (c)
    const auto c = static_cast<unsigned char>(src[q]);
    const unsigned p = detail::kPunct13a.t[c] & (c != ' ');
    const char cc = c == '\n' ? ' ' : static_cast<char>(c);
    o[0] = p ? ' ' : cc;
    o[1] = cc;
    o[2] = ' ';
    o += 1 + 2 * p;
    seen_dot |= (c == '.') | (c == ',');
    seen_dash |= (c == '-');
  }
  has_dot = seen_dot != 0;
  has_dash = seen_dash != 0;
  *o++ = ' ';
  b.resize(static_cast<std::size_t>(o - b.data()));
  // Passes 2-4 can only match next to '.', ',' or '-', which are sparse:
  // visit those positions in order, keep re.sub's leftmost non-overlapping
  // rule with a "consumed up to" index, and copy the spans in between.
  if (has_dot) {
    detail::sparse_pass(b, a, detail::Pass::dot_after_nondigit);
    detail::sparse_pass(a, b, detail::Pass::dot_before_nondigit);
  }
  if (has_dash) {
    detail::sparse_pass(b, a, detail::Pass::dash_after_digit);
    a.swap(b);
  }
  split_whitespace(b.data(), b.size(), emit);
}

template <class Emit>
void tokenize_unicode(const char* text, std::size_t n, TokScratch& sc, Emit&& emit) {
  const auto* s = reinterpret_cast<const unsigned char*>(text);
  std::string& w = sc.word;
  w.clear();
  bool last_digit = false;
  char buf[8];
  auto flush = [&] {
    if (!w.empty()) {
      emit(w.data(), w.size());
      w.clear();
    }
    last_digit = false;
  };
  // class of the code point at byte i (after width folding), or kSep at end
  auto peek_class = [&](std::size_t i) -> UClass {
    if (i >= n) return kSep;
    if (s[i] < 0x80) return (s[i] >= '0' && s[i] <= '9') ? kDigit : kPunct;
    std::uint32_t cp;
    if (!decode_utf8(s, i, n, cp)) return kSep;
    if (cp >= 0xFF10 && cp <= 0xFF19) return kDigit;
    return uclass(cp);
  };
  std::size_t i = 0;
  while (i < n) {
    std::uint32_t cp = s[i];
    int k = 1;
    if (cp >= 0x80) {
      k = decode_utf8(s, i, n, cp);
      if (k == 0) {
        flush();
        ++i;
        continue;
      }
      if (cp >= 0xFF01 && cp <= 0xFF5E) cp -= 0xFEE0;  // full-width ASCII
    }
    i += static_cast<std::size_t>(k);
    UClass cls;
    if (cp < 0x80) {
      if ((cp >= 'a' && cp <= 'z')) {
        w.push_back(static_cast<char>(cp));
        last_digit = false;
        continue;
      }
      if (cp >= 'A' && cp <= 'Z') {
        w.push_back(static_cast<char>(cp + 32));
        last_digit = false;
        continue;
      }
      if (cp >= '0' && cp <= '9') {
        w.push_back(static_cast<char>(cp));
        last_digit = true;
        continue;
      }
      cls = (cp <= 0x20 || cp == 0x7F) ? kSep : kPunct;
    } else {
      cls = uclass(cp);
    }
    switch (cls) {
      case kSep:
        flush();
        break;
      case kIgnore:
        break;
      case kWord:
      case kDigit: {
        std::uint32_t lo[2];
        const int nl = lower_nonascii(cp, lo);
        for (int t = 0; t < nl; ++t) w.append(buf, static_cast<std::size_t>(encode_utf8(lo[t], buf)));
        last_digit = cls == kDigit;
        break;
      }
      case kCjk: {
        flush();
        emit(buf, static_cast<std::size_t>(encode_utf8(cp, buf)));
        break;
      }
      case kPunct:
      default:
        if ((cp == '.' || cp == ',') && last_digit && peek_class(i) == kDigit) {
          w.push_back(static_cast<char>(cp));
          last_digit = false;
        } else {
          flush();
          emit(buf, static_cast<std::size_t>(encode_utf8(cp, buf)));
        }
        break;
    }
  }
  flush();
}

template <class Emit>
void tokenize_text(Tokenizer t, const char* text, std::size_t n, TokScratch& sc, Emit&& emit) {
  switch (t) {
    case Tokenizer::rouge:
      tokenize_rouge(text, n, sc, emit);
      break;
    case Tokenizer::t13a:
      tokenize_13a(text, n, sc, emit);
      break;
    case Tokenizer::unicode:
      tokenize_unicode(text, n, sc, emit);
      break;
    case Tokenizer::whitespace:
      split_whitespace(text, n, emit);
      break;
  }
}

}  // namespace ds::text
