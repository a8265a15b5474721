"""One million response pairs, scored lexically and semantically, end to end.

    python benchmarks/bench_million.py                    # 1,000,000 pairs, Parquet input
    python benchmarks/bench_million.py --pairs 100000     # a quicker run
    python benchmarks/bench_million.py --format jsonl     # JSONL input instead
    python benchmarks/bench_million.py --data DIR --keep  # reuse / keep generated data

Generates N pairs of 50-300 words (Zipf words, each reference a partly
rewritten candidate) and two N x 384 float32 embedding files (.npy), then times

    distillscope score-pairs PAIRS --metrics rouge1,rouge2,rougeL,chrf,cosine \\
        --emb-a A.npy --emb-b B.npy --out OUT.parquet

as a subprocess: wall time and the child's peak RSS (``getrusage
(RUSAGE_CHILDREN).ru_maxrss``). Targets: <= 60 s and <= 2 GB. Afterwards it
checks the output (row count, score ranges, a random sample recomputed
in-process) and prints a Markdown row for docs/scale.md. Generation is not
timed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

import distillscope as ds
from distillscope.scale.bench import machine_info
from distillscope.scale.benchdata import write_embeddings, write_pairs


def run_measuring_peak(cmd: list[str]) -> tuple[subprocess.CompletedProcess, int | None]:
    """Run ``cmd``, sampling the child's VmHWM (peak RSS of its own address space).

    getrusage(RUSAGE_CHILDREN).ru_maxrss is not usable here: a child forked
    from this process (which holds the generated data) starts with the
    parent's resident set, and Linux carries that high-water mark across
    exec. VmHWM in /proc/PID/status belongs to the post-exec address space
    and only grows, so the last sample before exit is the peak (to within
    the 20 ms sampling interval).
    """
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak: int | None = None
    status = Path(f"/proc/{proc.pid}/status")

    def sample() -> None:
        nonlocal peak
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak or 0, int(line.split()[1]))
        except (OSError, ValueError):
            pass

    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(proc.communicate()), daemon=True)
    reader.start()
    while reader.is_alive():
        sample()
        reader.join(0.02)
    return subprocess.CompletedProcess(cmd, proc.returncode, out[0], out[1]), peak


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--format", choices=("parquet", "jsonl"), default="parquet")
    ap.add_argument("--metrics", default="rouge1,rouge2,rougeL,chrf,cosine")
    ap.add_argument("--chunk-size", type=int, default=None)
    ap.add_argument("--workers", type=int, default=-1)
    ap.add_argument("--data", help="folder for the generated data (default: a temp dir, removed afterwards)")
    ap.add_argument("--keep", action="store_true", help="keep the data folder")
    ap.add_argument("--json", help="write the result record here")
    args = ap.parse_args()

    tmp = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="ds-million-"))
    tmp.mkdir(parents=True, exist_ok=True)
    pairs = tmp / f"pairs-{args.pairs}.{args.format}"
    ea, eb = tmp / f"emb_a-{args.pairs}-{args.dim}.npy", tmp / f"emb_b-{args.pairs}-{args.dim}.npy"
    out = tmp / "scores.parquet"
    try:
        if not (pairs.exists() and ea.exists() and eb.exists()):
            t0 = time.perf_counter()
            print(f"generating {args.pairs:,} pairs and {args.dim}-d embeddings in {tmp} ...", flush=True)
            rates = write_pairs(pairs, args.pairs, seed=7)
            write_embeddings(ea, eb, rates, dim=args.dim, seed=8)
            print(f"  generated in {time.perf_counter() - t0:.0f} s", flush=True)
        sizes = {p.name: p.stat().st_size for p in (pairs, ea, eb)}
        for name, size in sizes.items():
            print(f"  {name}: {size / 2**30:.2f} GiB")
        for p in (out, out.with_name(out.name + ".progress.json")):
            if p.exists():
                p.unlink()
        shutil.rmtree(out.with_name(out.name + ".parts"), ignore_errors=True)

        cmd = [
            sys.executable,
            "-m",
            "distillscope",
            "score-pairs",
            str(pairs),
            "--metrics",
            args.metrics,
            "--emb-a",
            str(ea),
            "--emb-b",
            str(eb),
            "--out",
            str(out),
            "--workers",
            str(args.workers),
            "--no-resume",
            "--format",
            "json",
            "--no-progress",
        ]
        if args.chunk_size:
            cmd += ["--chunk-size", str(args.chunk_size)]
        info = machine_info()
        print("running:", " ".join(cmd), flush=True)
        t0 = time.perf_counter()
        proc, peak_kib = run_measuring_peak(cmd)
        wall = time.perf_counter() - t0
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        if peak_kib is None:  # no /proc: fall back to getrusage (inflated by fork from a large parent)
            peak_kib = ru.ru_maxrss  # KiB on Linux
        cpu = ru.ru_utime + ru.ru_stime  # the child's CPU seconds: what the run costs, whatever the load
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr, file=sys.stderr)
            return 1
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
        load_after = os.getloadavg()

        # verify: row count, ranges, a sample recomputed in-process
        import pyarrow.parquet as pq

        from distillscope.scale.pairio import iter_pair_chunks

        tbl = pq.read_table(out)
        assert tbl.num_rows == args.pairs, (tbl.num_rows, args.pairs)
        rng = np.random.default_rng(0)
        sample = np.sort(rng.choice(args.pairs, size=min(2000, args.pairs), replace=False))
        lo = int(sample[0])
        chunk = next(iter_pair_chunks(pairs, chunk_size=int(sample[-1]) - lo + 1, start_row=lo))
        idx = sample - lo
        cands = [chunk.candidates[i] for i in idx]
        refs = [chunk.references[i] for i in idx]
        a = np.load(ea, mmap_mode="r")[sample]
        b = np.load(eb, mmap_mode="r")[sample]
        want = ds.lexical_scores(cands, refs, [m for m in args.metrics.split(",") if m != "cosine"])
        want["cosine"] = ds.cosine_paired(a, b)
        got = tbl.take(sample)
        for k, v in want.items():
            if not np.array_equal(got.column(k).to_numpy(), v):
                print(f"MISMATCH in column {k}", file=sys.stderr)
                return 1
        rate = args.pairs / wall
        rec = {
            "pairs": args.pairs,
            "format": args.format,
            "metrics": args.metrics,
            "wall_s": wall,
            "pairs_per_s": rate,
            "peak_rss_mib": peak_kib / 1024,
            "cpu_s": cpu,
            "wall_if_idle_s": cpu / (os.cpu_count() or 1),
            "input_bytes": sizes,
            "score_pairs_summary": summary,
            "load_average_after": load_after,
            "machine": info,
            "targets": {"wall_s": 60, "peak_rss_mib": 2048},
        }
        print(
            f"\n{args.pairs:,} pairs ({args.format}) scored in {wall:.1f} s = {rate:,.0f} pairs/s; "
            f"peak RSS {peak_kib / 1024:,.0f} MiB; sample of {len(sample)} rows recomputed: identical"
        )
        print(
            f"CPU time {cpu:.1f} s = {args.pairs / cpu:,.0f} pairs per CPU-second; on {os.cpu_count()} idle cores "
            f"that is about {cpu / (os.cpu_count() or 1):.0f} s of wall time"
        )
        print(
            f"targets: <= 60 s -> {'met' if wall <= 60 else 'NOT met'}; <= 2 GB -> "
            f"{'met' if peak_kib <= 2 * 1024 * 1024 else 'NOT met'}"
        )
        print(
            f"load average after the run: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} "
            f"on {os.cpu_count()} cores (other processes share this machine)"
        )
        print("\n| pairs | input | metrics | wall | pairs/s | CPU time | peak RSS |\n|---|---|---|---|---|---|---|")
        print(
            f"| {args.pairs:,} | {args.format} {sum(sizes.values()) / 2**30:.1f} GiB incl. embeddings | "
            f"{args.metrics} | {wall:.1f} s | {rate:,.0f} | {cpu:.0f} s | {peak_kib / 1024:,.0f} MiB |"
        )
        if args.json:
            Path(args.json).write_text(json.dumps(rec, indent=2, default=str))
        return 0
    finally:
        if not args.keep and not args.data:
            shutil.rmtree(tmp, ignore_errors=True)
        elif not args.keep:
            for p in (out,):
                if p.exists():
                    p.unlink()


if __name__ == "__main__":
    raise SystemExit(main())
