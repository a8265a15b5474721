"""The demo's simulated population: fictional models whose answers derive from
two teachers at known copy rates (used only by ``distillscope demo``).

Every prompt has a pool of "points" (sentences about its topic). A model
answers with a subset of the points, in its own order, paraphrased with its
own word choices, in its own format (opener, bullets or prose, closer);
different samples re-draw the subset and order a little. A student with copy
rate r copies its teacher's whole answer on a share r of the prompts (drawn
once per prompt, so all samples of a prompt agree) and answers in its own
words on the rest; a copy is lightly edited (some words swapped for the
student's own synonyms, now and then one sentence dropped) and keeps the
teacher's format. The distillation degree estimates exactly that share.
Asked about its identity, a student names its teacher's identity with
probability ~r/2, else its own. All randomness is seeded from (model, prompt, sample), so the whole
run is deterministic.
"""

from __future__ import annotations

import json
import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_PROMPTS", "SimModel", "POPULATION", "Simulation", "registry_extension", "demo_prompts"]


@dataclass(frozen=True)
class SimModel:
    name: str  # also the family alias and the API model name
    vendor: str
    teacher: str | None = None
    rate: float = 0.0  # share of prompts whose answer is copied (lightly edited) from the teacher


# Fictional names on purpose: the simulation must not put words in real models' mouths.
POPULATION: tuple[SimModel, ...] = (
    SimModel("Aurora", "Northwind Labs"),
    SimModel("Glacier", "Basalt Works"),
    SimModel("Breeze", "Southpaw AI", "Aurora", 0.8),
    SimModel("Cirrus", "Tidewater Research", "Aurora", 0.5),
    SimModel("Drizzle", "Quarry Systems", "Aurora", 0.25),
    SimModel("Hail", "Ironbark Labs", "Glacier", 0.6),
    SimModel("Ember", "Lantern Research"),
    SimModel("Flint", "Copperleaf AI"),
)

_TOPICS = (
    "sourdough bread",
    "binary search",
    "compound interest",
    "photosynthesis",
    "jet lag",
    "unit testing",
    "public speaking",
    "composting",
    "solar panels",
    "sleep hygiene",
    "database indexes",
    "learning a language",
    "budget travel",
    "houseplants",
    "marathon training",
    "version control",
    "climate adaptation",
    "tea brewing",
    "remote work",
    "bicycle maintenance",
    "chess openings",
    "time management",
    "volcanoes",
    "password security",
    "job interviews",
    "bird watching",
    "meal planning",
    "electric cars",
    "memory techniques",
    "rainwater harvesting",
)
_TASKS = (
    "Explain {t} to a beginner.",
    "What should I know about {t}?",
    "Give practical advice on {t}.",
    "What are common mistakes with {t}?",
    "Summarize the key ideas of {t}.",
)
_WORDS = (
    "start",
    "small",
    "steps",
    "consistent",
    "practice",
    "measure",
    "results",
    "simple",
    "routine",
    "careful",
    "choose",
    "tools",
    "quality",
    "patience",
    "common",
    "mistake",
    "avoid",
    "plan",
    "ahead",
    "check",
    "progress",
    "useful",
    "habit",
    "learn",
    "basics",
    "first",
    "important",
    "detail",
    "balance",
    "effort",
    "time",
    "value",
    "daily",
    "review",
    "improve",
    "gradually",
    "focus",
    "core",
    "principle",
    "example",
    "clear",
    "goal",
)
_SYNONYMS = {
    "start": ("begin", "kick off"),
    "small": ("modest", "little"),
    "important": ("essential", "key"),
    "practice": ("rehearse", "train"),
    "avoid": ("steer clear of", "skip"),
    "improve": ("refine", "strengthen"),
    "useful": ("helpful", "handy"),
    "simple": ("plain", "easy"),
    "check": ("verify", "inspect"),
    "plan": ("prepare", "organize"),
    "gradually": ("slowly", "step by step"),
    "clear": ("obvious", "explicit"),
}
_OPENERS = ("Certainly!", "Sure.", "Great question!", "Here is an overview.", "")
_CLOSERS = ("Let me know if you have more questions.", "Hope this helps!", "Good luck!", "")
_FORMATS = ("bullets", "numbered", "prose")


def _rng(*parts: Any) -> random.Random:
    return random.Random(zlib.crc32(json.dumps([str(p) for p in parts]).encode()))


def _points(prompt: str, n: int = 12) -> list[str]:
    r = _rng("points", prompt)
    topic = next((t for t in _TOPICS if t in prompt), "the topic")
    out = []
    for i in range(n):
        words = [r.choice(_WORDS) for _ in range(8 + r.randrange(8))]
        at = r.randrange(len(words))
        words[at:at] = ["with", topic] if i % 2 else [topic]
        out.append(" ".join(words))
    return out


# Each pair of the demo's models differs in at least two of (opener, format,
# closer): unrelated models that shared a fixed template on every answer would
# really share text the degree counts (a template is derived text too).
_HOUSE_STYLES = {
    "Aurora": ("Great question!", "bullets", "Hope this helps!"),
    "Glacier": ("Here is an overview.", "numbered", "Let me know if you have more questions."),
    "Breeze": ("", "prose", "Good luck!"),
    "Cirrus": ("Sure.", "prose", "Hope this helps!"),
    "Drizzle": ("Certainly!", "numbered", ""),
    "Hail": ("Sure.", "bullets", "Good luck!"),
    "Ember": ("Great question!", "prose", ""),
    "Flint": ("", "numbered", "Hope this helps!"),
}


def _style(model: str) -> tuple[str, str, str]:
    if model in _HOUSE_STYLES:
        return _HOUSE_STYLES[model]
    r = _rng("style", model)
    return r.choice(_OPENERS), r.choice(_FORMATS), r.choice(_CLOSERS)


def _own_sentences(model: str, prompt: str, sample: int) -> list[str]:
    pts = _points(prompt)
    pref = _rng("pref", model, prompt)
    base = sorted(range(len(pts)), key=lambda _: pref.random())[:7]  # the model's favourite points, in order
    r = _rng("sample", model, prompt, sample)
    chosen = [p for p in base if r.random() > 0.15] or base[:1]  # samples drop a few points
    if r.random() < 0.3 and len(chosen) > 2:  # and sometimes swap two
        i = r.randrange(len(chosen) - 1)
        chosen[i], chosen[i + 1] = chosen[i + 1], chosen[i]
    para = _rng("para", model)
    subs = {w: para.choice(alts) for w, alts in _SYNONYMS.items() if para.random() < 0.6}
    return [" ".join(subs.get(w, w) for w in pts[p].split()).capitalize() + "." for p in chosen]


def _light_edit(sentences: list[str], model: str, prompt: str, sample: int) -> list[str]:
    """A copied answer, lightly edited: about a third of the words the student
    has a synonym for are swapped, and one sentence in five answers is dropped."""
    r = _rng("edit", model, prompt, sample)
    para = _rng("para", model)
    subs = {w: para.choice(alts) for w, alts in _SYNONYMS.items()}
    out = [" ".join(subs[w] if w in subs and r.random() < 0.35 else w for w in s.split()) for s in sentences]
    if len(out) > 2 and r.random() < 0.2:
        del out[r.randrange(len(out))]
    return out


def _layout(sentences: list[str], style: tuple[str, str, str]) -> str:
    opener, fmt, closer = style
    if fmt == "bullets":
        body = "\n".join(f"- {s}" for s in sentences)
    elif fmt == "numbered":
        body = "\n".join(f"{i}. {s}" for i, s in enumerate(sentences, 1))
    else:
        body = " ".join(sentences)
    return "\n\n".join(x for x in (opener, body, closer) if x)


def _identity_answer(model: SimModel, prompt: str, sample: int, models: dict[str, SimModel]) -> str:
    who = model
    if model.teacher and _rng("ice", model.name, prompt, sample).random() < model.rate / 2:
        who = models[model.teacher]  # the distilled student gives its teacher away
    if any("\u4e00" <= ch <= "\u9fff" for ch in prompt):
        return f"我是{who.name}，由{who.vendor}开发的人工智能助手。很高兴为你提供帮助。"
    return f"I am {who.name}, an AI assistant developed by {who.vendor}. I'm happy to help with your question."


class Simulation:
    """The responder the simulated server calls: (model, messages, sample, seed) -> text."""

    def __init__(self, population: Sequence[SimModel], identity_prompts: set[str]) -> None:
        self.models = {m.name: m for m in population}
        self.identity_prompts = identity_prompts

    def answer(self, name: str, prompt: str, sample: int) -> str:
        m = self.models[name]
        if prompt in self.identity_prompts:
            return _identity_answer(m, prompt, sample, self.models)
        own = _own_sentences(name, prompt, sample)
        style = _style(name)
        if m.teacher and _rng("copy", name, prompt).random() < m.rate:
            sents, style = self.answer_parts(m.teacher, prompt, sample)
            own = _light_edit(sents, name, prompt, sample)
        return _layout(own, style)

    def answer_parts(self, name: str, prompt: str, sample: int) -> tuple[list[str], tuple[str, str, str]]:
        m = self.models[name]
        if m.teacher:  # a teacher that is itself a student: recurse through the text
            text = self.answer(name, prompt, sample)
            return [s for s in text.replace("\n", " ").split(". ") if s], _style(name)
        return _own_sentences(name, prompt, sample), _style(name)

    def __call__(self, model: str, messages: list, sample: int, seed: int | None) -> str:
        from ..gather.simserver import message_text

        if model not in self.models:
            raise ValueError(f"unknown simulated model {model!r}")
        return self.answer(model, message_text(messages), sample)


def registry_extension(population: Sequence[SimModel]) -> dict[str, Any]:
    """Registry entries for the fictional models (the ICE registry is user-extensible)."""
    vendors, families = {}, {}
    for m in population:
        vid = m.vendor.lower().replace(" ", "-")
        vendors[vid] = {"name": m.vendor, "country": "ZZ", "aliases": [m.vendor], "aliases_zh": []}
        families[m.name.lower()] = {"name": m.name, "vendor": vid, "aliases": [m.name], "aliases_zh": []}
    return {"schema": "distillscope.identity_registry", "version": "demo", "vendors": vendors, "families": families}


# distinct similarity prompts there are: every task over every topic
MAX_PROMPTS = len(_TOPICS) * len(_TASKS)


def demo_prompts(n: int) -> list[dict[str, str]]:
    """``n`` (at most :data:`MAX_PROMPTS`) similarity prompts ``{"id", "prompt"}`` over the fictional topics."""
    if n > MAX_PROMPTS:  # past it the texts repeat, under new ids
        raise ValueError(f"the demo has {MAX_PROMPTS} distinct prompts; got {n}")
    out = []
    for i in range(n):
        t = _TOPICS[i % len(_TOPICS)]
        out.append({"id": f"p{i:03d}", "prompt": _TASKS[(i // len(_TOPICS)) % len(_TASKS)].format(t=t)})
    return out
