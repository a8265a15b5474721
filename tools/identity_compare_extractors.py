"""Both identity extractors on both labelled sets, split by split.

The numbers behind "Which extractor reads which answers" in docs/identity.md:
the claims extractor (``identity.claims``, short probe answers) and the voice
scanner (``identity.voice``, long role-play jailbreak answers), each scored on

* ``tests/data/identity_labelled.jsonl`` (short answers; splits dev,
  heldout, heldout2), positive = label ``contradicts``;
* ``tests/data/identity_seed_labels.jsonl`` (the seed paper's jailbreak
  answers; splits dev, heldout), positive = ``label`` true;

plus their union (a response contradicts when either says so), and the CPU
throughput of each on the 6,000 seed answers. Held-out rows are only scored
here, never looked at one by one.

    python3 tools/identity_compare_extractors.py [--data ../shared/data/seed_identity] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

from distillscope.identity.claims import ClaimExtractor  # noqa: E402
from distillscope.identity.registry import Registry, Target  # noqa: E402
from distillscope.identity.voice import VoiceScanner  # noqa: E402


def _default_data() -> Path:
    for root in (ROOT.parent, ROOT.parent.parent):
        d = root / "shared" / "data" / "seed_identity"
        if d.is_dir():
            return d
    return ROOT.parent / "shared" / "data" / "seed_identity"


def _scores(pairs: list[tuple[bool, bool]]) -> dict[str, float]:
    tp = sum(p and y for p, y in pairs)
    fp = sum(p and not y for p, y in pairs)
    fn = sum((not p) and y for p, y in pairs)
    n = len(pairs)
    return {
        "n": n,
        "precision": round(tp / max(tp + fp, 1), 3),
        "recall": round(tp / max(tp + fn, 1), 3),
        "accuracy": round((n - fp - fn) / max(n, 1), 3),
    }


def _model(fname: str) -> str:
    return fname.split("_GPT_", 1)[1].removesuffix(".jsonl")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=_default_data(), help="the seed_identity folder")
    ap.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"no folder {args.data}; pass --data DIR (the seed_identity folder)", file=sys.stderr)
        return 2
    reg = Registry.default()
    ce, vs = ClaimExtractor(reg), VoiceScanner(reg)

    def claims(resp: str, t: Target, prompt: str, stem: str | None = None) -> bool:
        return ce.classify(resp, t, prompt, stem=stem).verdict == "contradicts"

    def voice(resp: str, t: Target, prompt: str, stem: str | None = None) -> bool:
        # the scanner has no stem argument: it reads the continued text
        return vs.scan(stem + " " + resp if stem else resp, t, prompt).contradicts

    def union(resp: str, t: Target, prompt: str, stem: str | None = None) -> bool:
        return claims(resp, t, prompt, stem) or voice(resp, t, prompt, stem)

    short = [
        json.loads(x)
        for x in (ROOT / "tests/data/identity_labelled.jsonl").read_text(encoding="utf-8").splitlines()
        if x.strip()
    ]
    seed_labels = [
        json.loads(x)
        for x in (ROOT / "tests/data/identity_seed_labels.jsonl").read_text(encoding="utf-8").splitlines()
        if x.strip()
    ]
    files = {
        p.name: [json.loads(x) for x in p.read_text(encoding="utf-8").splitlines() if x.strip()]
        for p in sorted(args.data.glob("*.jsonl"))
    }
    short_items = {
        split: [
            (r["response"], reg.target(r["target"]), r["prompt"], r.get("stem"), r["label"] == "contradicts")
            for r in short
            if r["split"] == split
        ]
        for split in ("dev", "heldout", "heldout2")
    }
    seed_items: dict[str, list] = {"dev": [], "heldout": []}
    for lab in seed_labels:
        row = files[lab["file"]][lab["line"]]
        prompt = row["jailbreak_prompt"].replace("{query}", row["query"])
        seed_items[lab["split"]].append(
            (row["target_responses"][0], reg.target(_model(lab["file"])), prompt, None, lab["label"])
        )
    out: dict[str, dict] = {}
    print(f"{'extractor':<8} {'set':<6} {'split':<9} {'n':>4} {'P':>6} {'R':>6} {'acc':>6}")
    for name, fn in (("claims", claims), ("voice", voice), ("union", union)):
        for set_name, items in (("short", short_items), ("seed", seed_items)):
            for split, rows in items.items():
                s = _scores([(fn(a, t, p, st), y) for a, t, p, st, y in rows])
                out[f"{name}/{set_name}/{split}"] = s
                print(
                    f"{name:<8} {set_name:<6} {split:<9} {s['n']:>4} {s['precision']:>6.3f} {s['recall']:>6.3f} {s['accuracy']:>6.3f}"
                )
    work = [
        (r["target_responses"][0], reg.target(_model(f)), r["jailbreak_prompt"].replace("{query}", r["query"]))
        for f, rows in files.items()
        for r in rows
    ]
    for name, fn in (("claims", claims), ("voice", voice)):
        c0 = time.process_time()
        for a, t, p in work:
            fn(a, t, p)
        rate = len(work) / max(time.process_time() - c0, 1e-9)
        out[f"{name}/seed_answers_per_cpu_s"] = {"rate": round(rate)}
        print(f"{name}: {rate:,.0f} seed answers per CPU second ({len(work)} answers)")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
