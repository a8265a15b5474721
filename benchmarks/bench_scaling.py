"""How pair-scoring throughput grows with kernel threads and Dask workers, and what bounds it.

    python benchmarks/bench_scaling.py                 # 40,000 pairs
    python benchmarks/bench_scaling.py --pairs 200000

Same generated pairs (50-300 words, 384-d embeddings) for every row:

* per-stage rates on one core: reading Parquet into Python strings,
  tokenizing, ROUGE-1/2/L, chrF, cosine over memory-mapped rows: which stage
  limits the end-to-end rate;
* ``score_pairs`` end to end with ``workers`` = 1 .. all cores;
* ``score_pairs(scheduler=...)`` on a ``distributed.LocalCluster`` with
  1 .. cores worker processes of one thread each.

Results must be identical across every configuration (checked). Prints a
Markdown table; ``--json`` saves it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import distillscope as ds
from distillscope.scale.bench import machine_info
from distillscope.scale.benchdata import write_embeddings, write_pairs
from distillscope.scale.embeddings import Embeddings
from distillscope.scale.pairio import iter_pair_chunks
from distillscope.scale.scoring import score_pairs

METRICS = "rouge1,rouge2,rougeL,chrf,cosine"


def best(fn, repeat=2):
    b = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        b = min(b, time.perf_counter() - t0)
    return b


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=40_000)
    ap.add_argument("--chunk-size", type=int, default=8192)
    ap.add_argument("--json")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    n = args.pairs
    info = machine_info()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        rates = write_pairs(d / "p.parquet", n, seed=11)
        write_embeddings(d / "a.npy", d / "b.npy", rates, dim=384, seed=12)
        print(f"load average before: {os.getloadavg()}")

        # per-stage rates, one core
        chunk = next(iter_pair_chunks(d / "p.parquet", chunk_size=n))
        c, r = chunk.candidates, chunk.references
        sec = best(lambda: next(iter_pair_chunks(d / "p.parquet", chunk_size=n)))
        rows.append({"what": "read Parquet -> str (1 thread)", "pairs_per_s": n / sec})
        sec = best(lambda: (ds.tokenize(c), ds.tokenize(r)))
        rows.append({"what": "tokenize both sides (unicode, 1 thread)", "pairs_per_s": n / sec})
        sec = best(lambda: ds.lexical_scores(c, r, ("rouge1", "rouge2", "rougeL")))
        rows.append({"what": "ROUGE-1/2/L incl. tokenizing (1 thread)", "pairs_per_s": n / sec})
        sec = best(lambda: ds.lexical_scores(c, r, ("chrf",)))
        rows.append({"what": "chrF (1 thread)", "pairs_per_s": n / sec})
        with Embeddings(d / "a.npy") as ea, Embeddings(d / "b.npy") as eb:
            a, b = ea.rows(0, n), eb.rows(0, n)
            sec = best(lambda: ds.cosine_paired(a, b), 3)
            rows.append(
                {
                    "what": "cosine 384-d over mmap rows (1 thread)",
                    "pairs_per_s": n / sec,
                    "GB_per_s": 2 * n * 384 * 4 / sec / 1e9,
                }
            )
            a = b = None  # free the rows before the next size

        ref = None
        import pyarrow.parquet as pq

        for w in sorted({1, 2, cores}):
            if w > cores:
                continue
            out = d / f"o{w}.parquet"
            t0 = time.perf_counter()
            score_pairs(
                d / "p.parquet",
                out,
                METRICS,
                emb_a=d / "a.npy",
                emb_b=d / "b.npy",
                chunk_size=args.chunk_size,
                workers=w,
                resume=False,
            )
            sec = time.perf_counter() - t0
            t = pq.read_table(out)
            ref = ref or t
            rows.append(
                {"what": f"score_pairs end to end, workers={w}", "pairs_per_s": n / sec, "identical": t.equals(ref)}
            )
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            print("note: distributed not installed; Dask rows skipped")
        else:
            for nw in sorted({1, 2, cores}):
                with (
                    LocalCluster(
                        n_workers=nw, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
                    ) as cl,
                    Client(cl) as client,
                ):
                    out = d / f"dask{nw}.parquet"
                    t0 = time.perf_counter()
                    score_pairs(
                        d / "p.parquet",
                        out,
                        METRICS,
                        emb_a=d / "a.npy",
                        emb_b=d / "b.npy",
                        chunk_size=args.chunk_size,
                        resume=False,
                        scheduler=client,
                    )
                    sec = time.perf_counter() - t0
                    t = pq.read_table(out)
                    rows.append(
                        {
                            "what": f"score_pairs on LocalCluster, {nw} worker process(es) x 1 thread",
                            "pairs_per_s": n / sec,
                            "identical": t.equals(ref),
                        }
                    )
        print(f"load average after: {os.getloadavg()}")

    print(f"\n{n:,} pairs of 50-300 words, metrics {METRICS}; {info.get('cpu')}, {cores} cores\n")
    print("| stage / configuration | pairs/s | note |\n|---|---|---|")
    for row in rows:
        note = []
        if "GB_per_s" in row:
            note.append(f"{row['GB_per_s']:.1f} GB/s of embeddings")
        if "identical" in row:
            note.append("identical output" if row["identical"] else "DIFFERENT OUTPUT")
        print(f"| {row['what']} | {row['pairs_per_s']:,.0f} | {'; '.join(note)} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "pairs": n, "rows": rows}, indent=2, default=str))
    return 0 if all(r.get("identical", True) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
