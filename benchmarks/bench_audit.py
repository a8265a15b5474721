"""A first audit on real data: the whole `attribute` run against embedding the responses alone.

    python benchmarks/bench_audit.py --data ../shared/data/alpaca_eval            # 6 models x 200 prompts
    python benchmarks/bench_audit.py --data ... --models 9 --prompts 0 --no-peer  # the 9-model audit (all prompts)

What is timed, side by side in one process, with the same threads:

* **peer**: sentence-transformers embedding the audit's responses once
  (batch 32, fp32, its own truncation at 256 tokens). Where
  sentence-transformers (hence PyTorch) is not installed, the same ONNX model
  in fp32 embedding the responses once, response-only, no cache, stands in
  (onnxruntime is faster than PyTorch here, so this baseline is the stricter
  one); the output says which ran.
* **audit (first run)**: loading nothing more, every granularity (lexical,
  semantic, structural, style) of all-vs-all model pairs with the
  shuffled-prompt null, then `attribute` with 1000 bootstrap resamples, with
  an empty embedding cache and the default encoder (precision "auto", late
  chunking: one encoder pass per response).
* **audit, two passes** (``--compare``, the default): the same with the
  previous vectors (fp32, responses truncated to 256 tokens and every distinct
  sentence embedded again as a text of its own), to show the speed-up and how
  the semantic and structural scores and the attribution change.

Prompts are a seeded sample (``RSEConfig.max_prompts``), the same in every run.
Wall times and process CPU seconds are both printed: on a shared machine the
CPU seconds compare engines more fairly than wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, print_machine

SIX = (
    "gpt4_1106_preview",
    "gpt4_1106_preview_concise",
    "Meta-Llama-3-70B-Instruct",
    "Qwen1.5-72B-Chat",
    "Yi-34B-Chat",
    "zephyr-7b-beta",
)


def load(data: Path, models: list[str]):
    from distillscope.store.loader import load_inputs

    return load_inputs([data / f"{m}.json" for m in models])


def responses(table, models: list[str], n_prompts: int | None, seed: int) -> list[str]:
    """The responses the audit scores: the models' answers to the seeded prompt sample."""
    from distillscope.analysis.similarity import sample_prompts

    rows = [i for i in range(len(table)) if table.ok[i] and str(table.model[i]) in set(models)]
    ids = sorted({str(table.prompt_id[i]) for i in rows})
    keep = set(ids) if n_prompts is None else {ids[j] for j in sample_prompts(ids, n_prompts, seed)}
    return [str(table.response[i]) for i in rows if str(table.prompt_id[i]) in keep]


def audit(table, models, cfg, encoder, n_boot: int, seed: int, progress: bool) -> tuple[float, dict, object, dict]:
    from distillscope.analysis.attribution import attribute
    from distillscope.analysis.degree import DegreeConfig
    from distillscope.analysis.similarity import response_similarity

    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    last = [t0]

    def log(msg: str) -> None:
        now = time.perf_counter()
        stages[msg] = now - last[0]
        last[0] = now
        print(f"    [{now - t0:6.1f} s] {msg}", file=sys.stderr)

    c0 = time.process_time()
    st = response_similarity(table, models, encoder=encoder, config=cfg, log=log, progress=progress)
    t_sim = time.perf_counter() - t0
    att = attribute(st, models, models, DegreeConfig(n_boot=n_boot, seed=seed))
    total = time.perf_counter() - t0
    return total, {"similarity": t_sim, "attribute": total - t_sim, "cpu_seconds": time.process_time() - c0}, st, att


def peer_embed(texts: list[str], enc_dir: Path, threads: int) -> tuple[str, float, np.ndarray]:
    try:
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError:
        from distillscope.embed.encoder import Encoder

        e = Encoder(enc_dir, precision="fp32", cache=None, threads=threads)
        e.encode(["warm-up"])
        t0, c0 = time.perf_counter(), time.process_time()
        X = e.encode(texts)
        print(f"    peer cpu seconds: {time.process_time() - c0:.1f}", file=sys.stderr)
        return "ONNX fp32 response-only pass (sentence-transformers not installed)", time.perf_counter() - t0, X
    torch.set_num_threads(threads)
    model = SentenceTransformer(str(enc_dir), device="cpu")
    model.encode(["warm-up"])
    t0, c0 = time.perf_counter(), time.process_time()
    X = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    print(f"    peer cpu seconds: {time.process_time() - c0:.1f}", file=sys.stderr)
    return "sentence-transformers", time.perf_counter() - t0, X


def compare(a, b, att_a: dict, att_b: dict, models) -> dict:
    """How per-prompt scores and the attribution change from b (two passes) to a (late)."""
    out: dict = {}
    for g in ("semantic", "structural", "align_f1", "order"):
        if g not in a.scores or g not in b.scores:
            continue
        x = np.concatenate([a.scores[g][k] for k in sorted(a.scores[g])])
        y = np.concatenate([b.scores[g][k] for k in sorted(a.scores[g])])
        ok = np.isfinite(x) & np.isfinite(y)
        from scipy.stats import spearmanr

        out[g] = {
            "pearson": float(np.corrcoef(x[ok], y[ok])[0, 1]),
            "spearman": float(spearmanr(x[ok], y[ok])[0]),
            "mean_late": float(x[ok].mean()),
            "mean_two_pass": float(y[ok].mean()),
        }
        # separation: real pairs against their shuffled-prompt null (higher: more signal per prompt)
        for name, t in (("late", a), ("two_pass", b)):
            raw = np.concatenate([t.scores[g][k] for k in sorted(t.scores[g])])
            nul = np.concatenate([t.null[g][k] for k in sorted(t.scores[g])])
            good = np.isfinite(raw) & np.isfinite(nul)
            d = raw[good] - nul[good]
            out[g][f"raw_minus_null_{name}"] = float(d.mean() / (d.std() + 1e-12))
    top = {}
    for s in models:
        la, lb = att_a["students"][s], att_b["students"][s]
        top[s] = {"late": [r["candidate"] for r in la], "two_pass": [r["candidate"] for r in lb]}
    out["ranking"] = top
    out["same_top1"] = sum(v["late"][0] == v["two_pass"][0] for v in top.values())
    out["same_full_ranking"] = sum(v["late"] == v["two_pass"] for v in top.values())
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "alpaca_eval"
    )
    ap.add_argument("--models", type=int, default=6, help="6 (the issue's set) or 9 (every file)")
    ap.add_argument("--prompts", type=int, default=200, help="seeded prompt sample (0: all 805)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-compare", dest="compare", action="store_false", help="skip the two-pass run")
    ap.add_argument("--no-peer", dest="peer", action="store_false", help="skip the peer embedding run")
    ap.add_argument("--progress", action="store_true", help="show progress bars")
    ap.add_argument("--json", type=Path, default=None, help="write the numbers here")
    args = ap.parse_args()
    if not args.data.is_dir():
        print(f"no AlpacaEval data at {args.data}; pass --data DIR", file=sys.stderr)
        return 2

    from distillscope.analysis.similarity import RSEConfig
    from distillscope.embed.encoder import Encoder
    from distillscope.embed.models import resolve_model
    from distillscope.embed.precision import cpu_int8_dot

    info = machine()
    print_machine(info)
    models = list(SIX) if args.models == 6 else sorted(p.stem for p in args.data.glob("*.json"))
    table = load(args.data, models)
    n_prompts = args.prompts or None
    cfg = RSEConfig(max_prompts=n_prompts, sample_seed=args.seed, null_seed=args.seed, workers=args.threads)
    texts = responses(table, models, n_prompts, args.seed)
    enc_dir = resolve_model(None).directory
    print(
        f"{len(models)} models x {n_prompts or 'all'} prompts: {len(texts):,} responses "
        f"({len(set(texts)):,} distinct), {args.threads} threads, int8 dot product: {cpu_int8_dot()}"
    )
    res: dict = {"models": models, "n_responses": len(texts), "threads": args.threads, "machine": info}

    if args.peer:
        name, t_peer, _ = peer_embed(texts, enc_dir, args.threads)
        res["peer"] = {"engine": name, "seconds": t_peer}
        print(f"  peer  {name}: {t_peer:7.1f} s")

    with tempfile.TemporaryDirectory() as tmp:
        enc = Encoder(cache=Path(tmp) / "empty.sqlite3", threads=args.threads)
        print(f"  audit (first run, empty cache): encoder {enc.precision}, units late")
        t_late, st_late, sc_late, att_late = audit(table, models, cfg, enc, args.bootstrap, args.seed, args.progress)
        res["audit_late"] = {"seconds": t_late, "stages": st_late, "precision": enc.precision}
        print(f"  audit {t_late:7.1f} s  ({st_late})")
        if args.compare:
            enc2 = Encoder(precision="fp32", cache=Path(tmp) / "empty2.sqlite3", threads=args.threads)
            cfg2 = RSEConfig(
                max_prompts=n_prompts,
                sample_seed=args.seed,
                null_seed=args.seed,
                workers=args.threads,
                units="separate",
            )
            print("  audit, two passes (fp32, separate sentence vectors), empty cache")
            t_two, st_two, sc_two, att_two = audit(table, models, cfg2, enc2, args.bootstrap, args.seed, args.progress)
            res["audit_two_pass"] = {"seconds": t_two, "stages": st_two}
            print(f"  audit {t_two:7.1f} s  ({st_two})")
            res["change"] = compare(sc_late, sc_two, att_late, att_two, models)
            print(json.dumps({k: v for k, v in res["change"].items() if k != "ranking"}, indent=1))
            for s, v in res["change"]["ranking"].items():
                print(f"    {s:28s} late: {', '.join(v['late'][:3]):70s} two-pass: {', '.join(v['two_pass'][:3])}")
    if args.peer:
        ratio = t_late / res["peer"]["seconds"]
        res["ratio_audit_over_peer"] = ratio
        print(f"ratio audit / peer embedding = {ratio:.2f} (target <= 0.5 against sentence-transformers)")
    if args.json:
        args.json.write_text(json.dumps(res, indent=1, default=str))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    raise SystemExit(main())
