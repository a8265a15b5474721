"""Streaming, checkpointed scoring of (candidate, reference) pair files.

``score_pairs`` reads a JSONL or Parquet file of pairs in chunks, scores each
chunk with the batched kernels (lexical metrics in one native call, cosine
over memory-mapped ``.npy`` embedding rows) and writes one Parquet file. It
never holds more than a couple of chunks in memory, whatever the input size:

* Parquet is read with ``pyarrow.ParquetFile.iter_batches`` (only the needed
  columns, rebatched to exactly ``chunk_size`` rows);
* JSONL is read line by line from a binary file (``orjson`` when installed,
  else the standard library), tracking the byte offset of every chunk;
* embeddings are memory-mapped, and the pages of rows already scored are
  released again (``madvise(MADV_DONTNEED)``) so the resident set stays at
  one chunk's worth even for a 3 GB file;
* or, with ``encoder``, the cosine column is computed from the pair texts:
  each chunk's candidates and references go through
  :meth:`~distillscope.Encoder.encode` (duplicates embedded once, the
  encoder's embedding cache used) and only that chunk's vectors are held.

Checkpointing: every finished chunk is written as its own Parquet part file
(``OUT.parts/part-<first row>.parquet``, written to a temporary name and
renamed, so a part either exists complete or not at all), then a sidecar
``OUT.progress.json`` records the rows done, the input byte offset and the
configuration (atomically replaced). A run killed at any point (even
``SIGKILL``) resumes at the last recorded chunk; a part written after the
last progress update is discarded and recomputed. When every row is scored
the parts are concatenated into ``OUT`` (again via a temporary name) and the
sidecars are removed. A resumed run's output equals an uninterrupted one.
A failing run leaves an earlier checkpoint as it was until it records a
chunk of its own, and a JSONL input fixed after a bad row resumes from the
chunks recorded before it (see :mod:`distillscope.scale.checkpoint`).

Per-pair scores are independent of one another, so results are identical for
any ``chunk_size``, kernel ``workers`` count or Dask partitioning.

The same engine is reusable without an output file: :func:`iter_pair_chunks`
streams the input, :func:`score_batch` scores one batch, and
:func:`iter_scored_chunks` yields scored ``pyarrow.Table`` chunks.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .._io import folders_undone_on_failure
from .checkpoint import ScoreCheckpoint, ScoreSummary
from .embeddings import Embeddings
from .pairio import (
    DEFAULT_CHUNK,
    PairChunk,
    check_first_pair,
    check_pair_file,
    count_pairs,
    file_format,
    iter_pair_chunks,
    kept_columns,
    require_pyarrow,
)
from .remote import iter_remote_chunks

__all__ = [
    "PAIR_METRICS",
    "ScoreSummary",
    "parse_metrics",
    "score_batch",
    "score_chunk",
    "score_columns",
    "score_rows",
    "to_table",
    "iter_scored_chunks",
    "score_pairs",
]

PAIR_METRICS = ("rouge1", "rouge2", "rougeL", "bleu", "chrf", "chrf++", "jaccard", "containment", "cosine")


def parse_metrics(metrics: str | Sequence[str]) -> tuple[list[str], bool]:
    """Split ``"rouge1,rougeL,cosine"`` (or a sequence) into (lexical metrics, wants cosine)."""
    if isinstance(metrics, str):
        metrics = [m.strip() for m in metrics.split(",") if m.strip()]
    names = list(metrics)
    if not names:
        raise ValueError(f"metrics must name at least one of {PAIR_METRICS}, e.g. 'rouge1,rougeL,chrf'")
    if len(set(names)) != len(names):
        raise ValueError(f"metrics lists a name twice: {names}")
    lexical = [m for m in names if m != "cosine"]
    if lexical:
        _validate_lexical(tuple(lexical))
    return lexical, "cosine" in names


@functools.lru_cache(maxsize=64)
def _validate_lexical(lexical: tuple[str, ...]) -> None:
    from ..text.lexical import lexical_scores

    lexical_scores(["a"], ["a"], list(lexical))  # raises with the lexical module's own messages


PEER_TOKENIZERS = "unicode,rouge*=rouge,bleu=13a"


def tokenizer_groups(metrics: Sequence[str], tokenizer: str) -> dict[str, list[str]]:
    """Lexical metrics grouped by the word tokenizer each one uses.

    ``tokenizer`` is one name for every metric (``unicode``, ``rouge``,
    ``13a``, ``whitespace``), or comma-separated entries: a bare name sets
    the default, ``PATTERN=NAME`` (shell pattern on the metric name) sets
    the tokenizer of the matching metrics, e.g. ``unicode,rouge*=rouge,bleu=13a``;
    ``peer`` is that set (rouge-score-exact ROUGE, sacrebleu-exact BLEU).
    chrF is defined on characters and ignores it.
    """
    import fnmatch

    from ..text.tokenize import check_tokenizer

    spec = PEER_TOKENIZERS if tokenizer == "peer" else tokenizer
    default, rules = "unicode", []
    for entry in (e.strip() for e in spec.split(",") if e.strip()):
        if "=" in entry:
            pat, name = (x.strip() for x in entry.split("=", 1))
            rules.append((pat, check_tokenizer(name)))
        else:
            default = check_tokenizer(entry)
    groups: dict[str, list[str]] = {}
    for m in metrics:
        tok = next((t for pat, t in rules if fnmatch.fnmatchcase(m, pat)), default)
        groups.setdefault(tok, []).append(m)
    return groups


def run_metadata(lexical: Sequence[str], tokenizer: str, cosine: bool, encoder: Any = None) -> dict[str, Any]:
    """What the output's Parquet metadata records: package version, tokenizer spec, one signature per tokenizer group,
    and where the cosine comes from (the embedding files, or the encoder's signature)."""
    from .._version import __version__
    from ..text.lexical import lexical_signature

    sigs = {tok: lexical_signature(group, tok) for tok, group in tokenizer_groups(lexical, tokenizer).items()}
    return {
        "version": __version__,
        "tokenizer": tokenizer,
        "signatures": sigs,
        "cosine": (
            None
            if not cosine
            else "cosine_paired(emb_a, emb_b) float32"
            if encoder is None
            else f"cosine_paired(encode(candidate), encode(reference)) float32|{encoder.signature}"
        ),
        "encoder": None if encoder is None else encoder.signature,
    }


def score_batch(
    candidates: Sequence[str],
    references: Sequence[str],
    metrics: str | Sequence[str],
    *,
    emb_a: np.ndarray | None = None,
    emb_b: np.ndarray | None = None,
    tokenizer: str = "unicode",
    workers: int = 1,
) -> dict[str, np.ndarray]:
    """Score one batch of pairs: ``{column: array}`` with one value per pair.

    Lexical metrics come from :func:`distillscope.lexical_scores` (ROUGE adds
    ``_precision`` / ``_recall`` columns), each with its tokenizer from
    ``tokenizer`` (see :func:`tokenizer_groups`; ``"peer"`` for
    rouge-score-exact ROUGE and sacrebleu-exact BLEU in one run); ``cosine`` needs ``emb_a`` and
    ``emb_b`` (one row per pair) and is :func:`distillscope.cosine_paired`.
    """
    lexical, cosine = parse_metrics(metrics)
    n = len(candidates)
    if len(references) != n:
        raise ValueError(f"candidates and references must have the same length; got {n} and {len(references)}")
    out: dict[str, np.ndarray] = {}
    if lexical:
        from ..text.lexical import lexical_scores

        for tok, group in tokenizer_groups(lexical, tokenizer).items():
            if n == 0:  # the native call wants at least one text for chrF; take the columns from a dummy pair
                out.update({k: v[:0] for k, v in lexical_scores(["a"], ["a"], group, tokenizer=tok).items()})
            else:
                out.update(lexical_scores(candidates, references, group, tokenizer=tok, workers=workers))
    if cosine:
        if emb_a is None or emb_b is None:
            raise ValueError("metric 'cosine' needs embeddings: pass emb_a and emb_b (--emb-a A.npy --emb-b B.npy)")
        if len(emb_a) != n or len(emb_b) != n:
            raise ValueError(f"embeddings must have one row per pair ({n}); got {len(emb_a)} and {len(emb_b)} rows")
        from ..kernels import cosine_paired

        out["cosine"] = cosine_paired(emb_a, emb_b, workers=workers)
    return out


# ----------------------------------------------------------------------------- scoring


def score_columns(lexical: Sequence[str], cosine: bool, tokenizer: str = "unicode") -> dict[str, np.ndarray]:
    """The score columns of a run, empty: their names, order and dtypes, as
    :func:`score_batch` writes them (for a schema or a Dask ``meta``). A run
    of cosine alone has no lexical columns, which ``score_batch`` cannot be
    asked for (it scores at least one metric)."""
    out = score_batch([], [], list(lexical), tokenizer=tokenizer) if lexical else {}
    if cosine:
        out["cosine"] = np.zeros(0, np.float32)
    return out


def to_table(start: int, extra: dict[str, list[Any]], scores: dict[str, np.ndarray]) -> Any:
    import pyarrow as pa

    n = len(next(iter(scores.values()))) if scores else 0
    cols: dict[str, Any] = {"row": pa.array(np.arange(start, start + n, dtype=np.int64))}
    for k, v in extra.items():
        try:
            cols[k] = v if isinstance(v, (pa.Array, pa.ChunkedArray)) else pa.array(v)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:  # JSONL values: 1 in one row, "two" or [1] in another
            raise ValueError(
                f"kept column {k!r} holds values of different types in rows {start}-{start + len(v) - 1} ({e}); "
                "make its values one type or drop it from keep"
            ) from None
    for k, arr in scores.items():
        cols[k] = pa.array(arr)
    return pa.table(cols)


def score_rows(
    chunk: PairChunk,
    emb_a: np.ndarray | None,
    emb_b: np.ndarray | None,
    *,
    metrics: list[str],
    tokenizer: str,
    workers: int,
) -> Any:
    """Score one chunk whose embedding rows (if any) are already read: the ``pyarrow.Table`` of a part file."""
    scores = score_batch(
        chunk.candidates, chunk.references, metrics, emb_a=emb_a, emb_b=emb_b, tokenizer=tokenizer, workers=workers
    )
    return to_table(chunk.start, chunk.extra, scores)


def score_chunk(
    chunk: PairChunk,
    lexical: list[str],
    cosine: bool,
    emb: tuple[Embeddings, Embeddings] | None,
    tokenizer: str,
    workers: int,
    encoder: Any = None,
) -> Any:
    n = len(chunk)
    a = b = None
    if cosine and encoder is not None:
        a = encoder.encode(chunk.candidates)
        b = encoder.encode(chunk.references)
    elif cosine and emb is not None:
        a = emb[0].rows(chunk.start, chunk.start + n)
        b = emb[1].rows(chunk.start, chunk.start + n)
        # rows load from disk (readahead) while the text is scored; cosine runs last
        emb[0].prefetch(chunk.start, chunk.start + 2 * n)
        emb[1].prefetch(chunk.start, chunk.start + 2 * n)
    scores = score_batch(
        chunk.candidates,
        chunk.references,
        [*lexical, *(["cosine"] if cosine else [])],
        emb_a=a,
        emb_b=b,
        tokenizer=tokenizer,
        workers=workers,
    )
    del a, b
    if emb is not None:
        emb[0].release(chunk.start + n)
        emb[1].release(chunk.start + n)
    return to_table(chunk.start, chunk.extra, scores)


def _open_embeddings(emb_a: Any, emb_b: Any, cosine: bool, encoder: Any = None) -> tuple[Embeddings, Embeddings] | None:
    if encoder is not None:
        if emb_a is not None or emb_b is not None:
            raise ValueError(
                "give either an encoder (--encoder MODEL) or embedding files (--emb-a/--emb-b) for cosine, not both"
            )
        return None
    if (emb_a is None) != (emb_b is None):
        raise ValueError("give both emb_a and emb_b (--emb-a A.npy --emb-b B.npy), one row per pair in each")
    if emb_a is None:
        if cosine:
            raise ValueError("metric 'cosine' needs embeddings: --emb-a A.npy --emb-b B.npy (one row per pair)")
        return None
    if not cosine:
        raise ValueError("embeddings were given but 'cosine' is not in metrics; add it or drop --emb-a/--emb-b")
    a, b = Embeddings(emb_a), Embeddings(emb_b)
    if a.shape != b.shape:
        a.close()
        b.close()
        raise ValueError(f"emb_a and emb_b must have the same shape; got {a.shape} and {b.shape}")
    return a, b


def iter_scored_chunks(
    path: str | os.PathLike[str],
    metrics: str | Sequence[str],
    *,
    emb_a: str | os.PathLike[str] | None = None,
    emb_b: str | os.PathLike[str] | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    columns: tuple[str, str] = ("candidate", "reference"),
    keep: Sequence[str] = (),
    tokenizer: str = "unicode",
    workers: int = 1,
    start_row: int = 0,
    start_offset: int | None = None,
    encoder: Any = None,
) -> Iterator[tuple[Any, PairChunk]]:
    """Yield ``(pyarrow.Table of scores, input chunk)`` per chunk, reading one chunk ahead.

    The next chunk is parsed on a background thread while the kernels (which
    release the GIL) score the current one. Memory: two chunks of text plus
    one chunk of scores (and, with ``encoder``, one chunk of vectors).
    """
    lexical, cosine = parse_metrics(metrics)
    encoder = resolve_pair_encoder(encoder)
    if encoder is not None:
        cosine = True
    emb = _open_embeddings(emb_a, emb_b, cosine, encoder)
    try:
        chunks = iter_pair_chunks(
            path, chunk_size=chunk_size, columns=columns, keep=keep, start_row=start_row, start_offset=start_offset
        )
        with ThreadPoolExecutor(1) as pool:
            nxt = pool.submit(next, chunks, None)
            while True:
                chunk = nxt.result()
                if chunk is None:
                    break
                nxt = pool.submit(next, chunks, None)
                yield score_chunk(chunk, lexical, cosine, emb, tokenizer, workers, encoder), chunk
    finally:
        if emb is not None:
            emb[0].close()
            emb[1].close()


def _progress_line(done: int, total: int | None, t0: float, stream: Any) -> None:
    dt = max(time.perf_counter() - t0, 1e-9)
    of = f"/{total:,}" if total else ""
    pct = f" {100 * done / total:5.1f}%" if total else ""
    rate = done / dt
    eta = f"  ETA {max(total - done, 0) / rate:,.0f} s" if total and rate > 0 else ""
    stream.write(f"\r  scored {done:,}{of} pairs{pct}  {rate:,.0f} pairs/s{eta} ")
    stream.flush()


def _check_paths(path: str | os.PathLike[str], out: str | os.PathLike[str], chunk_size: int) -> tuple[Path, Path]:
    """The input and output paths of :func:`score_pairs`, checked (nothing is created)."""
    require_pyarrow()
    src = Path(path)
    check_pair_file(src)
    file_format(src)
    dst = Path(out)
    if not dst.name.lower().endswith((".parquet", ".pq")):
        raise ValueError(f"out must be a Parquet file name ending in .parquet; got {str(dst)!r}")
    if dst.resolve() == src.resolve():
        raise ValueError("out must differ from the input file")
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be >= 1; got {chunk_size}")
    return src, dst


def resolve_pair_encoder(encoder: Any) -> Any:
    """``None``, an :class:`~distillscope.Encoder` (or anything with ``encode`` and ``signature``), or a model spec."""
    if encoder is None or (hasattr(encoder, "encode") and hasattr(encoder, "signature")):
        return encoder
    if not isinstance(encoder, (str, os.PathLike)):
        raise TypeError(f"encoder must be an Encoder or a model name / directory, got {type(encoder).__name__}")
    from ..embed.encoder import Encoder

    return Encoder(encoder)


def _embedding_signatures(emb_a: Any, emb_b: Any, cosine: bool, encoder: Any = None) -> list[dict[str, Any]] | None:
    """The checkpoint signatures of the two embedding files (None without embeddings)."""
    emb = _open_embeddings(emb_a, emb_b, cosine, encoder)
    if emb is None:
        return None
    sig = [emb[0].signature(), emb[1].signature()]
    emb[0].close()
    emb[1].close()
    return sig


def _chunk_results(
    src: Path,
    metric_list: list[str],
    scheduler: Any,
    *,
    emb_a: Any,
    emb_b: Any,
    chunk_size: int,
    columns: tuple[str, str],
    keep: Sequence[str],
    tokenizer: str,
    workers: int,
    start_row: int,
    start_offset: int | None,
    encoder: Any = None,
) -> Iterable[tuple[Any, int, int | None]]:
    """``(table, start_row, next_offset)`` per chunk, in input order: on the Dask ``scheduler`` or locally."""
    if scheduler is not None:
        score = functools.partial(score_rows, metrics=metric_list, tokenizer=tokenizer)
        return iter_remote_chunks(
            scheduler,
            src,
            score,
            emb_a=emb_a,
            emb_b=emb_b,
            chunk_size=int(chunk_size),
            columns=columns,
            keep=keep,
            start_row=start_row,
            start_offset=start_offset,
        )
    return (
        (tbl, chunk.start, chunk.next_offset)
        for tbl, chunk in iter_scored_chunks(
            src,
            metric_list,
            emb_a=emb_a,
            emb_b=emb_b,
            chunk_size=chunk_size,
            columns=columns,
            keep=keep,
            tokenizer=tokenizer,
            workers=workers,
            start_row=start_row,
            start_offset=start_offset,
            encoder=encoder,
        )
    )


@contextlib.contextmanager
def _undone_on_failure(dst: Path) -> Iterator[None]:
    """A run that fails (or is interrupted) before it records its first chunk
    removes what it created itself: the ``OUT.parts`` folder and the folders
    made for ``OUT``. Nothing is removed once a chunk is recorded (the
    ``OUT.progress.json`` sidecar exists: a rerun resumes from it), nor a
    folder an earlier run left (its checkpoint is for a resume to use)."""
    parts_dir = dst.with_name(dst.name + ".parts")
    progress = dst.with_name(dst.name + ".progress.json")
    made_parts = not parts_dir.exists()
    with folders_undone_on_failure(dst.parent):  # then the folders made for OUT, while empty
        try:
            yield
        except BaseException:
            if not progress.exists() and made_parts and parts_dir.is_dir():
                shutil.rmtree(parts_dir, ignore_errors=True)
            raise


def score_pairs(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    metrics: str | Sequence[str] = ("rouge1", "rouge2", "rougeL", "chrf"),
    *,
    emb_a: str | os.PathLike[str] | None = None,
    emb_b: str | os.PathLike[str] | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    workers: int = 1,
    resume: bool = True,
    columns: tuple[str, str] = ("candidate", "reference"),
    keep: Sequence[str] = (),
    tokenizer: str = "unicode",
    scheduler: str | Any | None = None,
    progress: bool = False,
    on_chunk: Callable[[int], None] | None = None,
    overwrite: bool = False,
    encoder: Any = None,
) -> ScoreSummary:
    """Score every pair of a JSONL / Parquet file into the Parquet file ``out``.

    Output columns: ``row`` (0-based input row), the ``keep`` columns, then
    one column per score (``rouge1``, ``rouge1_precision``, ...,
    ``cosine``). With ``resume=True`` (default) an interrupted run continues
    from its last finished chunk (of a JSONL input, the last whose bytes are
    unchanged: a file fixed after a bad row resumes); ``resume=False``
    starts over, replacing an earlier checkpoint only once it records its
    own first chunk. ``workers``
    are the kernel threads (-1 = all cores). ``scheduler`` (a Dask scheduler
    address or ``distributed.Client``) scores the chunks on a Dask cluster
    instead (:mod:`distillscope.scale.distributed`), with identical results.
    ``on_chunk(rows_done)`` is called after every committed chunk. A
    finished ``out`` that already exists is kept (``FileExistsError``)
    unless ``overwrite=True``.

    ``encoder`` (an :class:`~distillscope.Encoder` or a model name /
    directory; instead of ``emb_a`` / ``emb_b``) computes the ``cosine``
    column from the texts, chunk by chunk (added to ``metrics`` if missing;
    its signature is recorded in the checkpoint and the Parquet metadata;
    not with ``scheduler``).
    """
    t0 = time.perf_counter()
    src, dst = _check_paths(path, out, chunk_size)
    lexical, cosine = parse_metrics(metrics)
    # a missing column (a typo in columns=) or a first row that cannot be
    # scored fails before any encoder is loaded or checkpoint folder created
    check_first_pair(src, columns, keep)
    if encoder is not None:
        if emb_a is not None or emb_b is not None:
            _open_embeddings(emb_a, emb_b, True, encoder)  # raises: one source of vectors
        if scheduler is not None:
            raise ValueError(
                "--encoder runs on this machine only; with --scheduler pass precomputed --emb-a/--emb-b instead"
            )
        encoder = resolve_pair_encoder(encoder)
        cosine = True
    metric_list = [*lexical, *(["cosine"] if cosine else [])]
    keep = kept_columns(keep, columns)
    emb_sig = _embedding_signatures(emb_a, emb_b, cosine, encoder)
    tokenizer_groups(lexical, tokenizer)  # a bad tokenizer spec fails before anything is read
    if dst.exists() and not overwrite:
        raise FileExistsError(f"{str(dst)!r} already exists; pass overwrite=True (--overwrite) to replace it")
    total: int | None = None
    if file_format(src) == "parquet":
        total = count_pairs(src)
        if emb_sig is not None and emb_sig[0]["shape"][0] != total:
            raise ValueError(
                f"the embedding files have {emb_sig[0]['shape'][0]} rows but {str(src)!r} has {total} "
                "pairs; they need one row per pair"
            )
    config = {
        "input": str(src.resolve()),  # its content: checked by the checkpoint (see checkpoint.py)
        "metrics": metric_list,
        "columns": list(columns),
        "keep": list(keep),
        "tokenizer": tokenizer,
        "embeddings": emb_sig,
        **({"encoder": encoder.signature} if encoder is not None else {}),
    }
    if progress and total is None:  # JSONL: one pass over the lines for a total and an ETA (progress only)
        total = count_pairs(src)
    with _undone_on_failure(dst):
        ckpt = ScoreCheckpoint(dst, config, resume, source=src)
        resumed_from = ckpt.rows_done
        stream = sys.stderr
        n_chunks = 0
        results = _chunk_results(
            src,
            metric_list,
            scheduler,
            emb_a=emb_a,
            emb_b=emb_b,
            chunk_size=chunk_size,
            columns=columns,
            keep=keep,
            tokenizer=tokenizer,
            workers=workers,
            start_row=ckpt.rows_done,
            start_offset=ckpt.offset,
            encoder=encoder,
        )
        try:
            for tbl, start, next_offset in results:
                ckpt.commit(tbl, start, next_offset)
                n_chunks += 1
                if progress:
                    _progress_line(ckpt.rows_done, total, t0, stream)
                if on_chunk is not None:
                    on_chunk(ckpt.rows_done)
        except ValueError as e:
            if ckpt.rows_done and ckpt.offset is not None:  # JSONL: the recorded chunks survive a fix further on
                raise ValueError(
                    f"{e} (rows 0-{ckpt.rows_done - 1} are checkpointed: "
                    f"after the fix the same command resumes at row {ckpt.rows_done})"
                ) from e
            raise
        if emb_sig is not None and ckpt.rows_done != emb_sig[0]["shape"][0]:
            raise ValueError(
                f"the embedding files have {emb_sig[0]['shape'][0]} rows but {str(src)!r} has "
                f"{ckpt.rows_done} pairs; they need one row per pair"
            )
        if progress:
            stream.write("\n")
        empty = to_table(
            0,
            {k: [] for k in keep},
            score_columns(lexical, cosine, tokenizer),
        )
        rows = ckpt.finalize(empty, {"distillscope": json.dumps(run_metadata(lexical, tokenizer, cosine, encoder))})
        import pyarrow.parquet as pq

        names = tuple(pq.ParquetFile(dst).schema_arrow.names)
        return ScoreSummary(str(dst), rows, resumed_from, time.perf_counter() - t0, names, n_chunks)
