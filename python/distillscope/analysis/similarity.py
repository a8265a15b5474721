"""Response similarity (RSE): every model pair, every shared prompt, up to five granularities.

Given a :class:`~distillscope.store.ResponseTable` (a response store, or
imported public outputs), :func:`response_similarity` builds the
:class:`~distillscope.analysis.table.ScoreTable` that calibration and teacher
attribution consume. Scores are per prompt; with several samples per
prompt, all samples of A are compared with all samples of B and averaged
(``scores``, what the similarity summaries show), and each sample is also
matched to its closest sample on the other side (``matched``, what the
degree reads: a copied sample derives from one of the teacher's samples,
and the all-pairs mean would dilute it by the teacher's sampling noise).

Granularities (each a similarity in [0, 1], identical answers score 1):

``lexical``
    mean of ROUGE-L F, sentence BLEU / 100, chrF / 100 and bigram Jaccard,
    on the CJK-aware ``unicode`` tokenizer (each also kept as its own
    granularity: ``rougeL``, ``bleu``, ``chrf``, ``jaccard2``). The student's
    answer is the hypothesis, the candidate teacher's the reference.
``semantic``
    cosine of the responses' sentence embeddings (``cosine``).
``structural``
    sentence-level alignment: ½ (greedy alignment F + monotone order score)
    (kept as ``align_f1`` and ``order``).
``style``
    :func:`distillscope.style.style_similarity` of the format features.
``token`` (opt-in, not in the default set)
    BERTScore F1 of the two responses (:func:`distillscope.bert_score`,
    idf off) on the token states of the same encoder as ``semantic``; see
    :mod:`distillscope.analysis.token_level`.

Baselines computed from the same data: for every ordered pair the
shuffled-prompt null (the student's answer to prompt p against the
candidate's answer to prompt π(p), π a seeded derangement), and for every
model with ≥ 2 samples on a prompt its self-similarity (all pairs of its own
distinct samples). The population baseline is derived by calibration from
the pair scores themselves.

Every pair, null pair and self pair of the whole population is scored in one
batch per kernel: responses are tokenized once, segmented once and run
through the encoder once: response vectors and sentence (paragraph) vectors
come from the same forward pass (late chunking, ``RSEConfig.units``). The semantic granularity needs no pair expansion at
all: each model's responses sit contiguously by prompt, so "all samples of A
against all samples of B per prompt" is one ``cosine_grouped`` call per
model pair over CSR offsets. Results do not depend on ``workers`` or
``chunk``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ..store.table import ResponseTable
    from .table import ScoreTable

GRANULARITIES = ("lexical", "semantic", "structural", "style", "token")
DEFAULT_GRANULARITIES = ("lexical", "semantic", "structural", "style")  # token is opt-in (a second encoder pass)
ENCODER_GRANULARITIES = ("semantic", "structural", "token")
LEXICAL_METRICS = ("rougeL", "bleu", "chrf", "jaccard2")
_PER_100 = {"bleu", "chrf"}  # sacrebleu scale → [0, 1]


@dataclass(frozen=True)
class RSEConfig:
    """What :func:`response_similarity` computes.

    granularities: any of ``lexical``, ``semantic``, ``structural``,
        ``style``, ``token`` (default: all but ``token``); ``semantic``,
        ``structural`` and ``token`` need an encoder.
    tokenizer: tokenizer of the lexical metrics (``unicode``, ``13a``,
        ``rouge``).
    level: alignment unit of the structural granularity (``sentence`` or
        ``paragraph``).
    align_threshold: cosine above which a reference unit counts as covered.
    null_seed: seed of the shuffled-prompt derangement.
    max_samples: use at most this many samples per model and prompt.
    max_prompts: use a seeded sample of this many prompts
        (:func:`sample_prompts`; recorded in the signatures).
    sample_seed: seed of that sample.
    units: how sentence / paragraph vectors are made: ``"late"`` (default:
        pooled from the token states of the response's own forward pass,
        windows for long responses; the response vectors of ``semantic``
        come from the same pass and cover the whole response) or
        ``"separate"`` (each unit embedded as a text of its own; response
        vectors truncated to the model's length).
    chunk: pairs per kernel call (bounds memory; never changes results).
    workers: kernel threads.
    """

    granularities: tuple[str, ...] = DEFAULT_GRANULARITIES
    tokenizer: str = "unicode"
    level: str = "sentence"
    align_threshold: float = 0.5
    null_seed: int = 0
    max_samples: int | None = None
    max_prompts: int | None = None
    sample_seed: int = 0
    units: str = "late"
    chunk: int = 50_000
    workers: int = 1

    def __post_init__(self) -> None:
        gs = tuple(self.granularities)
        bad = [g for g in gs if g not in GRANULARITIES]
        if bad or not gs:
            raise ValueError(f"granularities must be a non-empty subset of {GRANULARITIES}, got {gs}")
        object.__setattr__(self, "granularities", gs)
        if self.level not in ("sentence", "paragraph"):
            raise ValueError(f"level must be 'sentence' or 'paragraph', got {self.level!r}")
        if self.units not in ("late", "separate"):
            raise ValueError(f"units must be 'late' or 'separate', got {self.units!r}")
        if self.max_prompts is not None and self.max_prompts < 2:
            raise ValueError(f"max_prompts must be >= 2 or None, got {self.max_prompts}")
        if self.max_samples is not None and self.max_samples < 1:
            raise ValueError(f"max_samples must be >= 1 or None, got {self.max_samples}")
        if self.chunk < 1:
            raise ValueError(f"chunk must be >= 1, got {self.chunk}")

    @property
    def needs_encoder(self) -> bool:
        return any(g in ENCODER_GRANULARITIES for g in self.granularities)


@dataclass
class _Pairs:
    """A flat batch of response pairs: series id and prompt slot of each."""

    a: list[np.ndarray] = field(default_factory=list)
    b: list[np.ndarray] = field(default_factory=list)
    series: list[np.ndarray] = field(default_factory=list)
    prompt: list[np.ndarray] = field(default_factory=list)
    names: list[tuple[str, Any]] = field(default_factory=list)  # (kind, key) per series

    def add(self, kind: str, key: Any, a: np.ndarray, b: np.ndarray, prompt: np.ndarray) -> None:
        sid = len(self.names)
        self.names.append((kind, key))
        self.a.append(a)
        self.b.append(b)
        self.prompt.append(prompt)
        self.series.append(np.full(len(a), sid, dtype=np.int64))

    def concat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        def cat(x: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(x) if x else np.zeros(0, dtype=np.int64)

        return cat(self.a), cat(self.b), cat(self.series), cat(self.prompt)


def _csr(counts: np.ndarray) -> np.ndarray:
    """CSR offsets (length n+1, starting at 0) of per-group row counts."""
    off = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=off[1:])
    return off


def _cross(a_start: np.ndarray, a_cnt: np.ndarray, b_start: np.ndarray, b_cnt: np.ndarray) -> tuple[np.ndarray, ...]:
    """All (i, j) combinations per group: returns (group, row_a, row_b)."""
    n = a_cnt * b_cnt
    total = int(n.sum())
    g = np.repeat(np.arange(len(n), dtype=np.int64), n)
    k = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(n) - n, n)
    return g, a_start[g] + k // b_cnt[g], b_start[g] + k % b_cnt[g]


def sample_prompts(prompt_ids: Sequence[str], n: int, seed: int = 0) -> np.ndarray:
    """Sorted positions of a seeded sample of ``n`` prompts.

    Each prompt id gets a key BLAKE2b(seed, id) and the ``n`` smallest keys
    win, so the sample depends only on the ids and the seed (not on file
    order), and a larger ``n`` gives a superset of a smaller one.
    """
    import hashlib

    keys = [
        hashlib.blake2b(f"{seed}\0{p}".encode("utf-8", "surrogatepass"), digest_size=8).digest() for p in prompt_ids
    ]
    order = sorted(range(len(keys)), key=keys.__getitem__)
    return np.sort(np.asarray(order[:n], dtype=np.int64))


class _Layout:
    """Responses of each model laid out contiguously by prompt slot."""

    def __init__(
        self,
        table: ResponseTable,
        models: Sequence[str],
        max_samples: int | None,
        max_prompts: int | None = None,
        sample_seed: int = 0,
    ) -> None:
        code_of = {str(m): i for i, m in enumerate(table.models)}
        missing = [m for m in models if m not in code_of]
        if missing:
            raise ValueError(f"models {missing} have no responses; available: {[str(m) for m in table.models]}")
        if len(set(models)) != len(models):
            raise ValueError(f"models must be distinct, got {list(models)}")
        keep = table.ok.copy()
        wanted = np.zeros(len(table.models), dtype=bool)
        wanted[[code_of[m] for m in models]] = True
        keep &= wanted[table.model_code]
        rows = np.nonzero(keep)[0]
        # one prompt slot per prompt that at least one selected model answered
        used = np.unique(table.prompt_code[rows])
        if max_prompts is not None and max_prompts < len(used):
            used = used[sample_prompts([str(table.prompt_ids[c]) for c in used], max_prompts, sample_seed)]
            rows = rows[np.isin(table.prompt_code[rows], used)]
        slot_of = np.full(len(table.prompt_ids), -1, dtype=np.int64)
        slot_of[used] = np.arange(len(used))
        self.prompt_ids = tuple(str(p) for p in table.prompt_ids[used])
        self.n_prompts = len(used)
        mpos = np.full(len(table.models), -1, dtype=np.int64)
        mpos[[code_of[m] for m in models]] = np.arange(len(models))
        m_of = mpos[table.model_code[rows]]
        s_of = slot_of[table.prompt_code[rows]]
        order = np.lexsort((table.sample[rows], s_of, m_of))
        rows, m_of, s_of = rows[order], m_of[order], s_of[order]
        if max_samples is not None:  # rank of each row within its (model, prompt) run
            start = np.r_[0, np.nonzero((np.diff(m_of) != 0) | (np.diff(s_of) != 0))[0] + 1]
            run = np.repeat(start, np.diff(np.r_[start, len(rows)]))
            sel = (np.arange(len(rows)) - run) < max_samples
            rows, m_of, s_of = rows[sel], m_of[sel], s_of[sel]
        self.texts: list[str] = [str(t) for t in table.response[rows]]
        self.models = tuple(models)
        P = self.n_prompts
        # start[m, p], count[m, p] of model m's responses to prompt slot p
        self.count = np.zeros((len(models), P), dtype=np.int64)
        np.add.at(self.count, (m_of, s_of), 1)
        flat = self.count.reshape(-1)
        self.start = (np.cumsum(flat) - flat).reshape(self.count.shape)


def _distinct(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The distinct texts (first-seen order) and the row of each input text."""
    index: dict[str, int] = {}
    rows = np.fromiter((index.setdefault(t, len(index)) for t in texts), dtype=np.int64, count=len(texts))
    return list(index), rows


def _embed_unique(encoder: Any, texts: Sequence[str], progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of the distinct texts and the row of each input text."""
    distinct, rows = _distinct(texts)
    if not distinct:
        return np.zeros((0, 1), dtype=np.float32), rows
    emb = encoder.encode(distinct, show_progress_bar=True) if progress else encoder.encode(distinct)
    return np.ascontiguousarray(emb, dtype=np.float32), rows


class _Units:
    """Sentence (or paragraph) unit vectors of every response (CSR over responses)."""

    def __init__(self, offsets: np.ndarray, emb: np.ndarray, rows: np.ndarray) -> None:
        self.offsets = np.ascontiguousarray(offsets, dtype=np.int64)
        self.emb = emb
        self.rows = rows  # unit k of the flat list → embedding row

    @classmethod
    def separate(cls, texts: Sequence[str], encoder: Any, level: str, progress: bool = False) -> _Units:
        """Each distinct unit embedded as a text of its own (a second encoder pass)."""
        from ..text.segment import segment

        spans = segment(list(texts), "paragraph" if level == "paragraph" else "sentence")
        unit_texts: list[str] = []
        for i, t in enumerate(texts):
            for a, b in spans.values[spans.offsets[i] : spans.offsets[i + 1]].tolist():
                unit_texts.append(t[a:b])
        emb, rows = _embed_unique(encoder, unit_texts, progress)
        return cls(spans.offsets, emb, rows)

    def gather(self, resp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unit embeddings of responses ``resp`` (in order) and their CSR offsets."""
        cnt = self.offsets[resp + 1] - self.offsets[resp]
        off = _csr(cnt)
        idx = np.repeat(self.offsets[resp] - off[:-1], cnt) + np.arange(int(off[-1]), dtype=np.int64)
        dim = self.emb.shape[1] if self.emb.ndim == 2 else 1
        vals = self.emb[self.rows[idx]] if len(idx) else np.zeros((0, dim), dtype=np.float32)
        return np.ascontiguousarray(vals, dtype=np.float32), off


def _vectors(
    texts: Sequence[str], encoder: Any, cfg: RSEConfig, log: Callable[[str], None], progress: bool
) -> tuple[np.ndarray | None, _Units | None]:
    """Response vectors (semantic) and unit vectors (structural) of every response.

    ``units="late"`` (and an encoder with ``encode_with_segments``): one
    forward pass per distinct response gives both (late chunking);
    ``"separate"``: responses embedded truncated to the model's length, and
    every distinct sentence embedded again as a text of its own.
    """
    need_units = "structural" in cfg.granularities
    need_resp = "semantic" in cfg.granularities
    if not (need_units or need_resp):
        return None, None
    if cfg.units == "late" and hasattr(encoder, "encode_with_segments"):
        from ..text.segment import segment

        distinct, rows = _distinct(texts)
        what = f"the {cfg.level}s and " if need_units else ""
        log(f"encoding {len(distinct):,} distinct responses (one pass: {what}response vectors)")
        # The spans are part of the cache key, and the response vector does
        # not depend on them: segmenting even when only the response vectors
        # are needed lets a semantic-only run reuse what a full run cached
        # (and the other way round) instead of encoding every response again.
        spans = segment(distinct, "paragraph" if cfg.level == "paragraph" else "sentence")
        resp, segs = encoder.encode_with_segments(distinct, spans, show_progress_bar=progress)
        units = None
        if need_units:  # response i's units are those of its distinct text rows[i]
            so = np.asarray(segs.offsets, dtype=np.int64)
            cnt = so[rows + 1] - so[rows]
            off = _csr(cnt)
            unit_rows = np.repeat(so[rows] - off[:-1], cnt) + np.arange(int(off[-1]), dtype=np.int64)
            units = _Units(off, np.ascontiguousarray(segs.values, dtype=np.float32), unit_rows)
        E = np.ascontiguousarray(resp[rows], dtype=np.float32) if need_resp else None
        return E, units
    units = None
    if need_units:
        log(f"segmenting and embedding the {cfg.level}s of {len(texts):,} responses")
        units = _Units.separate(texts, encoder, cfg.level, progress)
    E = None
    if need_resp:
        log(f"embedding {len(set(texts)):,} distinct responses")
        emb, rows = _embed_unique(encoder, texts, progress)
        E = np.ascontiguousarray(emb[rows]) if len(rows) else np.zeros((0, max(emb.shape[1], 1)), np.float32)
    return E, units


def _pair_metrics(
    texts: Sequence[str],
    ia: np.ndarray,
    ib: np.ndarray,
    cfg: RSEConfig,
    units: _Units | None,
    log: Callable[[str], None],
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Every per-pair metric for response pairs (ia[k], ib[k]), chunked."""
    from ..progress import Progress

    n = len(ia)
    out: dict[str, np.ndarray] = {}
    gs = cfg.granularities
    feats = None
    if "style" in gs:
        from ..text.style import style_features

        feats = style_features(list(texts))
    log(f"scoring {n:,} response pairs")
    # progress needs more than one step; chunking never changes results
    step = min(cfg.chunk, max(1000, -(-n // 50))) if progress else cfg.chunk
    with Progress(n, "scoring pairs", enabled=progress) as bar:
        _score_chunks(texts, ia, ib, cfg, units, feats, step, out, bar)
    return out


def _score_chunks(
    texts: Sequence[str],
    ia: np.ndarray,
    ib: np.ndarray,
    cfg: RSEConfig,
    units: _Units | None,
    feats: Any,
    step: int,
    out: dict[str, np.ndarray],
    bar: Any,
) -> None:
    from ..text.lexical import lexical_scores

    n = len(ia)
    gs = cfg.granularities
    for lo in range(0, n, step):
        a, b = ia[lo : lo + step], ib[lo : lo + step]
        part: dict[str, np.ndarray] = {}
        if "lexical" in gs:
            lex = lexical_scores(
                [texts[i] for i in a],
                [texts[i] for i in b],
                metrics=LEXICAL_METRICS,
                tokenizer=cfg.tokenizer,
                workers=cfg.workers,
            )
            for m in LEXICAL_METRICS:
                part[m] = np.asarray(lex[m], dtype=np.float64) / (100.0 if m in _PER_100 else 1.0)
            part["lexical"] = np.mean([part[m] for m in LEXICAL_METRICS], axis=0)
        if units is not None:
            from ..text.align import align_embeddings

            va, oa = units.gather(a)
            vb, ob = units.gather(b)
            al = align_embeddings(va, oa, vb, ob, threshold=cfg.align_threshold, workers=cfg.workers)
            f1 = np.nan_to_num(al.f1.astype(np.float64), nan=0.0)
            order = np.nan_to_num(al.order.astype(np.float64), nan=0.0)
            both_empty = ((oa[1:] - oa[:-1]) == 0) & ((ob[1:] - ob[:-1]) == 0)
            f1[both_empty] = order[both_empty] = 1.0  # two empty answers are identical
            part["align_f1"], part["order"] = f1, order
            part["structural"] = 0.5 * (f1 + order)
        if feats is not None:
            from ..text.style import style_similarity

            part["style"] = style_similarity(feats.take(a), feats.take(b)).astype(np.float64)
        for k, v in part.items():
            out.setdefault(k, np.empty(n, dtype=np.float64))[lo : lo + len(a)] = v
        bar.update(len(a))


def _semantic_series(
    lay: _Layout, perm: np.ndarray, E: np.ndarray, workers: int, matched: bool = False
) -> dict[tuple[str, Any], np.ndarray]:
    """Per-prompt response-embedding cosine of every series, through the grouped kernel.

    Each model's responses are contiguous and ordered by prompt slot, so the
    CSR offsets of model m are its per-prompt counts: all samples of S
    against all samples of T per prompt is one ``cosine_grouped`` call with
    no pair expansion (a prompt either model lacks gives NaN). The null
    reorders T's rows by the derangement; self-similarity is the grouped mean
    of S against itself with the diagonal (cos(x, x) = 1 for a non-zero row)
    taken out. With ``matched``, also the sample-matched series (kinds
    ``"~raw"`` / ``"~null"``): the grouped kernel's ``matched`` reduce, the
    mean of its ``precision`` (each S sample's best T sample) and ``recall``
    (each T sample's best S sample), from one pass over each block.
    """
    from ..kernels import cosine_grouped

    M, P = lay.count.shape

    block = [E[lay.start[m, 0] : lay.start[m, 0] + lay.count[m].sum()] if P else E[:0] for m in range(M)]
    own_off = [_csr(lay.count[m]) for m in range(M)]
    out: dict[tuple[str, Any], np.ndarray] = {}
    for t in range(M):
        # T's rows in derangement order, for the shuffled-prompt null
        order = (
            np.concatenate([np.arange(lay.start[t, q], lay.start[t, q] + lay.count[t, q]) for q in perm])
            if P
            else np.zeros(0, np.int64)
        )
        t_null = np.ascontiguousarray(E[order.astype(np.int64)])
        t_null_off = _csr(lay.count[t, perm])
        for s_ in range(M):
            if s_ == t:
                continue
            key = (lay.models[s_], lay.models[t])
            out[("raw", key)] = cosine_grouped(
                block[s_], own_off[s_], block[t], own_off[t], reduce="mean", workers=workers
            ).astype(np.float64)
            out[("null", key)] = cosine_grouped(
                block[s_], own_off[s_], t_null, t_null_off, reduce="mean", workers=workers
            ).astype(np.float64)
            if matched:
                for kind, tb, toff in (("~raw", block[t], own_off[t]), ("~null", t_null, t_null_off)):
                    out[(kind, key)] = cosine_grouped(
                        block[s_], own_off[s_], tb, toff, reduce="matched", workers=workers
                    ).astype(np.float64)
    for m in range(M):
        n = lay.count[m].astype(np.float64)
        if not (n >= 2).any():
            continue
        full = cosine_grouped(block[m], own_off[m], block[m], own_off[m], reduce="mean", workers=workers).astype(
            np.float64
        )
        nonzero = np.abs(block[m]).max(axis=1) > 0 if len(block[m]) else np.zeros(0, bool)
        diag = np.add.reduceat(nonzero.astype(np.float64), own_off[m][:-1]) if len(block[m]) else np.zeros(P)
        diag = np.where(n > 0, diag, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            off_diag = (full * n * n - diag) / (n * n - n)
        out[("self", lay.models[m])] = np.where(n >= 2, off_diag, np.nan)
    return out


def _matched_per_prompt(
    values: np.ndarray,
    ia: np.ndarray,
    ib: np.ndarray,
    series: np.ndarray,
    prompt: np.ndarray,
    n_series: int,
    P: int,
    n_rows: int,
) -> np.ndarray:
    """Sample-matched score per (series, prompt): every sample of A against its
    best sample of B (mean over A's samples), the same from B's side, and the
    two averaged; NaN where a series has no finite pair at a prompt. Equal to
    :func:`_per_prompt` where both sides have one sample."""
    ok = np.isfinite(values)
    v, s_, pr = values[ok], series[ok], prompt[ok]
    sides = []
    for rows in (ia[ok], ib[ok]):
        # one group per (series, sample of this side): its best match on the other side
        uniq, inv = np.unique(s_ * np.int64(n_rows) + rows, return_inverse=True)
        best = np.full(len(uniq), -np.inf)
        np.maximum.at(best, inv, v)
        where = np.empty(len(uniq), dtype=np.int64)
        where[inv] = s_ * P + pr  # the group's (series, prompt) cell
        sides.append(_per_prompt(best, where // P, where % P, n_series, P))
    return 0.5 * (sides[0] + sides[1])


def _per_prompt(values: np.ndarray, series: np.ndarray, prompt: np.ndarray, n_series: int, P: int) -> np.ndarray:
    """Mean of finite pair scores per (series, prompt); NaN where there are none."""
    ok = np.isfinite(values)
    key = series * P + prompt
    s = np.bincount(key[ok], weights=values[ok], minlength=n_series * P)
    c = np.bincount(key[ok], minlength=n_series * P)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (s / c).reshape(n_series, P)


def response_similarity(
    table: ResponseTable,
    models: Sequence[str] | None = None,
    *,
    encoder: Any = None,
    config: RSEConfig | None = None,
    log: Callable[[str], None] | None = None,
    progress: bool = False,
) -> ScoreTable:
    """Per-prompt similarity of every ordered model pair, with baselines.

    ``table``: a :class:`~distillscope.store.ResponseTable` (``load_table``
    of a store). ``models``: which models (default all). ``encoder``: an
    :class:`~distillscope.embed.Encoder`, needed for the semantic and
    structural granularities. ``log`` receives one line per stage (the
    CLI prints them to stderr); ``progress`` shows count / rate / ETA of
    the encoder pass and the pair scoring on stderr. Returns a
    :class:`~distillscope.analysis.table.ScoreTable` with every granularity and
    per-metric series, the shuffled-prompt nulls, self-similarities where a
    model has ≥ 2 samples, and metric signatures.
    """
    from ..stats import derangement
    from .table import ScoreTable

    cfg = config or RSEConfig()
    if cfg.needs_encoder and encoder is None:
        raise ValueError(
            "the semantic, structural and token granularities need an encoder: pass encoder=Encoder(...) "
            "or config=RSEConfig(granularities=('lexical', 'style'))"
        )
    names = [str(m) for m in (table.models if models is None else models)]
    if len(names) < 2:
        raise ValueError(f"need at least 2 models to compare, got {names}")
    lay = _Layout(table, names, cfg.max_samples, cfg.max_prompts, cfg.sample_seed)
    P, M = lay.n_prompts, len(names)
    if P < 2:
        raise ValueError(f"need at least 2 prompts with responses, got {P}")
    perm = derangement(P, cfg.null_seed)
    pairs = _Pairs()
    slots = np.arange(P, dtype=np.int64)
    for si in range(M):
        for ci in range(M):
            if si == ci:
                continue
            for kind, cslots in (("raw", slots), ("null", perm)):
                ca, cb = lay.count[si], lay.count[ci, cslots]
                has = np.nonzero((ca > 0) & (cb > 0))[0]
                g, ra, rb = _cross(lay.start[si, has], ca[has], lay.start[ci, cslots[has]], cb[has])
                pairs.add(kind, (names[si], names[ci]), ra, rb, has[g])
        cnt = lay.count[si]
        has = np.nonzero(cnt >= 2)[0]
        if len(has):
            g, ra, rb = _cross(lay.start[si, has], cnt[has], lay.start[si, has], cnt[has])
            distinct = ra < rb  # each unordered pair of distinct samples once
            pairs.add("self", names[si], ra[distinct], rb[distinct], has[g][distinct])
    ia, ib, series, prompt = pairs.concat()
    log = log or (lambda msg: None)
    E, units = _vectors(lay.texts, encoder, cfg, log, progress)
    metrics = _pair_metrics(lay.texts, ia, ib, cfg, units, log, progress)
    if "token" in cfg.granularities:
        from .token_level import token_scores

        metrics["token"] = token_scores(lay.texts, ia, ib, encoder, workers=cfg.workers, log=log, progress=progress)
    scores: dict[str, dict] = {}
    null: dict[str, dict] = {}
    self_sim: dict[str, dict] = {}
    # several samples of a prompt: the degree reads sample-matched scores too
    multi = bool(lay.count.size) and int(lay.count.max()) >= 2
    matched: dict[str, dict] = {}
    matched_null: dict[str, dict] = {}
    sinks = {"raw": scores, "null": null, "self": self_sim}
    msinks = {"raw": matched, "null": matched_null}
    for metric, vals in metrics.items():
        grid = _per_prompt(vals, series, prompt, len(pairs.names), P)
        mgrid = (
            _matched_per_prompt(vals, ia, ib, series, prompt, len(pairs.names), P, len(lay.texts)) if multi else None
        )
        for sid, (kind, key) in enumerate(pairs.names):
            sinks[kind].setdefault(metric, {})[key] = grid[sid]
            if mgrid is not None and kind in msinks:
                msinks[kind].setdefault(metric, {})[key] = mgrid[sid]
    if "semantic" in cfg.granularities and E is not None:
        for (kind, key), arr in _semantic_series(lay, perm, E, cfg.workers, matched=multi).items():
            sink = msinks[kind[1:]] if kind.startswith("~") else sinks[kind]
            sink.setdefault("semantic", {})[key] = arr
            sink.setdefault("cosine", {})[key] = arr
    return ScoreTable(
        models=tuple(names),
        scores=scores,
        self_similarity={g: v for g, v in self_sim.items() if v},
        null=null,
        prompt_ids=lay.prompt_ids,
        signatures=signatures(cfg, encoder),
        mirror=False,
        matched=matched,
        matched_null=matched_null,
    )


def signatures(cfg: RSEConfig, encoder: Any = None) -> dict[str, str]:
    """Reproducibility signature of every granularity and metric computed."""
    from .._version import __version__

    v = f"distillscope:{__version__}"
    out: dict[str, str] = {}
    if "lexical" in cfg.granularities:
        try:
            from ..text.lexical import lexical_signature

            lex = lexical_signature(LEXICAL_METRICS, tokenizer=cfg.tokenizer)
        except Exception:  # pragma: no cover - signature is informational
            lex = f"tok:{cfg.tokenizer}"
        out["lexical"] = f"lexical=mean(rougeL,bleu/100,chrf/100,jaccard2)|{lex}|{v}"
        for m in LEXICAL_METRICS:
            out[m] = f"{m}|tok:{cfg.tokenizer}|{v}"
    enc = getattr(encoder, "signature", None) if encoder is not None else None
    late = cfg.units == "late" and hasattr(encoder, "encode_with_segments")
    vec = "vectors:late-chunked" if late else "vectors:separate"
    if "semantic" in cfg.granularities:
        out["semantic"] = out["cosine"] = f"cosine|{enc}|{vec}|{v}"  # the encoder stays field 1 (report reads it)
    if "structural" in cfg.granularities:
        out["structural"] = (
            f"structural=½(align_f1+order)|level:{cfg.level}|thr:{cfg.align_threshold:g}|{vec}|{enc}|{v}"
        )
    if "token" in cfg.granularities:
        from .token_level import TOKEN_SIGNATURE

        out["token"] = f"{TOKEN_SIGNATURE}|{enc}|{v}"
    if "style" in cfg.granularities:
        from ..text.style import STYLE_SIGNATURE

        out["style"] = STYLE_SIGNATURE
    out["null"] = f"shuffled-prompt derangement seed={cfg.null_seed}"
    if cfg.max_prompts is not None:
        out["prompts"] = (
            f"sample of {cfg.max_prompts} prompts: smallest blake2b(seed, prompt_id), seed={cfg.sample_seed}"
        )
    return out


def summary_matrix(table: ScoreTable, granularity: str) -> np.ndarray:
    """Mean raw similarity over prompts, models × models (diagonal: self-similarity or 1)."""
    m = table.raw_matrix(granularity).astype(np.float64)
    for i, name in enumerate(table.models):
        ss = table.self_similarity.get(granularity, {}).get(name)
        m[i, i] = float(np.nanmean(ss)) if ss is not None and np.isfinite(ss).any() else 1.0
    return m


def resolve_encoder(spec: str | None, *, quiet: bool = False) -> Any:
    """'auto' | 'none' | model name | directory → an Encoder or None."""
    if spec in (None, "none"):
        return None
    from ..embed.models import model_available

    if spec == "auto":
        if not model_available():
            if not quiet:
                print(
                    "note: the default encoder is not downloaded (run `distillscope model download`); "
                    "scoring lexical and style granularities only",
                    file=sys.stderr,
                )
            return None
        spec = None
    from ..embed.encoder import Encoder

    return Encoder(spec)


def available_granularities(encoder: Any) -> tuple[str, ...]:
    """The default granularities that can run with (or without) an encoder (``token`` is opt-in)."""
    return DEFAULT_GRANULARITIES if encoder is not None else ("lexical", "style")
