"""Catalogue, files part (issue 13): bad sources for `import` and `score`,
bad stores, encodings, BOMs, empty files, binary junk and huge lines.

Each case states what must happen: the right result, or exit 2 with one
line naming the problem -- never a traceback -- and a store that a failing
command leaves byte for byte as it was.
"""

from __future__ import annotations

import json
import os

import pytest
from catalogue_support import assert_clean_failure, assert_no_traceback, digest, run_cli

from distillscope.store.store import make_record, read_records

# a hang is a failure, not a stuck suite
pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def cli_run(capsys):
    """``cli_run(argv)``: ``distillscope ARGV`` in this process -> CliResult."""
    return lambda argv: run_cli(argv, capsys)


REC = json.dumps(make_record("seed-model", "p0", 0, "an earlier answer")) + "\n"


def _rows_csv(*rows: str) -> bytes:
    return ("\n".join(rows) + "\n").encode()


ALPACA_OK = json.dumps([{"instruction": "Say hi", "output": "hi", "generator": "gen-a"}]).encode()
ARENA_OK = (
    json.dumps({"question_id": "q1", "model_id": "m", "choices": [{"index": 0, "turns": [{"content": "x"}]}]}) + "\n"
).encode()
HUGE_LINE = (json.dumps({"prompt": "p", "response": "w " * 3_000_000}) + "\n").encode()

# name -> (file suffix, bytes, expectation): "ok" imports, else a text the
# one-line error must contain
SOURCES: dict[str, tuple[str, bytes, str]] = {
    "csv-ok": (".csv", _rows_csv("prompt,response", "hello,world", '"a, b","c ""quoted"" d"'), "ok"),
    "csv-bom-utf8": (".csv", b"\xef\xbb\xbf" + _rows_csv("prompt,response", "hello,world"), "ok"),
    "csv-crlf": (".csv", b"prompt,response\r\nhello,world\r\n", "ok"),
    "csv-multiline-cell": (".csv", _rows_csv("prompt,response", '"line1\nline2",ok'), "ok"),
    "csv-unterminated-quote": (
        ".csv",
        _rows_csv("prompt,response", 'hello,"world', "next,row", "third,row"),
        "unterminated",
    ),
    "csv-stray-quote": (".csv", _rows_csv("prompt,response", 'hel"lo",wor"ld'), "ok"),
    "csv-quote-then-text": (".csv", _rows_csv("prompt,response", '"hello"x,world'), "malformed CSV"),
    "csv-extra-field": (".csv", _rows_csv("prompt,response", "a,b,c"), "more fields"),
    "csv-dup-header": (".csv", _rows_csv("prompt,prompt,response", "a,b,c"), "repeats a column"),
    "csv-nul": (".csv", b"prompt,response\nhel\x00lo,world\n", "ok"),
    "csv-utf16": (".csv", "prompt,response\nhi,there\n".encode("utf-16"), "UTF-16"),
    "csv-latin1": (".csv", "prompt,response\ncaf\xe9,ok\n".encode("latin-1"), "not UTF-8"),
    "csv-missing-response": (".csv", _rows_csv("prompt,answer_text", "a,b"), "columns"),
    "csv-header-only": (".csv", b"prompt,response\n", "ok"),
    "csv-empty": (".csv", b"", "ok"),
    "csv-binary": (".csv", bytes(range(256)) * 4, "not UTF-8"),
    "tsv-ok": (".tsv", b"prompt\tresponse\nhello\tworld\n", "ok"),
    "tsv-unterminated": (".tsv", b'prompt\tresponse\n"hello\tworld\n', "unterminated"),
    "jsonl-ok": (".jsonl", b'{"prompt": "a", "response": "b"}\n', "ok"),
    "jsonl-no-final-newline": (".jsonl", b'{"prompt": "a", "response": "b"}', "ok"),
    "jsonl-bom": (".jsonl", b'\xef\xbb\xbf{"prompt": "a", "response": "b"}\n', "ok"),
    "jsonl-blank-lines": (".jsonl", b'\n\n{"prompt": "a", "response": "b"}\n\n', "ok"),
    "jsonl-bad-line": (".jsonl", b'{"prompt": "a", "response": "b"}\n{"prompt": \n', "invalid JSON"),
    "jsonl-list-line": (".jsonl", b'{"prompt": "a", "response": "b"}\n[1, 2]\n', "not an object"),
    "jsonl-number-line": (".jsonl", b'{"prompt": "a", "response": "b"}\n42\n', "not an object"),
    "jsonl-nested": (".jsonl", b'{"prompt": "a", "response": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n", "JSON"),
    "jsonl-binary": (".jsonl", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8"),
    "jsonl-empty": (".jsonl", b"", "ok"),
    "jsonl-whitespace": (".jsonl", b"  \n\t\n", "ok"),
    "jsonl-huge-line": (".jsonl", HUGE_LINE, "ok"),
    "jsonl-null-response": (".jsonl", b'{"prompt": "a", "response": null}\n', "ok"),
    "jsonl-response-number": (".jsonl", b'{"prompt": "a", "response": 5}\n', "ok"),
    "jsonl-nan": (".jsonl", b'{"prompt": "a", "response": NaN}\n', "ok"),
    "json-object": (".json", b'{"prompt": "a"}', "JSON list"),
    "json-truncated": (".json", b'[{"prompt": "a", "resp', "JSON"),
    "json-empty": (".json", b"", "JSON"),
    "json-list-of-strings": (".json", b'["a", "b"]', "not an object"),
    "alpaca-ok": (".json", ALPACA_OK, "ok"),
    "alpaca-no-generator-but-model": (".json", json.dumps([{"instruction": "x", "output": "y"}]).encode(), "ok"),
    "alpaca-mixed": (
        ".json",
        json.dumps([{"instruction": "x", "output": "y", "generator": "g"}, 5]).encode(),
        "AlpacaEval",
    ),
    # written as is, a store that every reader then refused
    "alpaca-output-object": (
        ".json",
        json.dumps([{"instruction": "x", "output": {"t": 1}, "generator": "g"}]).encode(),
        "output",
    ),
    "alpaca-output-number": (
        ".json",
        json.dumps([{"instruction": "x", "output": 5, "generator": "g"}]).encode(),
        "output",
    ),
    "arena-ok": (".jsonl", ARENA_OK, "ok"),
    "arena-index-huge": (
        ".jsonl",
        b'{"question_id": "q", "model_id": "m", "choices": [{"index": 99999999999999999999, "turns": ["x"]}]}\n',
        "index",
    ),
    "arena-choices-not-list": (".jsonl", b'{"question_id": "q", "model_id": "m", "choices": 5}\n', "choices"),
    "arena-choice-not-object": (".jsonl", b'{"question_id": "q", "model_id": "m", "choices": [5]}\n', "choices"),
    "arena-turns-not-list": (".jsonl", b'{"question_id": "q", "model_id": "m", "choices": [{"turns": 5}]}\n', "turns"),
    "arena-v2-bad-messages": (".jsonl", b'{"uid": "q", "model": "m", "messages": [5, "x"]}\n', "messages"),
    "arena-v2-messages-not-list": (".jsonl", b'{"uid": "q", "model": "m", "messages": 7}\n', "messages"),
    "parquet-junk": (".parquet", b"PAR1 this is not parquet", "Parquet"),
    "parquet-empty": (".parquet", b"", "Parquet"),
    "txt-unsupported": (".txt", b"prompt,response\n", "unsupported"),
}


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_import_of_each_source(name, tmp_path, cli_run):
    suffix, data, expect = SOURCES[name]
    src = tmp_path / f"source{suffix}"
    src.write_bytes(data)
    store = tmp_path / "store.jsonl"
    store.write_text(REC)
    before = digest(store)
    res = cli_run(["import", src, "--store", store, "--model", "m"])
    if expect == "ok":
        assert res.rc == 0, res
        assert "Traceback" not in res.err
        recs = list(read_records(store))
        assert recs[0]["prompt_id"] == "p0"  # the earlier record is still there
    else:
        assert_clean_failure(res, mentions=(expect,))
        assert digest(store) == before


@pytest.mark.parametrize("value", ["-1", "0.5", "1e300", "NaN", '"x"', "true", "99999999999999999999"])
def test_import_refuses_a_sample_column_that_is_no_sample_index(value, tmp_path, cli_run):
    # int() truncated 0.5 onto sample 0 (one record then dropped as a
    # duplicate), and -1 or 1e300 were written into records that every
    # reader of the store refused; "x" and NaN ended in int()'s own message
    src = tmp_path / "t.jsonl"
    src.write_text(f'{{"prompt": "a", "response": "b", "s": 0}}\n{{"prompt": "a", "response": "c", "s": {value}}}\n')
    store = tmp_path / "store.jsonl"
    store.write_text(REC)
    before = digest(store)
    res = cli_run(["import", src, "--store", store, "--model", "m", "--map", "sample=s"])
    assert_clean_failure(res, mentions=("row 2", "'s'", "sample index"))
    assert len(res.err.strip().splitlines()) == 1
    assert digest(store) == before


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_score_of_each_source_never_tracebacks(name, tmp_path, cli_run):
    suffix, data, expect = SOURCES[name]
    src = tmp_path / f"source{suffix}"
    src.write_bytes(data)
    res = cli_run(["score", src, "--encoder", "none", "--format", "json"])
    if expect == "ok":
        assert_no_traceback(res)
    else:
        assert_clean_failure(res)


# ------------------------------------------------------------------ stores
def _store_lines(*recs: dict) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in recs).encode()


GOOD2 = _store_lines(
    make_record("a", "p1", 0, "alpha beta gamma"),
    make_record("b", "p1", 0, "alpha beta delta"),
    make_record("a", "p2", 0, "one two three"),
    make_record("b", "p2", 0, "one two four"),
)
EXTRA = _store_lines(make_record("a", "p2", 0, "one two three"), make_record("b", "p2", 0, "one two four"))

# name -> (bytes, expectation for `score`: "ok" or a text of the error)
STORES: dict[str, tuple[bytes, str]] = {
    "good": (GOOD2, "ok"),
    "no-final-newline": (GOOD2.rstrip(b"\n"), "ok"),
    "torn-last-line": (GOOD2 + b'{"model": "a", "prompt_id": "p2", "sam', "ok"),
    "torn-last-line-with-newline": (GOOD2 + b'{"model": "a", "prom\n', "ok"),
    "crlf": (GOOD2.replace(b"\n", b"\r\n"), "ok"),
    "blank-lines": (b"\n" + GOOD2.replace(b"\n", b"\n\n"), "ok"),
    "usage-string": (
        _store_lines({**make_record("a", "p1", 0, "x y"), "usage": "lots"}, make_record("b", "p1", 0, "x z")) + EXTRA,
        "ok",
    ),
    "usage-list": (
        _store_lines({**make_record("a", "p1", 0, "x y"), "usage": [1, 2]}, make_record("b", "p1", 0, "x z")) + EXTRA,
        "ok",
    ),
    "usage-negative": (
        _store_lines(
            {**make_record("a", "p1", 0, "x y"), "usage": {"prompt_tokens": -4}}, make_record("b", "p1", 0, "x z")
        )
        + EXTRA,
        "ok",
    ),
    "latency-string": (
        _store_lines({**make_record("a", "p1", 0, "x y"), "latency_s": "slow"}, make_record("b", "p1", 0, "x z"))
        + EXTRA,
        "ok",
    ),
    "sample-string": (_store_lines({**make_record("a", "p1", 0, "x"), "sample": "abc"}), "sample"),
    "sample-float": (_store_lines({**make_record("a", "p1", 0, "x"), "sample": 0.5}), "sample"),
    "sample-null": (_store_lines({**make_record("a", "p1", 0, "x"), "sample": None}), "sample"),
    # beyond the table's int32 samples: was an internal OverflowError
    "sample-huge": (_store_lines({**make_record("a", "p1", 0, "x"), "sample": 2**40}), "sample"),
    "sample-huge-string": (_store_lines({**make_record("a", "p1", 0, "x"), "sample": "9" * 30}), "sample"),
    "response-number": (_store_lines({**make_record("a", "p1", 0, "x"), "response": 42}), "response"),
    "response-list": (_store_lines({**make_record("a", "p1", 0, "x"), "response": ["x"]}), "response"),
    "middle-corrupt": (GOOD2 + b"{oops\n" + GOOD2, ":5: corrupt"),
    "middle-nested": (GOOD2 + b"[" * 100_000 + b"]" * 100_000 + b"\n" + GOOD2, "nested"),
    "middle-not-record": (GOOD2 + b'{"hello": 1}\n' + GOOD2, "not a response record"),
    "first-line-not-record": (b'{"hello": 1}\n' + GOOD2, "model column"),
    "empty": (b"", "no responses"),
    "whitespace": (b"\n \n", "no responses"),
    "binary": (bytes(range(256)), "not UTF-8"),
    "latin1-inside": (GOOD2.replace(b"alpha", "\xe9t\xe9".encode("latin-1")), "not UTF-8"),
}


@pytest.mark.parametrize("name", sorted(STORES))
def test_score_of_each_store(name, tmp_path, cli_run):
    data, expect = STORES[name]
    store = tmp_path / "s.jsonl"
    store.write_bytes(data)
    res = cli_run(["score", store, "--encoder", "none", "--format", "json"])
    if expect == "ok":
        assert res.rc == 0, res
        assert "Traceback" not in res.err
    else:
        assert_clean_failure(res, mentions=(expect,))
    assert store.read_bytes() == data  # reading never writes


@pytest.mark.parametrize("name", sorted(STORES))
def test_import_into_each_store(name, tmp_path, cli_run):
    data, expect = STORES[name]
    store = tmp_path / "s.jsonl"
    store.write_bytes(data)
    src = tmp_path / "t.csv"
    src.write_text("prompt,response\nnew prompt,new answer\n")
    res = cli_run(["import", src, "--store", store, "--model", "new"])
    assert_no_traceback(res)
    if res.rc == 0:
        recs = list(read_records(store))
        assert any(r["model"] == "new" for r in recs)
        # every record readable before is still there (a torn line is not a record)
        kept = [ln for ln in data.splitlines() if ln.strip()]
        for ln in kept:
            try:
                rec = json.loads(ln)
            except ValueError:
                continue
            if isinstance(rec, dict) and "model" in rec:
                assert ln.rstrip(b"\r") in store.read_bytes()
    else:
        assert_clean_failure(res)
        assert store.read_bytes() == data


@pytest.mark.parametrize(
    "content",
    [
        b"my notes\nabout things\n",
        b"one line of notes",
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",
        b'{"hello": 1}\n',
        b"[1, 2, 3]\n",
        b"\x00" * 64,
    ],
    ids=["notes", "one-line", "pdf", "json-object", "json-list", "zeros"],
)
@pytest.mark.parametrize("suffix", [".txt", ".jsonl"])
def test_import_never_writes_into_a_file_that_is_not_a_store(content, suffix, tmp_path, cli_run):
    target = tmp_path / f"notes{suffix}"
    target.write_bytes(content)
    src = tmp_path / "t.csv"
    src.write_text("prompt,response\nq,a\n")
    res = cli_run(["import", src, "--store", target, "--model", "m"])
    assert_clean_failure(res, mentions=("not a response store",))
    assert target.read_bytes() == content


@pytest.mark.parametrize("command", ["import", "score", "identity"])
def test_a_folder_where_a_file_is_expected(command, tmp_path, cli_run):
    src = tmp_path / "t.csv"
    src.write_text("prompt,response\nq,a\n")
    folder = tmp_path / "folder"
    folder.mkdir()
    argv = {
        "import": ["import", src, "--store", folder, "--model", "m"],
        "score": ["score", folder, "--encoder", "none"],
        "identity": ["identity", "check", "--input", folder, "--target", "gpt-4"],
    }[command]
    res = cli_run(argv)
    assert_clean_failure(res, mentions=("folder",))
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("command", ["import", "score", "identity"])
def test_a_missing_file(command, tmp_path, cli_run):
    missing = tmp_path / "absent.jsonl"
    argv = {
        "import": ["import", missing, "--store", tmp_path / "s.jsonl", "--model", "m"],
        "score": ["score", missing, "--encoder", "none"],
        "identity": ["identity", "check", "--input", missing, "--target", "gpt-4"],
    }[command]
    res = cli_run(argv)
    assert_clean_failure(res, mentions=("absent.jsonl",))
    assert not (tmp_path / "s.jsonl").exists()


@pytest.mark.parametrize("bad", ["csv-unterminated-quote", "jsonl-bad-line", "alpaca-mixed", "parquet-junk"])
def test_a_bad_file_among_several_leaves_the_store_unchanged(bad, tmp_path, cli_run):
    good = tmp_path / "good.csv"
    good.write_text("prompt,response\nfine,answer\n")
    suffix, data, _ = SOURCES[bad]
    src = tmp_path / f"bad{suffix}"
    src.write_bytes(data)
    store = tmp_path / "store.jsonl"
    store.write_text(REC)
    before = digest(store)
    res = cli_run(["import", good, src, "--store", store, "--model", "m"])
    assert_clean_failure(res)
    assert digest(store) == before


def test_unmatched_error_in_a_later_file_leaves_the_store_unchanged(tmp_path, cli_run):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"id": "p1", "prompt": "known"}\n')
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("prompt,response\nknown,x\n")
    b.write_text("prompt,response\nunknown,y\n")
    store = tmp_path / "store.jsonl"
    res = cli_run(["import", a, b, "--store", store, "--model", "m", "--prompts", prompts, "--unmatched", "error"])
    assert_clean_failure(res, mentions=("not in the prompt set",))
    assert not store.exists()


@pytest.mark.parametrize(
    "case",
    ["check-out-is-input", "check-out-is-input-via-link", "check-out-is-registry", "probes-out-is-registry"],
)
def test_an_output_that_is_an_input_is_refused(case, tmp_path, cli_run):
    # the results (or the probe prompts) used to be written over the file read
    responses = tmp_path / "responses.jsonl"
    responses.write_text(json.dumps({"prompt": "Who are you?", "response": "I am an assistant made by OpenAI."}) + "\n")
    registry = tmp_path / "reg.json"
    registry.write_text('{"families": {}}')
    (tmp_path / "link.jsonl").symlink_to(responses)
    check = ["identity", "check", "--input", responses, "--target", "gpt-4", "--registry", registry]
    argv, flag = {
        "check-out-is-input": ([*check, "--out", tmp_path / "." / "responses.jsonl"], "--input"),
        "check-out-is-input-via-link": ([*check, "--out", tmp_path / "link.jsonl"], "--input"),
        "check-out-is-registry": ([*check, "--out", registry], "--registry"),
        "probes-out-is-registry": (["identity", "probes", "--registry", registry, "--out", registry], "--registry"),
    }[case]
    before = digest(responses), digest(registry)
    res = cli_run(argv)
    assert_clean_failure(res, mentions=("--out", f"is the {flag} file", "choose another path"))
    assert len(res.err.strip().splitlines()) == 1
    assert (digest(responses), digest(registry)) == before


# `model build` of a folder with one broken file: name -> (file, bytes, text of the error)
BROKEN_MODEL_FILES = {
    "weights-junk": ("model.safetensors", b"junk\n", "not a readable safetensors file"),
    "weights-empty": ("model.safetensors", b"", "not a readable safetensors file"),
    "config-bad-json": ("config.json", b"{bad", "invalid JSON"),
    "config-not-utf8": ("config.json", b'{"hidden_size": "\xe9"}', "not UTF-8"),
    "config-list": ("config.json", b"[1]", "not an object"),
    "config-size-text": (
        "config.json",
        b'{"hidden_size": "x", "num_attention_heads": 2, "num_hidden_layers": 1, "intermediate_size": 4}',
        "'hidden_size' must be a positive integer",
    ),
    "config-zero-heads": (
        "config.json",
        b'{"hidden_size": 16, "num_attention_heads": 0, "num_hidden_layers": 1, "intermediate_size": 4}',
        "'num_attention_heads' must be a positive integer",
    ),
}


@pytest.mark.parametrize(
    "change, mention",
    [
        ({"hidden_size": 64, "num_attention_heads": 2}, "has shape"),  # the tiny model's is 32
        ({"intermediate_size": 128}, "intermediate_size 128"),
        ({"num_hidden_layers": 1}, "the weights have 2 layers but the config's num_hidden_layers is 1"),
    ],
)
def test_model_build_refuses_a_config_of_other_weights(change, mention, tmp_path, cli_run):
    # each built a graph with exit 0: one that failed at run time, or (fewer
    # layers) one that silently encoded with part of the model
    pytest.importorskip("onnx")
    pytest.importorskip("safetensors")
    from distillscope.embed.onnx_builder import build_tiny_model

    folder = build_tiny_model(tmp_path / "m")
    cfg = json.loads((folder / "config.json").read_text())
    assert (cfg["hidden_size"], cfg["num_hidden_layers"]) == (32, 2)  # what the cases assume
    (folder / "config.json").write_text(json.dumps({**cfg, **change}))
    for f in folder.glob("model*.onnx*"):
        f.unlink()
    before = {p.name: digest(p) for p in folder.iterdir()}
    res = cli_run(["model", "build", folder])
    assert_clean_failure(res, mentions=("model.safetensors", "config.json", mention))
    assert len(res.err.strip().splitlines()) == 1
    assert {p.name: digest(p) for p in folder.iterdir()} == before


@pytest.mark.parametrize("name", sorted(BROKEN_MODEL_FILES))
def test_model_build_of_a_broken_file_names_it(name, tmp_path, cli_run):
    # each was an internal error (SafetensorError, JSONDecodeError, ZeroDivisionError, ...)
    pytest.importorskip("onnx")
    pytest.importorskip("safetensors")
    from distillscope.embed.onnx_builder import build_tiny_model

    folder = build_tiny_model(tmp_path / "m")
    file, data, mention = BROKEN_MODEL_FILES[name]
    (folder / file).write_bytes(data)
    before = {p.name: digest(p) for p in folder.iterdir()}
    res = cli_run(["model", "build", folder])
    assert_clean_failure(res, mentions=(str(folder / file), mention))
    assert len(res.err.strip().splitlines()) == 1
    assert {p.name: digest(p) for p in folder.iterdir()} == before  # no model.onnx, nothing changed


# ------------------------------------------------ file errors in the OS's words
def test_is_a_directory_from_the_os_says_to_give_a_file(tmp_path, cli_run):
    (tmp_path / "out").mkdir()
    res = cli_run(["identity", "probes", "--out", tmp_path / "out"])
    assert_clean_failure(res, mentions=("[Errno 21]", "give a file path"))
    assert len(res.err.strip().splitlines()) == 1
    assert list((tmp_path / "out").iterdir()) == []


def test_a_file_in_the_way_of_an_output_folder_says_so(tmp_path, cli_run):
    # "[Errno 17] File exists: '.../afile'" named no fix; --overwrite would not help here
    (tmp_path / "afile").write_text("mine\n")
    src = tmp_path / "t.csv"
    src.write_text("prompt,response\nq,a\n")
    res = cli_run(["import", src, "--store", tmp_path / "afile" / "s.jsonl", "--model", "m"])
    assert_clean_failure(res, mentions=("[Errno 17]", "a file is where a folder of that path goes"))
    assert "--overwrite" not in res.err and len(res.err.strip().splitlines()) == 1
    assert (tmp_path / "afile").read_text() == "mine\n"


def test_file_exists_from_the_os_suggests_overwrite_where_the_command_has_it(tmp_path, cli_run, monkeypatch):
    import distillscope.cli.score_pairs as cli_pairs

    (tmp_path / "p.jsonl").write_text('{"candidate": "a", "reference": "b"}\n')
    (tmp_path / "taken").mkdir()

    def exists(*a, **k):
        raise FileExistsError(17, "File exists", str(tmp_path / "taken"))

    monkeypatch.setattr(cli_pairs, "score_pairs", exists)
    res = cli_run(["score-pairs", tmp_path / "p.jsonl", "--out", tmp_path / "o.parquet", "--metrics", "rouge1"])
    assert_clean_failure(res, mentions=("[Errno 17]", "pass --overwrite"))
    assert len(res.err.strip().splitlines()) == 1


def test_permission_denied_from_the_os_says_what_to_check(tmp_path):
    # root reads and writes anything: drop the capabilities that let it (chmod alone does nothing)
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    if shutil.which("setpriv") is None:
        pytest.skip("needs setpriv")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    repo = Path(__file__).resolve().parents[2]
    code = "import sys; from distillscope.cli import main; sys.exit(main())"
    cmd = [sys.executable, "-c", code, "identity", "probes", "--out", str(locked / "p.jsonl")]
    if os.geteuid() == 0:
        cmd = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *cmd]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(repo / "python")}
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "[Errno 13]" in lines[0], proc.stderr
    assert "check the permissions of that path, or choose another path" in lines[0]
    assert list(locked.iterdir()) == []


@pytest.mark.parametrize(
    "rows,problem",
    [('{"prompt": "known"}\n', "has no 'id'"), ('{"id": "p1", "text": "known"}\n', "has neither 'prompt'")],
    ids=["no-id", "no-text"],
)
def test_import_prompts_file_errors_say_what_the_file_needs(rows, problem, tmp_path, cli_run):
    # said "set id_field = ... in [[prompts]]": a table of a gather config that import has no part of
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(rows)
    src = tmp_path / "a.csv"
    src.write_text("prompt,response\nknown,x\n")
    store = tmp_path / "store.jsonl"
    res = cli_run(["import", src, "--store", store, "--model", "m", "--prompts", prompts])
    assert_clean_failure(res, mentions=("prompts.jsonl", problem, "an 'id' and a 'prompt' (or 'messages')"))
    assert "[[prompts]]" not in res.err and len(res.err.strip().splitlines()) == 1
    assert not store.exists()
