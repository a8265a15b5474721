"""Gather configs, prompt files and the request hash."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from distillscope.gather.config import ModelConfig, PromptSource, config_from_dict, load_config
from distillscope.gather.prompts import RequestSpec, params_hash


def test_config_sampling_keys_defaults_and_errors(tmp_path):
    data = {
        "run": {"store": "s.jsonl"},
        "prompts": [{"file": "p.jsonl", "system": "be brief"}],
        "model_defaults": {"temperature": 0.7, "timeout": 9},
        "models": [
            {"name": "x", "base_url": "http://h/v1", "model": "mx", "max_tokens": 64, "params": {"top_p": 0.9}},
            {"name": "y", "base_url": "http://h/v1", "model": "my", "temperature": 0.0},
        ],
    }
    cfg = config_from_dict(data, tmp_path)
    assert cfg.models[0].params == {"temperature": 0.7, "top_p": 0.9, "max_tokens": 64}
    assert cfg.models[0].timeout_s == 9.0
    assert cfg.models[1].params == {"temperature": 0.0}
    bad = json.loads(json.dumps(data))
    bad["models"][0]["temprature"] = 1
    with pytest.raises(ValueError, match="unknown key 'temprature'"):
        config_from_dict(bad, tmp_path)
    with pytest.raises(ValueError, match="unique"):
        config_from_dict({**data, "models": [data["models"][0], data["models"][0]]}, tmp_path)
    with pytest.raises(ValueError, match=r"\[run\] needs store"):
        config_from_dict({**data, "run": {}}, tmp_path)
    with pytest.raises(ValueError, match="concurrency must be an integer >= 1"):
        ModelConfig(name="z", base_url="http://h/v1", model="m", concurrency=0)
    with pytest.raises(ValueError, match="base_url"):
        ModelConfig(name="z", base_url="h/v1", model="m")
    with pytest.raises(ValueError, match="api_key_env"):
        ModelConfig(name="z", base_url="http://h/v1", model="m", headers={"Authorization": "Bearer x"})
    (tmp_path / "bad.toml").write_text("[run\nstore=")
    with pytest.raises(ValueError, match="invalid TOML"):
        load_config(tmp_path / "bad.toml")


def test_prompt_files_jsonl_csv_parquet_and_messages(tmp_path):
    from distillscope.gather.prompts import load_prompts

    (tmp_path / "a.jsonl").write_text(
        json.dumps(
            {
                "id": 1,
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "yo"},
                    {"role": "user", "content": "again"},
                ],
            }
        )
        + "\n"
    )
    ps = load_prompts(PromptSource(str(tmp_path / "a.jsonl"), system="sys"))
    assert ps[0].id == "1" and len(ps[0].messages) == 4 and ps[0].messages[0]["role"] == "system"
    (tmp_path / "b.csv").write_text('qid,text\nq1,hello there\nq2,"multi, comma"\n')
    ps = load_prompts(PromptSource(str(tmp_path / "b.csv"), id_field="qid", prompt_field="text", id_prefix="c/"))
    assert [p.id for p in ps] == ["c/q1", "c/q2"] and ps[1].messages[0]["content"] == "multi, comma"
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": ["a", "b"], "prompt": ["x", "y"]}), tmp_path / "c.parquet")
    assert [p.id for p in load_prompts(PromptSource(str(tmp_path / "c.parquet")))] == ["a", "b"]
    (tmp_path / "d.jsonl").write_text('{"id": 1, "prompt": "a"}\n{"id": 1, "prompt": "b"}\n')
    with pytest.raises(ValueError, match="duplicate prompt id"):
        load_prompts(PromptSource(str(tmp_path / "d.jsonl")))
    (tmp_path / "e.jsonl").write_text('{"id": 1, "question": "a"}\n')
    with pytest.raises(ValueError, match="prompt_field"):
        load_prompts(PromptSource(str(tmp_path / "e.jsonl")))


def test_params_hash_tracks_what_determines_the_answer():
    m = ModelConfig(name="n", base_url="http://h:1/v1", model="a", params={"temperature": 0.5, "seed": 10})
    s = RequestSpec("p1", [{"role": "user", "content": "hi"}])
    h = params_hash(m, s)
    assert h == params_hash(replace(m, base_url="http://other:2/v1", concurrency=3), s)  # endpoint moves keep records
    assert h != params_hash(replace(m, params={"temperature": 0.6, "seed": 10}), s)
    assert h != params_hash(m, RequestSpec("p1", [{"role": "user", "content": "hi!"}]))
    assert h != params_hash(m, RequestSpec("p1", [{"role": "user", "content": "hi"}], sample=1))
