"""Import public model outputs into the response store.

Formats
-------
* AlpacaEval ``model_outputs.json``: a JSON list of ``{"instruction",
  "output", "generator", "dataset"}``; ``generator`` names the model.
* FastChat-style answer JSONL as used by MT-Bench and Arena-Hard v0.1:
  ``{"question_id", "model_id", "choices": [{"index", "turns": [...]}]}``
  where a turn is a string (MT-Bench) or ``{"content": ...}`` (Arena-Hard);
  Arena-Hard v2 lines (``{"uid", "model", "messages": [...]}``) too. The
  matching ``question.jsonl`` (``questions=``) supplies prompt text.
  Multi-turn answers become one record per turn: prompt id ``<qid>`` for a
  single turn, ``<qid>:t1``, ``<qid>:t2``, ... when there are several.
* Generic JSONL / JSON / CSV / TSV / Parquet with a column mapping
  (:func:`import_table`); Parquet needs pyarrow (the ``parquet`` extra).

Prompt ids
----------
Different sources name the same prompt differently, so records are joined
by prompt *text*: :func:`normalize_prompt` collapses whitespace (and applies
Unicode NFC), and

* with ``prompts=`` (a prompt file, or a mapping id -> text) a record takes
  the id of the prompt with the same normalized text; ``unmatched``
  decides what happens to records whose text is not there (``"hash"``: keep
  them under a text-hash id, ``"drop"``, or ``"error"``);
* without it, a record keeps its source's own id if it has one (unless
  ``ids="text"``), else gets ``text_id(prompt)`` -- a hash of the normalized
  text, so two AlpacaEval files imported separately still line up.

Imports are idempotent: a key (model, prompt id, sample) already in the store
is skipped, so re-importing a file adds nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .store import MAX_SAMPLE, ResponseStore, latest_records, make_record

UNMATCHED_POLICIES = ("hash", "drop", "error")
ID_POLICIES = ("native", "text")
KINDS = ("auto", "alpaca_eval", "arena_hard", "mt_bench", "table")


def normalize_prompt(text: str) -> str:
    """Whitespace-normalized prompt text used to join sources."""
    return " ".join(unicodedata.normalize("NFC", str(text)).split())


def text_id(text: str) -> str:
    """Stable id derived from the normalized prompt text."""
    return "h:" + hashlib.sha1(normalize_prompt(text).encode("utf-8")).hexdigest()[:16]


@dataclass
class ImportedResponse:
    """One response read from a source file, before ids are resolved."""

    model: str
    prompt: str | None
    response: str | None
    native_id: str | None = None
    sample: int = 0
    meta: dict[str, Any] | None = None


class PromptIndex:
    """Normalized prompt text -> prompt id."""

    def __init__(self, id_to_text: Mapping[str, str]) -> None:
        self._by_text: dict[str, str] = {}
        for pid, text in id_to_text.items():
            key = normalize_prompt(text)
            other = self._by_text.get(key)
            if other is not None and other != str(pid):
                raise ValueError(
                    f"prompts {other!r} and {pid!r} have the same text after whitespace normalization; "
                    "remove one so text joins are unambiguous"
                )
            self._by_text[key] = str(pid)

    def __len__(self) -> int:
        return len(self._by_text)

    def lookup(self, text: str | None) -> str | None:
        return None if text is None else self._by_text.get(normalize_prompt(text))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], **kw: Any) -> PromptIndex:
        """From a gather prompt file (id + prompt, or id + messages: the last
        user message is the text)."""
        from ..gather.config import PromptSource
        from ..gather.prompts import last_user_text, load_prompts

        src = PromptSource(str(path), **kw)
        fix = (
            f"give every row of the prompt file an {src.id_field!r} and a {src.prompt_field!r} "
            f"(or {src.messages_field!r}) field"
        )
        prompts = load_prompts(src, fields_fix=fix)
        return cls({p.id: last_user_text(p.messages) or "" for p in prompts})


# --------------------------------------------------------------------------
# Readers
# --------------------------------------------------------------------------
def _load_json_or_jsonl(path: Path) -> list[Any]:
    from .._io import parse_json, read_text

    text = read_text(path, "input")
    stripped = text.lstrip()
    if stripped.startswith("["):
        data = parse_json(text, str(path))
        if not isinstance(data, list):
            raise ValueError(f"{path}: expected a JSON list")
        return data
    return [parse_json(line, f"{path}:{i}") for i, line in enumerate(text.splitlines(), 1) if line.strip()]


def read_alpaca_eval(path: str | os.PathLike[str], *, model: str | None = None) -> list[ImportedResponse]:
    """Read an AlpacaEval ``model_outputs.json`` (``generator`` names the model)."""
    p = Path(path)
    rows = _load_json_or_jsonl(p)
    out = []
    for i, r in enumerate(rows):
        if not isinstance(r, Mapping) or "instruction" not in r or "output" not in r:
            raise ValueError(f"{p}: entry {i} is not an AlpacaEval output (needs instruction, output, generator)")
        name = model or r.get("generator")
        if not name:
            raise ValueError(f"{p}: entry {i} has no generator; pass model=... to name the model")
        output = r.get("output")
        if output is not None and not isinstance(output, str):  # written as is, every reader would refuse the store
            raise ValueError(
                f"{p}: entry {i}: output must be a string or null, got {type(output).__name__}; fix the file"
            )
        meta = {k: r[k] for k in ("dataset",) if k in r}
        out.append(ImportedResponse(str(name), str(r["instruction"]), output, None, 0, meta or None))
    return out


def _turn_text(t: Any) -> str | None:
    if t is None:
        return None
    if isinstance(t, str):
        return t
    if isinstance(t, Mapping):
        c = t.get("content", t.get("answer"))
        if isinstance(c, Mapping):  # Arena-Hard v2: {"answer": ..., "reasoning": ...}
            c = c.get("answer")
        return None if c is None else str(c)
    return str(t)


def read_questions(path: str | os.PathLike[str]) -> dict[str, list[str]]:
    """MT-Bench / Arena-Hard question file: id -> list of user turns."""
    out: dict[str, list[str]] = {}
    p = Path(path)
    for i, q in enumerate(_load_json_or_jsonl(p)):
        if not isinstance(q, Mapping):
            raise ValueError(f"{p}: question {i} is not an object")
        qid = q.get("question_id", q.get("uid"))
        if qid is None:
            raise ValueError(f"{p}: question {i} has no question_id/uid")
        if "turns" in q:
            if not isinstance(q["turns"], list):
                raise ValueError(f"{p}: question {qid}: turns must be a list")
            turns = [_turn_text(t) or "" for t in q["turns"]]
        elif "prompt" in q:
            turns = [str(q["prompt"])]
        else:
            raise ValueError(f"{p}: question {qid} has neither turns nor prompt")
        out[str(qid)] = turns
    return out


def read_fastchat_answers(
    path: str | os.PathLike[str],
    *,
    questions: str | os.PathLike[str] | Mapping[str, list[str]] | None = None,
    model: str | None = None,
) -> list[ImportedResponse]:
    """Read MT-Bench / Arena-Hard answer JSONL (one record per turn and choice)."""
    p = Path(path)
    qs = read_questions(questions) if isinstance(questions, (str, os.PathLike)) else (questions or {})
    out = []
    for i, a in enumerate(_load_json_or_jsonl(p)):
        if not isinstance(a, Mapping):
            raise ValueError(f"{p}: line {i + 1} is not an object")
        qid = a.get("question_id", a.get("uid"))
        name = model or a.get("model_id") or a.get("model")
        if qid is None or not name:
            raise ValueError(f"{p}: line {i + 1} lacks question_id/uid or model_id/model; pass model=... if needed")
        qid = str(qid)
        q_turns = qs.get(qid)
        if "choices" in a:
            choices = []
            raw_choices = a["choices"]
            if not isinstance(raw_choices, list) or not all(isinstance(c, Mapping) for c in raw_choices):
                raise ValueError(f"{p}: line {i + 1}: choices must be a list of objects with turns")
            for j, c in enumerate(raw_choices):
                turns, idx = c.get("turns", []), c.get("index", j)
                if not isinstance(turns, list):
                    raise ValueError(f"{p}: line {i + 1}: choices[{j}].turns must be a list of answers")
                if isinstance(idx, bool) or not isinstance(idx, int):  # a text "0" is not an answer index
                    raise ValueError(f"{p}: line {i + 1}: choices[{j}].index must be an integer >= 0, got {idx!r}")
                _sample_index(idx, f"{p}: line {i + 1}: choices[{j}].index")
                choices.append((idx, [_turn_text(t) for t in turns]))
        elif "messages" in a:  # Arena-Hard v2
            msgs = a["messages"]
            if not isinstance(msgs, list) or not all(isinstance(m, Mapping) for m in msgs):
                raise ValueError(f"{p}: line {i + 1}: messages must be a list of {{role, content}} objects")
            users = [_turn_text(m) for m in msgs if m.get("role") == "user"]
            asst = [_turn_text(m) for m in msgs if m.get("role") == "assistant"]
            if q_turns is None and users:
                q_turns = [u or "" for u in users]
            choices = [(0, asst)]
        else:
            raise ValueError(f"{p}: line {i + 1} has neither choices nor messages")
        for sample, turns in choices:
            multi = len(turns) > 1
            for t, text in enumerate(turns):
                prompt = q_turns[t] if q_turns is not None and t < len(q_turns) else None
                nid = f"{qid}:t{t + 1}" if multi else qid
                meta = {"question_id": qid, "turn": t + 1}
                if "answer_id" in a or "ans_id" in a:
                    meta["answer_id"] = a.get("answer_id", a.get("ans_id"))
                out.append(ImportedResponse(str(name), prompt, text, nid, sample, meta))
    return out


def _sample_index(v: Any, where: str) -> int:
    """A sample index read from a source: an integer 0..MAX_SAMPLE, or a
    text or a whole float that is one (CSV gives text, a Parquet column with
    nulls gives floats). Anything else is refused: int() would truncate 0.5
    onto sample 0 and drop a record as a duplicate, or write a sample that
    every reader of the store then refuses."""
    if isinstance(v, float) and v.is_integer() and 0 <= v <= MAX_SAMPLE:
        v = int(v)
    elif isinstance(v, str) and v.strip().isdigit():
        v = int(v.strip())
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_SAMPLE:
        raise ValueError(f"{where} must be an integer between 0 and {MAX_SAMPLE}, got {v!r}; fix the source file")
    return v


def _read_table_rows(path: Path) -> list[dict[str, Any]]:
    from .._io import read_rows

    return [dict(r) for r in read_rows(path, what="table")]


def read_table(
    path: str | os.PathLike[str],
    *,
    model: str | None = None,
    model_column: str | None = None,
    prompt_column: str | None = "prompt",
    response_column: str = "response",
    id_column: str | None = None,
    sample_column: str | None = None,
    meta_columns: Iterable[str] = (),
) -> list[ImportedResponse]:
    """Generic JSONL / JSON / CSV / TSV / Parquet with a column mapping.

    Give either ``model`` (one model for the whole file) or ``model_column``.
    """
    if (model is None) == (model_column is None):
        raise ValueError("give exactly one of model=NAME (whole file) or model_column=COLUMN")
    p = Path(path)
    rows = _read_table_rows(p)
    need = [c for c in (model_column, prompt_column, response_column, id_column, sample_column) if c]
    if rows:
        missing = [c for c in need if c not in rows[0]]
        if missing:
            raise ValueError(f"{p}: columns {missing} not found; it has {sorted(rows[0])}. Map them with --map")
    if prompt_column is None and id_column is None:
        raise ValueError("need prompt_column or id_column to know which prompt a response answers")
    out = []
    for i, r in enumerate(rows):
        name = model if model is not None else r.get(model_column)  # type: ignore[arg-type]
        resp = r.get(response_column)
        if isinstance(resp, float) and resp != resp:  # NaN from CSV/Parquet nulls
            resp = None
        meta = {c: r.get(c) for c in meta_columns} or None
        out.append(
            ImportedResponse(
                str(name),
                None if prompt_column is None or r.get(prompt_column) is None else str(r[prompt_column]),
                None if resp is None else str(resp),
                None if id_column is None or r.get(id_column) in (None, "") else str(r[id_column]),
                (
                    _sample_index(r[sample_column], f"{p}: row {i + 1}: column {sample_column!r} (the sample index)")
                    if sample_column and r.get(sample_column) not in (None, "")
                    else 0
                ),
                meta,
            )
        )
    return out


# --------------------------------------------------------------------------
# Writing into a store
# --------------------------------------------------------------------------
@dataclass
class ImportReport:
    store: str
    read: int = 0
    imported: int = 0
    skipped_existing: int = 0
    duplicates: int = 0
    matched_by_text: int = 0
    unmatched: int = 0
    dropped: int = 0
    models: dict[str, int] = field(default_factory=dict)

    def format_text(self) -> str:
        ms = ", ".join(f"{m}={n}" for m, n in sorted(self.models.items()))
        return (
            f"import: read {self.read}, imported {self.imported}, already in store {self.skipped_existing}, "
            f"duplicates {self.duplicates}, joined by text {self.matched_by_text}, unmatched {self.unmatched} "
            f"(dropped {self.dropped}) -> {self.store}" + (f"\n  models: {ms}" if ms else "")
        )


def _as_index(prompts: Any) -> PromptIndex | None:
    if prompts is None or isinstance(prompts, PromptIndex):
        return prompts
    if isinstance(prompts, (str, os.PathLike)):
        return PromptIndex.from_file(prompts)
    if isinstance(prompts, Mapping):
        return PromptIndex(prompts)
    raise TypeError("prompts must be a PromptIndex, a prompt file path or a mapping id -> text")


def resolve_ids(
    items: Iterable[ImportedResponse],
    *,
    prompts: PromptIndex | Mapping[str, str] | str | os.PathLike[str] | None = None,
    unmatched: str = "hash",
    ids: str = "native",
    report: ImportReport | None = None,
) -> Iterator[tuple[str, ImportedResponse]]:
    """Yield ``(prompt_id, item)`` following the join rules of this module."""
    if unmatched not in UNMATCHED_POLICIES:
        raise ValueError(f"unmatched must be one of {UNMATCHED_POLICIES}, got {unmatched!r}")
    if ids not in ID_POLICIES:
        raise ValueError(f"ids must be one of {ID_POLICIES}, got {ids!r}")
    index = _as_index(prompts)
    for it in items:
        if index is not None:
            if it.prompt is None:
                raise ValueError(
                    f"cannot join {it.model!r} answer {it.native_id!r} by prompt text: the source has no prompt "
                    "text (for MT-Bench / Arena-Hard pass the question file with questions=/--questions)"
                )
            pid = index.lookup(it.prompt)
            if pid is not None:
                if report is not None:
                    report.matched_by_text += 1
                yield pid, it
                continue
            if report is not None:
                report.unmatched += 1
            if unmatched == "error":
                raise ValueError(
                    f"{it.model!r}: prompt {it.prompt[:60]!r}... is not in the prompt set; "
                    "use unmatched='hash' or 'drop' to import or skip such records"
                )
            if unmatched == "drop":
                if report is not None:
                    report.dropped += 1
                continue
            yield text_id(it.prompt), it
            continue
        if it.native_id is not None and ids == "native":
            yield it.native_id, it
        elif it.prompt is not None:
            yield text_id(it.prompt), it
        else:
            raise ValueError(f"{it.model!r}: a record has neither an id nor prompt text; map an id or prompt column")


def import_responses(
    items: Iterable[ImportedResponse],
    store: str | os.PathLike[str],
    *,
    source: str,
    prompts: PromptIndex | Mapping[str, str] | str | os.PathLike[str] | None = None,
    unmatched: str = "hash",
    ids: str = "native",
) -> ImportReport:
    """Append imported responses to ``store`` (skipping keys it already has)."""
    items = list(items)
    rep = ImportReport(store=str(store), read=len(items))
    existing = set(latest_records(store))
    seen_now: set[tuple[str, str, int]] = set()
    resolved = list(resolve_ids(items, prompts=prompts, unmatched=unmatched, ids=ids, report=rep))
    with ResponseStore(store) as st:
        for pid, it in resolved:
            key = (it.model, pid, it.sample)
            # "twice in this import" is a duplicate whether or not the first
            # copy was written; "already there from before" is skipped_existing
            if key in seen_now:
                rep.duplicates += 1
                continue
            seen_now.add(key)
            if key in existing:
                rep.skipped_existing += 1
                continue
            rec = make_record(
                it.model,
                pid,
                it.sample,
                it.response,
                None if it.response is not None else "no output in the source file",
                error_kind=None if it.response is not None else "missing",
                source=f"import:{source}",
                prompt=it.prompt,
                meta=it.meta,
            )
            st.append(rec)
            existing.add(key)
            rep.imported += 1
            rep.models[it.model] = rep.models.get(it.model, 0) + 1
    return rep


def _import(items: list[ImportedResponse], store: Any, source: str, **kw: Any) -> ImportReport:
    return import_responses(items, store, source=source, **kw)


def import_alpaca_eval(
    path: str | os.PathLike[str], store: str | os.PathLike[str], *, model: str | None = None, **kw: Any
) -> ImportReport:
    """Import an AlpacaEval ``model_outputs.json``. Keyword arguments as
    :func:`import_responses` (``prompts``, ``unmatched``, ``ids``)."""
    return _import(read_alpaca_eval(path, model=model), store, "alpaca_eval", **kw)


def import_arena_hard(
    path: str | os.PathLike[str],
    store: str | os.PathLike[str],
    *,
    questions: str | os.PathLike[str] | Mapping[str, list[str]] | None = None,
    model: str | None = None,
    **kw: Any,
) -> ImportReport:
    """Import Arena-Hard (v0.1 or v2) answer JSONL."""
    return _import(read_fastchat_answers(path, questions=questions, model=model), store, "arena_hard", **kw)


def import_mt_bench(
    path: str | os.PathLike[str],
    store: str | os.PathLike[str],
    *,
    questions: str | os.PathLike[str] | Mapping[str, list[str]] | None = None,
    model: str | None = None,
    **kw: Any,
) -> ImportReport:
    """Import MT-Bench answer JSONL (one record per turn)."""
    return _import(read_fastchat_answers(path, questions=questions, model=model), store, "mt_bench", **kw)


def import_table(
    path: str | os.PathLike[str],
    store: str | os.PathLike[str],
    *,
    model: str | None = None,
    model_column: str | None = None,
    prompt_column: str | None = "prompt",
    response_column: str = "response",
    id_column: str | None = None,
    sample_column: str | None = None,
    meta_columns: Iterable[str] = (),
    **kw: Any,
) -> ImportReport:
    """Import a generic JSONL / CSV / Parquet table with a column mapping."""
    items = read_table(
        path,
        model=model,
        model_column=model_column,
        prompt_column=prompt_column,
        response_column=response_column,
        id_column=id_column,
        sample_column=sample_column,
        meta_columns=meta_columns,
    )
    return _import(items, store, "table", **kw)


def detect_kind(path: str | os.PathLike[str]) -> str:
    """Guess a file's format from its first record."""
    from .._io import read_text

    p = Path(path)
    suf = p.suffix.lower()
    if suf in (".csv", ".tsv", ".parquet", ".pq"):
        return "table"
    if suf not in (".json", ".jsonl", ".ndjson"):
        raise ValueError(f"{p}: unsupported file type {suf!r}; use .jsonl, .json, .csv, .tsv or .parquet")
    s = read_text(p, "input").lstrip()
    first: Any = None
    try:
        if s.startswith("["):
            data = json.loads(s)
            first = data[0] if isinstance(data, list) and data else None
        else:
            first = json.loads(s.splitlines()[0]) if s else None
    except (ValueError, IndexError, RecursionError):
        raise ValueError(f"{p}: cannot read a first JSON record; pass --kind explicitly or fix the file") from None
    if isinstance(first, Mapping):
        if {"instruction", "output"} <= first.keys():
            return "alpaca_eval"
        choices = first.get("choices")
        if isinstance(choices, list) and ("question_id" in first or "uid" in first):
            c0 = choices[0] if choices and isinstance(choices[0], Mapping) else {}
            t = c0.get("turns", [])
            return "arena_hard" if isinstance(t, list) and t and isinstance(t[0], Mapping) else "mt_bench"
        if "messages" in first and "uid" in first:
            return "arena_hard"
    return "table"


__all__ = [
    "ID_POLICIES",
    "KINDS",
    "UNMATCHED_POLICIES",
    "ImportReport",
    "ImportedResponse",
    "PromptIndex",
    "detect_kind",
    "import_alpaca_eval",
    "import_arena_hard",
    "import_mt_bench",
    "import_responses",
    "import_table",
    "normalize_prompt",
    "read_alpaca_eval",
    "read_fastchat_answers",
    "read_questions",
    "read_table",
    "resolve_ids",
    "text_id",
]
