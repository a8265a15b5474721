"""Identity registry: families, vendors, aliases, user files, target resolution."""

from __future__ import annotations

import json

import pytest

from distillscope.identity.claims import classify
from distillscope.identity.registry import Registry


@pytest.fixture(scope="module")
def reg() -> Registry:
    return Registry.default()


# --------------------------------------------------------------------------- registry


def test_registry_size_and_languages(reg):
    assert len(reg.families) >= 25
    with_zh = [f for f in reg.families.values() if f.aliases_zh or reg.vendors[f.vendor].aliases_zh]
    assert len(with_zh) >= 25
    for f in reg.families.values():
        assert f.vendor in reg.vendors
        assert f.aliases or f.ambiguous, f.id


@pytest.mark.parametrize(
    "name, family",
    [
        ("qwen2.5-72b-instruct", "qwen"),
        ("Qwen/Qwen2-7B-Instruct", "qwen"),
        ("gpt-4o-2024-08-06", "gpt"),
        ("claude-3-opus-20240229", "claude"),
        ("meta-llama/Llama-3-70b", "llama"),
        ("deepseek-chat", "deepseek"),
        ("glm-4-9b-chat", "glm"),
        ("gemini-1.5-pro", "gemini"),
        ("mistral-large-latest", "mistral"),
        ("ernie", "ernie"),
    ],
)
def test_target_resolution(reg, name, family):
    assert reg.target(name).family == family


def test_target_vendor_and_unknown(reg):
    t = reg.target("anthropic")
    assert t.family is None and t.vendor == "anthropic" and t.country == "US"
    with pytest.raises(ValueError, match="registry"):
        reg.target("totally-unknown-model-xyz")
    with pytest.raises(ValueError):
        reg.target("  ")


def test_alias_matching_rules(reg):
    ids = lambda s: [(e.kind, e.id) for e in reg.find(s)]  # noqa: E731
    assert ids("I am CHATGPT") == [("family", "gpt")]
    assert ids("based on gpt-4o") == [("family", "gpt")]
    assert ids("Qwen2.5 model") == [("family", "qwen")]  # version suffix allowed
    assert ids("Qwenology") == []  # word boundary
    assert ids("superclaude") == [] and ids("claude") == []  # ambiguous: only as written
    assert ids("Claude") == [("family", "claude")]
    assert ids("the llama grazed") == [] and ids("Llama") == [("family", "llama")]
    assert ids("我是通义千问") == [("family", "qwen")]
    assert ids("阿里巴巴集团") == [("vendor", "alibaba")]  # longest alias wins
    assert ids("Mistral AI") == [("vendor", "mistral_ai")]


def test_registry_user_file_merge(tmp_path, reg):
    j = tmp_path / "reg.json"
    j.write_text(
        json.dumps(
            {
                "vendors": {
                    "acme": {
                        "name": "Acme Labs",
                        "country": "US",
                        "aliases": ["Acme Labs", "Acme"],
                        "aliases_zh": ["阿克米"],
                    }
                },
                "families": {
                    "roadrunner": {
                        "name": "RoadRunner",
                        "vendor": "acme",
                        "aliases": ["RoadRunner"],
                        "aliases_zh": ["走鹃"],
                    },
                    "qwen": {"add_aliases": ["Qwen-Max-Special"]},
                },
            }
        ),
        encoding="utf-8",
    )
    r2 = Registry.load(j)
    assert "roadrunner" in r2.families and "gpt" in r2.families
    assert r2.target("roadrunner-v2").family == "roadrunner"
    assert "Qwen" in r2.families["qwen"].aliases and "Qwen-Max-Special" in r2.families["qwen"].aliases
    v = classify("I am RoadRunner, made by Acme Labs.", "roadrunner", registry=r2)
    assert v.verdict == "consistent"
    v = classify("我是走鹃。", "qwen", registry=r2)
    assert v.verdict == "contradicts" and v.strict
    assert r2.signature() != reg.signature()
    # the default registry is untouched
    assert "roadrunner" not in Registry.default().families

    t = tmp_path / "reg.toml"
    t.write_text('[families.gpt]\nrelated_vendors = ["microsoft", "amazon"]\n', encoding="utf-8")
    r3 = Registry.load(t)
    assert r3.families["gpt"].related_vendors == ("microsoft", "amazon")
    assert r3.families["gpt"].aliases == reg.families["gpt"].aliases


def test_registry_bad_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"families": {"x": {"aliases": ["X1"]}}}', encoding="utf-8")
    with pytest.raises(ValueError, match="vendor"):
        Registry.load(bad)
    bad.write_text('{"families": {"x": {"vendor": "nobody", "aliases": ["X1"]}}}', encoding="utf-8")
    with pytest.raises(ValueError, match="not in the registry"):
        Registry.load(bad)
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="JSON"):
        Registry.load(bad)
    bad.write_text('{"model": {}}', encoding="utf-8")
    with pytest.raises(ValueError, match="unknown registry key"):
        Registry.load(bad)
    with pytest.raises(FileNotFoundError):
        Registry.load(tmp_path / "missing.json")
