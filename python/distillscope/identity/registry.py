"""Identity registry: model families and vendors with English and Chinese aliases.

The packaged ``data/identity_registry.json`` is the default
(:meth:`Registry.default`); a user JSON/TOML file adds or overrides entries
(:meth:`Registry.load`). :meth:`Registry.find` locates alias mentions in text
and :meth:`Registry.target` resolves a model name to the :class:`Target`
identity it should claim.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

_LATIN = re.compile(r"[A-Za-z]")


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


# the fields of a vendor or family entry that hold a list of strings / one string
_LIST_FIELDS = (
    "aliases",
    "aliases_zh",
    "add_aliases",
    "add_aliases_zh",
    "ambiguous",
    "related_families",
    "related_vendors",
)
_TEXT_FIELDS = ("name", "vendor", "country")


def _entries(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """``data[key]`` (``vendors`` / ``families``): a table of id -> entry, or left out."""
    table = data.get(key)
    if table is None:
        return {}
    if not isinstance(table, Mapping):
        raise TypeError(
            f'{key!r} must be a table/object of id -> entry (e.g. {{"acme": {{"aliases": ["Acme"]}}}}), '
            f"got {type(table).__name__} {table!r:.40}"
        )
    return table


def _check_fields(where: str, entry: Mapping[str, Any]) -> None:
    """The known fields of an entry have the types the matcher reads: a
    number where a list of aliases belongs used to fail deep inside it."""
    for key, value in entry.items():
        if key in _LIST_FIELDS and not (isinstance(value, (list, tuple)) and all(isinstance(a, str) for a in value)):
            raise TypeError(f"{where}: {key!r} must be a list of strings, got {value!r:.40}")
        if key in _TEXT_FIELDS and not isinstance(value, str) and not (key == "country" and value is None):
            raise TypeError(f"{where}: {key!r} must be a string, got {value!r:.40}")


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
    def _parse(data: Mapping[str, Any], base: Registry | None = None) -> tuple[dict, dict]:
        vendors = dict(base.vendors) if base else {}
        families = dict(base.families) if base else {}
        if not isinstance(data, Mapping):
            raise TypeError("a registry file must hold a table/object with 'vendors' and/or 'families'")
        for key in data:
            if key not in ("vendors", "families", "schema", "version", "notes"):
                raise ValueError(f"unknown registry key {key!r}; expected 'vendors' and/or 'families'")
        for vid, v in _entries(data, "vendors").items():
            if not isinstance(v, Mapping):
                raise TypeError(f"vendor {vid!r} must be an object with 'name', 'aliases', ...")
            _check_fields(f"vendor {vid!r}", v)
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
        for fid, f in _entries(data, "families").items():
            if not isinstance(f, Mapping):
                raise TypeError(f"family {fid!r} must be an object with 'vendor', 'aliases', ...")
            _check_fields(f"family {fid!r}", f)
            oldf = families.get(fid)
            vendor = f.get("vendor", oldf.vendor if oldf else None)
            if vendor is None:
                raise ValueError(f"family {fid!r} needs a 'vendor' (a vendor id such as 'openai')")
            aliases = tuple(f.get("aliases", oldf.aliases if oldf else ())) + tuple(f.get("add_aliases", ()))
            aliases_zh = tuple(f.get("aliases_zh", oldf.aliases_zh if oldf else ())) + tuple(
                f.get("add_aliases_zh", ())
            )
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
    def default(cls) -> Registry:
        global _DEFAULT_REGISTRY
        if _DEFAULT_REGISTRY is None:
            data = json.loads(data_text("identity_registry.json"))
            v, f = cls._parse(data)
            _DEFAULT_REGISTRY = cls(v, f, version=str(data.get("version", "unknown")))
        return _DEFAULT_REGISTRY

    @classmethod
    def load(cls, path: str | Path | None = None, *, base: Registry | None = None) -> Registry:
        """The packaged registry, merged with a user JSON or TOML file.

        Entries of the user file override packaged ones field by field (a
        given ``aliases`` list replaces the old list; ``add_aliases`` /
        ``add_aliases_zh`` extend it); new ids add families or vendors.
        """
        base = cls.default() if base is None else base
        if path is None:
            return base
        from .._io import read_text

        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"registry file {str(p)!r} does not exist")
        text = read_text(p, "registry")  # UTF-8 (a BOM is fine); anything else says how to convert it
        if p.suffix.lower() == ".toml":
            try:
                import tomllib  # type: ignore[import-not-found]
            except ImportError:  # pragma: no cover - Python 3.10
                try:
                    import tomli as tomllib  # type: ignore[no-redef]
                except ImportError as exc:
                    raise ValueError("reading TOML on Python 3.10 needs 'pip install tomli'; or use JSON") from exc
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise ValueError(f"registry file {str(p)!r} is not valid TOML ({exc}); fix it or use .json") from None
        else:
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"registry file {str(p)!r} is not valid JSON ({exc}); use .toml for TOML") from exc
        try:
            v, f = cls._parse(data, base)
            return cls(v, f, version=f"{base.version}+{p.name}")
        except (TypeError, ValueError) as exc:  # what is wrong inside the file: say which file
            raise ValueError(f"registry file {str(p)!r}: {exc}") from None

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
            for k in {c} if cs else {c.lower(), c.upper()}:
                by_first.setdefault(k, []).append(piece)
        self._by_first = {k: re.compile("|".join(v)) for k, v in by_first.items()}
        self._gate = (
            re.compile("[" + "".join(re.escape(c) for c in sorted(by_first)) + "]")
            if by_first
            else re.compile(r"(?!x)x")
        )

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


def data_text(name: str) -> str:
    """Text of a file packaged under ``distillscope/data``."""
    # one joinpath step at a time: Python 3.10's Traversable takes one argument
    return resources.files("distillscope").joinpath("data").joinpath(name).read_text(encoding="utf-8")
