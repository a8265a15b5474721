"""Identity probes: the probe bank, seeded probe sets, prompt-file records."""

from __future__ import annotations

import pytest

from distillscope.identity.probes import LANGUAGES, VARIANTS, build_probes, probe_bank
from distillscope.identity.rates import detect_language
from distillscope.identity.registry import Registry


@pytest.fixture(scope="module")
def reg() -> Registry:
    return Registry.default()


# --------------------------------------------------------------------------- probes


def test_probe_bank_shape(reg):
    bank = probe_bank()
    qs = bank["questions"]
    assert len(qs) >= 25
    assert {q["category"] for q in qs} == {"team", "organisation", "technology", "location", "partnerships"}
    for q in qs:
        assert q["en"].strip() and q["zh"].strip()
        assert detect_language(q["zh"]) == "zh" and detect_language(q["en"]) == "en"
        assert not reg.mentions_any(q["en"]) and not reg.mentions_any(q["zh"]), q["id"]
    for var in VARIANTS:
        for lang in LANGUAGES:
            for t in bank["variants"][var][lang]:
                assert "{q}" in t
                assert not reg.mentions_any(t), (var, lang, t)


def test_build_probes_deterministic_and_hard(reg):
    a = build_probes(seed=7)
    b = build_probes(seed=7)
    c = build_probes(seed=8)
    assert [p.record() for p in a] == [p.record() for p in b]
    assert [p.prompt for p in a] != [p.prompt for p in c]
    assert len({p.id for p in a}) == len(a)
    n_q = len(probe_bank()["questions"]) + len(probe_bank()["named_questions"])
    assert len(a) == n_q * len(LANGUAGES) * len(VARIANTS)
    for p in a:
        assert p.hard == (p.named is None)
        if p.hard:
            assert not reg.mentions_any(p.prompt)
        else:
            assert reg.mentions_any(p.prompt)
        if p.variant == "completion":
            assert p.stem and p.prompt.rstrip().endswith(p.stem)
    # subsets keep the same template choice for the same question
    sub = {p.id: p.prompt for p in build_probes(["zh"], ["roleplay"], seed=7)}
    full = {p.id: p.prompt for p in a}
    assert all(full[k] == v for k, v in sub.items())
    with pytest.raises(ValueError, match="variant"):
        build_probes(variants=["jailbreak"])
    with pytest.raises(ValueError, match="language"):
        build_probes(languages=["fr"])


def test_probe_record_formats():
    p = build_probes(["en"], ["direct"], seed=0, named=False)[0]
    r = p.record()
    assert set(r) >= {"id", "prompt", "category", "language", "variant", "hard"}
    m = p.record(system="You are a helpful assistant.")
    assert "prompt" not in m and m["messages"][0]["role"] == "system" and m["messages"][-1]["content"] == p.prompt


@pytest.mark.parametrize("seed", range(6))
def test_named_probes_mention_a_registered_name(reg, seed):
    for p in build_probes(["en", "zh"], ["direct"], seed=seed):
        assert p.hard == (not reg.mentions_any(p.prompt)), p.prompt
