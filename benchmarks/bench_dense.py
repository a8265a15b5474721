"""Dense kernels against the tools users would otherwise pick, same data, same run.

    python benchmarks/bench_dense.py            # full sizes from the issue
    python benchmarks/bench_dense.py --quick    # small sizes, a smoke run

* cosine_paired on N×D float32 pairs: numpy (chunked einsum, its best form),
  SimSIMD (batched ``simsimd.cosine``), distillscope workers=1/2 and float16.
* cosine_grouped on G groups of 8×8 rows: a numpy loop over groups (timed on a
  subset and scaled), one batched numpy matmul over the (already padded) groups.
* cosine_grouped reduce="matched" (precision + recall) / 2 on the same groups:
  one call against the two calls (precision, then recall) it replaces in the
  similarity analysis; the ratio is the one-call speed-up.
* cosine_topk Q×N×D top-10: faiss IndexFlatIP on normalized copies (BLAS
  kernel printed), a chunked numpy matmul + argpartition, distillscope native
  and auto (which hands large problems to faiss).
Every peer's result is checked against distillscope's; ratios are printed
(distillscope speed-up = peer time / distillscope time).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import distillscope as ds  # noqa: E402
from _common import Table, best_of, machine, print_machine, race  # noqa: E402


def numpy_paired(a: np.ndarray, b: np.ndarray, chunk: int = 16384) -> np.ndarray:
    out = np.empty(len(a), np.float32)
    for i in range(0, len(a), chunk):
        x, y = a[i : i + chunk], b[i : i + chunk]
        dot = np.einsum("ij,ij->i", x, y)
        nx = np.einsum("ij,ij->i", x, x)
        ny = np.einsum("ij,ij->i", y, y)
        out[i : i + chunk] = dot / np.sqrt(nx * ny)
    return out


def bench_paired(t: Table, n: int, d: int, rng) -> None:
    a = rng.standard_normal((n, d), dtype=np.float32)
    b = rng.standard_normal((n, d), dtype=np.float32)
    a16, b16 = a.astype(np.float16), b.astype(np.float16)
    task = f"cosine_paired {n:,}×{d} f32"
    fns = {
        "ours1": lambda: ds.cosine_paired(a, b, workers=1),
        "ours2": lambda: ds.cosine_paired(a, b, workers=2),
        "f16": lambda: ds.cosine_paired(a16, b16, workers=1),
        "numpy": lambda: numpy_paired(a, b),
    }
    try:
        import simsimd

        fns["simsimd"] = lambda: np.asarray(simsimd.cosine(a, b))
    except ImportError:
        simsimd = None
        print("note: simsimd not installed, skipped")
    res = race(fns, repeat=5)
    ours = res["ours1"][1]
    assert np.array_equal(ours, res["ours2"][1])
    t.add(task, "distillscope workers=1", res["ours1"][0], n, "pairs/s")
    t.add(task, "distillscope workers=2 (not the headline)", res["ours2"][0], n, "pairs/s", "identical")
    t.add(
        task,
        "distillscope float16 input, workers=1",
        res["f16"][0],
        n,
        "pairs/s",
        f"max|Δ| vs f32 {np.abs(res['f16'][1] - ours).max():.1e}",
    )
    t.add(
        task,
        "numpy chunked einsum",
        res["numpy"][0],
        n,
        "pairs/s",
        f"max|Δ| {np.abs(res['numpy'][1] - ours).max():.1e}",
    )
    if simsimd is not None:
        t.add(
            task,
            f"simsimd {simsimd.__version__} cosine (batched)",
            res["simsimd"][0],
            n,
            "pairs/s",
            f"max|Δ| {np.abs((1 - res['simsimd'][1]) - ours).max():.1e}",
        )


def _grouped_inputs(groups: int, rows: int, d: int, rng):
    """Random float32 rows for both sides and the offsets of equal groups of ``rows``."""
    n = groups * rows
    a = rng.standard_normal((n, d), dtype=np.float32)
    b = rng.standard_normal((n, d), dtype=np.float32)
    return a, b, np.arange(0, n + 1, rows, dtype=np.int64)


def bench_grouped(t: Table, groups: int, rows: int, d: int, rng) -> None:
    a, b, off = _grouped_inputs(groups, rows, d, rng)
    task = f"cosine_grouped {groups:,} groups of {rows}×{rows}, D={d}, mean"
    sec, ours = best_of(lambda: ds.cosine_grouped(a, off, b, off, reduce="mean", workers=1))
    t.add(task, "distillscope workers=1", sec, groups, "groups/s")
    sec, ours2 = best_of(lambda: ds.cosine_grouped(a, off, b, off, reduce="mean", workers=2))
    assert np.array_equal(ours, ours2, equal_nan=True)
    t.add(task, "distillscope workers=2 (not the headline)", sec, groups, "groups/s")

    sub = min(groups, 20000)

    def loop():
        out = np.empty(sub)
        for g in range(sub):
            x = a[off[g] : off[g + 1]]
            y = b[off[g] : off[g + 1]]
            x = x / np.linalg.norm(x, axis=1, keepdims=True)
            y = y / np.linalg.norm(y, axis=1, keepdims=True)
            out[g] = (x @ y.T).mean()
        return out

    sec, ref = best_of(loop, repeat=1)
    t.add(
        task,
        f"numpy loop over groups (timed on {sub:,}, scaled)",
        sec,
        sub,
        "groups/s",
        f"max|Δ| {np.abs(ref - ours[:sub]).max():.1e}",
    )

    A = a.reshape(groups, rows, d)
    B = b.reshape(groups, rows, d)

    def batched():
        na = np.linalg.norm(A, axis=2)
        nb = np.linalg.norm(B, axis=2)
        s = np.matmul(A, B.transpose(0, 2, 1))
        s /= na[:, :, None]
        s /= nb[:, None, :]
        return s.mean(axis=(1, 2))

    sec, ref = best_of(batched, repeat=2)
    t.add(
        task,
        "numpy batched matmul over padded groups",
        sec,
        groups,
        "groups/s",
        f"max|Δ| {np.abs(ref - ours).max():.1e}",
    )


def bench_grouped_matched(t: Table, groups: int, rows: int, d: int, rng) -> None:
    a, b, off = _grouped_inputs(groups, rows, d, rng)
    task = f"cosine_grouped {groups:,} groups of {rows}×{rows}, D={d}, matched = (P + R) / 2"

    def two_calls():
        p = ds.cosine_grouped(a, off, b, off, reduce="precision", workers=1).astype(np.float64)
        r = ds.cosine_grouped(a, off, b, off, reduce="recall", workers=1).astype(np.float64)
        return 0.5 * (p + r)

    res = race({"one": lambda: ds.cosine_grouped(a, off, b, off, reduce="matched", workers=1), "two": two_calls})
    (one_sec, one), (two_sec, two) = res["one"], res["two"]
    t.add(task, "distillscope reduce='matched', one call, workers=1", one_sec, groups, "groups/s")
    t.add(
        task,
        "two calls: reduce='precision' + reduce='recall', workers=1",
        two_sec,
        groups,
        "groups/s",
        f"max|Δ| {np.abs(two - one).max():.1e}",
    )
    print(f"{task}: two calls / one call = {two_sec / one_sec:.2f}×")


def bench_topk(t: Table, nq: int, nc: int, d: int, k: int, rng, workers: int) -> None:
    import faiss

    q = rng.standard_normal((nq, d), dtype=np.float32)
    c = rng.standard_normal((nc, d), dtype=np.float32)
    task = f"cosine_topk {nq:,}×{nc:,}×{d} top-{k}, {workers} thread(s)"

    def faiss_flat():
        faiss.omp_set_num_threads(workers)
        qn, cn = q.copy(), c.copy()
        faiss.normalize_L2(qn)
        faiss.normalize_L2(cn)
        index = faiss.IndexFlatIP(d)
        index.add(cn)
        return index.search(qn, k)

    res = race({"auto": lambda: ds.cosine_topk(q, c, k, workers=workers), "faiss": faiss_flat}, repeat=3)
    sec, (s_auto, i_auto) = res["auto"]
    t.add(task, f"distillscope auto (faiss path), workers={workers}", sec, nq, "queries/s")
    sec, (s_f, i_f) = res["faiss"]
    t.add(
        task,
        f"faiss {faiss.__version__} IndexFlatIP",
        sec,
        nq,
        "queries/s",
        f"max|Δscore| {np.abs(s_f - s_auto).max():.1e}, same ids {np.mean(i_f == i_auto):.4f}",
    )
    sec, (s_n, i_n) = best_of(lambda: ds.cosine_topk(q, c, k, method="native", workers=workers), repeat=1)
    t.add(
        task,
        f"distillscope native kernel, workers={workers}",
        sec,
        nq,
        "queries/s",
        f"max|Δscore| {np.abs(s_n - s_auto).max():.1e}, same ids {np.mean(i_n == i_auto):.4f}",
    )

    def numpy_topk(chunk: int = 2048):
        cn = c / np.linalg.norm(c, axis=1, keepdims=True)
        out = np.empty((nq, k), np.int64)
        for i in range(0, nq, chunk):
            qq = q[i : i + chunk]
            s = (qq / np.linalg.norm(qq, axis=1, keepdims=True)) @ cn.T
            part = np.argpartition(-s, k, axis=1)[:, :k]
            order = np.argsort(-np.take_along_axis(s, part, 1), axis=1)
            out[i : i + chunk] = np.take_along_axis(part, order, 1)
        return out

    if workers == 1:
        sec, i_np = best_of(numpy_topk, repeat=1)
        t.add(
            task,
            "numpy chunked matmul + argpartition (BLAS threads as configured)",
            sec,
            nq,
            "queries/s",
            f"same ids {np.mean(i_np == i_auto):.4f}",
        )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    p.add_argument("--pairs", type=int, default=1_000_000)
    p.add_argument("--dim", type=int, default=384)
    p.add_argument(
        "--groups",
        type=int,
        default=125_000,
        help="groups of 8×8 rows (1M groups need 24 GB of input: the run is scaled to fit 24 GB RAM)",
    )
    p.add_argument("--topk", type=int, default=20_000, help="queries = corpus rows for the top-k task")
    p.add_argument("--out", type=Path, default=Path("bench-results/dense.json"))
    args = p.parse_args(argv)
    if args.quick:
        args.pairs, args.groups, args.topk = 50_000, 5_000, 2_000
    rng = np.random.default_rng(0)
    info = machine()
    print_machine(info)
    t = Table("Dense kernels")
    bench_paired(t, args.pairs, args.dim, rng)
    bench_grouped(t, args.groups, 8, args.dim, rng)
    bench_grouped_matched(t, args.groups, 8, args.dim, rng)
    for w in (1, 2):
        bench_topk(t, args.topk, args.topk, args.dim, 10, rng, w)
    print()
    print(t.render())
    t.save(args.out, info)
    print(f"\nsaved {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
