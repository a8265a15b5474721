"""Importers: AlpacaEval (real files), MT-Bench / Arena-Hard, generic tables."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from distillscope import cli
from distillscope.store.importers import (
    PromptIndex,
    detect_kind,
    import_alpaca_eval,
    import_arena_hard,
    import_mt_bench,
    import_table,
    normalize_prompt,
    read_fastchat_answers,
    text_id,
)
from distillscope.store.store import read_records
from distillscope.store.table import load_table


@pytest.fixture(scope="module")
def alpaca_dir(shared_data) -> Path:
    return shared_data / "alpaca_eval"


def test_normalize_and_text_id():
    assert normalize_prompt("  Hello\n\tworld  ") == "Hello world"
    assert text_id("Hello world") == text_id("Hello \n world ")
    assert text_id("Hello world") != text_id("Hello  World")
    # NFC: composed and decomposed accents are the same prompt
    assert text_id("caf\u00e9") == text_id("cafe\u0301")


def test_alpaca_eval_real_files_join_across_models(alpaca_dir, tmp_path):
    store = tmp_path / "s.jsonl"
    files = ["zephyr-7b-beta.json", "gpt4_1106_preview.json", "gpt4_1106_preview_concise.json"]
    for f in files:
        rep = import_alpaca_eval(alpaca_dir / f, store)
        assert rep.read == rep.imported == 805
    raw = json.loads((alpaca_dir / "zephyr-7b-beta.json").read_text())
    t = load_table(store)
    assert list(t.models) == ["gpt4_1106_preview", "gpt4_1106_preview_concise", "zephyr-7b-beta"]
    assert len(t) == 3 * 805
    ids, resp = t.aligned()
    assert len(ids) == 805  # the prompt order differs between files; the text join lines them up
    by_id = {text_id(r["instruction"]): r for r in raw}
    i0 = ids[0]
    assert resp["zephyr-7b-beta"][0] == by_id[i0]["output"]
    recs = [r for r in read_records(store) if r["model"] == "zephyr-7b-beta"]
    assert all(r["source"] == "import:alpaca_eval" and r["meta"]["dataset"] for r in recs)
    assert all(r["params_hash"] is None and r["error"] is None for r in recs)
    # idempotent
    rep = import_alpaca_eval(alpaca_dir / files[0], store)
    assert rep.imported == 0 and rep.skipped_existing == 805
    assert len(list(read_records(store))) == 3 * 805


def test_alpaca_eval_join_to_own_prompt_ids_with_messy_whitespace(alpaca_dir, tmp_path):
    raw = json.loads((alpaca_dir / "tulu-2-dpo-70b.json").read_text())
    # our prompt set: different ids, different order, mangled whitespace
    rows = [{"id": f"q{i:03d}", "prompt": "  " + r["instruction"].replace(" ", "  \n ") + "\t"} for i, r in enumerate(raw)]
    rows.reverse()
    (tmp_path / "prompts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    store = tmp_path / "s.jsonl"
    rep = import_alpaca_eval(alpaca_dir / "Yi-34B-Chat.json", store, prompts=tmp_path / "prompts.jsonl")
    assert rep.matched_by_text == 805 and rep.unmatched == 0 and rep.imported == 805
    yi = {normalize_prompt(r["instruction"]): r["output"] for r in json.loads((alpaca_dir / "Yi-34B-Chat.json").read_text())}
    for rec in read_records(store):
        i = int(rec["prompt_id"][1:])
        assert rec["response"] == yi[normalize_prompt(raw[i]["instruction"])]
    # unmatched policies with a partial prompt set
    (tmp_path / "few.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:100]))
    rep = import_alpaca_eval(alpaca_dir / "Yi-34B-Chat.json", tmp_path / "drop.jsonl", prompts=tmp_path / "few.jsonl",
                             unmatched="drop")
    assert (rep.imported, rep.dropped) == (100, 705)
    rep = import_alpaca_eval(alpaca_dir / "Yi-34B-Chat.json", tmp_path / "hash.jsonl", prompts=tmp_path / "few.jsonl")
    assert rep.imported == 805 and rep.unmatched == 705
    assert sum(r["prompt_id"].startswith("h:") for r in read_records(tmp_path / "hash.jsonl")) == 705
    with pytest.raises(ValueError, match="not in the prompt set"):
        import_alpaca_eval(alpaca_dir / "Yi-34B-Chat.json", tmp_path / "err.jsonl", prompts=tmp_path / "few.jsonl",
                           unmatched="error")


def test_cli_import_alpaca_eval(alpaca_dir, tmp_path, capsys):
    store = tmp_path / "s.jsonl"
    rc = cli.main(["import", str(alpaca_dir / "mistral-large-2402.json"), str(alpaca_dir / "Qwen1.5-72B-Chat.json"),
                   "--store", str(store), "--format", "json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert [o["kind"] for o in out] == ["alpaca_eval", "alpaca_eval"]
    assert [o["imported"] for o in out] == [805, 805]
    assert load_table(store).summary() == {
        "Qwen1.5-72B-Chat": {"records": 805, "ok": 805},
        "mistral-large-2402": {"records": 805, "ok": 805},
    }


MT_QUESTIONS = [
    {"question_id": 81, "category": "writing", "turns": ["Write a short poem about rain.", "Now make it rhyme."]},
    {"question_id": 82, "category": "math", "turns": ["What is 2+2?", "And times 3?"]},
]
MT_ANSWERS = [
    {"question_id": 81, "answer_id": "a1", "model_id": "my-model", "tstamp": 1.0,
     "choices": [{"index": 0, "turns": ["Rain falls soft.", "Rain falls, soft and aloft."]}]},
    {"question_id": 82, "answer_id": "a2", "model_id": "my-model", "tstamp": 1.0,
     "choices": [{"index": 0, "turns": ["4", "12"]}, {"index": 1, "turns": ["four", "twelve"]}]},
]


def _jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_mt_bench_answers_multi_turn_and_samples(tmp_path):
    ans = _jsonl(tmp_path / "my-model.jsonl", MT_ANSWERS)
    q = _jsonl(tmp_path / "question.jsonl", MT_QUESTIONS)
    assert detect_kind(ans) == "mt_bench"
    store = tmp_path / "s.jsonl"
    rep = import_mt_bench(ans, store, questions=q)
    assert rep.imported == 6
    latest = {(r["prompt_id"], r["sample"]): r for r in read_records(store)}
    assert latest[("81:t2", 0)]["response"] == "Rain falls, soft and aloft."
    assert latest[("81:t2", 0)]["prompt"] == "Now make it rhyme."
    assert latest[("82:t1", 1)]["response"] == "four"
    assert latest[("82:t1", 0)]["meta"] == {"question_id": "82", "turn": 1, "answer_id": "a2"}
    # text join needs the prompt text
    with pytest.raises(ValueError, match="questions="):
        import_mt_bench(ans, tmp_path / "t.jsonl", prompts={"x": "What is 2+2?"})
    rep = import_mt_bench(ans, tmp_path / "t.jsonl", questions=q, prompts={"mine-1": "What  is 2+2?"}, unmatched="drop")
    assert rep.imported == 2 and {r["prompt_id"] for r in read_records(tmp_path / "t.jsonl")} == {"mine-1"}


def test_arena_hard_v01_and_v2(tmp_path):
    v01 = _jsonl(tmp_path / "gpt.jsonl", [
        {"question_id": "abc", "answer_id": "z", "model_id": "gpt-x", "tstamp": 0,
         "choices": [{"index": 0, "turns": [{"content": "Use a hash map.", "token_len": 5}]}]},
    ])
    qs = _jsonl(tmp_path / "question.jsonl", [
        {"question_id": "abc", "category": "arena-hard-v0.1", "cluster": "c", "turns": [{"content": "Fastest lookup?"}]},
    ])
    assert detect_kind(v01) == "arena_hard"
    store = tmp_path / "s.jsonl"
    rep = import_arena_hard(v01, store, questions=qs)
    assert rep.imported == 1
    (r,) = read_records(store)
    assert (r["model"], r["prompt_id"], r["response"], r["prompt"]) == ("gpt-x", "abc", "Use a hash map.", "Fastest lookup?")
    v2 = _jsonl(tmp_path / "v2.jsonl", [
        {"uid": "u1", "ans_id": "a", "model": "o-model", "tstamp": 0,
         "messages": [{"role": "user", "content": "Fastest lookup?"},
                      {"role": "assistant", "content": {"answer": "A hash table."}}]},
    ])
    assert detect_kind(v2) == "arena_hard"
    # v2 lines carry the prompt: join them to v0.1's question by text
    rep = import_arena_hard(v2, store, prompts={"abc": "Fastest  lookup?"})
    assert rep.matched_by_text == 1
    t = load_table(store)
    ids, resp = t.aligned(["gpt-x", "o-model"])
    assert list(ids) == ["abc"] and resp["o-model"][0] == "A hash table."
    items = read_fastchat_answers(v2)
    assert items[0].native_id == "u1" and items[0].prompt == "Fastest lookup?"


def test_generic_tables_with_column_mapping(tmp_path):
    csv_path = tmp_path / "out.csv"
    csv_path.write_text("who,question,answer,n\nm1,\"Hi, there\",Hello!,0\nm1,Bye,See you,1\nm2,Bye,Ciao,0\n")
    assert detect_kind(csv_path) == "table"
    store = tmp_path / "s.jsonl"
    rep = import_table(csv_path, store, model_column="who", prompt_column="question", response_column="answer",
                       sample_column="n")
    assert rep.imported == 3 and rep.models == {"m1": 2, "m2": 1}
    recs = list(read_records(store))
    assert {(r["model"], r["sample"], r["response"]) for r in recs} == {("m1", 0, "Hello!"), ("m1", 1, "See you"), ("m2", 0, "Ciao")}
    assert all(r["prompt_id"] == text_id(r["prompt"]) for r in recs)
    with pytest.raises(ValueError, match="columns \\['answer_text'\\] not found"):
        import_table(csv_path, store, model="m", prompt_column="question", response_column="answer_text")
    with pytest.raises(ValueError, match="exactly one of"):
        import_table(csv_path, store, prompt_column="question", response_column="answer")
    jl = _jsonl(tmp_path / "t.jsonl", [{"id": 7, "response": "x"}, {"id": 8, "response": None}])
    rep = import_table(jl, tmp_path / "t_store.jsonl", model="m", prompt_column=None, id_column="id")
    recs = {r["prompt_id"]: r for r in read_records(tmp_path / "t_store.jsonl")}
    assert recs["7"]["response"] == "x" and recs["8"]["error_kind"] == "missing"


def test_parquet_table_and_cli_map(tmp_path, capsys):
    pa = pytest.importorskip("pyarrow", reason="pyarrow (the parquet extra) is not installed")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"prompt_text": ["a?", "b?"], "output": ["A", "B"], "gen": ["pm", "pm"]}), tmp_path / "o.parquet")
    store = tmp_path / "s.jsonl"
    rc = cli.main(["import", str(tmp_path / "o.parquet"), "--store", str(store), "--map", "prompt=prompt_text",
                   "--map", "response=output", "--map", "model=gen"])
    assert rc == 0 and "imported 2" in capsys.readouterr().out
    assert sorted(r["response"] for r in read_records(store)) == ["A", "B"]
    assert cli.main(["import", str(tmp_path / "o.parquet"), "--store", str(store), "--map", "bogus=x"]) == 2
    assert "error: --map 'bogus=x': use FIELD=COLUMN" in capsys.readouterr().err
    assert cli.main(["import", str(tmp_path / "o.parquet"), "--store", str(store)]) == 2  # no model given
    assert "needs --model NAME or --map model=COLUMN" in capsys.readouterr().err


def test_prompt_index_rejects_ambiguous_texts():
    with pytest.raises(ValueError, match="same text"):
        PromptIndex({"a": "Hello  world", "b": "Hello world"})
    idx = PromptIndex({"a": "Hello world"})
    assert idx.lookup(" Hello\nworld ") == "a" and idx.lookup("nope") is None and len(idx) == 1


def test_duplicate_rows_within_one_file_are_written_once(tmp_path):
    rows = [
        {"model": "m1", "prompt": "Hi", "response": "Hello!", "n": 0},
        {"model": "m1", "prompt": "Hi", "response": "Hello again!", "n": 0},  # same key: a duplicate
        {"model": "m1", "prompt": "Bye", "response": "See you", "n": 0},
        {"model": "m1", "prompt": "Hi", "response": "Hello!", "n": 0},  # and again
        {"model": "m2", "prompt": "Hi", "response": "Hey", "n": 0},
    ]
    src = _jsonl(tmp_path / "dups.jsonl", rows)
    store = tmp_path / "s.jsonl"
    rep = import_table(src, store, model_column="model", prompt_column="prompt", response_column="response",
                       sample_column="n")
    assert (rep.read, rep.imported, rep.duplicates, rep.skipped_existing) == (5, 3, 2, 0)
    assert rep.models == {"m1": 2, "m2": 1}
    recs = list(read_records(store))
    keys = [(r["model"], r["prompt_id"], r["sample"]) for r in recs]
    assert len(keys) == len(set(keys)) == 3
    assert {r["response"] for r in recs if r["model"] == "m1"} == {"Hello!", "See you"}  # the first row wins
    # importing the same file again writes nothing: all keys exist from before
    rep2 = import_table(src, store, model_column="model", prompt_column="prompt", response_column="response",
                        sample_column="n")
    assert (rep2.imported, rep2.skipped_existing, rep2.duplicates) == (0, 3, 2)
    assert len(list(read_records(store))) == 3
