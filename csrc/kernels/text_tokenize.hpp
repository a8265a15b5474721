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
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "text_utf8.hpp"

namespace ds::text {

enum class Tokenizer : int { rouge = 0, t13a = 1, unicode = 2, whitespace = 3 };

struct TokScratch {
  std::string a, b, word;
};

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
  // sacrebleu applies str.rstrip() before tokenizing
  std::size_t end = n;
  if (n && (s[n - 1] >= 0x80 || py_isspace(s[n - 1]))) {
    end = 0;
    std::size_t i = 0;
    while (i < n) {
      const int k = space_len(s, i, n);
      if (k) {
        i += static_cast<std::size_t>(k);
      } else {
        std::uint32_t cp;
        const int d = s[i] < 0x80 ? 1 : decode_utf8(s, i, n, cp);
        i += static_cast<std::size_t>(d ? d : 1);
        end = i;
      }
    }
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
  for (std::size_t q = 0; q < src_n; ++q) {
    const auto c = static_cast<unsigned char>(src[q]);
    if (c != ' ' && detail::kPunct13a.t[c]) {
      o[0] = ' ';
      o[1] = static_cast<char>(c);
      o[2] = ' ';
      o += 3;
    } else {
      has_dot |= (c == '.' || c == ',');
      has_dash |= c == '-';
      *o++ = c == '\n' ? ' ' : static_cast<char>(c);
    }
  }
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
