"""Pure numpy / pure-Python oracles of every kernel, for tests.

Written for clarity, not speed: float64 throughout, one obvious loop per
definition. The kernels must agree with these to float32 rounding.
"""

from __future__ import annotations

import math

import numpy as np


def _cos_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    na = np.sqrt((a * a).sum(axis=1))
    nb = np.sqrt((b * b).sum(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        ia = np.where(na == 0, 0.0, 1.0 / na)
        ib = np.where(nb == 0, 0.0, 1.0 / nb)
        ia = np.where(np.isnan(na), np.nan, ia)
        ib = np.where(np.isnan(nb), np.nan, ib)
        m = (a @ b.T) * ia[:, None] * ib[None, :]
    return np.clip(m, -1.0, 1.0)


def cosine_paired(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    dot = (a * b).sum(axis=1)
    na = (a * a).sum(axis=1)
    nb = (b * b).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = dot / (np.sqrt(na) * np.sqrt(nb))
    c = np.where((na == 0) | (nb == 0), 0.0, c)
    c = np.where(np.isnan(dot) | np.isnan(na) | np.isnan(nb), np.nan, c)
    return np.clip(c, -1.0, 1.0)


def reduce_similarity(sim: np.ndarray, reduce: str) -> float:
    """The grouped reductions on one na×nb cosine matrix."""
    if sim.size == 0:
        return float("nan")
    if reduce == "mean":
        return float(sim.mean())
    if reduce == "max":
        return float(sim.max())  # NaN propagates through np.max
    p = float(sim.max(axis=1).mean())
    r = float(sim.max(axis=0).mean())
    if reduce == "precision":
        return p
    if reduce == "recall":
        return r
    if reduce == "matched":
        return 0.5 * (p + r)  # NaN in either propagates
    if reduce == "f1":
        if np.isnan(p) or np.isnan(r):
            return float("nan")
        return harmonic_f1(p, r)
    raise ValueError(reduce)


def harmonic_f1(p: float, r: float) -> float:
    """2PR/(P+R) when P and R have the same sign, else 0.

    Cosine-based P and R can be negative; with opposite signs P+R can be ~0
    and the plain formula explodes (a pole), so that case is defined as 0.
    """
    if (p > 0 and r > 0) or (p < 0 and r < 0):
        return 2 * p * r / (p + r)
    return 0.0


def cosine_grouped(a, a_offsets, b, b_offsets, reduce: str = "mean") -> np.ndarray:
    out = np.empty(len(a_offsets) - 1, dtype=np.float64)
    for g in range(len(out)):
        sa = a[a_offsets[g] : a_offsets[g + 1]]
        sb = b[b_offsets[g] : b_offsets[g + 1]]
        if len(sa) == 0 or len(sb) == 0:
            out[g] = np.nan
            continue
        out[g] = reduce_similarity(_cos_matrix(sa, sb), reduce)
    return out


def cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Full cosine matrix (zero rows → 0, NaN rows → NaN)."""
    return _cos_matrix(a, b)


def cosine_topk(queries, corpus, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k by cosine, ties by lower index, NaN last."""
    sim = _cos_matrix(queries, corpus)
    scores = np.empty((sim.shape[0], k))
    idx = np.empty((sim.shape[0], k), dtype=np.int64)
    for i, row in enumerate(sim):
        key = np.where(np.isnan(row), np.inf, -row)
        order = np.lexsort((np.arange(len(row)), key))[:k]
        scores[i] = row[order]
        idx[i] = order
    return scores, idx


# ===========================================================================
# Text kernels (tokenizers, n-gram statistics, LCS, BLEU, chrF): oracles
# written from the definitions, one obvious loop each, independent of the
# C++ tables (character classes come straight from unicodedata).
# ===========================================================================

import math as _math
import unicodedata as _ud
from collections import Counter as _Counter

_CJK_RANGES = (
    (0x1100, 0x11FF),
    (0x2E80, 0x2FDF),
    (0x3005, 0x3007),
    (0x3021, 0x3029),
    (0x3031, 0x3035),
    (0x3038, 0x303C),
    (0x3041, 0x309F),
    (0x30A0, 0x30FF),
    (0x3130, 0x318F),
    (0x31F0, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xA960, 0xA97F),
    (0xAC00, 0xD7AF),
    (0xD7B0, 0xD7FF),
    (0xF900, 0xFAFF),
    (0xFF66, 0xFF9F),
    (0xFFA0, 0xFFDC),
    (0x1B000, 0x1B16F),
    (0x20000, 0x2FA1F),
    (0x30000, 0x323AF),
)


def _uclass(ch: str) -> str:
    """'sep', 'word', 'digit', 'cjk', 'punct' or 'ignore' for one character."""
    c = ord(ch)
    if ch.isspace():
        return "sep"
    cat = _ud.category(ch)
    if any(lo <= c <= hi for lo, hi in _CJK_RANGES) and (cat[0] in "LNM" or cat in ("Cn", "So")):
        return "cjk"
    if cat == "Nd":
        return "digit"
    if cat[0] in "LMN":
        return "word"
    if cat[0] in "PS" or cat in ("Co", "Cn"):
        return "punct"
    if cat == "Cf":
        return "ignore"
    return "sep"


def tokenize_unicode(text: str) -> list[str]:
    """distillscope's "unicode" tokenizer, character by character."""
    chars = [chr(ord(c) - 0xFEE0) if 0xFF01 <= ord(c) <= 0xFF5E else c for c in text]
    tokens: list[str] = []
    word = ""
    last_digit = False
    for i, ch in enumerate(chars):
        k = _uclass(ch)
        if k == "sep":
            if word:
                tokens.append(word)
            word, last_digit = "", False
        elif k == "ignore":
            continue
        elif k in ("word", "digit"):
            word += ch.lower()
            last_digit = k == "digit"
        elif k == "cjk":
            if word:
                tokens.append(word)
            word, last_digit = "", False
            tokens.append(ch)
        else:
            nxt = chars[i + 1] if i + 1 < len(chars) else " "
            if ch in ".," and word and last_digit and _uclass(nxt) == "digit":
                word += ch
                last_digit = False
            else:
                if word:
                    tokens.append(word)
                word, last_digit = "", False
                tokens.append(ch)
    if word:
        tokens.append(word)
    return tokens


def ngram_counts(tokens: list, n: int) -> _Counter:
    return _Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def ngram_stats(cand: list, ref: list, n: int) -> tuple[int, int, int]:
    """(candidate n-grams, reference n-grams, clipped matches)."""
    c, r = ngram_counts(cand, n), ngram_counts(ref, n)
    return sum(c.values()), sum(r.values()), sum(min(v, r[g]) for g, v in c.items())


def lcs_length(a: list, b: list) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def rouge_n(cand: list, ref: list, n: int) -> tuple[float, float, float]:
    ct, rt, m = ngram_stats(cand, ref, n)
    p, r = m / max(ct, 1), m / max(rt, 1)
    return p, r, _f1(p, r)


def rouge_l(cand: list, ref: list) -> tuple[float, float, float]:
    if not cand or not ref:
        return 0.0, 0.0, 0.0
    k = lcs_length(cand, ref)
    p, r = k / len(cand), k / len(ref)
    return p, r, _f1(p, r)


def sentence_bleu(
    cand: list,
    ref: list,
    smooth: str = "exp",
    smooth_value: float | None = None,
    effective_order: bool = True,
    order: int = 4,
) -> float:
    """Papineni BLEU with the Chen & Cherry smoothing methods, sacrebleu's conventions."""
    if smooth_value is None:
        smooth_value = {"floor": 0.1, "add-k": 1.0}.get(smooth, 0.0)
    correct = [ngram_stats(cand, ref, n)[2] for n in range(1, order + 1)]
    total = [max(0, len(cand) - n + 1) for n in range(1, order + 1)]
    sys_len, ref_len = len(cand), len(ref)
    bp = 1.0 if sys_len >= ref_len else (_math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0)
    if not any(correct):
        return 0.0
    prec = [0.0] * order
    mteval, eff = 1.0, order
    for n in range(1, order + 1):
        c, t = float(correct[n - 1]), float(total[n - 1])
        if smooth == "add-k" and n > 1:
            c, t = c + smooth_value, t + smooth_value
        if t == 0:
            break
        if effective_order:
            eff = n
        if c == 0:
            if smooth == "exp":
                mteval *= 2
                prec[n - 1] = 100.0 / (mteval * t)
            elif smooth == "floor":
                prec[n - 1] = 100.0 * smooth_value / t
        else:
            prec[n - 1] = 100.0 * c / t
    logs = [(_math.log(p) if p > 0 else -9999999999) for p in prec[:eff]]
    return bp * _math.exp(sum(logs) / eff)


def chrf(cand: str, ref: str, char_order: int = 6, word_order: int = 0, beta: float = 2) -> float:
    """chrF / chrF++ from Popovic's definition with sacrebleu's effective-order averaging."""

    def words(s: str) -> list[str]:
        out: list[str] = []
        for w in s.split():
            if len(w) > 1 and w[-1] in _PUNCT:
                out += [w[:-1], w[-1]]
            elif len(w) > 1 and w[0] in _PUNCT:
                out += [w[0], w[1:]]
            else:
                out.append(w)
        return out

    cc, rc = list("".join(cand.split())), list("".join(ref.split()))
    stats = [ngram_stats(cc, rc, n) for n in range(1, char_order + 1)]
    stats += [ngram_stats(words(cand), words(ref), n) for n in range(1, word_order + 1)]
    f2 = beta**2
    ap = ar = 0.0
    eff = 0
    for h, r, m in stats:
        if h > 0 and r > 0:
            ap += m / h
            ar += m / r
            eff += 1
    if eff == 0:
        return 0.0
    ap, ar = ap / eff, ar / eff
    return 100 * (1 + f2) * ap * ar / (f2 * ap + ar) if ap + ar else 0.0


_PUNCT = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def ngram_jaccard(cand: list, ref: list, n: int, multiset: bool = False) -> float:
    c, r = ngram_counts(cand, n), ngram_counts(ref, n)
    if multiset:
        inter = sum((c & r).values())
        union = sum((c | r).values())
    else:
        inter, union = len(set(c) & set(r)), len(set(c) | set(r))
    if not union:  # both shorter than n tokens: 1 for the same non-empty text, else 0
        return 1.0 if cand and cand == ref else 0.0
    return inter / union


# =============================================================================
# Calibration oracle (distillscope.analysis.degree): the distillation degree of one
# (student, candidate, granularity) written as plain loops over resamples,
# prompts and models, straight from the formula in calibrate's docstring.
# =============================================================================


def _ref_mean(values: list[float]) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return sum(vals) / len(vals) if vals else math.nan


def _ref_q(values: list[float], q: float) -> float:
    vals = sorted(v for v in values if not math.isnan(v))
    if not vals:
        return math.nan
    pos = q * (len(vals) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(vals) - 1)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)


def _ref_row(t, flags, centre: float, a: int, b: int, p: int) -> float:
    """a's centre at p with b left out: the quantile of a's scores to every
    other model but b (clones of a left out; all of them if that leaves none)."""
    m = t.shape[0]
    v = _ref_q([float(t[a, k, p]) for k in range(m) if k not in (a, b) and not flags[a][k]], centre)
    if math.isnan(v):
        v = _ref_q([float(t[a, k, p]) for k in range(m) if k not in (a, b)], centre)
    return v


def _ref_residuals(t, flags, centre: float, double: bool = False) -> list:
    m, n = t.shape[0], t.shape[2]
    e = [[[math.nan] * n for _ in range(m)] for _ in range(m)]
    for p in range(n):
        allv = [float(t[a, b, p]) for a in range(m) for b in range(m) if a != b and not flags[a][b]]
        g = _ref_q(allv, centre)
        if math.isnan(g):
            g = _ref_q([float(t[a, b, p]) for a in range(m) for b in range(m) if a != b], centre)

        def row(a: int, b: int, p: int = p) -> float:
            return _ref_row(t, flags, centre, a, b, p)

        for a in range(m):
            for b in range(m):
                if a != b:
                    ra, rb = row(a, b), row(b, a)
                    if double:  # v3's double centring: only to find the clones
                        e[a][b][p] = float(t[a, b, p]) - ra - rb + g
                    else:  # the larger centre (NaN-ignoring, like np.fmax)
                        top = rb if math.isnan(ra) else ra if math.isnan(rb) else max(ra, rb)
                        e[a][b][p] = float(t[a, b, p]) - top
    return e


def _ref_generic(t, flags, centre: float, z_cut: float = 3.0) -> list[bool]:
    """Per model: is it generic (its mean leave-one-out row median a robust
    outlier, z > ``z_cut`` with z = (g - median) / (1.4826 MAD))?"""
    m, n = t.shape[0], t.shape[2]

    def row(a: int, b: int, p: int) -> float:
        v = _ref_q([float(t[a, k, p]) for k in range(m) if k not in (a, b) and not flags[a][k]], centre)
        if math.isnan(v):
            v = _ref_q([float(t[a, k, p]) for k in range(m) if k not in (a, b)], centre)
        return v

    def mean(xs: list[float]) -> float:
        xs = [x for x in xs if not math.isnan(x)]
        return sum(xs) / len(xs) if xs else math.nan

    g = [mean([mean([row(a, b, p) for p in range(n)]) for b in range(m) if b != a]) for a in range(m)]
    med = _ref_q(g, 0.5)
    mad = 1.4826 * _ref_q([abs(x - med) for x in g], 0.5)
    return [bool(mad > 0 and not math.isnan(x) and (x - med) / mad > z_cut) for x in g]


def _ref_terms(x: list[float], pool: list[list[float]], threshold: float, fence_k: float = 2.0, headroom=None):
    """Per prompt (below, null_below, null_count), or None where x is missing or
    (``headroom`` given) even an identical answer could not reach tau."""
    vals = [v for r in pool for v in r if not math.isnan(v)]
    if not vals or all(math.isnan(v) for v in x):
        return None
    med, q1 = _ref_q(vals, 0.5), _ref_q(vals, 0.25)
    tau = med + threshold * (med - q1)
    fence = tau + fence_k * (tau - med)
    out = []  # type: ignore[var-annotated]
    for p, xv in enumerate(x):
        if math.isnan(xv) or (headroom is not None and not math.isnan(headroom[p]) and headroom[p] < tau):
            out.append(None)  # type: ignore[arg-type]
            continue
        col = [r[p] for r in pool if not math.isnan(r[p])]
        out.append((1.0 if xv < tau else 0.0, float(sum(v < tau for v in col)), float(sum(v < fence for v in col))))
    return out


def _ref_pool(e, s: int, c: int, flags, generic=None, min_rows: int = 4) -> list[list[float]]:
    """The pair's null pool; with ``generic`` (per model), the side of the one
    generic partner alone when it has at least ``min_rows`` rows."""
    m = len(e)
    others = [k for k in range(m) if k not in (s, c)]
    srows = [e[s][k] for k in others if not flags[s][k]]
    crows = [e[k][c] for k in others if not flags[k][c]]
    if generic is not None and generic[s] != generic[c]:
        if generic[s] and len(srows) >= min_rows:
            crows = []
        elif generic[c] and len(crows) >= min_rows:
            srows = []
    rows = srows + crows
    return rows or ([e[s][k] for k in others] + [e[k][c] for k in others])


def _ref_binom_tail(k: int, n: int, p: float) -> float:
    """P(X >= k), X ~ Binomial(n, p), as the plain sum of exact terms."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return min(1.0, sum(math.comb(n, i) * p**i * (1.0 - p) ** (n - i) for i in range(k, n + 1)))


def _ref_significant(terms, alpha: float) -> bool:
    """k prompts at/above tau out of n valid ones against the null's rate
    above tau p0 = 1 - null_below / null_count (at least 1/n)."""
    if terms is None:
        return False
    valid = [v for v in terms if v is not None]
    n = len(valid)
    if n == 0:
        return False
    k = sum(1 for v in valid if v[0] == 0.0)
    nb, nc = sum(v[1] for v in valid), sum(v[2] for v in valid)
    p0 = max(1.0 - nb / max(nc, 1.0), 1.0 / n)
    return _ref_binom_tail(k, n, min(p0, 1.0)) < alpha


def _ref_share(terms, prompts) -> float:
    if terms is None:
        return math.nan
    picked = [terms[p] for p in prompts if terms[p] is not None]
    if not picked:
        return math.nan
    below = sum(v[0] for v in picked) / len(picked)
    nb, nc = sum(v[1] for v in picked), sum(v[2] for v in picked)
    f0 = nb / nc if nc > 0 else math.nan
    return 1.0 - below / f0 if f0 > 0 else math.nan


def _ref_zero_sd(terms, pool, threshold: float, fence_k: float = 2.0, min_prompts: int = 10) -> float:
    """Random-effects spread of the unrelated rate: each pool row's rate under
    tau over the pair's prompts (entries under the fence), the
    DerSimonian-Laird between-row variance of those rates with binomial
    within-row variances, times the share's sensitivity (1 - share) / F0."""
    if terms is None:
        return math.nan
    valid = [p for p, v in enumerate(terms) if v is not None]
    if not valid:
        return math.nan
    vals = [v for r in pool for v in r if not math.isnan(v)]
    med, q1 = _ref_q(vals, 0.5), _ref_q(vals, 0.25)
    tau = med + threshold * (med - q1)
    fence = tau + fence_k * (tau - med)
    counts, rates = [], []
    for row in pool:
        inside = [row[p] for p in valid if not math.isnan(row[p]) and row[p] < fence]
        if len(inside) >= min_prompts:
            counts.append(len(inside))
            rates.append(sum(v < tau for v in inside) / len(inside))
    tau2 = 0.0
    if len(counts) >= 2:
        f0 = sum(r * c for r, c in zip(rates, counts)) / sum(counts)
        if 0.0 < f0 < 1.0:
            w = [c / (f0 * (1.0 - f0)) for c in counts]
            q = sum(wk * (r - f0) ** 2 for wk, r in zip(w, rates))
            denom = sum(w) - sum(wk * wk for wk in w) / sum(w)
            tau2 = max(0.0, (q - (len(w) - 1)) / denom) if denom > 0 else 0.0
    share = _ref_share(terms, range(len(terms)))
    nb = sum(terms[p][1] for p in valid)
    nc = sum(terms[p][2] for p in valid)
    return max(1.0 - share, 0.0) * math.sqrt(tau2) / (nb / nc)


def _ref_dense(table, pairs) -> np.ndarray:
    """(m, m, n) tensor of a {(a, b): array} dict, NaN where absent; a pair
    given in one order only is mirrored when the table mirrors."""
    m, n = len(table.models), table.n_prompts
    t = np.full((m, m, n), np.nan)
    for (a, b), v in pairs.items():
        i, j = table.index_of(a), table.index_of(b)
        t[i, j] = v
        if table.mirror and (b, a) not in pairs:
            t[j, i] = v
    return t


def degree_reference(
    table,
    student: str,
    candidate: str,
    granularity: str,
    prompts,
    *,
    baseline: str = "pair-mean",
    clip=(0.0, 1.0),
    threshold: float = 3.0,
    cutoff: float = 0.05,
    centre: float = 0.5,
    rounds: int = 3,
    alpha: float = 1e-3,
    what: str = "degree",
) -> float:
    """The share degree over the prompt multiset ``prompts`` (indices, repeats
    allowed), with plain loops: leave-pair-out quantile centres, clone flags
    in rounds (share above ``cutoff`` in either direction AND a count of
    prompts at/above ``tau`` that a one-sided binomial test at ``alpha`` finds
    significant), leave-clones-out pools, ``tau`` and fence per pair; the
    flags and ``tau`` come from all prompts, the shares from ``prompts``.
    ``what="zero_sd"``: instead, the spread of the share's zero over all
    prompts (the between-row random-effects sd of the pool's rate under
    ``tau``, carried to the share; :func:`_ref_zero_sd`)."""
    # the sample-matched scores where the table has them (built here from the
    # table's own dicts, not its dense tensors)
    src = table.matched.get(granularity) or table.scores[granularity]
    nsrc = table.matched_null.get(granularity) if granularity in table.matched else table.null.get(granularity)
    t = _ref_dense(table, src)
    i, j = table.index_of(student), table.index_of(candidate)
    m = len(table.models)
    if baseline == "pair-mean" and m >= 4:
        flags = [[False] * m for _ in range(m)]
        for _ in range(rounds):
            e = _ref_residuals(t, flags, centre, double=True)
            new = [[False] * m for _ in range(m)]
            for a in range(m):
                for b in range(a + 1, m):
                    for x, y in ((a, b), (b, a)):
                        terms_xy = _ref_terms(e[x][y], _ref_pool(e, x, y, flags), threshold)
                        r = _ref_share(terms_xy, range(t.shape[2]))
                        if not math.isnan(r) and r > cutoff and _ref_significant(terms_xy, alpha):
                            new[a][b] = new[b][a] = True
            if new == flags:
                break
            flags = new
        e = _ref_residuals(t, flags, centre)
        # headroom: the residual a copy of the candidate's answer (similarity 1,
        # and the candidate's own centre) would have
        room = [1.0 - _ref_row(t, flags, centre, j, i, p) for p in range(t.shape[2])]
        pool = _ref_pool(e, i, j, flags, _ref_generic(t, flags, centre))
        terms = _ref_terms(e[i][j], pool, threshold, headroom=room)
    else:
        if nsrc is None:
            return math.nan
        null_t = _ref_dense(table, nsrc)
        pool = [[float(v) for v in null_t[i, j]]]
        terms = _ref_terms([float(v) for v in t[i, j]], pool, threshold)
    if what == "zero_sd":
        return _ref_zero_sd(terms, pool, threshold)
    r = _ref_share(terms, prompts)
    return r if math.isnan(r) else min(max(r, clip[0]), clip[1])


# ---------------------------------------------------------------------------
# Embedding (issue 4): a float64 numpy BERT encoder, the oracle of the ONNX
# graphs that distillscope.embed.onnx_builder writes.
# ---------------------------------------------------------------------------


def _layer_norm(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def bert_forward(tensors: dict, config: dict, input_ids, attention_mask, token_type_ids=None) -> np.ndarray:
    """last_hidden_state of a BertModel, float64, straight from the definition."""
    from math import erf, sqrt

    t = {k: np.asarray(v, dtype=np.float64) for k, v in tensors.items() if np.asarray(v).dtype.kind == "f"}
    ids = np.asarray(input_ids)
    mask = np.asarray(attention_mask)
    tt = np.zeros_like(ids) if token_type_ids is None else np.asarray(token_type_ids)
    n_b, n_s = ids.shape
    hdim, heads, eps = config["hidden_size"], config["num_attention_heads"], config.get("layer_norm_eps", 1e-12)
    hd = hdim // heads
    x = t["embeddings.word_embeddings.weight"][ids] + t["embeddings.position_embeddings.weight"][:n_s][None]
    x = x + t["embeddings.token_type_embeddings.weight"][tt]
    x = _layer_norm(x, t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"], eps)
    add_mask = np.where(mask[:, None, None, :] > 0, 0.0, -np.inf)
    gelu = np.vectorize(lambda v: 0.5 * v * (1.0 + erf(v / sqrt(2.0))))

    def lin(v, name):
        return v @ t[name + ".weight"].T + t[name + ".bias"]

    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."

        def heads_of(v):
            return v.reshape(n_b, n_s, heads, hd).transpose(0, 2, 1, 3)

        q = heads_of(lin(x, p + "attention.self.query"))
        k = heads_of(lin(x, p + "attention.self.key"))
        v = heads_of(lin(x, p + "attention.self.value"))
        s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(hd) + add_mask
        s = np.exp(s - s.max(axis=-1, keepdims=True))
        s = s / s.sum(axis=-1, keepdims=True)
        ctx = (s @ v).transpose(0, 2, 1, 3).reshape(n_b, n_s, hdim)
        x = _layer_norm(
            lin(ctx, p + "attention.output.dense") + x,
            t[p + "attention.output.LayerNorm.weight"],
            t[p + "attention.output.LayerNorm.bias"],
            eps,
        )
        hmid = gelu(lin(x, p + "intermediate.dense"))
        x = _layer_norm(
            lin(hmid, p + "output.dense") + x, t[p + "output.LayerNorm.weight"], t[p + "output.LayerNorm.bias"], eps
        )
    return x


def mean_pool_normalize(hidden: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """Masked mean over tokens, then L2 normalization (sentence-transformers)."""
    m = np.asarray(attention_mask, dtype=np.float64)[..., None]
    pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
    norm = np.linalg.norm(pooled, axis=1, keepdims=True)
    return pooled / np.maximum(norm, 1e-12)


# ---------------------------------------------------------------------------
# Alignment (issue 4): oracle of _core.align_grouped.
# ---------------------------------------------------------------------------


def align_pair(a, b, wa=None, wb=None, threshold: float = 0.5) -> dict:
    """Greedy P/R/F, monotone order score and coverage of one pair, float64."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    na, nb = len(a), len(b)
    keys = ("precision", "recall", "f1", "order", "coverage")
    if na == 0 and nb == 0:
        return dict.fromkeys(keys, float("nan"))
    if na == 0 or nb == 0:
        return dict.fromkeys(keys, 0.0)
    s = _cos_matrix(a, b)
    if np.isnan(s).any():
        return dict.fromkeys(keys, float("nan"))
    wa = np.ones(na) if wa is None else np.asarray(wa, dtype=np.float64)
    wb = np.ones(nb) if wb is None else np.asarray(wb, dtype=np.float64)
    rmax, cmax = s.max(axis=1), s.max(axis=0)
    p = float((wa * rmax).sum() / wa.sum()) if wa.sum() > 0 else 0.0
    r = float((wb * cmax).sum() / wb.sum()) if wb.sum() > 0 else 0.0
    f = harmonic_f1(p, r)
    cov = float(wb[cmax >= threshold].sum() / wb.sum()) if wb.sum() > 0 else 0.0
    m = np.zeros((na + 1, nb + 1))
    for i in range(1, na + 1):
        for j in range(1, nb + 1):
            gain = max(s[i - 1, j - 1], 0.0) * 0.5 * (wa[i - 1] + wb[j - 1])
            m[i, j] = max(m[i - 1, j], m[i, j - 1], m[i - 1, j - 1] + gain)
    denom = 0.5 * (wa.sum() + wb.sum())
    order = min(m[na, nb] / denom, 1.0) if denom > 0 else 0.0
    return {"precision": p, "recall": r, "f1": f, "order": order, "coverage": cov}


def align_grouped(a, a_offsets, b, b_offsets, a_weights=None, b_weights=None, threshold: float = 0.5) -> dict:
    """align_pair over CSR groups; returns arrays keyed like AlignScores."""
    g = len(a_offsets) - 1
    out = {k: np.empty(g) for k in ("precision", "recall", "f1", "order", "coverage")}
    for i in range(g):
        sa, ea, sb, eb = a_offsets[i], a_offsets[i + 1], b_offsets[i], b_offsets[i + 1]
        res = align_pair(
            a[sa:ea],
            b[sb:eb],
            None if a_weights is None else a_weights[sa:ea],
            None if b_weights is None else b_weights[sb:eb],
            threshold,
        )
        for k, v in res.items():
            out[k][i] = v
    return out


def bertscore_numpy(cand_tokens: np.ndarray, ref_tokens: np.ndarray, cand_idf=None, ref_idf=None) -> tuple:
    """Straightforward BERTScore P, R, F of one pair from token embeddings."""
    c = cand_tokens / np.linalg.norm(cand_tokens, axis=1, keepdims=True)
    r = ref_tokens / np.linalg.norm(ref_tokens, axis=1, keepdims=True)
    sim = c.astype(np.float64) @ r.astype(np.float64).T
    wc = np.ones(len(c)) if cand_idf is None else np.asarray(cand_idf, dtype=np.float64)
    wr = np.ones(len(r)) if ref_idf is None else np.asarray(ref_idf, dtype=np.float64)
    p = (sim.max(axis=1) * wc).sum() / wc.sum()
    rec = (sim.max(axis=0) * wr).sum() / wr.sum()
    return p, rec, 2 * p * rec / (p + rec)
