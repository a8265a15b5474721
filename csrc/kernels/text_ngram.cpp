#include "text_ngram.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "parallel.hpp"

namespace ds::text {
namespace {

constexpr std::uint32_t NONE = std::numeric_limits<std::uint32_t>::max();

// Open-addressing map uint64 -> uint32 with linear probing. Slots carry a
// stamp so that clearing between pairs and orders is O(1).
class HashMap {
 public:
  void reset(std::size_t expected) {
    std::size_t cap = 16;
    int bits = 4;
    while (cap < expected * 2) {
      cap <<= 1;
      ++bits;
    }
    if (cap > slots_.size()) {
      slots_.assign(cap, Slot{0, 0, 0});
      stamp_ = 0;
    }
    if (++stamp_ == 0) {
      for (auto& s : slots_) s.stamp = 0;
      stamp_ = 1;
    }
    mask_ = cap - 1;
    shift_ = 64 - bits;
  }
  std::uint32_t insert(std::uint64_t key, std::uint32_t next, bool& inserted) {
    std::size_t i = index(key);
    for (;;) {
      Slot& s = slots_[i];
      if (s.stamp != stamp_) {
        s.key = key;
        s.val = next;
        s.stamp = stamp_;
        inserted = true;
        return next;
      }
      if (s.key == key) {
        inserted = false;
        return s.val;
      }
      i = (i + 1) & mask_;
    }
  }
  std::uint32_t find(std::uint64_t key) const {
    std::size_t i = index(key);
    for (;;) {
      const Slot& s = slots_[i];
      if (s.stamp != stamp_) return NONE;
      if (s.key == key) return s.val;
      i = (i + 1) & mask_;
    }
  }

 private:
  struct Slot {
    std::uint64_t key;
    std::uint32_t val;
    std::uint32_t stamp;
  };
  std::size_t index(std::uint64_t key) const {
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_);
  }
  std::vector<Slot> slots_;
  std::uint32_t stamp_ = 0;
  std::size_t mask_ = 0;
  int shift_ = 60;
};

// Direct-indexed map for small key spaces (characters, or pairs of ids when
// few distinct (n-1)-grams exist): no hashing, no probing.
class DirectMap {
 public:
  // cell = stamp << 32 | value: one memory access per lookup
  void reset(std::size_t keyspace) {
    if (keyspace > cell_.size()) {
      cell_.assign(keyspace, 0);
      stamp_ = 0;
    }
    if (++stamp_ == 0) {
      std::fill(cell_.begin(), cell_.end(), std::uint64_t{0});
      stamp_ = 1;
    }
  }
  std::uint32_t insert(std::uint64_t key, std::uint32_t next, bool& inserted) {
    std::uint64_t& c = cell_[static_cast<std::size_t>(key)];
    if ((c >> 32) != stamp_) {
      c = (static_cast<std::uint64_t>(stamp_) << 32) | next;
      inserted = true;
      return next;
    }
    inserted = false;
    return static_cast<std::uint32_t>(c);
  }
  std::uint32_t find(std::uint64_t key) const {
    const std::uint64_t c = cell_[static_cast<std::size_t>(key)];
    return (c >> 32) == stamp_ ? static_cast<std::uint32_t>(c) : NONE;
  }

 private:
  std::vector<std::uint64_t> cell_;
  std::uint32_t stamp_ = 0;
};

struct Counts {
  std::int32_t ref, cand;
};

struct Scratch {
  HashMap map;
  DirectMap dmap;
  std::vector<std::uint32_t> ia, ib;  // dense ids of the current order (a = reference, b = candidate)
  std::vector<std::uint32_t> ua, ub;  // dense unigram ids
  std::vector<std::int32_t> ca, cb;   // per-id counts
  std::vector<Counts> cnt, cntp;      // interleaved counts (fused path), this and the previous order
  std::vector<std::uint64_t> ta, tb;  // token ids of the pair
  std::vector<std::uint64_t> xa, xb;  // chrF characters / words
  std::vector<std::uint32_t> sid;     // LCS: dense id -> shared id
  std::vector<std::uint64_t> masks, vbits;
  std::vector<std::uint32_t> stamp;
  std::vector<std::uint8_t> carry;
  TokScratch tok;
};

inline std::int64_t span(std::size_t len, int n) {
  const auto L = static_cast<std::int64_t>(len) - n + 1;
  return L > 0 ? L : 0;
}

// Bit-parallel LCS over dense ids where ids with sid[id] == NONE match
// nothing. x is the side packed into bits (the shorter one).
std::int64_t lcs_dense_ids(const std::uint32_t* x, std::size_t lx, const std::uint32_t* y, std::size_t ly,
                           const std::vector<std::uint32_t>& sid, std::size_t shared, Scratch& s) {
  if (lx == 0 || ly == 0 || shared == 0) return 0;
  const std::size_t W = (lx + 63) / 64;
  std::int64_t zeros = 0;
  if (shared * W <= (std::size_t{1} << 21)) {
    s.masks.assign(shared * W, 0);
    for (std::size_t i = 0; i < lx; ++i) {
      const std::uint32_t id = x[i];
      if (id == NONE || sid[id] == NONE) continue;
      s.masks[sid[id] * W + i / 64] |= std::uint64_t{1} << (i % 64);
    }
    s.vbits.assign(W, ~std::uint64_t{0});
    std::uint64_t* V = s.vbits.data();
    for (std::size_t j = 0; j < ly; ++j) {
      const std::uint32_t id = y[j];
      if (id == NONE || sid[id] == NONE) continue;  // empty mask: V unchanged
      const std::uint64_t* M = s.masks.data() + sid[id] * W;
      std::uint64_t carry = 0;
      for (std::size_t w = 0; w < W; ++w) {
        const std::uint64_t v = V[w], m = M[w];
        const std::uint64_t u = v & m;
        const std::uint64_t t = v + u;
        const std::uint64_t c1 = t < v;
        const std::uint64_t sum = t + carry;
        carry = c1 | (sum < t);
        V[w] = sum | (v & ~m);
      }
    }
    for (std::size_t w = 0; w < W; ++w) {
      std::uint64_t z = ~V[w];
      const std::size_t valid = std::min<std::size_t>(64, lx - w * 64);
      if (valid < 64) z &= (std::uint64_t{1} << valid) - 1;
      zeros += __builtin_popcountll(z);
    }
    return zeros;
  }
  // Row-striped: one 64-row block of x at a time across all of y, carrying
  // the addition's carry bit per column from block to block. O(lx + ly) memory.
  s.masks.assign(shared, 0);
  s.stamp.assign(shared, 0);
  s.carry.assign(ly, 0);
  for (std::size_t w = 0; w < W; ++w) {
    const std::size_t lo = w * 64, hi = std::min(lx, lo + 64);
    const auto tag = static_cast<std::uint32_t>(w + 1);
    for (std::size_t i = lo; i < hi; ++i) {
      const std::uint32_t id = x[i];
      if (id == NONE || sid[id] == NONE) continue;
      const std::uint32_t k = sid[id];
      if (s.stamp[k] != tag) {
        s.stamp[k] = tag;
        s.masks[k] = 0;
      }
      s.masks[k] |= std::uint64_t{1} << (i - lo);
    }
    std::uint64_t v = ~std::uint64_t{0};
    for (std::size_t j = 0; j < ly; ++j) {
      const std::uint32_t id = y[j];
      std::uint64_t m = 0;
      if (id != NONE && sid[id] != NONE && s.stamp[sid[id]] == tag) m = s.masks[sid[id]];
      const std::uint64_t u = v & m;
      const std::uint64_t t = v + u;
      const std::uint64_t c1 = t < v;
      const std::uint64_t sum = t + s.carry[j];
      s.carry[j] = static_cast<std::uint8_t>(c1 | (sum < t));
      v = sum | (v & ~m);
    }
    std::uint64_t z = ~v;
    const std::size_t valid = hi - lo;
    if (valid < 64) z &= (std::uint64_t{1} << valid) - 1;
    zeros += __builtin_popcountll(z);
  }
  return zeros;
}

// Per-order statistics of reference a (length m) and candidate b (length n).
// stats[k*3 + {0,1,2}] = candidate total, reference total, multiset match of
// order k+1; dist (optional) = distinct candidate, distinct reference,
// distinct shared. If lcs_out is given, the LCS of the two sequences.
void ngram_levels(const std::uint64_t* a, std::size_t m, const std::uint64_t* b, std::size_t n, int orders,
                  std::int64_t* stats, std::int64_t* dist, std::int64_t* lcs_out, Scratch& s,
                  bool small_keys = false) {
  const bool distinct = dist != nullptr;
  for (int k = 0; k < orders; ++k) {
    stats[k * 3 + 0] = span(n, k + 1);
    stats[k * 3 + 1] = span(m, k + 1);
    stats[k * 3 + 2] = 0;
    if (distinct) dist[k * 3 + 0] = dist[k * 3 + 1] = dist[k * 3 + 2] = 0;
  }
  if (lcs_out) *lcs_out = 0;
  if ((m == 0 || n == 0) && !distinct) return;
  if (orders < 1 && !lcs_out) return;
  s.ia.resize(m);
  s.ib.resize(n);
  std::uint32_t* ia = s.ia.data();
  std::uint32_t* ib = s.ib.data();
  std::size_t la = m, lb = n;
  std::uint64_t D = 0;   // number of dense ids of the previous order
  std::uint64_t D1 = 0;  // number of dense unigram ids
  const std::uint32_t* ua = nullptr;
  const std::uint32_t* ub = nullptr;
  const int levels = std::max(orders, lcs_out ? 1 : 0);
  for (int k = 0; k < levels; ++k) {
    if (k > 0) {
      la = la ? la - 1 : 0;
      lb = lb ? lb - 1 : 0;
      if (la == 0 && lb == 0) break;
      if (!distinct && (la == 0 || lb == 0)) break;
    }
    s.ca.clear();
    s.cb.clear();
    std::uint32_t next = 0;
    // An n-gram of order k+1 >= 2 is (its k-gram prefix, its last token):
    // key = prefix id * D1 + last token's unigram id < D * D1 <= 2^64 - 1.
    // ~0 marks "cannot match" (prefix or last token absent from one side).
    auto key_at = [&](const std::uint64_t* tok, const std::uint32_t* ids, const std::uint32_t* uni,
                      std::size_t i) -> std::uint64_t {
      if (k == 0) return tok[i];
      const std::uint32_t x = ids[i], y = uni[i + static_cast<std::size_t>(k)];
      if (x == NONE || y == NONE) return ~std::uint64_t{0};
      return static_cast<std::uint64_t>(x) * D1 + y;
    };
    auto run = [&](auto& map) {
      bool ins = false;
      for (std::size_t i = 0; i < la; ++i) {
        const std::uint64_t key = key_at(a, ia, ua, i);
        if (k > 0 && key == ~std::uint64_t{0}) {
          ia[i] = NONE;
          continue;
        }
        const std::uint32_t id = map.insert(key, next, ins);
        if (ins) {
          ++next;
          s.ca.push_back(0);
          s.cb.push_back(0);
        }
        ++s.ca[id];
        ia[i] = id;
      }
      for (std::size_t j = 0; j < lb; ++j) {
        const std::uint64_t key = key_at(b, ib, ub, j);
        if (k > 0 && key == ~std::uint64_t{0}) {
          ib[j] = NONE;
          continue;
        }
        std::uint32_t id;
        if (distinct) {
          id = map.insert(key, next, ins);
          if (ins) {
            ++next;
            s.ca.push_back(0);
            s.cb.push_back(0);
          }
        } else {
          id = map.find(key);
        }
        if (id != NONE) ++s.cb[id];
        ib[j] = id;
      }
    };
    // key space of this order: small ones are indexed directly
    std::uint64_t keyspace = ~std::uint64_t{0};
    if (k == 0) {
      if (small_keys) {
        std::uint64_t mx = 0;
        for (std::size_t i = 0; i < la; ++i) mx = std::max(mx, a[i]);
        for (std::size_t j = 0; j < lb; ++j) mx = std::max(mx, b[j]);
        keyspace = mx + 1;
      }
    } else if (D <= (std::uint64_t{1} << 31) && D1 <= (std::uint64_t{1} << 31)) {
      keyspace = D * D1;
    }
    // direct tables up to 2 MiB per thread: far fewer cycles than hashing
    const std::uint64_t budget = std::min<std::uint64_t>(
        std::uint64_t{1} << 18,
        std::max<std::uint64_t>(std::uint64_t{1} << 16, 64 * (static_cast<std::uint64_t>(la) + lb)));
    if (keyspace <= budget) {
      s.dmap.reset(static_cast<std::size_t>(keyspace));
      run(s.dmap);
    } else {
      s.map.reset(la + (distinct ? lb : 0) + 1);
      run(s.map);
    }
    std::int64_t match = 0, dc = 0, dr = 0, db = 0, shared = 0;
    for (std::uint32_t id = 0; id < next; ++id) {
      const std::int32_t x = s.ca[id], y = s.cb[id];
      match += std::min(x, y);
      dr += x > 0;
      dc += y > 0;
      db += (x > 0 && y > 0);
    }
    shared = db;
    if (k < orders) {
      stats[k * 3 + 2] = match;
      if (distinct) {
        dist[k * 3 + 0] = dc;
        dist[k * 3 + 1] = dr;
        dist[k * 3 + 2] = db;
      }
    }
    if (k == 0 && lcs_out) {
      s.sid.assign(next, NONE);
      std::uint32_t sh = 0;
      for (std::uint32_t id = 0; id < next; ++id)
        if (s.ca[id] > 0 && s.cb[id] > 0) s.sid[id] = sh++;
      *lcs_out = m <= n ? lcs_dense_ids(ia, m, ib, n, s.sid, sh, s) : lcs_dense_ids(ib, n, ia, m, s.sid, sh, s);
    }
    if (!distinct) {
      if (match == 0) break;  // no shared n-gram of this order: none of any higher order
      // ids absent from one side cannot be part of a longer shared n-gram
      for (std::size_t i = 0; i < la; ++i)
        if (ia[i] != NONE && s.cb[ia[i]] == 0) ia[i] = NONE;
      for (std::size_t j = 0; j < lb; ++j)
        if (ib[j] != NONE && s.ca[ib[j]] == 0) ib[j] = NONE;
    }
    (void)shared;
    D = next;
    if (k == 0) {  // unigram ids (NONE where not shared) for the keys of higher orders
      D1 = next;
      s.ua.assign(ia, ia + la);
      s.ub.assign(ib, ib + lb);
      ua = s.ua.data();
      ub = s.ub.data();
    }
  }
}

// Multiset matches only (no set statistics): the common case. Same ids and
// keys as ngram_levels, fused into one pass per side and order: the
// candidate side counts its matches as it goes, and "shared with the other
// side" is read from the previous order's counts instead of a pruning pass.
void ngram_match_levels(const std::uint64_t* a, std::size_t m, const std::uint64_t* b, std::size_t n, int orders,
                        std::int64_t* stats, std::int64_t* lcs_out, Scratch& s, bool small_keys) {
  for (int k = 0; k < orders; ++k) {
    stats[k * 3 + 0] = span(n, k + 1);
    stats[k * 3 + 1] = span(m, k + 1);
    stats[k * 3 + 2] = 0;
  }
  if (lcs_out) *lcs_out = 0;
  if (m == 0 || n == 0 || (orders < 1 && !lcs_out)) return;
  s.ia.resize(m);
  s.ib.resize(n);
  std::uint32_t* ia = s.ia.data();
  std::uint32_t* ib = s.ib.data();
  std::vector<Counts>& cnt = s.cnt;    // this order: reference, candidate counts per id
  std::vector<Counts>& prev = s.cntp;  // previous order
  auto budget_for = [](std::size_t la, std::size_t lb) {
    return std::min<std::uint64_t>(std::uint64_t{1} << 18,
                                   std::max<std::uint64_t>(std::uint64_t{1} << 16, 64 * static_cast<std::uint64_t>(la + lb)));
  };
  // ---- unigrams
  std::uint32_t next = 0;
  std::int64_t match = 0;
  cnt.clear();
  auto run0 = [&](auto& map) {
    bool ins = false;
    for (std::size_t i = 0; i < m; ++i) {
      const std::uint32_t id = map.insert(a[i], next, ins);
      if (ins) {
        ++next;
        cnt.push_back(Counts{0, 0});
      }
      ++cnt[id].ref;
      ia[i] = id;
    }
    for (std::size_t j = 0; j < n; ++j) {
      const std::uint32_t id = map.find(b[j]);
      ib[j] = id;
      if (id != NONE) {
        Counts& c = cnt[id];
        match += c.cand < c.ref;
        ++c.cand;
      }
    }
  };
  std::uint64_t keyspace = ~std::uint64_t{0};
  if (small_keys) {
    std::uint64_t mx = 0;
    for (std::size_t i = 0; i < m; ++i) mx = std::max(mx, a[i]);
    for (std::size_t j = 0; j < n; ++j) mx = std::max(mx, b[j]);
    keyspace = mx + 1;
  }
  if (keyspace <= budget_for(m, n)) {
    s.dmap.reset(static_cast<std::size_t>(keyspace));
    run0(s.dmap);
  } else {
    s.map.reset(m + 1);
    run0(s.map);
  }
  if (orders >= 1) stats[2] = match;
  if (lcs_out) {
    s.sid.assign(next, NONE);
    std::uint32_t sh = 0;
    for (std::uint32_t id = 0; id < next; ++id)
      if (cnt[id].cand > 0) s.sid[id] = sh++;
    *lcs_out = m <= n ? lcs_dense_ids(ia, m, ib, n, s.sid, sh, s) : lcs_dense_ids(ib, n, ia, m, s.sid, sh, s);
  }
  if (match == 0 || orders <= 1) return;
  s.ua.resize(m);
  for (std::size_t i = 0; i < m; ++i) s.ua[i] = cnt[ia[i]].cand > 0 ? ia[i] : NONE;
  s.ub.assign(ib, ib + n);  // found in the reference = shared
  const std::uint32_t* ua = s.ua.data();
  const std::uint32_t* ub = s.ub.data();
  const std::uint64_t D1 = next;
  std::uint64_t D = next;
  prev.swap(cnt);
  std::size_t la = m, lb = n;
  for (int k = 1; k < orders; ++k) {
    --la;
    --lb;
    if (la == 0 || lb == 0) break;
    next = 0;
    match = 0;
    cnt.clear();
    const std::size_t kk = static_cast<std::size_t>(k);
    auto run = [&](auto& map) {
      bool ins = false;
      for (std::size_t i = 0; i < la; ++i) {
        // prefix and suffix k-grams (ia[i], ia[i + 1], still of the
        // previous order) and the last token must all occur on both sides
        const std::uint32_t x = ia[i], y = ua[i + kk], x2 = ia[i + 1];
        if (x == NONE || y == NONE || x2 == NONE || prev[x].cand == 0 || prev[x2].cand == 0) {
          ia[i] = NONE;
          continue;
        }
        const std::uint32_t id = map.insert(static_cast<std::uint64_t>(x) * D1 + y, next, ins);
        if (ins) {
          ++next;
          cnt.push_back(Counts{0, 0});
        }
        ++cnt[id].ref;
        ia[i] = id;
      }
      for (std::size_t j = 0; j < lb; ++j) {
        const std::uint32_t x = ib[j], y = ub[j + kk], x2 = ib[j + 1];
        if (x == NONE || y == NONE || x2 == NONE) {
          ib[j] = NONE;
          continue;
        }
        const std::uint32_t id = map.find(static_cast<std::uint64_t>(x) * D1 + y);
        ib[j] = id;
        if (id != NONE) {
          Counts& c = cnt[id];
          match += c.cand < c.ref;
          ++c.cand;
        }
      }
    };
    if (D * D1 <= budget_for(la, lb)) {
      s.dmap.reset(static_cast<std::size_t>(D * D1));
      run(s.dmap);
    } else {
      s.map.reset(la + 1);
      run(s.map);
    }
    stats[k * 3 + 2] = match;
    if (match == 0) break;
    D = next;
    prev.swap(cnt);
  }
}

// sacrebleu CHRF._remove_punctuation, then a hash per word.
const char kChrfPuncts[] = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
inline bool chrf_punct(unsigned char c) {
  for (const char* p = kChrfPuncts; *p; ++p)
    if (static_cast<unsigned char>(*p) == c) return true;
  return false;
}

void chrf_words(const char* text, std::size_t n, std::vector<std::uint64_t>& out) {
  out.clear();
  split_whitespace(text, n, [&](const char* w, std::size_t len) {
    const auto* u = reinterpret_cast<const unsigned char*>(w);
    if (len == 1) {
      out.push_back(hash_bytes(w, 1));
    } else if (chrf_punct(u[len - 1])) {
      out.push_back(hash_bytes(w, len - 1));
      out.push_back(hash_bytes(w + len - 1, 1));
    } else if (chrf_punct(u[0])) {
      out.push_back(hash_bytes(w, 1));
      out.push_back(hash_bytes(w + 1, len - 1));
    } else {
      out.push_back(hash_bytes(w, len));
    }
  });
}

void chrf_chars(const char* text, std::size_t n, bool keep_ws, std::vector<std::uint64_t>& out) {
  out.clear();
  const auto* s = reinterpret_cast<const unsigned char*>(text);
  if (detail::all_ascii(s, n)) {  // one code point per byte: branch-free copy
    out.resize(n);
    std::uint64_t* o = out.data();
    std::size_t k = 0;
    for (std::size_t i = 0; i < n; ++i) {
      o[k] = s[i];
      k += keep_ws || !py_isspace(s[i]);
    }
    out.resize(k);
    return;
  }
  std::size_t i = 0;
  while (i < n) {
    std::uint32_t cp = s[i];
    int k = 1;
    if (cp >= 0x80) {
      k = decode_utf8(s, i, n, cp);
      if (k == 0) {  // not reachable for validated input; keep the byte
        cp = 0x110000u + s[i];
        k = 1;
      }
    }
    i += static_cast<std::size_t>(k);
    if (!keep_ws && py_isspace(cp)) continue;
    out.push_back(cp);
  }
}

double pair_chrf(const char* ct, std::size_t cn, const char* rt, std::size_t rn, const LexicalParams& p,
                 Scratch& s, std::int64_t* stats_out) {
  const int co = p.chrf_char_order, wo = p.chrf_word_order;
  std::int64_t stats[3 * 64];
  if (co > 0) {
    chrf_chars(rt, rn, p.chrf_whitespace, s.xa);
    chrf_chars(ct, cn, p.chrf_whitespace, s.xb);
    ngram_match_levels(s.xa.data(), s.xa.size(), s.xb.data(), s.xb.size(), co, stats, nullptr, s, true);
  }
  if (wo > 0) {
    chrf_words(rt, rn, s.xa);
    chrf_words(ct, cn, s.xb);
    ngram_match_levels(s.xa.data(), s.xa.size(), s.xb.data(), s.xb.size(), wo, stats + 3 * co, nullptr, s, false);
  }
  // sacrebleu's statistics: [hyp count if the reference has n-grams else 0, ref count, match]
  for (int k = 0; k < co + wo; ++k)
    if (stats[k * 3 + 1] == 0) stats[k * 3 + 0] = 0;
  if (stats_out) std::copy(stats, stats + 3 * (co + wo), stats_out);
  return chrf_from_stats(stats, co + wo, p.chrf_beta, p.chrf_eps_smoothing);
}

struct SideView {
  const Side& side;
  bool is_text() const { return side.text != nullptr; }
};

}  // namespace

std::int64_t lcs_length(const std::uint64_t* a, std::size_t m, const std::uint64_t* b, std::size_t n) {
  Scratch s;
  std::int64_t out = 0;
  ngram_levels(a, m, b, n, 0, nullptr, nullptr, &out, s);
  return out;
}

double bleu_from_stats(const std::int64_t* correct_in, const std::int64_t* total_in, int order, std::int64_t sys_len,
                       std::int64_t ref_len, Smooth smooth, double smooth_value, bool effective_order,
                       double* bp_out) {
  double bp = 1.0;
  if (sys_len < ref_len)
    bp = sys_len > 0 ? std::exp(1.0 - static_cast<double>(ref_len) / static_cast<double>(sys_len)) : 0.0;
  if (bp_out) *bp_out = bp;
  bool any = false;
  for (int k = 0; k < order; ++k) any = any || correct_in[k] != 0;
  if (!any) return 0.0;
  double prec[64];
  for (int k = 0; k < order; ++k) prec[k] = 0.0;
  double smooth_mteval = 1.0;
  int eff_order = order;
  for (int n = 1; n <= order; ++n) {
    double correct = static_cast<double>(correct_in[n - 1]);
    double total = static_cast<double>(total_in[n - 1]);
    if (smooth == Smooth::add_k && n > 1) {
      correct += smooth_value;
      total += smooth_value;
    }
    if (total == 0.0) break;
    if (effective_order) eff_order = n;
    if (correct == 0.0) {
      if (smooth == Smooth::exp) {
        smooth_mteval *= 2;
        prec[n - 1] = 100.0 / (smooth_mteval * total);
      } else if (smooth == Smooth::floor) {
        prec[n - 1] = 100.0 * smooth_value / total;
      }
    } else {
      prec[n - 1] = 100.0 * correct / total;
    }
  }
  double sum = 0.0;  // Python's sum() adds left to right starting from int 0
  for (int k = 0; k < eff_order; ++k) sum += prec[k] == 0.0 ? -9999999999.0 : std::log(prec[k]);
  return bp * std::exp(sum / eff_order);
}

double chrf_from_stats(const std::int64_t* st, int orders, double beta, bool eps_smoothing) {
  const double eps = 1e-16;
  double score = 0.0;
  int effective = 0;
  const double factor = beta * beta;
  double avg_prec = 0.0, avg_rec = 0.0;
  for (int i = 0; i < orders; ++i) {
    const std::int64_t n_hyp = st[3 * i], n_ref = st[3 * i + 1], n_match = st[3 * i + 2];
    const double prec = n_hyp > 0 ? static_cast<double>(n_match) / static_cast<double>(n_hyp) : eps;
    const double rec = n_ref > 0 ? static_cast<double>(n_match) / static_cast<double>(n_ref) : eps;
    const double denom = factor * prec + rec;
    score += denom > 0 ? ((1 + factor) * prec * rec / denom) : eps;
    if (n_hyp > 0 && n_ref > 0) {
      avg_prec += prec;
      avg_rec += rec;
      ++effective;
    }
  }
  if (eps_smoothing) return 100 * score / orders;
  if (effective == 0) {
    avg_prec = avg_rec = 0.0;
  } else {
    avg_prec /= effective;
    avg_rec /= effective;
  }
  if (avg_prec + avg_rec != 0.0) {
    double s = (1 + factor) * avg_prec * avg_rec;
    s /= (factor * avg_prec) + avg_rec;
    return 100 * s;
  }
  return 0.0;
}

void lexical_batch(const Side& cand, const Side& ref, std::size_t n, const LexicalParams& p,
                   const LexicalOutputs& out, int workers) {
  const bool texts = cand.text != nullptr;
  const bool chrf = p.chrf_char_order + p.chrf_word_order > 0;
  // An empty batch has no text pointers either way: nothing to score, not an error.
  if (chrf && !texts && n > 0) throw std::invalid_argument("chrF needs texts, not pre-tokenized ids");
  if (p.chrf_char_order < 0 || p.chrf_word_order < 0 || p.chrf_char_order + p.chrf_word_order > 64)
    throw std::invalid_argument("chrF orders must be >= 0 and at most 64 in total");
  const int orders = std::max(p.word_n, p.bleu ? p.bleu_order : 0);
  if (orders > 64 || p.word_n < 0) throw std::invalid_argument("n-gram order must be between 1 and 64");
  const bool need_tokens = orders > 0 || p.lcs;
  const std::size_t grain = 32;
  const std::size_t blocks = (n + grain - 1) / grain;
  parallel_for(blocks, workers, 1, [&](std::size_t blo, std::size_t bhi) {
    Scratch s;
    std::vector<std::int64_t> st(static_cast<std::size_t>(std::max(orders, 1)) * 3);
    std::vector<std::int64_t> dist(st.size());
    for (std::size_t i = blo * grain; i < std::min(n, bhi * grain); ++i) {
      const std::uint64_t *ta = nullptr, *tb = nullptr;
      std::size_t ma = 0, mb = 0;
      if (need_tokens) {
        if (texts) {
          s.ta.clear();
          s.tb.clear();
          tokenize_text(p.tok, ref.text[i], static_cast<std::size_t>(ref.text_len[i]), s.tok,
                        [&](const char* t, std::size_t len) { s.ta.push_back(hash_bytes(t, len)); });
          tokenize_text(p.tok, cand.text[i], static_cast<std::size_t>(cand.text_len[i]), s.tok,
                        [&](const char* t, std::size_t len) { s.tb.push_back(hash_bytes(t, len)); });
          ta = s.ta.data();
          ma = s.ta.size();
          tb = s.tb.data();
          mb = s.tb.size();
        } else {
          ta = ref.ids + ref.ids_off[i];
          ma = static_cast<std::size_t>(ref.ids_off[i + 1] - ref.ids_off[i]);
          tb = cand.ids + cand.ids_off[i];
          mb = static_cast<std::size_t>(cand.ids_off[i + 1] - cand.ids_off[i]);
        }
      }
      if (out.cand_len) out.cand_len[i] = static_cast<std::int64_t>(mb);
      if (out.ref_len) out.ref_len[i] = static_cast<std::int64_t>(ma);
      if (orders > 0 || p.lcs) {
        std::int64_t lcs = 0;
        if (out.distinct)
          ngram_levels(ta, ma, tb, mb, orders, st.data(), dist.data(), p.lcs ? &lcs : nullptr, s);
        else
          ngram_match_levels(ta, ma, tb, mb, orders, st.data(), p.lcs ? &lcs : nullptr, s, false);
        if (out.lcs) out.lcs[i] = lcs;
        if (out.ngram)
          for (int k = 0; k < p.word_n; ++k)
            for (int c = 0; c < 3; ++c) out.ngram[(i * p.word_n + k) * 3 + c] = st[k * 3 + c];
        if (out.distinct)
          for (int k = 0; k < p.word_n; ++k)
            for (int c = 0; c < 3; ++c) out.distinct[(i * p.word_n + k) * 3 + c] = dist[k * 3 + c];
        if (p.bleu) {
          std::int64_t correct[64], total[64];
          for (int k = 0; k < p.bleu_order; ++k) {
            total[k] = st[k * 3 + 0];
            correct[k] = st[k * 3 + 2];
          }
          double bp = 0.0;
          const double b = bleu_from_stats(correct, total, p.bleu_order, static_cast<std::int64_t>(mb),
                                           static_cast<std::int64_t>(ma), p.smooth, p.smooth_value,
                                           p.effective_order, &bp);
          if (out.bleu) out.bleu[i] = b;
          if (out.bleu_bp) out.bleu_bp[i] = bp;
        }
      }
      if (chrf && (out.chrf || out.chrf_stats)) {
        const double c = pair_chrf(cand.text[i], static_cast<std::size_t>(cand.text_len[i]), ref.text[i],
                                   static_cast<std::size_t>(ref.text_len[i]), p, s,
                                   out.chrf_stats ? out.chrf_stats + i * 3 * static_cast<std::size_t>(
                                                                             p.chrf_char_order + p.chrf_word_order)
                                                  : nullptr);
        if (out.chrf) out.chrf[i] = c;
      }
    }
  });
}

void tokenize_batch(const char* const* text, const std::int64_t* len, std::size_t n, Tokenizer tok, int workers,
                    std::vector<std::uint64_t>& ids, std::vector<std::int64_t>& offsets, std::string* strings,
                    std::vector<std::int64_t>* string_offsets) {
  const std::size_t grain = 256;
  const std::size_t blocks = (n + grain - 1) / grain;
  struct Block {
    std::vector<std::uint64_t> ids;
    std::vector<std::int64_t> counts;
    std::string strs;
    std::vector<std::int64_t> slens;
  };
  std::vector<Block> out(blocks);
  parallel_for(blocks, workers, 1, [&](std::size_t blo, std::size_t bhi) {
    TokScratch sc;
    for (std::size_t bk = blo; bk < bhi; ++bk) {
      Block& B = out[bk];
      for (std::size_t i = bk * grain; i < std::min(n, (bk + 1) * grain); ++i) {
        const std::size_t before = B.ids.size();
        tokenize_text(tok, text[i], static_cast<std::size_t>(len[i]), sc, [&](const char* t, std::size_t l) {
          B.ids.push_back(hash_bytes(t, l));
          if (strings) {
            B.strs.append(t, l);
            B.slens.push_back(static_cast<std::int64_t>(l));
          }
        });
        B.counts.push_back(static_cast<std::int64_t>(B.ids.size() - before));
      }
    }
  });
  std::size_t total = 0, total_bytes = 0;
  for (const auto& B : out) {
    total += B.ids.size();
    total_bytes += B.strs.size();
  }
  ids.clear();
  ids.reserve(total);
  offsets.assign(1, 0);
  offsets.reserve(n + 1);
  if (strings) {
    strings->clear();
    strings->reserve(total_bytes);
    string_offsets->assign(1, 0);
    string_offsets->reserve(total + 1);
  }
  for (const auto& B : out) {
    ids.insert(ids.end(), B.ids.begin(), B.ids.end());
    for (auto c : B.counts) offsets.push_back(offsets.back() + c);
    if (strings) {
      strings->append(B.strs);
      for (auto l : B.slens) string_offsets->push_back(string_offsets->back() + l);
    }
  }
}

}  // namespace ds::text
