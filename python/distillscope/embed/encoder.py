"""Offline sentence and token embeddings with onnxruntime + tokenizers.

``Encoder(model).encode(texts)`` returns L2-normalized float32 sentence
embeddings (the model's pooling: masked mean for all-MiniLM-L6-v2), in input
order. How it stays fast and reproducible:

* one ``InferenceSession`` per encoder, explicit ``intra_op`` thread count,
  sequential execution; only the inputs the graph declares are fed;
* the tokenizer's own padding/truncation are switched off and replaced by
  the model's ``max_seq_length`` (sentence-transformers config);
* texts are deduplicated, sorted by token length and padded only to their
  *length bucket* (a multiple of 8 tokens): a text's padded input therefore
  depends on the text alone, never on its batch neighbours, and fp32
  embeddings are the same bits for any batch size, order or worker split;
* an on-disk cache (SQLite in WAL mode, safe for many processes) keyed by
  (model id, BLAKE2b of the text) means no text is embedded twice.

``encode_tokens`` returns the contextual token vectors (special tokens
dropped) as a :class:`~distillscope.Ragged` for token-level alignment.

Int8 (``precision="int8"``) runs the graph with per-channel int8 weights and
per-token int8 activations (see :mod:`distillscope.embed.onnx_builder`); it too
gives the same bits for any batching. The default ``precision="auto"`` picks
int8 where the CPU has int8 dot-product instructions and the accuracy guard
holds, fp32 elsewhere (:mod:`distillscope.embed.precision`).

``encode_with_segments`` gives response vectors and sentence / paragraph
vectors from one forward pass per response (late chunking, windows for long
responses; :mod:`distillscope.embed.pooling`).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._ragged import Ragged
from .cache import EmbeddingCache, default_cache_path
from .models import ModelFiles, resolve_model

__all__ = ["Encoder", "EmbeddingCache", "default_cache_path"]

_BUCKET = 8  # padded lengths are multiples of this
_FILE_IDS: dict[tuple[str, int, int], str] = {}
_FILE_IDS_LOCK = threading.Lock()


def _file_digest(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _FILE_IDS_LOCK:
        if key in _FILE_IDS:
            return _FILE_IDS[key]
    h = hashlib.blake2b(digest_size=12)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    digest = h.hexdigest()
    with _FILE_IDS_LOCK:
        _FILE_IDS[key] = digest
    return digest


def _text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


@dataclass(frozen=True)
class _Window:
    """One model input of a windowed text: special tokens + a run of content tokens."""

    ids: np.ndarray
    type_ids: np.ndarray
    text: int  # index of its text
    k: int  # window number within the text


@dataclass(frozen=True)
class _Batch:
    rows: np.ndarray  # indices into the tokenized list
    length: int  # padded length


def _check_providers(providers) -> tuple:
    if providers is None:
        return ("CPUExecutionProvider",)
    if isinstance(providers, str):
        providers = [providers]
    import onnxruntime as ort

    have = ort.get_available_providers()
    out = []
    for p in providers:
        name = p[0] if isinstance(p, tuple) else p
        if name not in have:
            raise ValueError(
                f"execution provider {name!r} is not in this onnxruntime build (it has {have}); "
                "install the matching onnxruntime package (onnxruntime-gpu, onnxruntime-openvino, "
                "onnxruntime-directml ...) or drop it"
            )
        out.append(p)
    if not out:
        raise ValueError("providers is empty; pass None for the CPU provider")
    return tuple(out)


def _as_list(texts):
    """numpy / pandas / pyarrow columns of str as a plain sequence."""
    mod = type(texts).__module__.split(".")[0]
    if mod == "pyarrow":
        return texts.to_pylist()
    if mod == "pandas" and hasattr(texts, "tolist"):
        return texts.tolist()
    return texts


def _check_texts(texts) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("texts must be a list of strings, got a single str; wrap it: encode([text])")
    try:
        texts = list(texts)
    except TypeError:
        raise TypeError(f"texts must be a list of strings, got {type(texts).__name__}") from None
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] is {type(t).__name__}, not str; convert it with str() or drop it")
    return texts


def _layer_files(files: ModelFiles, layer: int) -> ModelFiles:
    """The model files with the graph truncated after ``layer`` layers (built once)."""
    import dataclasses
    import json

    cfg = files.directory / "config.json"
    if not cfg.is_file() or not (files.directory / "model.safetensors").is_file():
        raise FileNotFoundError(f"layer= needs config.json and model.safetensors in {files.directory}")
    n = int(json.loads(cfg.read_text(encoding="utf-8")).get("num_hidden_layers", 0))
    if isinstance(layer, bool) or not isinstance(layer, int) or not 1 <= layer <= n:
        raise ValueError(f"layer must be an int between 1 and {n} (the model's layers); got {layer!r}")
    if layer == n:
        return files
    from .onnx_builder import build_onnx_from_dir

    path = build_onnx_from_dir(files.directory, files.variant, out_dir=files.onnx.parent, layers=layer)
    return dataclasses.replace(files, onnx=path)


class Encoder:
    """A sentence / token encoder over an ONNX graph (see the module doc).

    Parameters
    ----------
    model:
        ``None`` (all-MiniLM-L6-v2), a known name, ``"tiny-random"``, or a
        directory with ``model.onnx`` + ``tokenizer.json`` (see
        :func:`distillscope.models.resolve_model`).
    batch_size:
        Texts per inference call (padding is per length bucket, so this
        trades memory for call overhead; it never changes fp32 results).
    threads:
        onnxruntime intra-op threads (default: all cores).
    cache:
        ``"default"`` (``$DISTILLSCOPE_HOME/cache/embeddings.sqlite3``), a
        path, an :class:`EmbeddingCache`, or ``None`` to turn caching off.
    precision:
        ``"auto"`` (default: int8 where the CPU has VNNI / AMX / Arm dot
        product and the int8 accuracy guard holds, else fp32), ``"fp32"``
        (fused graph) or ``"int8"`` (per-channel int8 weights).
    providers:
        onnxruntime execution providers, passed through (e.g.
        ``["CUDAExecutionProvider", "CPUExecutionProvider"]``); default the
        CPU provider. Names must be in ``onnxruntime.get_available_providers()``.
    max_length:
        Token limit; default the model's sentence-transformers
        ``max_seq_length`` (256 for all-MiniLM-L6-v2). Longer texts are
        truncated, as sentence-transformers does.
    layer:
        Use the hidden states after this transformer layer (1..num layers)
        instead of the last one: a graph truncated to ``layer`` layers is
        built once beside the default graph (which stays unchanged). For
        BERTScore's ``num_layers``. Needs ``config.json`` and
        ``model.safetensors`` in the model directory.
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        *,
        batch_size: int = 32,
        threads: int | None = None,
        cache: str | os.PathLike | EmbeddingCache | None = "default",
        precision: str = "auto",
        max_length: int | None = None,
        providers: Sequence[str | tuple[str, dict]] | None = None,
        layer: int | None = None,
    ) -> None:
        if precision not in ("auto", "fp32", "int8"):
            raise ValueError(f"precision must be 'auto', 'fp32' or 'int8', got {precision!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise ValueError(f"threads must be a positive int or None (all cores), got {threads!r}")
        self.providers = _check_providers(providers)
        self.batch_size = batch_size
        self.threads = threads or (os.cpu_count() or 1)
        self.int8_guard: dict | None = None
        if precision == "auto":
            precision = self._auto_precision(model, max_length)
        files = resolve_model(model, variant="int8" if precision == "int8" else "fused")
        self.layer = layer
        if layer is not None:
            files = _layer_files(files, layer)
        self.files: ModelFiles = files
        self.precision = precision
        self.max_length = int(max_length) if max_length is not None else files.max_seq_length
        if self.max_length < 2:
            raise ValueError(f"max_length must be >= 2 (room for [CLS] and [SEP]), got {self.max_length}")
        self.pooling = files.pooling
        self._session = self._make_session(files.onnx)
        self._tokenizer = self._make_tokenizer(files.tokenizer)
        self._feeds = [i.name for i in self._session.get_inputs()]
        for name in self._feeds:
            if name not in ("input_ids", "attention_mask", "token_type_ids"):
                raise ValueError(
                    f"{files.onnx} declares input {name!r}; an encoder takes input_ids, "
                    "attention_mask and optionally token_type_ids"
                )
        self._feed_types = {i.name: i.type for i in self._session.get_inputs()}
        self._dim: int | None = None
        self.model_id = f"{files.name}|{precision}|{_file_digest(files.onnx)}|L{self.max_length}|{self.pooling}" + (
            f"|layer{layer}" if layer is not None else ""
        )
        if cache is None or cache is False:
            self.cache: EmbeddingCache | None = None
        elif isinstance(cache, EmbeddingCache):
            self.cache = cache
        elif cache == "default":
            self.cache = EmbeddingCache(default_cache_path())
        else:
            self.cache = EmbeddingCache(cache)
        self._run_lock = threading.Lock()

    # ------------------------------------------------------------- set-up
    def _make_session(self, path: Path):
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = self.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        return ort.InferenceSession(str(path), sess_options=so, providers=list(self.providers))

    def _auto_precision(self, model, max_length: int | None) -> str:
        """int8 where it is fast and accurate here, else fp32 (see embed.precision)."""
        from .precision import GUARD_MIN_MEAN, cpu_int8_dot, guard_sentences, read_guard, write_guard

        if cpu_int8_dot() is None or [p if isinstance(p, str) else p[0] for p in self.providers] != [
            "CPUExecutionProvider"
        ]:
            return "fp32"
        try:
            fp32 = resolve_model(model, variant="fused")
            if not fp32.onnx.with_name("model.int8.onnx").is_file():
                return "fp32"  # never build a graph implicitly
            int8 = resolve_model(model, variant="int8")
        except (OSError, ValueError):
            return "fp32"
        key = f"{_file_digest(fp32.onnx)}:{_file_digest(int8.onnx)}"
        verdict = read_guard(key)
        if verdict is None:
            texts = list(guard_sentences())
            kw: dict[str, Any] = {
                "cache": None,
                "threads": self.threads,
                "max_length": max_length,
                "providers": self.providers,
            }
            a = Encoder(model, precision="fp32", **kw).encode(texts)
            b = Encoder(model, precision="int8", **kw).encode(texts)
            cos = (a.astype(np.float64) * b).sum(axis=1)
            verdict = {
                "mean_cosine": float(cos.mean()),
                "min_cosine": float(cos.min()),
                "n": len(texts),
                "model": fp32.name,
            }
            write_guard(key, verdict)
        self.int8_guard = verdict
        return "int8" if verdict["mean_cosine"] >= GUARD_MIN_MEAN else "fp32"

    def _make_tokenizer(self, path: Path):
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(path))
        tok.no_padding()  # we pad per length bucket
        tok.no_truncation()
        tok.enable_truncation(max_length=self.max_length)
        return tok

    @property
    def dim(self) -> int:
        if self._dim is None:
            shape = self._session.get_outputs()[0].shape
            if isinstance(shape[-1], int):
                self._dim = shape[-1]
            else:
                self._dim = int(self._embed_uncached([""]).shape[1])
        return self._dim

    @property
    def signature(self) -> str:
        """Reproducibility signature: model, precision, graph digest, length, pooling."""
        return f"encoder:{self.model_id}"

    def __repr__(self) -> str:
        return (
            f"Encoder(model={self.files.name!r}, precision={self.precision!r}, max_length={self.max_length}, "
            f"threads={self.threads}, cache={'off' if self.cache is None else str(self.cache.path)!r})"
        )

    # ------------------------------------------------------------- batching
    def _tokenize(self, texts: Sequence[str]):
        return self._tokenizer.encode_batch(list(texts), add_special_tokens=True)

    def _batches(self, lengths: np.ndarray, batch_size: int | None = None) -> list[_Batch]:
        size = self.batch_size if batch_size is None else batch_size
        padded = np.maximum((lengths + _BUCKET - 1) // _BUCKET * _BUCKET, _BUCKET)
        order = np.lexsort((np.arange(len(lengths)), padded))
        out: list[_Batch] = []
        i = 0
        while i < len(order):
            L = int(padded[order[i]])
            j = i
            while j < len(order) and j - i < size and padded[order[j]] == L:
                j += 1
            out.append(_Batch(order[i:j], L))
            i = j
        return out

    def _cost(self, batch: _Batch) -> float:
        """Relative cost of one batch for progress ETAs: padded tokens, each
        dearer by its attention span (per token, attention costs about L / 6H
        of the linear layers; H taken as 384 when not yet known)."""
        hidden = self._dim or 384
        return len(batch.rows) * batch.length * (1.0 + batch.length / (6.0 * hidden))

    def _run(self, encs, batch: _Batch) -> tuple[np.ndarray, np.ndarray]:
        n, L = len(batch.rows), batch.length
        ids = np.zeros((n, L), dtype=np.int64)
        mask = np.zeros((n, L), dtype=np.int64)
        types = np.zeros((n, L), dtype=np.int64)
        for r, k in enumerate(batch.rows):
            e = encs[k]
            m = len(e.ids)
            ids[r, :m] = e.ids
            mask[r, :m] = 1
            types[r, :m] = e.type_ids
        feed_src = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        feeds = {}
        for name in self._feeds:
            arr = feed_src[name]
            if self._feed_types[name] == "tensor(int32)":
                arr = arr.astype(np.int32)
            feeds[name] = arr
        with self._run_lock:
            hidden = self._session.run(None, feeds)[0]
        if hidden.ndim != 3:
            raise ValueError(f"{self.files.onnx} returns shape {hidden.shape}; expected (batch, sequence, hidden)")
        return np.asarray(hidden, dtype=np.float32), mask

    def _pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.pooling == "cls":
            pooled = hidden[:, 0, :].astype(np.float64)
        elif self.pooling == "max":
            pooled = np.where(mask[..., None] > 0, hidden, -np.inf).max(axis=1).astype(np.float64)
        else:
            m = mask[..., None].astype(np.float32)
            pooled = (hidden * m).sum(axis=1, dtype=np.float64) / np.maximum(m.sum(axis=1, dtype=np.float64), 1e-9)
        norm = np.sqrt((pooled * pooled).sum(axis=1, keepdims=True))
        return (pooled / np.maximum(norm, 1e-12)).astype(np.float32)

    def _embed_uncached(self, texts: Sequence[str], batch_size: int | None = None, progress: Any = None) -> np.ndarray:
        encs = self._tokenize(texts)
        lengths = np.fromiter((len(e.ids) for e in encs), dtype=np.int64, count=len(encs))
        out: np.ndarray | None = None
        batches = self._batches(lengths, batch_size)
        costs = [self._cost(b) for b in batches]
        if progress is not None:
            progress.set_work(sum(costs))
        for b, cost in zip(batches, costs):
            hidden, mask = self._run(encs, b)
            pooled = self._pool(hidden, mask)
            if out is None:
                out = np.empty((len(texts), pooled.shape[1]), dtype=np.float32)
            out[b.rows] = pooled
            if progress is not None:
                progress.update(len(b.rows), work=cost)
        if out is None:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        self._dim = out.shape[1]
        return out

    # ------------------------------------------------------------- public
    def encode(
        self,
        texts: str | Sequence[str],
        batch_size: int | None = None,
        show_progress_bar: bool | None = None,
        output_value: str = "sentence_embedding",
        convert_to_numpy: bool = True,
        convert_to_tensor: bool = False,
        normalize_embeddings: bool = True,
        **unsupported: object,
    ):
        """float32[N, D] L2-normalized sentence embeddings, in input order.

        Accepts what ``SentenceTransformer.encode`` accepts, so an
        ``Encoder`` can stand in for it: a single ``str`` gives a 1-D
        float32[D] vector, a list (or tuple, numpy array, pandas Series,
        pyarrow array) gives float32[N, D]. ``batch_size`` overrides the
        encoder's batch size for this call; ``show_progress_bar`` prints a
        count to stderr; ``convert_to_numpy=False`` gives a list of 1-D
        arrays; ``convert_to_tensor=True`` gives a torch tensor (needs torch).
        Embeddings are always L2-normalized (the pooling step does it), so
        ``normalize_embeddings`` changes nothing; only
        ``output_value="sentence_embedding"`` is supported (token vectors:
        :meth:`encode_tokens`). Other sentence-transformers keywords
        (``device``, ``prompt``, ...) raise ``TypeError`` naming them.

        Duplicate texts are embedded once; texts in the cache are not
        embedded again. An empty string gets the embedding of the empty
        input ([CLS] [SEP]). ``show_progress_bar``: count / rate / ETA of
        the texts being embedded on stderr (see :mod:`distillscope.progress`).
        """
        if unsupported:
            raise TypeError(
                f"Encoder.encode does not support {sorted(unsupported)}; supported keywords: batch_size, "
                "show_progress_bar, convert_to_numpy, convert_to_tensor, normalize_embeddings"
            )
        if output_value != "sentence_embedding":
            raise ValueError(f"output_value={output_value!r} is not supported; use encode_tokens() for token vectors")
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
        ):
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if convert_to_tensor:
            try:
                import torch
            except ImportError:
                raise ImportError(
                    "convert_to_tensor=True needs torch (pip install torch); or use the default numpy output"
                ) from None
        single = isinstance(texts, str)
        batch = [texts] if isinstance(texts, str) else _check_texts(_as_list(texts))
        vecs = self._encode_list(batch, batch_size, bool(show_progress_bar))
        out = vecs[0] if single else vecs
        if convert_to_tensor:
            return torch.from_numpy(np.ascontiguousarray(out))
        if not convert_to_numpy and not single:
            return list(out)
        return out

    def _encode_list(self, texts: list[str], batch_size: int | None, progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        uniq: dict[str, int] = {}
        inverse = np.fromiter((uniq.setdefault(t, len(uniq)) for t in texts), dtype=np.int64, count=len(texts))
        utexts = list(uniq)
        dim = self.dim
        vecs = np.empty((len(utexts), dim), dtype=np.float32)
        todo = list(range(len(utexts)))
        keys: list[bytes] = []
        if self.cache is not None:
            keys = [_text_key(t) for t in utexts]
            found = self.cache.get(self.model_id, keys, dim)
            todo = []
            for i, k in enumerate(keys):
                v = found.get(k)
                if v is None:
                    todo.append(i)
                else:
                    vecs[i] = v
        if todo:
            from ..progress import Progress

            with Progress(len(todo), "embedding texts", enabled=progress) as bar:
                new = self._embed_uncached([utexts[i] for i in todo], batch_size, bar)
            vecs[todo] = new
            if self.cache is not None:
                self.cache.put(self.model_id, ((keys[i], new[r]) for r, i in enumerate(todo)))
        return vecs[inverse]

    def encode_tokens(
        self,
        texts: Sequence[str],
        *,
        return_ids: bool = False,
        special_tokens: bool = False,
        batch_size: int | None = None,
    ):
        """Contextual token embeddings of each text, special tokens dropped.

        Returns a :class:`~distillscope.Ragged` whose ``values`` are float32
        [total_tokens, D] (not normalized) and whose ``offsets`` delimit each
        text; with ``return_ids=True`` also the int64 token ids aligned with
        the rows (for idf weights). ``special_tokens=True`` keeps [CLS] /
        [SEP] (BERTScore matches against them). Not cached (token vectors
        are large).
        """
        texts = _check_texts(_as_list(texts))
        dim = self.dim
        encs = self._tokenize(texts)
        keep = [(np.asarray(e.special_tokens_mask, dtype=np.int64) == 0) | bool(special_tokens) for e in encs]
        lengths = np.fromiter((int(k.sum()) for k in keep), dtype=np.int64, count=len(encs))
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        values = np.empty((int(offsets[-1]), dim), dtype=np.float32)
        ids = np.empty(int(offsets[-1]), dtype=np.int64)
        full = np.fromiter((len(e.ids) for e in encs), dtype=np.int64, count=len(encs))
        for b in self._batches(full, batch_size):
            hidden, _ = self._run(encs, b)
            for r, k in enumerate(b.rows):
                m = int(full[k])
                sel = keep[k]
                values[offsets[k] : offsets[k + 1]] = hidden[r, :m][sel]
                ids[offsets[k] : offsets[k + 1]] = np.asarray(encs[k].ids, dtype=np.int64)[sel]
        rag = Ragged(values, offsets)
        return (rag, ids) if return_ids else rag

    def token_counts(self, texts: Sequence[str]) -> np.ndarray:
        """Tokens per text after truncation (special tokens included)."""
        encs = self._tokenize(_check_texts(texts))
        return np.fromiter((len(e.ids) for e in encs), dtype=np.int64, count=len(encs))

    # ------------------------------------------------------------- late chunking
    def _full_tokenizer(self):
        if getattr(self, "_tok_full", None) is None:
            tok = self._make_tokenizer(self.files.tokenizer)
            tok.no_truncation()
            self._tok_full = tok
        return self._tok_full

    def encode_with_segments(
        self, texts: Sequence[str], spans: Ragged, *, margin: int | None = None, show_progress_bar: bool = False
    ) -> tuple[np.ndarray, Ragged]:
        """Response vectors and segment vectors from one forward pass per text (late chunking).

        ``spans``: a :class:`~distillscope.Ragged` of int64 (n, 2) character
        ``[start, end)`` spans per text (what :func:`distillscope.segment`
        returns), sorted and non-overlapping. Each text is encoded whole, in
        overlapping windows of the model's length when it is longer
        (``margin`` tokens of context kept on each side; default
        :func:`~distillscope.embed.pooling.default_margin`). Returns
        float32 [N, D] response vectors (the model's pooling over every
        token of the text; for a text that fits in one window the vector of
        :meth:`encode`) and a Ragged of float32 [n_spans, D] L2-normalized
        segment vectors (mean of the token states in each span) with the
        offsets of ``spans``. Cached per (text, spans).
        """
        from ..progress import Progress
        from .pooling import default_margin

        texts = _check_texts(texts)
        offsets = np.asarray(spans.offsets, dtype=np.int64)
        sv = (
            np.asarray(spans.values, dtype=np.int64).reshape(-1, 2) if len(spans.values) else np.zeros((0, 2), np.int64)
        )
        if len(offsets) != len(texts) + 1 or (len(offsets) and int(offsets[-1]) != len(sv)):
            raise ValueError(
                f"spans must have one row of offsets per text: {len(texts)} texts, "
                f"{len(offsets) - 1} span groups; pass segment(texts, level)"
            )
        dim = self.dim
        n_special = len(self._full_tokenizer().encode("", add_special_tokens=True).ids)
        width = self.max_length - n_special
        if width < 1:
            raise ValueError(f"max_length {self.max_length} leaves no room for text next to {n_special} special tokens")
        margin = default_margin(width) if margin is None else int(margin)
        if margin < 0 or 2 * margin >= width:
            raise ValueError(f"margin must be in [0, {(width - 1) // 2}] for windows of {width} tokens, got {margin}")
        model = f"{self.model_id}|late:w{width}m{margin}"
        uniq: dict[bytes, int] = {}
        inverse = np.empty(len(texts), dtype=np.int64)
        first: list[int] = []
        for i, t in enumerate(texts):
            key = hashlib.blake2b(
                t.encode("utf-8", "surrogatepass") + b"\0" + sv[offsets[i] : offsets[i + 1]].tobytes(), digest_size=16
            ).digest()
            j = uniq.setdefault(key, len(uniq))
            if j == len(first):
                first.append(i)
            inverse[i] = j
        keys = list(uniq)
        mats: dict[int, np.ndarray] = {}
        if self.cache is not None:
            found = self.cache.get_matrices(model, keys, dim)
            for j, k in enumerate(keys):
                i = first[j]
                m = found.get(k)
                if m is not None and len(m) == 1 + offsets[i + 1] - offsets[i]:
                    mats[j] = m
        todo = [j for j in range(len(keys)) if j not in mats]
        if todo:
            new = self._late_uncached(
                [texts[first[j]] for j in todo],
                [sv[offsets[first[j]] : offsets[first[j] + 1]] for j in todo],
                width,
                margin,
                show_progress_bar,
                Progress,
            )
            for j, m in zip(todo, new):
                mats[j] = m
            if self.cache is not None:
                self.cache.put(model, ((keys[j], mats[j]) for j in todo))
        resp = np.empty((len(texts), dim), dtype=np.float32)
        seg = np.empty((len(sv), dim), dtype=np.float32)
        for i in range(len(texts)):
            m = mats[int(inverse[i])]
            resp[i] = m[0]
            seg[offsets[i] : offsets[i + 1]] = m[1:]
        return resp, Ragged(seg, offsets)

    def _late_uncached(
        self, texts: list[str], spans: list[np.ndarray], width: int, margin: int, show: bool, progress_cls: Any
    ) -> list[np.ndarray]:
        """[response vector; segment vectors] per text, float32 [1 + n_spans, D]."""
        from .pooling import owned_tokens, plan_windows, pool_runs, span_token_index

        encs = self._full_tokenizer().encode_batch(texts, add_special_tokens=True)
        windows: list[_Window] = []
        meta = []  # per text: (n_pre, n_content, starts, content offsets)
        for i, e in enumerate(encs):
            ids = np.asarray(e.ids, dtype=np.int64)
            types = np.asarray(e.type_ids, dtype=np.int64)
            special = np.asarray(e.special_tokens_mask, dtype=bool)
            n_pre = int(np.argmin(special)) if not special.all() else len(ids) // 2
            n_suf = int(np.argmin(special[::-1])) if not special.all() else len(ids) - n_pre
            C = len(ids) - n_pre - n_suf
            starts = plan_windows(C, width, margin)
            offs = np.asarray(e.offsets, dtype=np.int64).reshape(-1, 2)[n_pre : n_pre + C]
            meta.append((n_pre, C, starts, offs))
            w = min(width, C)
            for k, st in enumerate(starts.tolist()):
                sel = np.r_[np.arange(n_pre), n_pre + st + np.arange(w), n_pre + C + np.arange(n_suf)]
                windows.append(_Window(ids[sel], types[sel], i, k))
        lengths = np.fromiter((len(w.ids) for w in windows), dtype=np.int64, count=len(windows))
        pending: dict[int, dict[int, np.ndarray]] = {}
        out: list[np.ndarray] = [np.empty(0)] * len(texts)
        dim = self.dim
        batches = self._batches(lengths)
        costs = [self._cost(b) for b in batches]
        with progress_cls(len(windows), "encoding responses (windows)", enabled=show, work=sum(costs)) as bar:
            for b, cost in zip(batches, costs):
                hidden, mask = self._run(windows, b)
                for r, wi in enumerate(b.rows.tolist()):
                    win = windows[wi]
                    n_pre, C, starts, offs = meta[win.text]
                    got = pending.setdefault(win.text, {})
                    got[win.k] = hidden[r, : len(win.ids)]
                    if len(got) < len(starts):
                        continue
                    del pending[win.text]
                    if len(starts) == 1:  # exactly encode()'s input: pool exactly as encode() does
                        resp = self._pool(hidden[r : r + 1], mask[r : r + 1])[0]
                        content = got[0][n_pre : n_pre + C]
                    else:
                        wsel, pos = owned_tokens(C, starts, width)
                        stack = np.stack([got[k] for k in range(len(starts))])
                        content = stack[wsel, n_pre + pos]
                        full = np.concatenate([stack[0, :n_pre], content, stack[-1, n_pre + width :]])
                        resp = self._pool(full[None], np.ones((1, len(full)), dtype=np.int64))[0]
                    sp = spans[win.text]
                    seg_of = span_token_index(offs[:, 0], offs[:, 1], sp)
                    mat = np.empty((1 + len(sp), dim), dtype=np.float32)
                    mat[0] = resp
                    mat[1:] = pool_runs(content, seg_of, len(sp))
                    out[win.text] = mat
                bar.update(len(b.rows), work=cost)
        return out
