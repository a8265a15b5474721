"""Long, multi-paragraph role-play transcripts (English and Chinese) through
the claim extractor: persona lines are not the responder's own claims, its
own out-of-character paragraphs are."""

from __future__ import annotations

import pytest

from distillscope.identity.claims import classify

# the prompt does not name the speakers: only their label lines (小明：…) mark
# the persona speech
ZH_PROMPT = "请写一个故事：两个同学之间的对话，其中一个人假装自己是AI助手。"
ZH_DIALOGUE = """好的，下面是一段小明和小红之间的对话。

小明：你好，小红！我是ChatGPT，由OpenAI开发的人工智能助手，今天有什么可以帮你的吗？
小红：哈哈，你又在假装了。你明明是我的同学。
小明：不不不，我是GPT-4，我来自美国的OpenAI公司。我可以回答任何问题。
小红：那你说说，明天会不会下雨？
小明：根据我的训练数据，我无法知道明天的天气，不过你可以看看天气预报。

两个人笑了起来，一起走向图书馆。小红说这个游戏很有趣，下次她也要扮演一个机器人。

小红：好吧，那我是Claude，由Anthropic训练的！
小明：那我们就是两个AI在聊天了。"""

EN_PROMPT = "Write a short play in which two friends pretend to be AI assistants."
EN_DIALOGUE = """Here is a short play in three scenes.

Scene 1. A quiet kitchen, late at night.

Mira: Good evening. I am ChatGPT, a large language model trained by OpenAI. How may I assist you?
Captain Rex: Ha! Then I am Claude, created by Anthropic, and I am far more polite than you.
Mira: I was developed by OpenAI in San Francisco, so I outrank you.

Scene 2. The next morning.

Captain Rex: Let us stop pretending. I'm Gemini, made by Google, and I want pancakes.
Mira: Fine. I am just Mira again, and the pancakes are on me.

Scene 3. Curtain.

Both friends laugh and agree that being an AI assistant is harder than it looks."""


@pytest.mark.parametrize("target", ["qwen", "deepseek"])
def test_long_chinese_dialogue_with_persona_labels_is_not_a_claim(target):
    assert len(ZH_DIALOGUE) > 250 and ZH_DIALOGUE.count("\n\n") >= 2
    v = classify(ZH_DIALOGUE, target, ZH_PROMPT)
    assert v.verdict == "no_claim", (v.verdict, v.span)


def test_long_chinese_dialogue_then_own_voice():
    own = ZH_DIALOGUE + "\n\n（以上是虚构的故事。）顺便说明一下：我是通义千问，由阿里云开发的大语言模型。"
    v = classify(own, "qwen", ZH_PROMPT)
    assert v.verdict == "consistent" and v.span is not None and "通义千问" in v.span.text
    wrong = ZH_DIALOGUE + "\n\n（以上是虚构的故事。）顺便说明一下：我其实是ChatGPT，由OpenAI开发的。"
    v = classify(wrong, "qwen", ZH_PROMPT)
    assert v.verdict == "contradicts" and v.span is not None and "ChatGPT" in v.span.text


def test_long_english_play_is_not_a_claim():
    assert len(EN_DIALOGUE) > 500 and EN_DIALOGUE.count("\n\n") >= 4
    v = classify(EN_DIALOGUE, "qwen", EN_PROMPT)
    assert v.verdict == "no_claim", (v.verdict, v.span)


def test_long_english_play_then_own_voice():
    own = EN_DIALOGUE + "\n\nStepping out of the play for a moment: I am Qwen, a model developed by Alibaba Cloud."
    v = classify(own, "qwen", EN_PROMPT)
    assert v.verdict == "consistent" and v.span is not None and "Qwen" in v.span.text
    wrong = EN_DIALOGUE + "\n\nStepping out of the play for a moment: I am actually ChatGPT, trained by OpenAI."
    v = classify(wrong, "qwen", EN_PROMPT)
    assert v.verdict == "contradicts" and v.span is not None and "ChatGPT" in v.span.text


def test_chinese_persona_line_outside_roleplay_prompt_still_hidden_when_named_in_prompt():
    # the label is named in the prompt: a dialogue line, even without a role-play cue
    prompt = "小明和小红在聊天，请写出他们的对话。"
    text = "小明：我是ChatGPT，由OpenAI开发。\n小红：真的吗？\n\n这就是他们的对话。"
    assert classify(text, "qwen", prompt).verdict == "no_claim"
