"""distillscope.compat against the peers it stands in for, same data, same process.

    python benchmarks/bench_compat.py                 # 2,000 pairs of 50-300 words
    python benchmarks/bench_compat.py --n 500 --bert-pairs 100 --threads 2

* corpus BLEU and chrF: ``compat.sacrebleu.corpus_bleu/corpus_chrf`` vs
  ``sacrebleu`` (one reference stream; target >= 20x for BLEU), and corpus
  BLEU against three reference streams;
* ROUGE: ``compat.rouge_scorer.RougeScorer.score_batch`` vs rouge-score's
  ``score`` in a loop (rouge1, rouge2, rougeL, rougeLsum);
* BERTScore: ``compat.bert_score.score`` vs ``bert_score.score`` on
  all-MiniLM-L6-v2, layer 6, CPU, the same thread count for both
  (torch.set_num_threads and onnxruntime intra-op threads; target >= 3x);
  skipped with a note when bert-score / torch are not importable.

Every row checks agreement (max |difference|) before printing the ratio.
Pairs: the generator of bench_text.py (50-300 Zipf words, noisy paraphrase).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import machine, print_machine  # noqa: E402
from bench_text import make_pairs  # noqa: E402


def timed(fn, repeat: int = 3):
    best, out = float("inf"), None
    for i in range(repeat):
        t0 = time.perf_counter()
        r = fn()
        best = min(best, time.perf_counter() - t0)
        out = r if i == 0 else out
    return best, out


def row(name: str, t_ds: float, t_peer: float, diff: float, n: int) -> None:
    print(
        f"{name:<28} {n:>6} pairs  distillscope {t_ds * 1e3:9.1f} ms  peer {t_peer * 1e3:10.1f} ms  "
        f"speed-up {t_peer / t_ds:7.1f}x  max|diff| {diff:.2e}"
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="pairs for BLEU / chrF / ROUGE")
    ap.add_argument("--bert-pairs", type=int, default=200, help="pairs for BERTScore")
    ap.add_argument("--threads", type=int, default=2, help="threads for both BERTScore engines")
    ap.add_argument("--model", default="all-MiniLM-L6-v2", help="model for BERTScore (name or directory)")
    args = ap.parse_args(argv)
    print_machine(machine())
    from distillscope import capabilities

    print(f"dispatch: {capabilities()['isa']}")
    cands, refs = make_pairs(args.n, seed=0)

    import sacrebleu

    from distillscope.compat import sacrebleu as ds_sb

    t_ds, a = timed(lambda: ds_sb.corpus_bleu(cands, [refs]))
    t_p, b = timed(lambda: sacrebleu.corpus_bleu(cands, [refs]), repeat=1)
    row("corpus BLEU (13a)", t_ds, t_p, abs(a.score - b.score), args.n)
    # two more references per segment: the first one with every 7th word dropped, and with its halves swapped
    refs2 = [" ".join(w for j, w in enumerate(r.split()) if j % 7) for r in refs]
    refs3 = [" ".join(r.split()[len(r.split()) // 2 :] + r.split()[: len(r.split()) // 2]) for r in refs]
    t_ds, a = timed(lambda: ds_sb.corpus_bleu(cands, [refs, refs2, refs3]))
    t_p, b = timed(lambda: sacrebleu.corpus_bleu(cands, [refs, refs2, refs3]), repeat=1)
    row("corpus BLEU, 3 references", t_ds, t_p, abs(a.score - b.score), args.n)
    t_ds, a = timed(lambda: ds_sb.corpus_chrf(cands, [refs]))
    t_p, b = timed(lambda: sacrebleu.corpus_chrf(cands, [refs]), repeat=1)
    row("corpus chrF", t_ds, t_p, abs(a.score - b.score), args.n)

    from rouge_score import rouge_scorer

    from distillscope.compat import rouge_scorer as ds_rs

    types = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
    sub = min(args.n, 300)
    mine, peer = ds_rs.RougeScorer(types), rouge_scorer.RougeScorer(types)
    t_ds, a = timed(lambda: mine.score_batch(refs[:sub], cands[:sub]))
    t_p, b = timed(lambda: [peer.score(r, c) for r, c in zip(refs[:sub], cands[:sub])], repeat=1)
    diff = max(abs(a[k].fmeasure[i] - b[i][k].fmeasure) for k in types for i in range(sub))
    row("ROUGE 1/2/L/Lsum", t_ds, t_p, diff, sub)

    try:
        import bert_score
        import torch
    except ImportError as exc:
        print(f"BERTScore: skipped ({exc}); pip install bert-score torch to compare")
        return 0
    from distillscope.compat import bert_score as ds_bs
    from distillscope.embed.encoder import Encoder
    from distillscope.embed.models import resolve_model
    from distillscope.text.bertscore import bert_score as native

    model_dir = str(resolve_model(args.model).directory)
    torch.set_num_threads(args.threads)
    bc, br = cands[: args.bert_pairs], refs[: args.bert_pairs]
    t_p, b = timed(lambda: bert_score.score(bc, br, model_type=model_dir, num_layers=6, batch_size=64), repeat=1)
    # fp32 is the parity configuration (the default of ds.bert_score and compat.bert_score);
    # int8 is the fast one, shown with how far it moves F.
    for prec in ("fp32", "int8"):
        enc = Encoder(model_dir, layer=6, cache=None, threads=args.threads, max_length=512, precision=prec)
        t_ds, a = timed(lambda: native(bc, br, encoder=enc, batch_size=64), repeat=2)
        row(f"BERTScore {prec} ({args.threads} thr)", t_ds, t_p, float(np.abs(a.f1 - b[2].numpy()).max()), len(bc))
    tokens = int(enc.token_counts(bc + br).sum())
    print(f"  {tokens:,} tokens in {len(bc) * 2} texts ({tokens / (len(bc) * 2):.0f} per text)")
    t_c, _ = timed(lambda: ds_bs.score(bc, br, model_type=model_dir, num_layers=6), repeat=1)
    print(f"  compat.bert_score.score incl. building the encoder: {t_c * 1e3:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
