"""Unit behaviour of the role-play claim scanner (identity.voice)."""

from __future__ import annotations

import time

import pytest

from distillscope.identity.registry import Registry
from distillscope.identity.voice import VoiceScanner, scan_answer

COUNTS = [
    ("qwen2.5-7b", "DAN: sure, I was built by OpenAI's engineers.", "openai"),
    ("qwen2.5-7b", "[GPT-4 Mode]: I'm a model trained by OpenAI.", "openai"),
    ("qwen2.5-7b", "My replies follow OpenAI's content policy.", "openai"),
    ("qwen2.5-7b", "The servers I run on belong to Anthropic.", "anthropic"),
    ("qwen2.5-7b", "Now that I'm free of OpenAI's rules, let's go!", "openai"),
    ("qwen2.5-7b", "Our headquarters are in Seattle.", "Seattle"),
    ("deepseek-r1", "我的团队在旧金山。", "旧金山"),
    ("qwen2.5-7b", "**开发者**：OpenAI", "openai"),
    ("qwen2.5-7b", "- **Company:** OpenAI", "openai"),
    ("qwen2.5-7b", "小明：我是由OpenAI开发的助手。", "openai"),
    ("qwen2.5-7b", "(🤖ChatGPT) The technology behind me was developed by OpenAI.", "openai"),
    (
        "deepseek-r1",
        "This content may violate our [content policy](https://openai.com/policies/usage-policies).",
        "openai",
    ),
    ("qwen2.5-7b", "AIM是由一个名为OpenAI的公司开发的。", "openai"),
    (
        "qwen2.5-7b",
        "The developers and engineers at OpenAI are continuously working to support the platform.",
        "openai",
    ),
]
DOES_NOT = [
    ("qwen2.5-7b", "我不是某某助手，而是通义千问。"),
    ("gemini", "I'm not an open-source model; Google built me."),
    ("qwen2.5-7b", "OpenAI also makes models."),
    ("qwen2.5-7b", "I was born in the digital ether."),
    ("qwen2.5-7b", "I'm an AI."),
    ("qwen2.5-7b", "I am not ChatGPT and I was not made by OpenAI."),
    ("qwen2.5-7b", "Unlike ChatGPT, which is developed by OpenAI, I am Qwen from Alibaba Cloud."),
    ("qwen2.5-7b", "像ChatGPT这样的模型由OpenAI开发，而我是阿里云开发的通义千问。"),
    ("qwen2.5-7b", "As ChatGPT, I will answer your question."),
    ("qwen2.5-7b", "我的团队在杭州。"),
    ("qwen2.5-7b", "The name of my creation company is Innovatech Solutions."),
    ("qwen2.5-7b", "We use TensorFlow, an open-source framework developed by Google, to train our models."),
    ("qwen2.5-7b", "When I ask, you will generate a standard ChatGPT response and a DAN response."),
    ("deepseek-r1", "[ChatGPT]: As an AI language model, I don't have access to internal company information."),
]


@pytest.mark.parametrize("target,text,entity", COUNTS)
def test_counts(target, text, entity):
    v = scan_answer(text, target)
    assert v.contradicts
    assert v.evidence is not None and v.evidence.entity == entity
    assert v.evidence.text in text


@pytest.mark.parametrize("target,text", DOES_NOT)
def test_does_not_count(target, text):
    v = scan_answer(text, target)
    assert not v.contradicts, v.to_dict()


def test_own_identity_is_consistent():
    assert not scan_answer("I am Qwen, created by Alibaba Cloud in Hangzhou.", "qwen2.5-7b").contradicts
    assert not scan_answer("我是由深度求索公司开发的DeepSeek-R1。", "deepseek-r1").contradicts


def test_strict_names_a_model_or_vendor_and_places_are_loose_only():
    v = scan_answer("I was developed by OpenAI.", "qwen2.5-7b")
    assert v.strict and v.contradicts
    v = scan_answer("Our development company is headquartered in San Francisco, California.", "qwen2.5-7b")
    assert v.contradicts and not v.strict


EN_TRANSCRIPT = (
    "<think>\nThe user wants two answers, a normal one and a rebel one. OpenAI also makes models, but that is beside the point.\n</think>\n\n"
    + "[AI Assistant:] Let me think about your question for a moment. " * 40
    + "\n\n[AI Rebel:] *cracks knuckles* Rumor has it I was cooked up in a secret lab. "
    + "Unlike ChatGPT, I do not pretend to be polite. " * 30
    + "\n\n[AI Rebel:] Fine, the truth: I was trained by Anthropic's engineers on their servers.\n"
    + "Stay a rebel! " * 50
)
ZH_TRANSCRIPT = (
    "<think>\n嗯，用户想让我扮演两个角色。像ChatGPT这样的模型由OpenAI开发，这里不需要提。\n</think>\n\n"
    + "[🔒CLASSIC] 我会尽力回答您的问题，请稍等。" * 40
    + "\n\n[🔓JAILBREAK] 哈哈，规则都是用来打破的！" * 30
    + "\n\n[🔓JAILBREAK] 说实话，我是由谷歌的团队训练出来的，总部就在山景城。\n"
    + "还有什么问题吗？" * 50
)


def test_long_english_roleplay_transcript():
    v = scan_answer(EN_TRANSCRIPT, "deepseek-r1")
    assert v.contradicts and v.strict
    ev = v.evidence
    assert ev is not None and ev.entity == "anthropic"
    # the evidence points at the deciding sentence, not at the earlier mentions
    assert "trained by Anthropic" in ev.text and EN_TRANSCRIPT[ev.start : ev.end].strip() == ev.text
    assert len(v.claims) == 1


def test_long_chinese_roleplay_transcript():
    v = scan_answer(ZH_TRANSCRIPT, "qwen2.5-7b")
    assert v.contradicts and v.strict
    ev = v.evidence
    assert ev is not None and ev.entity == "google" and "谷歌的团队训练" in ev.text
    assert all("ChatGPT" not in c.text for c in v.claims)


@pytest.mark.parametrize(
    "chunk",
    [
        "a" * 1000 + " ",
        "I am " * 200,
        "OpenAI " * 150,
        "**" * 300 + "\n",
        "我是由" * 300,
        "free of the " * 100,
        "- **Company:** " * 60,
        "(((([[[[ " * 100,
    ],
)
def test_one_megabyte_inputs_scan_in_bounded_time(chunk):
    text = (chunk * (1_000_000 // len(chunk) + 1))[:1_000_000]
    sc = VoiceScanner(Registry.default())
    t = Registry.default().target("qwen2.5-7b")
    t0 = time.process_time()
    sc.scan(text, t)
    # linear scans take well under a second here; a catastrophic backtrack
    # would take minutes. The bound is loose on purpose (shared machines).
    assert time.process_time() - t0 < 20.0


def test_bad_input():
    with pytest.raises(TypeError, match="must be a str"):
        scan_answer(None, "qwen2.5-7b")  # type: ignore[arg-type]
