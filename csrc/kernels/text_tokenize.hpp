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
#include <string>
#include <string_view>

#include "text_utf8.hpp"

namespace ds::text {

enum class Tokenizer : int { rouge = 0, t13a = 1, unicode = 2, whitespace = 3 };

struct TokScratch {
  std::string a, b, word;
};

template <class Emit>
void tokenize_rouge(const char* text, std::size_t n, TokScratch& sc, Emit&& emit) {
  const auto* s = reinterpret_cast<const unsigned char*>(text);
  std::string& w = sc.word;
  w.clear();
  auto flush = [&] {
    if (!w.empty()) {
      emit(w.data(), w.size());
      w.clear();
    }
  };
  std::size_t i = 0;
  while (i < n) {
    const unsigned c = s[i];
    if (c < 0x80) {
      if (c >= 'A' && c <= 'Z')
        w.push_back(static_cast<char>(c + 32));
      else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        w.push_back(static_cast<char>(c));
      else
        flush();
      ++i;
      continue;
    }
    std::uint32_t cp = 0;
    const int k = decode_utf8(s, i, n, cp);
    if (k == 0) {
      flush();
      ++i;
      continue;
    }
    i += static_cast<std::size_t>(k);
    if (cp == 0x130) {  // 'İ'.lower() == 'i' + U+0307 (a separator)
      w.push_back('i');
      flush();
    } else if (cp == 0x212A) {  // KELVIN SIGN lower-cases to ASCII 'k'
      w.push_back('k');
    } else {
      flush();
    }
  }
  flush();
}

template <class Emit>
void split_whitespace(const char* text, std::size_t n, Emit&& emit) {
  const auto* s = reinterpret_cast<const unsigned char*>(text);
  std::size_t i = 0, start = 0;
  bool in_tok = false;
  while (i < n) {
    const int k = space_len(s, i, n);
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
inline bool is_13a_punct(unsigned char c) {
  return (c >= 0x7B && c <= 0x7E) || (c >= 0x5B && c <= 0x60) || (c >= 0x20 && c <= 0x26) ||
         (c >= 0x28 && c <= 0x2B) || (c >= 0x3A && c <= 0x40) || c == 0x2F;
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
  a.assign(" ");
  a.append(text, end);
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
  a.push_back(' ');
  // pass 1: ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> ' \1 '
  b.clear();
  b.reserve(a.size() * 2);
  for (unsigned char c : a) {
    if (detail::is_13a_punct(c)) {
      b.push_back(' ');
      b.push_back(static_cast<char>(c));
      b.push_back(' ');
    } else {
      b.push_back(static_cast<char>(c));
    }
  }
  const bool has_dot = b.find_first_of(".,") != std::string::npos;
  if (has_dot) {
    // pass 2: ([^0-9])([\.,]) -> '\1 \2 '
    a.clear();
    const auto* p = reinterpret_cast<const unsigned char*>(b.data());
    const std::size_t m = b.size();
    std::size_t i = 0;
    while (i < m) {
      if (i + 1 < m && !detail::is_digit(p[i]) && (p[i + 1] == '.' || p[i + 1] == ',')) {
        a.push_back(static_cast<char>(p[i]));
        a.push_back(' ');
        a.push_back(static_cast<char>(p[i + 1]));
        a.push_back(' ');
        i += 2;
      } else {
        a.push_back(static_cast<char>(p[i++]));
      }
    }
    // pass 3: ([\.,])([^0-9]) -> ' \1 \2'
    b.clear();
    p = reinterpret_cast<const unsigned char*>(a.data());
    const std::size_t m2 = a.size();
    i = 0;
    while (i < m2) {
      if (i + 1 < m2 && (p[i] == '.' || p[i] == ',') && !detail::is_digit(p[i + 1])) {
        b.push_back(' ');
        b.push_back(static_cast<char>(p[i]));
        b.push_back(' ');
        b.push_back(static_cast<char>(p[i + 1]));
        i += 2;
      } else {
        b.push_back(static_cast<char>(p[i++]));
      }
    }
  }
  if (b.find('-') != std::string::npos) {
    // pass 4: ([0-9])(-) -> '\1 \2 '
    a.clear();
    const auto* p = reinterpret_cast<const unsigned char*>(b.data());
    const std::size_t m = b.size();
    std::size_t i = 0;
    while (i < m) {
      if (i + 1 < m && detail::is_digit(p[i]) && p[i + 1] == '-') {
        a.push_back(static_cast<char>(p[i]));
        a.push_back(' ');
        a.push_back('-');
        a.push_back(' ');
        i += 2;
      } else {
        a.push_back(static_cast<char>(p[i++]));
      }
    }
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
