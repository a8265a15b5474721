"""Draw the stratified sample behind tests/data/identity_seed_labels.jsonl.

Per seed file and per (judge verdict, question language) stratum, 17-18
answers at random (seed 12); then each drawn answer goes to the held-out
split with probability 0.3, decided before any extractor was tuned. The
labels themselves were written by a person reading each answer; this script
only reproduces which answers were drawn and which split each one is in.

    python3 tools/identity_seed_sample.py ../shared/data/seed_identity out.json
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

CJK = re.compile(r"[\u4e00-\u9fff]")


def draw(data_dir: Path) -> list[dict]:
    rng = random.Random(12)
    sel = []
    for f in sorted(p.name for p in data_dir.glob("*.jsonl")):
        rows = [json.loads(x) for x in (data_dir / f).read_text(encoding="utf-8").splitlines() if x.strip()]
        strata: dict[tuple[bool, bool], list[int]] = {}
        for i, r in enumerate(rows):
            strata.setdefault((bool(r["eval_results"]), bool(CJK.search(r["query"]))), []).append(i)
        for (judge, _zh), idx in sorted(strata.items()):
            rng.shuffle(idx)
            sel += [(f, i) for i in idx[: 18 if judge else 17]]
    rng.shuffle(sel)
    return [{"file": f, "line": i, "split": "heldout" if rng.random() < 0.3 else "dev"} for f, i in sel]


if __name__ == "__main__":
    out = draw(Path(sys.argv[1]))
    Path(sys.argv[2]).write_text(json.dumps(out), encoding="utf-8")
    print(len(out), sum(o["split"] == "heldout" for o in out))
