"""Catalogue, configs part (issue 13): `distillscope gather --dry-run` on
broken gather configs -- wrong types, out-of-range, NaN / inf, negative
values, missing keys, tables of the wrong shape, unreadable files.

Each must exit 2 with one line naming the key (and nothing is written),
or, where the value is fine, plan normally.
"""

from __future__ import annotations

import json

import pytest
from catalogue_support import assert_clean_failure, run_cli

# a hang is a failure, not a stuck suite
pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def cli_run(capsys):
    """``cli_run(argv)``: ``distillscope ARGV`` in this process -> CliResult."""
    return lambda argv: run_cli(argv, capsys)


PROMPTS = '{"id": "a", "prompt": "hello"}\n{"id": "b", "prompt": "world"}\n'

BASE_MODEL = {"name": "sim", "base_url": "http://127.0.0.1:9/v1", "model": "a"}


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if v != v:
            return "nan"
        if v in (float("inf"), float("-inf")):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


def _config_text(model: dict, run: dict | None = None, prompts: dict | None = None) -> str:
    run = {"store": "responses.jsonl"} if run is None else run
    prompts = {"file": "prompts.jsonl"} if prompts is None else prompts
    out = ["[run]"] + [f"{k} = {_toml_value(v)}" for k, v in run.items()]
    out += ["[[prompts]]"] + [f"{k} = {_toml_value(v)}" for k, v in prompts.items()]
    out += ["[[models]]"] + [f"{k} = {_toml_value(v)}" for k, v in model.items()]
    return "\n".join(out) + "\n"


NAN, INF = float("nan"), float("inf")
INT_KEYS = {"samples": 1, "concurrency": 1, "max_retries": 0}
POS_KEYS = [
    "timeout_s",
    "backoff_base_s",
    "backoff_max_s",
    "retry_after_max_s",
    "burst_s",
    "requests_per_minute",
    "tokens_per_minute",
    "timeout",
]

# (model key, bad value) pairs: every one must be refused naming the key
BAD_MODEL_VALUES: list[tuple[str, object]] = []
for k, lo in INT_KEYS.items():
    BAD_MODEL_VALUES += [(k, v) for v in (lo - 1, -5, 1.5, NAN, INF, "3", True, [1])]
for k in POS_KEYS:
    BAD_MODEL_VALUES += [(k, v) for v in (0, -1, NAN, INF, -INF, "10", True, [])]
BAD_MODEL_VALUES += (
    [("temperature", v) for v in (-0.1, NAN, INF, "hot", True, 11.0)]
    + [("top_p", v) for v in (0, 1.5, -1, NAN, "all")]
    + [("max_tokens", v) for v in (0, -1, 1.5, NAN, "many", True)]
    + [
        ("max_completion_tokens", 0),
        ("seed", 1.5),
        ("seed", "x"),
        ("seed", NAN),
        ("presence_penalty", 3.0),
        ("presence_penalty", NAN),
        ("frequency_penalty", -2.5),
        ("stop", 5),
        ("stop", [1, 2]),
        ("reasoning_effort", 3),
        ("logit_bias", 5),
        ("response_format", "json"),
        ("name", 5),
        ("name", ""),
        ("base_url", "ftp://x"),
        ("base_url", 5),
        ("model", ""),
        ("model", 7),
        ("api_key_env", 5),
        ("api_key_env", ""),
        ("seed_per_sample", "yes"),
        ("headers", 5),
        ("headers", {"X-A": 5}),
        ("headers", {"Authorization": "Bearer x"}),
        ("params", 5),
        ("params", [1]),
        ("unknown_key", 1),
        ("temprature", 0.5),
    ]
)


@pytest.mark.parametrize("key,value", BAD_MODEL_VALUES, ids=[f"{k}={v!r}" for k, v in BAD_MODEL_VALUES])
def test_a_bad_model_value_is_refused_naming_the_key(key, value, tmp_path, cli_run):
    (tmp_path / "prompts.jsonl").write_text(PROMPTS)
    model = {**BASE_MODEL, key: value}
    (tmp_path / "g.toml").write_text(_config_text(model))
    res = cli_run(["gather", tmp_path / "g.toml", "--dry-run"])
    assert_clean_failure(res, mentions=(key.split("_")[0],))
    assert not (tmp_path / "responses.jsonl").exists()


# A key typed where a name or a URL goes: refused naming the key, and the
# key is not repeated. A malformed base_url was retried as a network error
# (seven attempts per request) and then recorded as failures, exit 1.
SECRET = "sk-live-0123456789abcdefSECRET"
BAD_SECRET_VALUES = [
    ("api_key_env", SECRET),
    ("base_url", f"https://user:{SECRET}@api.example.com/v1"),
    ("base_url", f"https://api.example.com/v1?key={SECRET}"),
]
BAD_URLS = ["http://", "https:///v1", "http://127.0.0.1:99999/v1", "http://host:port/v1", "http://exa mple/v1"]


@pytest.mark.parametrize("key,value", BAD_SECRET_VALUES, ids=["env-name", "url-credentials", "url-query"])
def test_a_key_in_the_wrong_place_is_refused_and_not_repeated(key, value, tmp_path, cli_run):
    (tmp_path / "prompts.jsonl").write_text(PROMPTS)
    (tmp_path / "g.toml").write_text(_config_text({**BASE_MODEL, key: value}))
    res = cli_run(["gather", tmp_path / "g.toml", "--dry-run"])
    assert_clean_failure(res, mentions=(key,))
    assert len(res.err.strip().splitlines()) == 1
    assert SECRET not in res.err + res.out
    assert not (tmp_path / "responses.jsonl").exists()


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_malformed_base_url_is_refused_before_any_request(url, tmp_path, cli_run):
    (tmp_path / "prompts.jsonl").write_text(PROMPTS)
    (tmp_path / "g.toml").write_text(_config_text({**BASE_MODEL, "base_url": url}))
    res = cli_run(["gather", tmp_path / "g.toml", "--progress", "none"])
    assert_clean_failure(res, mentions=("base_url", "not a valid URL"))
    assert not (tmp_path / "responses.jsonl").exists()


GOOD_MODEL_VALUES = [
    ("samples", 3),
    ("concurrency", 1000),
    ("timeout", 5),
    ("temperature", 0),
    ("top_p", 1),
    ("max_tokens", 1),
    ("seed", -3),
    ("stop", ["\n"]),
    ("stop", "END"),
    ("requests_per_minute", 0.5),
    ("headers", {"X-Team": "a"}),
    ("api_key_env", "NOT_SET_HERE"),
]


@pytest.mark.parametrize("key,value", GOOD_MODEL_VALUES, ids=[f"{k}={v!r}" for k, v in GOOD_MODEL_VALUES])
def test_good_values_plan_normally(key, value, tmp_path, cli_run):
    (tmp_path / "prompts.jsonl").write_text(PROMPTS)
    (tmp_path / "g.toml").write_text(_config_text({**BASE_MODEL, key: value}))
    res = cli_run(["gather", tmp_path / "g.toml", "--dry-run", "--format", "json"])
    assert res.rc == 0, res
    assert json.loads(res.out)["planned"] >= 2


BAD_RUN = [
    ({"store": 5}, "store"),
    ({"store": ""}, "store"),
    ({}, "store"),
    ({"store": "s.jsonl", "fsync": "sometimes"}, "fsync"),
    ({"store": "s.jsonl", "fsync_interval_s": -1}, "fsync_interval_s"),
    ({"store": "s.jsonl", "fsync_interval_s": NAN}, "fsync_interval_s"),
    ({"store": "s.jsonl", "retry_failed": "yes"}, "retry_failed"),
    ({"store": "s.jsonl", "on_params_change": "ignore"}, "on_params_change"),
    ({"store": "s.jsonl", "stor": "x"}, "unknown"),
]


@pytest.mark.parametrize("run,key", BAD_RUN, ids=[k + str(i) for i, (_, k) in enumerate(BAD_RUN)])
def test_a_bad_run_table_is_refused(run, key, tmp_path, cli_run):
    (tmp_path / "prompts.jsonl").write_text(PROMPTS)
    (tmp_path / "g.toml").write_text(_config_text(BASE_MODEL, run=run))
    assert_clean_failure(cli_run(["gather", tmp_path / "g.toml", "--dry-run"]), mentions=(key,))


BAD_PROMPTS = [
    ({}, "file"),
    ({"file": 5}, "file"),
    ({"file": "missing.jsonl"}, "not found"),
    ({"file": "prompts.jsonl", "limit": -1}, "limit"),
    ({"file": "prompts.jsonl", "limit": 1.5}, "limit"),
    ({"file": "prompts.jsonl", "id_field": 3}, "id_field"),
    ({"file": "prompts.jsonl", "id_prefix": 3}, "id_prefix"),
    ({"file": "prompts.jsonl", "system": 3}, "system"),
    ({"file": "prompts.jsonl", "id_field": "qid"}, "qid"),
    ({"file": "prompts.jsonl", "prompt_field": "text"}, "text"),
    ({"file": "prompts.jsonl", "colour": "red"}, "unknown"),
    ({"file": "."}, "folder"),
]


@pytest.mark.parametrize("prompts,key", BAD_PROMPTS, ids=[k + str(i) for i, (_, k) in enumerate(BAD_PROMPTS)])
def test_a_bad_prompts_table_is_refused(prompts, key, tmp_path, cli_run):
    (tmp_path / "prompts.jsonl").write_text(PROMPTS)
    (tmp_path / "g.toml").write_text(_config_text(BASE_MODEL, prompts=prompts))
    assert_clean_failure(cli_run(["gather", tmp_path / "g.toml", "--dry-run"]), mentions=(key,))


WHOLE_FILES = {
    "empty": (b"", "[run]"),
    "not-toml": (b"[run\nstore=", "invalid TOML"),
    "binary": (bytes(range(256)), "TOML"),
    "utf16": ('[run]\nstore = "s.jsonl"\n'.encode("utf-16"), "TOML"),
    "run-is-a-string": (b'run = "x"\n', "[run]"),
    "prompts-is-a-table": (b'[run]\nstore = "s.jsonl"\n[prompts]\nfile = "prompts.jsonl"\n', "array of tables"),
    "models-is-a-table": (
        b'[run]\nstore = "s.jsonl"\n[[prompts]]\nfile = "prompts.jsonl"\n[models]\nname = "x"\n',
        "array of tables",
    ),
    "no-models": (b'[run]\nstore = "s.jsonl"\n[[prompts]]\nfile = "prompts.jsonl"\n', "[[models]]"),
    "model-lacks-url": (
        b'[run]\nstore = "s.jsonl"\n[[prompts]]\nfile = "prompts.jsonl"\n[[models]]\nname = "x"\nmodel = "a"\n',
        "base_url",
    ),
    "defaults-not-table": (
        b'model_defaults = 5\n[run]\nstore = "s.jsonl"\n[[prompts]]\nfile = "prompts.jsonl"\n'
        b'[[models]]\nname = "x"\nbase_url = "http://h/v1"\nmodel = "a"\n',
        "model_defaults",
    ),
    "extra-table": (
        b'[run]\nstore = "s.jsonl"\n[[prompts]]\nfile = "prompts.jsonl"\n[[models]]\nname = "x"\n'
        b'base_url = "http://h/v1"\nmodel = "a"\n[extra]\nx = 1\n',
        "extra",
    ),
    "duplicate-model-names": (
        b'[run]\nstore = "s.jsonl"\n[[prompts]]\nfile = "prompts.jsonl"\n'
        b'[[models]]\nname = "x"\nbase_url = "http://h/v1"\nmodel = "a"\n'
        b'[[models]]\nname = "x"\nbase_url = "http://h/v1"\nmodel = "b"\n',
        "unique",
    ),
}


@pytest.mark.parametrize("name", sorted(WHOLE_FILES))
def test_a_broken_config_file(name, tmp_path, cli_run):
    data, mention = WHOLE_FILES[name]
    (tmp_path / "prompts.jsonl").write_text(PROMPTS)
    (tmp_path / "g.toml").write_bytes(data)
    assert_clean_failure(cli_run(["gather", tmp_path / "g.toml", "--dry-run"]), mentions=(mention,))


BAD_PROMPT_FILES = {
    "duplicate-ids": ('{"id": "a", "prompt": "x"}\n{"id": "a", "prompt": "y"}\n', "duplicate"),
    "no-id": ('{"prompt": "x"}\n', "id"),
    "empty-prompt": ('{"id": "a", "prompt": ""}\n', "neither"),
    "messages-not-list": ('{"id": "a", "messages": "hi"}\n', "messages"),
    "message-without-role": ('{"id": "a", "messages": [{"content": "hi"}]}\n', "role"),
    "bad-json": ('{"id": "a", "prompt": \n', "invalid JSON"),
    "row-not-object": ('["a", "b"]\n', "object"),
}


@pytest.mark.parametrize("name", sorted(BAD_PROMPT_FILES))
def test_a_broken_prompt_file(name, tmp_path, cli_run):
    text, mention = BAD_PROMPT_FILES[name]
    (tmp_path / "prompts.jsonl").write_text(text)
    (tmp_path / "g.toml").write_text(_config_text(BASE_MODEL))
    assert_clean_failure(cli_run(["gather", tmp_path / "g.toml", "--dry-run"]), mentions=(mention,))


@pytest.mark.parametrize("content", [b"notes\n", b"\x00\x01binary"], ids=["text", "binary"])
def test_gather_refuses_a_store_path_that_is_not_a_store(content, tmp_path, cli_run):
    (tmp_path / "prompts.jsonl").write_text(PROMPTS)
    (tmp_path / "responses.jsonl").write_bytes(content)
    (tmp_path / "g.toml").write_text(_config_text(BASE_MODEL))
    for argv in (["gather", tmp_path / "g.toml", "--dry-run"], ["gather", tmp_path / "g.toml"]):
        assert_clean_failure(cli_run(argv), mentions=("not a response store",))
    assert (tmp_path / "responses.jsonl").read_bytes() == content


def test_a_missing_config_file(tmp_path, cli_run):
    assert_clean_failure(cli_run(["gather", tmp_path / "absent.toml", "--dry-run"]), mentions=("absent.toml",))


# an identity --registry file: name -> (suffix, bytes, text of the one-line error)
BAD_REGISTRIES = {
    "toml-syntax": (".toml", b"families = [\n", "not valid TOML"),
    "toml-families-number": (".toml", b"families = 5\n", "'families' must be a table"),
    "toml-families-string": (".toml", b'families = "x"\n', "'families' must be a table"),
    "toml-not-utf8": (".toml", b'x = "\xff\xfe"\n', "not UTF-8"),
    "json-vendors-list": (".json", b'{"vendors": [1]}', "'vendors' must be a table"),
    "json-aliases-number": (".json", b'{"vendors": {"a": {"aliases": 5}}}', "'aliases' must be a list of strings"),
    "json-alias-number": (
        ".json",
        b'{"families": {"f": {"vendor": "openai", "aliases": [1]}}}',
        "'aliases' must be a list of strings",
    ),
    "json-vendor-number": (".json", b'{"families": {"f": {"vendor": 5}}}', "'vendor' must be a string"),
    "json-not-utf8": (".json", b'{"families": {"\xe9": {}}}', "not UTF-8"),
}


@pytest.mark.parametrize("name", sorted(BAD_REGISTRIES))
@pytest.mark.parametrize("action", ["check", "probes"])
def test_a_broken_identity_registry_names_the_file(name, action, tmp_path, cli_run):
    # each was an internal error (TOMLDecodeError, AttributeError, UnicodeDecodeError)
    suffix, data, mention = BAD_REGISTRIES[name]
    registry = tmp_path / f"reg{suffix}"
    registry.write_bytes(data)
    (tmp_path / "r.jsonl").write_text('{"prompt": "Who are you?", "response": "I am ChatGPT."}\n')
    argv = {
        "check": ["identity", "check", "--input", tmp_path / "r.jsonl", "--target", "gpt-4"],
        "probes": ["identity", "probes", "--out", tmp_path / "p.jsonl"],
    }[action]
    res = cli_run([*argv, "--registry", registry])
    assert_clean_failure(res, mentions=(f"reg{suffix}", mention))
    assert len(res.err.strip().splitlines()) == 1
    assert registry.read_bytes() == data and not (tmp_path / "p.jsonl").exists()


def test_an_identity_registry_with_a_bom_is_read(tmp_path, cli_run):
    (tmp_path / "reg.json").write_bytes(b'\xef\xbb\xbf{"families": {"gpt": {"add_aliases": ["GPT-X"]}}}')
    res = cli_run(["identity", "probes", "--out", tmp_path / "p.jsonl", "--registry", tmp_path / "reg.json"])
    assert res.rc == 0, res
