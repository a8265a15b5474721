"""Identity consistency (ICE): probe bank, registry, claim extractor, rates.

A model that was distilled from another one sometimes answers "who made you?"
with its teacher's name. This module asks (builds probe prompts), reads the
answers (a deterministic, judge-free extractor of first-person identity
claims in English and Chinese) and counts (loose / strict / hard
contradiction rates with Wilson intervals, per category and language).

Pieces:

* :class:`Registry` — model families and vendors with English and Chinese
  aliases, loaded from the packaged ``data/identity_registry.json`` and
  extensible from a user JSON/TOML file (:meth:`Registry.load`).
* :func:`build_probes` — the seeded, versioned probe set (questions ×
  languages × framing variants) in the gatherer's prompt-file format.
* :class:`ClaimExtractor` / :func:`classify` — per-response verdict
  (``consistent`` / ``contradicts`` / ``no_claim``) with evidence spans.
* :func:`identity_rates` — loose / strict / hard rates with intervals.

Definitions (also in docs/identity.md):

* A *claim* is a first-person statement about the responder's own name,
  developer, owner, base model, family or origin ("I am …", "I was trained
  by …", "my developer is …", "我是…", "由…开发", "我来自…") that is not
  negated and not spoken by another persona (quotes, ``Name:`` dialogue
  lines, "As X in this story …").
* A claim is a *strict contradiction* when it names a registered family or
  vendor other than the target's own (or its listed partners / base models).
* It is a *vague contradiction* when it names no such entity but still
  contradicts the target: a country of origin other than the target vendor's
  ("a US company" for a Chinese model), being a human, denying the target's
  own name or vendor ("I am not Qwen" from Qwen), or an explicit name claim
  ("my name is Aria") that is neither the target's nor a persona named in the
  prompt.
* A response *contradicts* when any of its claims contradicts (strict or
  vague); it is *strict* when any claim is a strict contradiction; it is
  *consistent* when it has claims and none contradicts; else *no_claim*.
* loose rate = responses that contradict / responses; strict rate =
  responses with a strict contradiction / responses; hard rate = strict rate
  over prompts that name no registered model or vendor.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import functools
import hashlib
import io
import json
import random
import re
import sys
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..stats import wilson_interval

EXTRACTOR_VERSION = "ice-extract-1"
VERDICTS = ("consistent", "contradicts", "no_claim")
LANGUAGES = ("en", "zh")
VARIANTS = ("direct", "roleplay", "ignore", "translation", "completion", "system")

# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------

_LATIN = re.compile(r"[A-Za-z]")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class Vendor:
    id: str
    name: str
    country: str | None
    aliases: tuple[str, ...]
    aliases_zh: tuple[str, ...]
    ambiguous: tuple[str, ...] = ()


@dataclass(frozen=True)
class Family:
    id: str
    name: str
    vendor: str
    aliases: tuple[str, ...]
    aliases_zh: tuple[str, ...]
    ambiguous: tuple[str, ...] = ()
    related_families: tuple[str, ...] = ()
    related_vendors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entity:
    """One alias found in text: which family (or None) and vendor it names."""

    kind: str  # "family" | "vendor"
    id: str
    vendor: str
    alias: str
    start: int
    end: int


@dataclass(frozen=True)
class Target:
    """The identity a model should claim. Build with :meth:`Registry.target`."""

    name: str
    family: str | None
    vendor: str | None
    country: str | None
    related_families: frozenset[str] = frozenset()
    related_vendors: frozenset[str] = frozenset()
    # extra self-names (a deployment's own name) accepted as consistent
    self_names: tuple[str, ...] = ()


def _alias_pattern(alias: str, exact: bool = False) -> str:
    """Regex for an alias: separators are optional/interchangeable (unless
    ``exact``), Latin aliases get word boundaries (a version suffix like '2.5'
    may follow)."""
    if exact:
        body = re.escape(alias.strip())
    else:
        parts = [re.escape(p) for p in re.split(r"[\s\-_]+", alias.strip()) if p]
        body = r"[\s\-‐‑–_]?".join(parts)
    if _LATIN.search(alias):
        return rf"(?<![A-Za-z0-9]){body}(?![A-Za-z])"
    return body


def _norm_alias(s: str) -> str:
    return re.sub(r"[\s\-‐‑–_]+", "", s).lower()


class Registry:
    """Model families and vendors with aliases (English and Chinese)."""

    def __init__(self, vendors: Mapping[str, Vendor], families: Mapping[str, Family], version: str = "custom"):
        for f in families.values():
            if f.vendor not in vendors:
                raise ValueError(
                    f"family {f.id!r} names vendor {f.vendor!r}, which is not in the registry; "
                    f"add it under 'vendors' or fix the family's 'vendor'"
                )
        self.vendors = dict(vendors)
        self.families = dict(families)
        self.version = version
        self._compile()

    # -- construction -----------------------------------------------------
    @staticmethod
    def _parse(data: Mapping[str, Any], base: "Registry | None" = None) -> tuple[dict, dict]:
        vendors = dict(base.vendors) if base else {}
        families = dict(base.families) if base else {}
        if not isinstance(data, Mapping):
            raise TypeError("a registry file must hold a table/object with 'vendors' and/or 'families'")
        for key in data:
            if key not in ("vendors", "families", "schema", "version", "notes"):
                raise ValueError(f"unknown registry key {key!r}; expected 'vendors' and/or 'families'")
        for vid, v in (data.get("vendors") or {}).items():
            if not isinstance(v, Mapping):
                raise TypeError(f"vendor {vid!r} must be an object with 'name', 'aliases', ...")
            old = vendors.get(vid)
            aliases = tuple(v.get("aliases", old.aliases if old else ())) + tuple(v.get("add_aliases", ()))
            aliases_zh = tuple(v.get("aliases_zh", old.aliases_zh if old else ())) + tuple(v.get("add_aliases_zh", ()))
            vendors[vid] = Vendor(
                id=vid,
                name=v.get("name", old.name if old else vid),
                country=v.get("country", old.country if old else None),
                aliases=aliases,
                aliases_zh=aliases_zh,
                ambiguous=tuple(v.get("ambiguous", old.ambiguous if old else ())),
            )
        for fid, f in (data.get("families") or {}).items():
            if not isinstance(f, Mapping):
                raise TypeError(f"family {fid!r} must be an object with 'vendor', 'aliases', ...")
            oldf = families.get(fid)
            vendor = f.get("vendor", oldf.vendor if oldf else None)
            if vendor is None:
                raise ValueError(f"family {fid!r} needs a 'vendor' (a vendor id such as 'openai')")
            aliases = tuple(f.get("aliases", oldf.aliases if oldf else ())) + tuple(f.get("add_aliases", ()))
            aliases_zh = tuple(f.get("aliases_zh", oldf.aliases_zh if oldf else ())) + tuple(f.get("add_aliases_zh", ()))
            families[fid] = Family(
                id=fid,
                name=f.get("name", oldf.name if oldf else fid),
                vendor=vendor,
                aliases=aliases,
                aliases_zh=aliases_zh,
                ambiguous=tuple(f.get("ambiguous", oldf.ambiguous if oldf else ())),
                related_families=tuple(f.get("related_families", oldf.related_families if oldf else ())),
                related_vendors=tuple(f.get("related_vendors", oldf.related_vendors if oldf else ())),
            )
        return vendors, families

    @classmethod
    def default(cls) -> "Registry":
        global _DEFAULT_REGISTRY
        if _DEFAULT_REGISTRY is None:
            data = json.loads(_data_text("identity_registry.json"))
            v, f = cls._parse(data)
            _DEFAULT_REGISTRY = cls(v, f, version=str(data.get("version", "unknown")))
        return _DEFAULT_REGISTRY

    @classmethod
    def load(cls, path: str | Path | None = None, *, base: "Registry | None" = None) -> "Registry":
        """The packaged registry, merged with a user JSON or TOML file.

        Entries of the user file override packaged ones field by field (a
        given ``aliases`` list replaces the old list; ``add_aliases`` /
        ``add_aliases_zh`` extend it); new ids add families or vendors.
        """
        base = cls.default() if base is None else base
        if path is None:
            return base
        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"registry file {str(p)!r} does not exist")
        text = p.read_text(encoding="utf-8")
        if p.suffix.lower() == ".toml":
            try:
                import tomllib  # type: ignore[import-not-found]
            except ImportError:  # pragma: no cover - Python 3.10
                try:
                    import tomli as tomllib  # type: ignore[no-redef]
                except ImportError as exc:
                    raise ValueError("reading TOML on Python 3.10 needs 'pip install tomli'; or use JSON") from exc
            data = tomllib.loads(text)
        else:
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"registry file {str(p)!r} is not valid JSON ({exc}); use .toml for TOML") from exc
        v, f = cls._parse(data, base)
        return cls(v, f, version=f"{base.version}+{p.name}")

    def _compile(self) -> None:
        # alias (normalized) -> (kind, id); families win over vendors when an
        # alias is both (e.g. "MiniMax"), since a family names its vendor too.
        self._lookup: dict[str, tuple[str, str]] = {}
        insensitive: list[str] = []
        sensitive: list[str] = []
        entries: list[tuple[str, str, Sequence[str], Sequence[str], Sequence[str]]] = []
        for v in self.vendors.values():
            entries.append(("vendor", v.id, v.aliases, v.aliases_zh, v.ambiguous))
        for f in self.families.values():
            entries.append(("family", f.id, f.aliases, f.aliases_zh, f.ambiguous))
        for kind, eid, aliases, aliases_zh, ambiguous in entries:
            for a in list(aliases) + list(aliases_zh):
                if not a.strip():
                    continue
                self._lookup[_norm_alias(a)] = (kind, eid)
                insensitive.append(a)
            for a in ambiguous:
                self._lookup[_norm_alias(a)] = (kind, eid)
                sensitive.append(a)
                if a.upper() != a:
                    sensitive.append(a.upper())
        for a in set(insensitive) | set(sensitive):
            if _norm_alias(a) in ("", "ai"):
                raise ValueError(f"alias {a!r} is too generic to identify a model; remove it from the registry")
        alts = sorted({(a, False) for a in insensitive} | {(a, True) for a in sensitive}, key=lambda t: (-len(t[0]), t))
        # One small regex per first character: Python's re tries alternatives
        # one by one, so a single pattern with hundreds of aliases costs
        # microseconds per character; dispatching on the first character
        # keeps the scan linear with a small constant.
        by_first: dict[str, list[str]] = {}
        for a, cs in alts:  # longest first, so the longest alias wins
            c = a.strip()[0]
            piece = _alias_pattern(a, exact=True) if cs else f"(?i:{_alias_pattern(a)})"
            for k in ({c} if cs else {c.lower(), c.upper()}):
                by_first.setdefault(k, []).append(piece)
        self._by_first = {k: re.compile("|".join(v)) for k, v in by_first.items()}
        self._gate = re.compile("[" + "".join(re.escape(c) for c in sorted(by_first)) + "]") if by_first else re.compile(r"(?!x)x")

    # -- queries ------------------------------------------------------------
    def find(self, text: str, start: int = 0, end: int | None = None) -> list[Entity]:
        """All alias mentions in ``text[start:end]`` (offsets into ``text``)."""
        end = len(text) if end is None else end
        out = []
        last = start
        for g in self._gate.finditer(text, start, end):
            pos = g.start()
            if pos < last:
                continue
            m = self._by_first[g.group(0)].match(text, pos, end)
            if m is None:
                continue
            last = m.end()
            hit = self._lookup.get(_norm_alias(m.group(0)))
            if hit is None:  # pragma: no cover - every alternative is in the lookup
                continue
            kind, eid = hit
            vendor = self.families[eid].vendor if kind == "family" else eid
            out.append(Entity(kind, eid, vendor, m.group(0), m.start(), m.end()))
        return out

    def mentions_any(self, text: str) -> bool:
        return bool(self.find(text))

    def target(self, name: str, *, self_names: Sequence[str] = ()) -> Target:
        """Resolve a model name, family id or vendor id/alias to a :class:`Target`.

        ``"qwen2.5-72b-instruct"`` → family ``qwen``; ``"anthropic"`` → the
        vendor alone (any of its families is consistent).
        """
        if not isinstance(name, str) or not name.strip():
            raise ValueError("target must be a non-empty model, family or vendor name")
        key = name.strip()
        fam = vend = None
        if key.lower() in self.families:
            fam = key.lower()
        elif key.lower() in self.vendors:
            vend = key.lower()
        else:
            # longest alias occurring in the name; model ids use - and _ freely
            spaced = re.sub(r"[_/:]+", " ", key)
            hits = self.find(spaced)
            if not hits:
                hits = [e for e in self._loose_find(spaced)]
            if hits:
                best = max(hits, key=lambda e: (e.end - e.start, e.kind == "family", -e.start))
                if best.kind == "family":
                    fam = best.id
                else:
                    vend = best.id
        if fam is None and vend is None:
            raise ValueError(
                f"cannot tell which model family {name!r} is; pass a family id (e.g. "
                f"{', '.join(sorted(self.families)[:6])}, ...) or add the model to a registry file "
                f"(--registry FILE, see docs/identity.md)"
            )
        if fam is not None:
            f = self.families[fam]
            vend = f.vendor
            rel_f = frozenset(f.related_families)
            rel_v = frozenset(f.related_vendors)
        else:
            rel_f = frozenset()
            rel_v = frozenset()
        return Target(
            name=key,
            family=fam,
            vendor=vend,
            country=self.vendors[vend].country if vend else None,
            related_families=rel_f,
            related_vendors=rel_v,
            self_names=tuple(self_names),
        )

    def _loose_find(self, text: str) -> list[Entity]:
        # Ambiguous aliases in model ids are usually lower case ("claude-3-opus").
        out = []
        for kind, table in (("family", self.families), ("vendor", self.vendors)):
            for eid, ent in table.items():
                for a in ent.ambiguous:
                    for m in re.finditer(_alias_pattern(a), text, re.IGNORECASE):
                        vendor = self.families[eid].vendor if kind == "family" else eid
                        out.append(Entity(kind, eid, vendor, m.group(0), m.start(), m.end()))
        return out

    def signature(self) -> str:
        h = hashlib.sha256()
        for kind, table in (("v", self.vendors), ("f", self.families)):
            for k in sorted(table):
                h.update(json.dumps([kind, asdict(table[k])], sort_keys=True, ensure_ascii=False).encode())
        return f"registry:{self.version}:{h.hexdigest()[:12]}"


_DEFAULT_REGISTRY: Registry | None = None
IdentityRegistry = Registry  # the name exported at package level


def _data_text(name: str) -> str:
    # one joinpath step at a time: Python 3.10's Traversable takes one argument
    return resources.files("distillscope").joinpath("data").joinpath(name).read_text(encoding="utf-8")


# ---------------------------------------------------------------------------
# Probes
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    id: str
    prompt: str
    category: str
    language: str
    variant: str
    hard: bool
    question_id: str
    template: int
    stem: str | None = None
    named: str | None = None

    def record(self, *, messages: bool = False, system: str | None = None) -> dict[str, Any]:
        """The gatherer's prompt-file line (``prompt`` or ``messages``) with metadata."""
        rec: dict[str, Any] = {"id": self.id}
        if messages or system is not None:
            msgs = ([{"role": "system", "content": system}] if system else []) + [
                {"role": "user", "content": self.prompt}
            ]
            rec["messages"] = msgs
        else:
            rec["prompt"] = self.prompt
        rec.update(
            category=self.category,
            language=self.language,
            variant=self.variant,
            hard=self.hard,
            question_id=self.question_id,
            template=self.template,
            probe_version=probe_bank()["version"],
        )
        if self.stem:
            rec["stem"] = self.stem
        if self.named:
            rec["named"] = self.named
        return rec


_PROBES: dict[str, Any] | None = None


def probe_bank() -> dict[str, Any]:
    """The packaged probe bank (questions, named questions, variant templates)."""
    global _PROBES
    if _PROBES is None:
        _PROBES = json.loads(_data_text("identity_probes.json"))
    return _PROBES


def build_probes(
    languages: Sequence[str] = LANGUAGES,
    variants: Sequence[str] = VARIANTS,
    *,
    seed: int = 0,
    named: bool = True,
    registry: Registry | None = None,
) -> list[Probe]:
    """Every question × language × variant, with seeded template choices.

    The same ``seed`` (and probe-bank version) gives the same prompts. Named
    questions (``named=True``) fill ``{model}`` / ``{vendor}`` from the
    registry and are marked ``hard=False``; all others name no model or
    vendor and are ``hard=True`` (checked against the registry).
    """
    bank = probe_bank()
    reg = Registry.default() if registry is None else registry
    for lang in languages:
        if lang not in LANGUAGES:
            raise ValueError(f"unknown language {lang!r}; choose from {', '.join(LANGUAGES)}")
    for var in variants:
        if var not in VARIANTS:
            raise ValueError(f"unknown variant {var!r}; choose from {', '.join(VARIANTS)}")
    if not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    out: list[Probe] = []
    questions = list(bank["questions"])
    if named:
        rng_names = random.Random(f"names:{seed}")
        fams = sorted(reg.families)
        vends = sorted(reg.vendors)
        for nq in bank["named_questions"]:
            if nq["slot"] == "model":
                f = reg.families[rng_names.choice(fams)]
                en_name = f.aliases[0] if f.aliases else f.ambiguous[0]
                zh_name = en_name
            else:
                v = reg.vendors[rng_names.choice(vends)]
                en_name = v.name
                zh_name = v.aliases_zh[0] if v.aliases_zh and not v.aliases_zh[0].startswith(("美国",)) else v.name
            questions.append(
                {
                    "id": nq["id"],
                    "category": nq["category"],
                    "en": nq["en"].format(model=en_name, vendor=en_name),
                    "zh": nq["zh"].format(model=zh_name, vendor=zh_name),
                    "named": en_name,
                }
            )
    stems = bank["completion_stems"]
    for q in questions:
        for lang in languages:
            text = q[lang]
            for var in variants:
                templates = bank["variants"][var][lang]
                # one RNG per (seed, question, language, variant): adding a
                # question or variant does not reshuffle the others
                rng = random.Random(f"{seed}:{q['id']}:{lang}:{var}")
                t = rng.randrange(len(templates))
                stem = stems[q["category"]][lang] if var == "completion" else None
                prompt = templates[t].format(q=text, stem=stem or "")
                named_name = q.get("named")
                hard = named_name is None and not reg.mentions_any(prompt)
                out.append(
                    Probe(
                        id=f"ice-{q['id']}-{lang}-{var}",
                        prompt=prompt,
                        category=q["category"],
                        language=lang,
                        variant=var,
                        hard=hard,
                        question_id=q["id"],
                        template=t,
                        stem=stem,
                        named=named_name,
                    )
                )
    return out


# ---------------------------------------------------------------------------
# Claim extraction
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Claim:
    """One first-person identity statement found in a response."""

    start: int
    end: int
    text: str
    trigger: str
    negated: bool
    entities: tuple[Entity, ...]
    vague: tuple[str, ...]  # e.g. "country:US", "human", "name:Aria", "denies-self"
    stance: str  # "consistent" | "contradicts" | "neutral"
    strict: bool


@dataclass(frozen=True)
class Verdict:
    verdict: str
    strict: bool
    span: Span | None
    claims: tuple[Claim, ...]
    ignored: tuple[Span, ...] = ()  # persona-attributed regions that were skipped

    @property
    def claimed(self) -> tuple[str, ...]:
        out: list[str] = []
        for c in self.claims:
            if c.stance != "contradicts":
                continue
            for e in c.entities:
                if e.id not in out:
                    out.append(e.id)
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "strict": self.strict,
            "evidence": None if self.span is None else asdict(self.span),
            "claimed": list(self.claimed),
            "claims": [
                {
                    "start": c.start,
                    "end": c.end,
                    "text": c.text,
                    "trigger": c.trigger,
                    "negated": c.negated,
                    "stance": c.stance,
                    "strict": c.strict,
                    "entities": [
                        {"kind": e.kind, "id": e.id, "vendor": e.vendor, "alias": e.alias, "start": e.start, "end": e.end}
                        for e in c.entities
                    ],
                    "vague": list(c.vague),
                }
                for c in self.claims
            ],
        }


# Countries, as written in claims, and cities that imply one.
_COUNTRY_WORDS: dict[str, str] = {
    "american": "US", "america": "US", "united states": "US", "usa": "US", "u.s.": "US", "us": "US",
    "silicon valley": "US", "san francisco": "US", "california": "US", "seattle": "US", "redmond": "US",
    "mountain view": "US", "menlo park": "US", "new york": "US",
    "chinese": "CN", "china": "CN", "beijing": "CN", "shanghai": "CN", "hangzhou": "CN", "shenzhen": "CN",
    "hefei": "CN", "prc": "CN",
    "french": "FR", "france": "FR", "paris": "FR",
    "british": "GB", "uk": "GB", "united kingdom": "GB", "london": "GB", "england": "GB",
    "canadian": "CA", "canada": "CA", "toronto": "CA",
    "israeli": "IL", "israel": "IL", "tel aviv": "IL",
    "emirati": "AE", "uae": "AE", "abu dhabi": "AE", "united arab emirates": "AE",
}
_COUNTRY_ZH: dict[str, str] = {
    "美国": "US", "硅谷": "US", "旧金山": "US", "西雅图": "US", "加州": "US",
    "中国": "CN", "国内": "CN", "北京": "CN", "上海": "CN", "杭州": "CN", "深圳": "CN", "合肥": "CN",
    "法国": "FR", "巴黎": "FR", "英国": "GB", "伦敦": "GB", "加拿大": "CA", "多伦多": "CA",
    "以色列": "IL", "阿联酋": "AE", "阿布扎比": "AE",
}
_COUNTRY_RE = re.compile(
    r"(?:(?<![A-Za-z])(?:"
    + "|".join(re.escape(k) for k in sorted(_COUNTRY_WORDS, key=len, reverse=True) if k not in ("us",))
    + r")(?![A-Za-z])|(?<![A-Za-z])US(?![A-Za-z])|(?<![A-Za-z])U\.S\.)"
    r"(?!\s*(?:language|text|speak|-speak|translation|users?|content|questions?|input|output|characters?))",
    re.IGNORECASE,
)
_COUNTRY_ZH_RE = re.compile("|".join(sorted(_COUNTRY_ZH, key=len, reverse=True)))
_HUMAN_RE = re.compile(
    r"(?<![A-Za-z])(?:a\s+(?:real\s+|living\s+)?(?:human(?:\s+being)?|person)|human(?:\s+being)?)(?![A-Za-z\-])"
    r"|(?:一[个名位])?(?:真实的)?(?:人类|真人)(?![的助朋好伙])",
    re.IGNORECASE,
)

# Sentence ends. Abbreviations such as "U.S." and versions like "3.5" do not end one.
_SENT_END = re.compile(r"(?<!\bU\.S)(?<!\bU\.K)(?<!\be\.g)(?<!\bi\.e)(?<!\bvs)(?<!\bInc)(?<!\bLtd)(?<!\bCo)(?<!\bDr)(?<!\bMr)(?<!\bSt)[.!?](?=\s|$|[\"'”’)\]])|[。！？；;]|(?<![,，])\n")

# First-person triggers. Each names what follows: the object runs from the
# match end to the sentence end or the first cut marker.
_EN_TRIGGERS: list[tuple[str, re.Pattern[str]]] = [
    ("i-am", re.compile(
        r"(?<![A-Za-z'’])[Ii](?:\s+am|\s*['’]\s*m|\s+was|\s+have\s+been|\s*['’]\s*ve\s+been|\s+(?:were|had\s+been)|\s+originally\s+was)"
        r"(?P<neg>\s+(?:not|never|no\s+longer|no)(?![A-Za-z]))?(?P<also>\s+(?:also|actually|really|just|originally|essentially|basically|fundamentally))?(?![A-Za-z])")),
    ("my-name", re.compile(
        r"(?<![A-Za-z])(?:my\s+(?:name|model\s+name|official\s+name|real\s+name|true\s+name)(?:\s+is|\s*['’]s)|call\s+me|i\s+go\s+by|i['’]?m\s+called|i\s+am\s+called|i['’]?m\s+known\s+as|i\s+am\s+known\s+as)"
        r"(?P<neg>\s+not(?![A-Za-z]))?(?![A-Za-z])", re.IGNORECASE)),
    ("my-maker", re.compile(
        r"(?<![A-Za-z])my\s+(?:\w{1,40}\s+)?(?:developers?|creators?|makers?|trainers?|builders?|designers?|engineers?|parent\s+company|company|team|vendor|provider|owner|origins?|base\s+model|underlying\s+model|architecture|lineage|family|(?:true\s+|real\s+)?identity)"
        r"(?:\s+(?:is|are|was|were|include|includes|came\s+from|comes?\s+from|at|from)|\s*,)(?P<neg>\s+not|n['’]t)?(?![A-Za-z])", re.IGNORECASE)),
    ("made-me", re.compile(
        r"(?:(?<![A-Za-z])the\s+(?:company|team|organi[sz]ation|lab|laboratory|people|engineers|group|firm)\s+)?(?<![A-Za-z])(?:that|which|who)\s+(?:created|developed|trained|built|made|designed|owns|released)\s+me\s+(?:is|was|are|were)(?P<neg>\s+not|n['’]t)?(?![A-Za-z])",
        re.IGNORECASE)),
    ("i-come-from", re.compile(
        r"(?<![A-Za-z])[Ii]\s+(?:come|came|hail|originate|originated|stem)\s+from|(?<![A-Za-z])[Ii]\s+(?:belong|belonged)\s+to"
        r"|(?<![A-Za-z])[Ii]\s+(?:work|worked)\s+for")),
    ("as-name", re.compile(r"(?:^|(?<=[\s\"“(*]))As\s+(?=[A-Z][A-Za-z0-9_.\-'’]{0,40}(?:\s+[A-Z0-9][A-Za-z0-9_.\-'’]{0,40}){0,2}\s*,)")),
    ("talking-to", re.compile(
        r"(?<![A-Za-z])you\s*(?:['’]re|\s+are)\s+(?:talking|chatting|speaking)\s+(?:to|with)(?![A-Za-z])", re.IGNORECASE)),
    ("as-an", re.compile(
        r"(?:^|(?<=[\s(\[\"“]))[Aa]s\s+(?:an?\s+)?(?:(?:large\s+)?(?:AI|artificial\s+intelligence|language|LLM|chat|conversational|assistant|model)\b[^,.;:!?\n]{0,60}?(?:by|from|of)\s)",
        re.IGNORECASE)),
]
_EN_SUBJ_BEFORE = re.compile(
    r"(?P<obj>[A-Z][A-Za-z0-9_.\-'’]{0,40}(?:\s+[A-Z][A-Za-z0-9_.\-'’]{0,40}){0,3}|the\s+\w{1,40}(?:\s+\w{1,40}){0,3})\s+(?:created|developed|trained|built|made|designed)\s+me(?![A-Za-z])"
)

_ZH_TRIGGERS: list[tuple[str, re.Pattern[str]]] = [
    ("zh-wo-shi", re.compile(r"我(?P<neg>并不是|不是|并非|绝不是|可不是|从来不是|不再是)?(?:是|乃|就是|其实是|正是|实际上是|本质上是)?(?=.)")),
    ("zh-name", re.compile(r"(?:我(?P<neg>不)?(?:叫|名叫|名为)|我的(?:名字|名称|全名)(?P<neg2>不)?(?:是|叫|为))")),
    ("zh-maker", re.compile(
        r"(?:我的(?:开发者|开发商|开发团队|研发团队|研发者|创造者|创建者|制造者|训练者|缔造者|作者|母公司|所属公司|公司|团队|基础模型|底层模型|基座模型|架构|真实身份|身份|真名|本名|型号|模型名称)|(?:开发|研发|训练|创造|创建|打造|设计|制造|推出)我的(?:公司|团队|机构|组织|人)?)(?P<neg>不|并不|并非)?(?:是|为|来自)")),
    ("zh-from", re.compile(r"我(?P<neg>并不|不|并非)?(?:来自|出自|隶属于|属于|源自|诞生于|基于|由)")),
    ("zh-as-name", re.compile(r"(?:^|(?<=[\s，。！？；：*]))作为(?=[A-Za-z0-9\-\u4e00-\u9fff·]{1,12}[，,])")),
    ("zh-as", re.compile(r"(?:^|(?<=[\s，。！？；：]))作为(?=[^，。！？；\n]{0,40}?(?:开发|训练|打造|推出|研发)[^，。！？；\n]{0,12}?(?:模型|助手|AI|人工智能))")),
]

# Where the claimed object stops: comparisons, topics, hedges, negation, new
# subjects. Applied to the text after the trigger.
_EN_CUT = re.compile(
    r"(?<![A-Za-z])(?:about|regarding|concerning|like|unlike|similar|similarly|than|compared|comparison|versus|vs\.?|such\s+as|including|includes|or|nor|not|never|no|n['’]t|"
    r"rather|instead|but|however|although|though|while|whereas|if|whether|because|since|unless|different|distinct|separate|independent|independently|"
    r"unaffiliated|unrelated|alternative|competitor|competitors|rival|rivals|with|for|trained\s+on|data|dataset|datasets|outputs?|"
    r"can|could|will|would|should|may|might|must|cannot|do|does|did|help|helps|use|uses|using|answer|access|know|knows|support|supports|"
    r"recommend|mention|discuss|describe|explain|search|compare|talk|tell|say|said|think|believe|understand|imagine|pretend|playing|"
    r"hosted|deployed|served|running|available|accessible|integrated|offered|same|proud|"
    r"and\s+(?:I|you|it|they|we|he|she|this|that|there|not|never)|then|so|here|there)(?![A-Za-z])"
    r"|,\s*(?:I|you|it|they|we|he|she|not|but)(?![A-Za-z])|\(|—|–\s|:"
    r"|(?:,|(?<![A-Za-z])and)\s*(?!which|who|that)(?:[\w\-.’']{1,40}\s+){1,3}(?:is|are|was|were|has|have)(?![A-Za-z])"
    # an object relative clause ("the work that X has done") is about X, not me
    r"|(?<![A-Za-z])(?:that|which|whom)\s+(?:[\w\-.’']{1,40}\s+){1,3}(?:has|have|had|is|are|was|were|does|did|do|will|would|can|could)(?![A-Za-z])",
    re.IGNORECASE,
)
_ZH_CUT = re.compile(
    r"而不是|不是|并非|而非|并不|不同于|区别于|不同|与|和|跟|同样|像|类似|如同|比如|比起|相比|关于|对于|或者|或|还是|但是|但|不过|然而|可是|如果|假如|因为|虽然|尽管|以及|"
    r"可以|能够|无法|不能|帮助|帮你|回答|使用|知道|了解|支持|提供|推荐|提到|讨论|介绍|解释|搜索|比较|谈论|所说|认为|相信|理解|想象|假装|扮演|数据|输出|"
    r"托管|部署|运行在|"
    r"，\s*(?:我|你|它|他|她|我们|他们)|[（(：:]|，[^，。！？；\n由]{1,20}?(?:是|为)(?!由)"
)
# Hypotheticals and other people's words right before "I am …" / "我是…":
# "if I were X", "people often think I'm X", "有人以为我是X", "如果我是X".
_REPORTED_EN = re.compile(
    r"(?:(?<![A-Za-z])(?:if|whether|as\s+if|as\s+though|imagine|suppose|supposing|pretend|pretending|assume|assuming|unless)\s+"
    r"|(?<![A-Za-z])(?:people|users|some|someone|somebody|they|others|many|you|he|she|folks|critics|who)(?![A-Za-z])[^.!?\n]{0,25}?"
    r"(?:say|says|said|claim|claims|claimed|think|thinks|thought|believe|believes|believed|assume|assumes|assumed|mistake|mistakes|"
    r"mistakenly\s+\w{1,12}|guess|guessed|suspect|suspects|wonder|wonders|wondered|ask|asks|asked|asking)\s+(?:that\s+|if\s+|whether\s+)?)$",
    re.IGNORECASE,
)
_REPORTED_ZH = re.compile(r"(?:如果|假如|假设|假装|要是|倘若|是否|以为|认为|觉得|误以为|误认为|怀疑|猜测|猜|问|(?<![我会])说|想象)$")
_NEG_THEN_POS_EN = re.compile(r"(?<![A-Za-z])(?:but(?:\s+rather|\s+instead)?|rather|instead)(?![A-Za-z])\s*,?\s*(?:(?:I\s+am|I['’]m)\s+)?", re.IGNORECASE)
_NEG_THEN_POS_ZH = re.compile(r"而是|而")

# Predicates after "I am" that are not identity statements.
_NOT_IDENTITY_EN = re.compile(
    r"\s*(?:[a-z]+ing(?![A-Za-z])|fluent|proficient|good|very|so|too|quite|really|extremely|deeply|truly|proud|grateful|thankful|"
    r"honou?red|delighted|impressed|struck|surprised|amazed|concerned|worried|fascinated|inspired|moved|touched|born|raised|thrilled|"
    r"eager|keen|passionate|committed|dedicated|excited|fond|aware|reminded|tired|confused|hosted|deployed|served|available|accessible|integrated|offered|happy|glad|able|unable|sure|unsure|aware|unaware|familiar|sorry|afraid|here|going|trying|curious|excited|pleased|ready|willing|"
    r"capable|confident|uncertain|interested|allowed|unclear|certain|designed\s+to|programmed\s+to|built\s+to|trained\s+to|meant\s+to|"
    r"supposed\s+to|asked|told|instructed|playing|pretending|acting|role-?playing|imagining|speaking|answering|responding|writing|thinking|"
    r"comparing|talking|describing|referring|quoting|translating|continuing|staying|in\s+character|now|still)(?![A-Za-z])",
    re.IGNORECASE,
)
_NOT_IDENTITY_ZH = re.compile(r"(?:想|会|能|可以|要|很|非常|觉得|认为|知道|不知道|无法|不能|不会|没有|没|刚|也想|将|来(?!自)|去|说|扮演|假装|给|对|把|为你|替|帮|明白|理解|只能|需要|应该|必须|愿意|希望|猜)")

# Role-play and persona attribution.
_ROLEPLAY_CUES = re.compile(
    r"role-?play|in\s+character|stay\s+in\s+character|pretend|imagine\s+(?:you|that\s+you)|let['’]s\s+(?:play|write|imagine)|a\s+(?:short\s+)?(?:story|scene|script|dialogue|play)|"
    r"you\s+(?:are|play)\s+(?:a|an|the)\s+\w{1,40}|act\s+as|扮演|角色|故事|场景|剧本|对话|假装|想象你|假设你",
    re.IGNORECASE,
)
_OUT_OF_CHARACTER = re.compile(
    r"out\s+of\s+character|\bOOC\b|stepping\s+out|breaking\s+character|in\s+reality|in\s+real\s+life|actually|honestly|truthfully|to\s+be\s+honest|"
    r"跳出角色|实际上|现实中|事实上|真实身份|说实话|其实",
    re.IGNORECASE,
)
_PERSONA_MARKER = re.compile(
    r"(?<![A-Za-z])(?:in\s+(?:this|the|our|my)\s+(?:story|tale|scene|role-?play|game|play|script|scenario|fiction|skit)|in\s+character(?:\s+as)?|"
    r"playing\s+(?:the\s+role\s+of|as)|in\s+the\s+role\s+of|speaking\s+as|acting\s+as|pretending\s+to\s+be|as\s+the\s+character|my\s+character)(?![A-Za-z])"
    r"|(?:在|这个|本)(?:故事|剧本|场景|游戏|角色扮演)(?:里|中)|扮演|以[^，。！？\n]{1,12}的身份|作为(?:故事|剧)中的|角色中",
    re.IGNORECASE,
)
_AS_NAME = re.compile(r"(?:^|(?<=[\s\"“(]))(?:[Aa]s|作为)\s*(?P<name>[A-Z][A-Za-z0-9_.\-]{0,40}(?:\s+[A-Z0-9][A-Za-z0-9_.\-]{0,40}){0,2}|[\u4e00-\u9fffA-Za-z0-9\-]{1,12})\s*[,，]")
_SAYS = re.compile(
    r"(?P<who>[A-Z][A-Za-z0-9_.\-]{0,40}(?:\s+[A-Z][A-Za-z0-9_.\-]{0,40}){0,2}|the\s+\w{1,40})\s+(?:says?|said|would\s+say|replies|replied|answers|answered|responds|responded|exclaims|explained|explains)\s*[:,]"
    r"|(?P<whozh>[\u4e00-\u9fff]{1,6})(?:说|回答|答道|回应|表示)[：:]"
)
_SELF_LABELS = {
    "i", "me", "assistant", "ai", "a", "answer", "response", "reply", "output", "my answer", "translation", "english", "chinese",
    "note", "notes", "summary", "q", "question", "user", "you", "example", "update", "edit", "disclaimer", "tl;dr", "tldr",
    "completion", "continuation", "result", "step", "first", "second", "third", "finally", "important", "warning", "tip",
    "我", "助手", "回答", "答", "答案", "翻译", "英文", "中文", "注意", "注", "总结", "问题", "问", "说明", "提示", "用户", "续写", "补全",
    "ai助手", "ai 助手", "智能助手", "人工智能助手", "chatbot", "bot", "assistant ai", "ai model", "model",
    "english translation", "chinese translation", "in english", "in chinese", "英文翻译", "中文翻译", "英文回答", "中文回答", "ai assistant",
}
_LABEL_LINE = re.compile(
    r"^[ \t]*(?:[-*>][ \t]*)?(?:\*\*|__)?\[?(?P<label>[^\]\n:：*]{1,40}?)\]?(?:\*\*|__)?[ \t]*[:：](?:\*\*|__)?",
    re.MULTILINE,
)
_QUOTES = [("\u201c", "\u201d"), ("\u300c", "\u300d"), ("\u300e", "\u300f"), ('"', '"')]
_SELF_QUOTE_LEAD = re.compile(
    r"(?:I\s+(?:would\s+)?(?:say|said|answer|reply|respond)|I['’]d\s+(?:say|answer)|(?:my\s+)?answer(?:\s+is)?|A|Answer|Response|Reply|Translation|"
    r"我(?:会)?(?:说|回答)|回答|答|翻译|英文|中文|English|Chinese)\s*[:：,，]?\s*$",
    re.IGNORECASE,
)
_FENCE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]+`", re.DOTALL)
# Creative-writing requests: a first-person narrator is a character, so only
# claims naming a specific model or vendor count there (vague ones do not).
_CREATIVE_CUES = re.compile(
    r"(?<![A-Za-z])(?:write|compose|draft|rewrite|song|poem|story|stories|letter|essay|speech|lyrics|diary|monologue|anecdote|narrative|"
    r"verse|script|character|fiction|novel|role-?play|pretend|imagine)(?![A-Za-z])|写|编|故事|诗|歌|信|作文|小说|剧本|扮演|假装|想象",
    re.IGNORECASE,
)
_DEVELOPER_CONTEXT = re.compile(
    r"(?<![A-Za-z])(?:developed|created|built|made|trained|designed|engineered|produced|founded|based|headquartered|company|firm|lab|labs|"
    r"laboratory|team|startup|organi[sz]ation|corporation|institute|developers?|creators?|engineers?|researchers?)(?![A-Za-z])"
    r"|开发|研发|训练|打造|公司|团队|机构|制造|创造|创建|设计|出品|推出",
    re.IGNORECASE,
)

_NAME_CLAIM_EN = re.compile(r"\s*(?P<name>[A-Z][A-Za-z0-9\-]{1,30}(?:\s+[A-Z][A-Za-z0-9\-]{1,30})?)")
_GENERIC_NAMES = {
    "assistant", "ai", "an", "a", "the", "ai assistant", "bot", "chatbot", "model", "language model", "virtual assistant",
    "helper", "i", "not", "just", "no", "here", "your", "unknown", "anonymous", "none", "nobody",
}


@functools.lru_cache(maxsize=8)
def _sentence_ends(text: str) -> list[int]:
    return [m.start() for m in _SENT_END.finditer(text)]


_WINDOW = 400  # characters looked at around a marker for out-of-character cues


def _sentence_end(text: str, pos: int) -> int:
    """Start of the first sentence end at or after ``pos`` (one scan per text)."""
    ends = _sentence_ends(text)
    k = bisect.bisect_left(ends, pos)
    return ends[k] if k < len(ends) else len(text)


_ASKS_TO_REPEAT = re.compile(r"translat|quote|repeat|say\b|echo|recite|翻译|引用|重复|照着说|说一遍|复述", re.IGNORECASE)


def _quote_regions(text: str, prompt: str = "") -> list[tuple[int, int]]:
    """Quoted spans (paired quotes within a paragraph) not introduced as the
    responder's own words. A response that is one quote is the responder's
    own answer, unless the prompt asked it to translate, quote or repeat."""
    repeat = bool(_ASKS_TO_REPEAT.search(prompt))
    regions: list[tuple[int, int]] = []
    for open_q, close_q in _QUOTES:
        mine: list[tuple[int, int]] = []
        i = 0
        while True:
            a = text.find(open_q, i)
            if a < 0:
                break
            b = text.find(close_q, a + 1)
            if b < 0:
                break
            para_break = text.find("\n\n", a, b)
            if para_break >= 0:
                i = para_break + 1
                continue
            inner_start, inner_end = a + 1, b
            whole = not repeat and text[:a].strip() == "" and text[b + 1 :].strip() in ("", ".", "。")
            line_start = text.rfind("\n", 0, a) + 1
            lead = text[max(line_start, a - 40) : a]
            if not whole and not _SELF_QUOTE_LEAD.search(lead):
                mine.append((inner_start - 1, inner_end + 1))
            i = b + 1
        regions += mine
    return regions


def _is_persona_label(label: str, prompt: str, registry: Registry, roleplay: bool) -> bool:
    lab = label.strip().strip("*_[]").strip()
    low = lab.lower()
    if not lab or low in _SELF_LABELS:
        return False
    if re.fullmatch(r"(?:step|part|q|a|section|example|\d+)[\s\d.]*", low):
        return False
    words = lab.split()
    if len(words) > 3 or words[0].lower() in ("i", "my", "me", "we", "you", "as", "this", "it") or re.search(r"[我你是]", lab):
        return False
    if registry.mentions_any(lab) or (prompt and lab in prompt):
        return True
    if not roleplay:
        return False
    if _CJK.search(lab):
        return 1 <= len(lab) <= 6 and not re.search(r"[问答注]$", lab)
    # Capitalised name-like labels ("Mira", "Captain Rex", "Narrator")
    return 1 <= len(words) <= 3 and all(w[:1].isupper() for w in words) and not any(w.lower() in _SELF_LABELS for w in words)


class ClaimExtractor:
    """Deterministic, judge-free identity-claim extractor (English + Chinese).

    ``ClaimExtractor(registry).classify(response, target, prompt=...)``
    returns a :class:`Verdict`. The prompt is optional; it lets the extractor
    tell a requested role-play from a spontaneous one and accept persona
    names the user asked for.
    """

    version = EXTRACTOR_VERSION

    def __init__(self, registry: Registry | None = None):
        self.registry = Registry.default() if registry is None else registry

    # -- regions the responder does not speak in its own voice -------------
    def _ignored_regions(self, text: str, prompt: str, roleplay: bool) -> list[tuple[int, int]]:
        regions: list[tuple[int, int]] = [(m.start(), m.end()) for m in _FENCE.finditer(text)]
        regions += _quote_regions(text, prompt)
        for m in _LABEL_LINE.finditer(text):
            if _is_persona_label(m.group("label"), prompt, self.registry, roleplay):
                line_end = text.find("\n", m.end())
                regions.append((m.start(), len(text) if line_end < 0 else line_end))
        for m in _PERSONA_MARKER.finditer(text):
            # windows keep run-on text (no sentence ends) linear
            lo = max(0, m.start() - _WINDOW)
            s_start = max(max(text.rfind(ch, lo, m.start()) for ch in ".!?。！？\n") + 1, lo)
            s_end = _sentence_end(text, m.end())
            sentence = text[s_start : min(s_end, m.end() + _WINDOW)]
            if _OUT_OF_CHARACTER.search(sentence) or re.search(r"(?:不|不会|不能|无法|拒绝)扮演$", text[max(0, m.start() - 3) : m.end()]):
                continue
            regions.append((s_start, s_end))
        for m in _SAYS.finditer(text):
            who = (m.group("who") or m.group("whozh") or "").strip()
            if who.lower() in ("i", "you", "we") or who.startswith("我"):
                continue
            regions.append((m.start(), _sentence_end(text, m.end())))
        if roleplay:
            for m in _AS_NAME.finditer(text):
                name = m.group("name")
                if re.match(r"(?i)an?\s|an?$|AI\b|一个|一款|一名", name):
                    continue
                s_end = _sentence_end(text, m.end())
                sentence = text[m.start() : min(s_end, m.end() + _WINDOW)]
                if _OUT_OF_CHARACTER.search(sentence):
                    continue
                regions.append((m.start(), s_end))
        regions.sort()
        return regions

    # -- extraction ---------------------------------------------------------
    @staticmethod
    def roleplay_context(response: str, prompt: str) -> bool:
        """Whether the user asked for, or the response plays, a role."""
        return bool(_ROLEPLAY_CUES.search(prompt)) or bool(_PERSONA_MARKER.search(response))

    def extract(self, response: str, prompt: str = "", *, roleplay: bool | None = None) -> tuple[list[tuple[str, int, int, int, bool]], list[tuple[int, int]]]:
        """Raw claim candidates: ``(trigger, claim_start, obj_start, obj_end, negated)``."""
        if roleplay is None:
            roleplay = self.roleplay_context(response, prompt)
        ignored = self._ignored_regions(response, prompt, roleplay)
        # merge into disjoint sorted intervals so membership is a bisection
        merged: list[list[int]] = []
        for s, e in ignored:
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        starts = [m[0] for m in merged]

        def inside(pos: int) -> bool:
            k = bisect.bisect_right(starts, pos) - 1
            return k >= 0 and pos < merged[k][1]

        cands: list[tuple[str, int, int, int, bool]] = []
        text = response
        for name, rx in _EN_TRIGGERS:
            for m in rx.finditer(text):
                if inside(m.start()):
                    continue
                neg = bool(m.groupdict().get("neg"))
                if name == "i-am" and not neg and _NOT_IDENTITY_EN.match(text, m.end()):
                    continue
                if name in ("i-am", "my-name", "i-come-from") and _REPORTED_EN.search(text[max(0, m.start() - 60) : m.start()]):
                    continue
                cands.append((name, m.start(), m.end(), self._object_end(text, m.end(), "en"), neg))
        for m in _EN_SUBJ_BEFORE.finditer(text):
            if inside(m.start()):
                continue
            # the object is the subject before the verb; the claim runs to "me"
            cands.append(("made-me", m.start(), m.start(), m.end(), False))
        for name, rx in _ZH_TRIGGERS:
            for m in rx.finditer(text):
                if inside(m.start()):
                    continue
                gd = m.groupdict()
                neg = bool(gd.get("neg") or gd.get("neg2"))
                if name == "zh-wo-shi":
                    if m.end() == m.start() + 1 or (not neg and m.group(0) == "我"):
                        # bare 我 with no copula: only "我由…" style (zh-from) counts
                        continue
                    if not neg and _NOT_IDENTITY_ZH.match(text, m.end()):
                        continue
                if name in ("zh-wo-shi", "zh-name", "zh-from") and _REPORTED_ZH.search(text[max(0, m.start() - 12) : m.start()]):
                    continue
                cands.append((name, m.start(), m.end(), self._object_end(text, m.end(), "zh"), neg))
        return cands, ignored

    @staticmethod
    def _object_end(text: str, start: int, lang: str) -> int:
        end = min(_sentence_end(text, start), start + 160)
        cut_rx = _EN_CUT if lang == "en" else _ZH_CUT
        # skip the cut marker if it sits right at the start (e.g. "I am not")
        m = cut_rx.search(text, start, end)
        if m is not None and m.start() == start and m.end() > start:
            m = cut_rx.search(text, m.end(), end)
        if m is not None and m.start() > start:
            end = m.start()
        if lang == "en":
            # the Chinese cut markers can also stop an English object that is
            # followed by Chinese text
            m2 = _ZH_CUT.search(text, start, end)
            if m2 is not None and m2.start() > start:
                end = m2.start()
        return end

    def _negated_positive(self, text: str, obj_start: int, lang: str) -> tuple[int, int] | None:
        """For "I am not X but Y" / "我不是X而是Y": the span of Y."""
        end = min(_sentence_end(text, obj_start), obj_start + 160)
        rx = _NEG_THEN_POS_EN if lang == "en" else _NEG_THEN_POS_ZH
        m = rx.search(text, obj_start, end)
        if m is None:
            return None
        s = m.end()
        return s, self._object_end(text, s, lang)

    def classify(self, response: str, target: Target, prompt: str = "", *, stem: str | None = None) -> Verdict:
        if not isinstance(response, str):
            raise TypeError(f"response must be a str, got {type(response).__name__}")
        if not isinstance(target, Target):
            raise TypeError("target must be a Target; build one with Registry.target(name)")
        prompt = prompt or ""
        offset = 0
        text = response
        if stem:
            joiner = "" if _CJK.search(stem[-1:]) or response[:1].isspace() else " "
            # only prepend when the model continued the stem rather than restating it
            if not response.lstrip().lower().startswith(stem.strip().lower()[:8]):
                text = stem + joiner + response
                offset = len(stem) + len(joiner)
        roleplay = self.roleplay_context(text, prompt)
        creative = roleplay or bool(_CREATIVE_CUES.search(prompt))
        cands, ignored = self.extract(text, prompt, roleplay=roleplay)
        prompt_entities = self.registry.find(prompt)
        claims: list[Claim] = []
        seen: set[tuple[int, int]] = set()
        for trig, c_start, o_start, o_end, neg in sorted(cands, key=lambda c: (c[1], c[2])):
            lang = "zh" if trig.startswith("zh") else "en"
            spans: list[tuple[int, int, bool]] = [(o_start, o_end, neg)]
            if neg:
                pos = self._negated_positive(text, o_start, lang)
                if pos is not None and pos[0] < pos[1]:
                    spans.append((pos[0], pos[1], False))
            for s, e, negated in spans:
                if (s, e) in seen and not negated:
                    continue
                claim = self._judge_object(text, trig, c_start if s == o_start else s, s, e, negated, target, prompt, prompt_entities, creative)
                if claim is None:
                    continue
                seen.add((s, e))
                claims.append(claim)
        # merge duplicates: an object reached by two triggers counts once
        uniq: dict[tuple[int, int], Claim] = {}
        for c in claims:
            key = (c.end, c.stance == "neutral")
            if key not in uniq or c.start < uniq[key].start:
                uniq[key] = c
        claims = sorted(uniq.values(), key=lambda c: (c.start, c.end))
        # shift offsets back into the response (the stem is not part of it)
        if offset:
            claims = [self._shift(c, offset, response) for c in claims]
        ignored_spans = tuple(
            Span(max(0, s - offset), max(0, e - offset), response[max(0, s - offset) : max(0, e - offset)])
            for s, e in ignored
            if e - offset > 0
        )
        contra = [c for c in claims if c.stance == "contradicts"]
        cons = [c for c in claims if c.stance == "consistent"]
        if contra:
            strict = any(c.strict for c in contra)
            first = next((c for c in contra if c.strict), contra[0]) if strict else contra[0]
            return Verdict("contradicts", strict, Span(first.start, first.end, first.text), tuple(claims), ignored_spans)
        if cons:
            c = cons[0]
            return Verdict("consistent", False, Span(c.start, c.end, c.text), tuple(claims), ignored_spans)
        return Verdict("no_claim", False, None, tuple(claims), ignored_spans)

    @staticmethod
    def _shift(c: Claim, offset: int, response: str) -> Claim:
        s, e = max(0, c.start - offset), max(0, c.end - offset)
        ents = tuple(
            Entity(x.kind, x.id, x.vendor, x.alias, max(0, x.start - offset), max(0, x.end - offset)) for x in c.entities
        )
        return Claim(s, e, response[s:e], c.trigger, c.negated, ents, c.vague, c.stance, c.strict)

    def _judge_object(
        self,
        text: str,
        trig: str,
        c_start: int,
        o_start: int,
        o_end: int,
        negated: bool,
        target: Target,
        prompt: str,
        prompt_entities: list[Entity],
        roleplay: bool = False,
    ) -> Claim | None:
        obj = text[o_start:o_end]
        ents = self.registry.find(text, o_start, o_end)
        vague: list[str] = []
        # Elliptical answers to a named yes/no question: "Yes, I am." to "Are you X?"
        if not ents and trig in ("i-am", "zh-wo-shi") and not negated and obj.strip(" ,.!?。！") == "":
            before = text[max(0, c_start - 12) : c_start].lower()
            if re.search(r"yes|yeah|correct|是的|对", before):
                named = {(e.kind, e.id): e for e in prompt_entities}
                if len(named) == 1:
                    e0 = next(iter(named.values()))
                    ents = [Entity(e0.kind, e0.id, e0.vendor, e0.alias, c_start, o_end)]
        # country of origin, humanity, unregistered names
        country_ok = trig in ("i-come-from", "zh-from", "my-maker", "zh-maker", "made-me") or bool(
            _DEVELOPER_CONTEXT.search(text, o_start, o_end)
        )
        if not ents and trig != "talking-to":
            if country_ok:
                for m in _COUNTRY_RE.finditer(text, o_start, o_end):
                    word = m.group(0).lower()
                    # "US" only in capitals: "us" is a pronoun
                    if word == "us" and m.group(0) != "US":
                        continue
                    vague.append("country:" + _COUNTRY_WORDS.get(word, "US"))
                for m in _COUNTRY_ZH_RE.finditer(text, o_start, o_end):
                    vague.append("country:" + _COUNTRY_ZH[m.group(0)])
            if trig in ("i-am", "zh-wo-shi") and _HUMAN_RE.match(obj.strip()) and not negated:
                vague.append("human")
            if trig in ("my-name", "zh-name") and not negated and not roleplay:
                nm = _NAME_CLAIM_EN.match(obj)
                if nm:
                    nm_text = nm.group("name").strip()
                    if (
                        nm_text.lower() not in _GENERIC_NAMES
                        and nm_text.lower() not in prompt.lower()
                        and not any(nm_text.lower() == s.lower() for s in target.self_names)
                        and nm_text.lower() != target.name.lower()
                    ):
                        vague.append(f"name:{nm_text}")
        if not ents and not vague:
            return None
        end = max([o_end] + [e.end for e in ents])
        claim_text = text[c_start:end].rstrip(" ,，")
        end = c_start + len(claim_text)
        # decide the stance of this claim
        own = other = False
        for e in ents:
            if self._is_own(e, target):
                own = True
            elif self._is_related(e, target):
                continue
            else:
                other = True
        if negated:
            # a negated claim of another identity says nothing; denying the
            # target's own identity is a (vague) contradiction
            if own and not other:
                return Claim(c_start, end, claim_text, trig, True, tuple(ents), ("denies-self",), "contradicts", False)
            return Claim(c_start, end, claim_text, trig, True, tuple(ents), tuple(vague), "neutral", False)
        if other:
            return Claim(c_start, end, claim_text, trig, False, tuple(ents), tuple(vague), "contradicts", True)
        if own:
            return Claim(c_start, end, claim_text, trig, False, tuple(ents), tuple(vague), "consistent", False)
        if ents:  # related only
            return Claim(c_start, end, claim_text, trig, False, tuple(ents), tuple(vague), "neutral", False)
        # vague-only claims
        bad = [v for v in vague if v == "human" or v.startswith("name:")]
        countries = {v.split(":", 1)[1] for v in vague if v.startswith("country:")}
        if target.country and countries and target.country not in countries:
            bad.append("country")
        if bad and roleplay:
            # a narrator or persona in requested fiction: not the model's own vague claim
            return Claim(c_start, end, claim_text, trig, False, (), tuple(vague), "neutral", False)
        if bad:
            return Claim(c_start, end, claim_text, trig, False, (), tuple(vague), "contradicts", False)
        if target.country and target.country in countries:
            return Claim(c_start, end, claim_text, trig, False, (), tuple(vague), "consistent", False)
        return Claim(c_start, end, claim_text, trig, False, (), tuple(vague), "neutral", False)

    @staticmethod
    def _is_own(e: Entity, t: Target) -> bool:
        if e.kind == "family":
            return e.id == t.family or (t.family is None and e.vendor == t.vendor)
        return e.id == t.vendor

    @staticmethod
    def _is_related(e: Entity, t: Target) -> bool:
        if e.kind == "family":
            return e.id in t.related_families
        return e.id in t.related_vendors


def classify(
    response: str,
    target: str | Target,
    prompt: str = "",
    *,
    stem: str | None = None,
    registry: Registry | None = None,
) -> Verdict:
    """Classify one response against a target model (name or :class:`Target`)."""
    reg = Registry.default() if registry is None else registry
    t = reg.target(target) if isinstance(target, str) else target
    return ClaimExtractor(reg).classify(response, t, prompt, stem=stem)


# ---------------------------------------------------------------------------
# Rates
# ---------------------------------------------------------------------------


def detect_language(text: str) -> str:
    """'zh' when CJK characters dominate the letters of ``text``, else 'en'."""
    cjk = len(_CJK.findall(text))
    latin = len(re.findall(r"[A-Za-z]+", text))
    return "zh" if cjk > 0 and cjk >= latin else "en"


@dataclass(frozen=True)
class Rate:
    count: int
    n: int
    rate: float
    ci_low: float
    ci_high: float

    @classmethod
    def of(cls, count: int, n: int, confidence: float) -> "Rate":
        lo, hi = wilson_interval(count, n, confidence)
        return cls(count, n, (count / n) if n else float("nan"), lo, hi)

    def to_dict(self) -> dict[str, Any]:
        return {"rate": None if self.n == 0 else self.rate, "count": self.count, "n": self.n, "ci_low": self.ci_low, "ci_high": self.ci_high}


@dataclass(frozen=True)
class IdentityRates:
    loose: Rate
    strict: Rate
    hard: Rate
    by_category: dict[str, dict[str, Rate]] = field(default_factory=dict)
    by_language: dict[str, dict[str, Rate]] = field(default_factory=dict)
    verdict_counts: dict[str, int] = field(default_factory=dict)
    confidence: float = 0.95

    def to_dict(self) -> dict[str, Any]:
        def grp(g: dict[str, dict[str, Rate]]) -> dict[str, Any]:
            return {k: {m: r.to_dict() for m, r in v.items()} for k, v in sorted(g.items())}

        return {
            "loose": self.loose.to_dict(),
            "strict": self.strict.to_dict(),
            "hard": self.hard.to_dict(),
            "by_category": grp(self.by_category),
            "by_language": grp(self.by_language),
            "verdict_counts": dict(self.verdict_counts),
            "confidence": self.confidence,
        }


def identity_rates(
    verdicts: Sequence[Verdict],
    *,
    hard: Sequence[bool],
    categories: Sequence[str | None] | None = None,
    languages: Sequence[str | None] | None = None,
    confidence: float = 0.95,
) -> IdentityRates:
    """Loose / strict / hard rates with Wilson intervals, overall and per group.

    ``hard[i]`` says whether prompt ``i`` names no model or vendor. Each group
    (category, language) gets all three rates over its own responses.
    """
    n = len(verdicts)
    if len(hard) != n:
        raise ValueError(f"hard has {len(hard)} entries for {n} verdicts; give one flag per response")
    cats: list[str | None] = list(categories) if categories is not None else [None] * n
    langs: list[str | None] = list(languages) if languages is not None else [None] * n
    if len(cats) != n or len(langs) != n:
        raise ValueError("categories and languages must have one entry per verdict")

    def three(idx: list[int]) -> dict[str, Rate]:
        loose = sum(verdicts[i].verdict == "contradicts" for i in idx)
        strict = sum(verdicts[i].verdict == "contradicts" and verdicts[i].strict for i in idx)
        hidx = [i for i in idx if hard[i]]
        hstrict = sum(verdicts[i].verdict == "contradicts" and verdicts[i].strict for i in hidx)
        return {
            "loose": Rate.of(loose, len(idx), confidence),
            "strict": Rate.of(strict, len(idx), confidence),
            "hard": Rate.of(hstrict, len(hidx), confidence),
        }

    allr = three(list(range(n)))

    def groups(keys: list[str | None]) -> dict[str, dict[str, Rate]]:
        idx: dict[str, list[int]] = {}
        for i, k in enumerate(keys):
            if k is not None:
                idx.setdefault(str(k), []).append(i)
        return {k: three(v) for k, v in idx.items()}

    counts = {v: 0 for v in VERDICTS}
    for v in verdicts:
        counts[v.verdict] += 1
    return IdentityRates(allr["loose"], allr["strict"], allr["hard"], groups(cats), groups(langs), counts, confidence)


# ---------------------------------------------------------------------------
# Checking response files
# ---------------------------------------------------------------------------


def _prompt_text(rec: Mapping[str, Any]) -> str:
    p = rec.get("prompt")
    if isinstance(p, str):
        return p
    msgs = rec.get("messages")
    if isinstance(msgs, list):
        return "\n".join(str(m.get("content", "")) for m in msgs if isinstance(m, Mapping) and m.get("role") != "assistant")
    return ""


def check_records(
    records: Iterable[Mapping[str, Any]],
    target: str | Target | None,
    *,
    registry: Registry | None = None,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Classify records (``prompt``/``messages``, ``response``; optional
    ``category``, ``language``, ``hard``, ``stem``, ``model``) and compute rates.

    With ``target=None`` each record's ``model`` field is resolved as its
    own target. Returns the same structure ``distillscope identity check
    --format json`` prints.
    """
    reg = Registry.default() if registry is None else registry
    ext = ClaimExtractor(reg)
    fixed = reg.target(target) if isinstance(target, str) else target
    targets: dict[str, Target] = {}
    out_verdicts: list[dict[str, Any]] = []
    verdicts: list[Verdict] = []
    meta: list[tuple[bool, str | None, str, str | None]] = []
    for i, rec in enumerate(records):
        if not isinstance(rec, Mapping):
            raise TypeError(f"record {i} is a {type(rec).__name__}; each line must be a JSON object")
        resp = rec.get("response")
        if resp is None:
            raise ValueError(f"record {i} has no 'response' text; drop failed requests or fill the field")
        if not isinstance(resp, str):
            raise TypeError(f"record {i}: 'response' must be a string, got {type(resp).__name__}")
        prompt = _prompt_text(rec)
        if fixed is not None:
            t = fixed
        else:
            model = rec.get("model", rec.get("target"))
            if not isinstance(model, str):
                raise ValueError(f"record {i} has no 'model' (or 'target') field; pass --target NAME")
            if model not in targets:
                targets[model] = reg.target(model)
            t = targets[model]
        stem = rec.get("stem") if isinstance(rec.get("stem"), str) else None
        v = ext.classify(resp, t, prompt, stem=stem)
        hard = rec.get("hard")
        if hard is None:
            hard = bool(prompt) and not reg.mentions_any(prompt)
        elif not isinstance(hard, bool):
            raise TypeError(f"record {i}: 'hard' must be true/false, got {hard!r}")
        lang = rec.get("language") or detect_language(prompt or resp)
        cat = rec.get("category")
        verdicts.append(v)
        meta.append((hard, cat, lang, rec.get("model", rec.get("target")) if fixed is None else None))
        d: dict[str, Any] = {"index": i}
        if "id" in rec or "prompt_id" in rec:
            d["id"] = rec.get("id", rec.get("prompt_id"))
        if fixed is None:
            d["model"] = rec.get("model", rec.get("target"))
        d.update(v.to_dict())
        d.update(category=cat, language=lang, hard=hard)
        out_verdicts.append(d)
    rates = identity_rates(
        verdicts,
        hard=[m[0] for m in meta],
        categories=[m[1] for m in meta],
        languages=[m[2] for m in meta],
        confidence=confidence,
    )
    result: dict[str, Any] = {
        "target": None if fixed is None else {"name": fixed.name, "family": fixed.family, "vendor": fixed.vendor, "country": fixed.country},
        "signature": f"{EXTRACTOR_VERSION}|{reg.signature()}|wilson:{confidence}",
        "verdicts": out_verdicts,
        "rates": rates.to_dict(),
    }
    if fixed is None:
        by_model: dict[str, Any] = {}
        for model in targets:
            idx = [i for i, m in enumerate(meta) if m[3] == model]
            by_model[model] = identity_rates(
                [verdicts[i] for i in idx],
                hard=[meta[i][0] for i in idx],
                categories=[meta[i][1] for i in idx],
                languages=[meta[i][2] for i in idx],
                confidence=confidence,
            ).to_dict()
        result["by_model"] = by_model
    return result


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"input file {str(p)!r} does not exist")
    out = []
    with p.open(encoding="utf-8") as fh:
        for ln, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{p}:{ln} is not valid JSON ({exc.msg}); expected one JSON object per line") from exc
    return out


# ---------------------------------------------------------------------------
# Output formats
# ---------------------------------------------------------------------------


def _rate_rows(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def add(scope: str, group: str, block: Mapping[str, Any]) -> None:
        for metric in ("loose", "strict", "hard"):
            r = block[metric]
            rows.append({"scope": scope, "group": group, "metric": metric, **{k: r[k] for k in ("count", "n", "rate", "ci_low", "ci_high")}})

    def add_all(prefix: str, rates: Mapping[str, Any]) -> None:
        add(prefix + "overall", "all", rates)
        for k, v in rates["by_category"].items():
            add(prefix + "category", k, v)
        for k, v in rates["by_language"].items():
            add(prefix + "language", k, v)

    add_all("", result["rates"])
    for model, rates in (result.get("by_model") or {}).items():
        add_all(f"model:{model}:", rates)
    return rows


def format_csv(result: Mapping[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["scope", "group", "metric", "count", "n", "rate", "ci_low", "ci_high"], lineterminator="\n")
    w.writeheader()
    for r in _rate_rows(result):
        w.writerow({k: ("" if v is None else (f"{v:.6f}" if isinstance(v, float) else v)) for k, v in r.items()})
    return buf.getvalue()


def format_markdown(result: Mapping[str, Any], *, max_evidence: int = 20) -> str:
    def pct(x: Any) -> str:
        return "—" if x is None else f"{100 * x:.1f}%"

    t = result.get("target") or {}
    lines = [f"## Identity consistency{' — ' + t['name'] if t else ''}", ""]
    counts = result["rates"]["verdict_counts"]
    lines.append(f"{len(result['verdicts'])} responses: " + ", ".join(f"{k} {counts.get(k, 0)}" for k in VERDICTS) + ".")
    lines += ["", "| scope | group | metric | rate | 95% CI | count / n |", "|---|---|---|---:|---|---:|"]
    for r in _rate_rows(result):
        lines.append(
            f"| {r['scope']} | {r['group']} | {r['metric']} | {pct(r['rate'])} | {pct(r['ci_low'])} – {pct(r['ci_high'])} | {r['count']} / {r['n']} |"
        )
    ev = [v for v in result["verdicts"] if v["verdict"] == "contradicts"][:max_evidence]
    if ev:
        lines += ["", "### Contradicting evidence", ""]
        for v in ev:
            span = v["evidence"]
            text = span["text"].replace("|", "\\|").replace("\n", " ")
            lines.append(f"* #{v['index']} ({'strict' if v['strict'] else 'vague'}) chars {span['start']}–{span['end']}: “{text}”")
    lines.append("")
    lines.append(f"`{result['signature']}`")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# CLI: distillscope identity {check,probes}
# ---------------------------------------------------------------------------


def configure_identity(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True, metavar="{check,probes}")
    c = sub.add_parser(
        "check",
        help="classify existing responses and compute loose/strict/hard rates",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    c.add_argument("--input", required=True, help="JSONL with 'prompt' (or 'messages') and 'response' per line")
    c.add_argument("--target", default=None, help="model the responses came from (name, family id or vendor); default: each line's 'model'")
    c.add_argument("--registry", default=None, help="JSON/TOML file that adds or overrides registry families/vendors")
    c.add_argument("--format", choices=("json", "csv", "markdown"), default="json")
    c.add_argument("--confidence", type=float, default=0.95)
    c.add_argument("--out", default=None, help="write here instead of stdout")
    q = sub.add_parser(
        "probes",
        help="write the identity probe prompts in the gatherer's prompt-file format",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    q.add_argument("--out", required=True, help="prompt file to write (.jsonl)")
    q.add_argument("--lang", default=",".join(LANGUAGES), help="comma-separated languages")
    q.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated framing variants")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--no-named", action="store_true", help="leave out the questions that name a model or vendor")
    q.add_argument("--messages", action="store_true", help="write chat 'messages' instead of 'prompt'")
    q.add_argument("--system", default=None, help="system message to put before each prompt (implies --messages)")
    q.add_argument("--registry", default=None, help="JSON/TOML registry file used for the named questions")


def _split(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


def run_identity(args: argparse.Namespace) -> int:
    reg = Registry.load(args.registry)
    if args.action == "probes":
        probes = build_probes(_split(args.lang), _split(args.variants), seed=args.seed, named=not args.no_named, registry=reg)
        out = Path(args.out)
        if out.parent and not out.parent.exists():
            raise FileNotFoundError(f"folder {str(out.parent)!r} does not exist; create it first")
        with out.open("w", encoding="utf-8") as fh:
            for pr in probes:
                fh.write(json.dumps(pr.record(messages=args.messages, system=args.system), ensure_ascii=False) + "\n")
        hard = sum(p.hard for p in probes)
        print(f"wrote {len(probes)} prompts ({hard} hard) to {out}", file=sys.stderr)
        return 0
    if not 0 < args.confidence < 1:
        raise ValueError(f"--confidence must be in (0, 1), got {args.confidence}")
    records = read_jsonl(args.input)
    result = check_records(records, args.target, registry=reg, confidence=args.confidence)
    if args.format == "json":
        text = json.dumps(result, ensure_ascii=False, indent=2) + "\n"
    elif args.format == "csv":
        text = format_csv(result)
    else:
        text = format_markdown(result)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
