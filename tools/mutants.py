#!/usr/bin/env python3
"""Targeted mutation check: does the test suite notice small deliberate bugs?

Each mutant below is one small bug (a snippet of a module replaced by a wrong
one) together with the test files that should catch it. For every mutant the
script copies ``python/`` (the package and its compiled ``_core``) to a
temporary folder, applies the mutation there (the working tree is never
edited), runs only the listed tests with ``PYTHONPATH`` pointing at the copy,
and records whether the tests failed (killed) or passed (survived).

    python3 tools/mutants.py                 # every mutant
    python3 tools/mutants.py -k backoff -v   # the mutants whose name contains "backoff", with pytest output
    python3 tools/mutants.py --list

Before the mutants, every distinct set of listed tests runs once on the
unmutated copy: a kill only counts when those tests pass without the bug
(otherwise the mutant is reported as "unproven").

Exit status: 0 if every mutant was killed, 1 if any survived, is unproven,
or its snippet no longer matches the source (the list needs updating), 2 on
usage errors.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str  # relative to python/distillscope/
    edits: tuple[tuple[str, str], ...]  # (original snippet, mutated snippet), each original found exactly once
    tests: tuple[str, ...]  # pytest node ids / files, relative to the repository root
    issue: bool = False  # one of the deliberate bugs listed in issue 16: must never survive


def M(
    name: str,
    file: str,
    original: str,
    mutated: str,
    *tests: str,
    issue: bool = False,
    more: tuple[tuple[str, str], ...] = (),
) -> Mutant:
    return Mutant(name, file, ((original, mutated),) + more, tests, issue)


STATS = "tests/analysis/test_stats.py"
# named tests of test_degree.py: three block-invariance tests there fail on
# main until issue 11 replaces them, which would make the whole file's kills unproven
FORMULA = "tests/analysis/test_degree.py::test_degree_matches_the_documented_formula"
ORACLE = "tests/analysis/test_degree.py::test_vectorized_bootstrap_matches_the_loop_oracle"
BASELINES = "tests/analysis/test_baselines.py"

MUTANTS: list[Mutant] = [
    # ---------------------------------------------------------------- the issue's table
    M(
        "bootstrap never draws the last prompt",
        "stats.py",
        "rng.integers(0, n, size=n)",
        "rng.integers(0, max(n - 1, 1), size=n)",
        STATS,
        issue=True,
    ),
    M(
        "paired p-value k/B instead of (1+k)/(1+B)",
        "analysis/degree.py",
        "p = (1.0 + float((diff[ok] <= _TIE).sum())) / (1.0 + nb)",
        "p = float((diff[ok] <= _TIE).sum()) / nb",
        STATS,
        issue=True,
    ),
    M(
        "retry backoff 16x longer",
        "gather/limits.py",
        "model.backoff_base_s * (2.0 ** (attempt - 1))",
        "model.backoff_base_s * (2.0 ** (attempt + 3))",
        "tests/gather/test_gather_limits.py",
        issue=True,
    ),
    M(
        "lexical/style self-similarity includes each sample vs itself",
        "analysis/similarity.py",
        "distinct = ra < rb",
        "distinct = ra <= rb",
        BASELINES,
        issue=True,
    ),
    M(
        "Chinese persona labels never recognised",
        "identity/text_regions.py",
        'return 1 <= len(lab) <= 6 and not re.search(r"[问答注]$", lab)',
        "return False",
        "tests/identity/test_identity_roleplay.py",
        issue=True,
    ),
    M(
        "Wilson centre z^2/n instead of z^2/2n",
        "stats.py",
        "centre = (p + z * z / (2 * n)) / denom",
        "centre = (p + z * z / n) / denom",
        STATS,
        issue=True,
    ),
    M(
        "duplicate rows within one imported file written twice",
        "store/importers.py",
        "            if key in seen_now:\n",
        "            if False:\n",
        "tests/store/test_importers.py::test_duplicate_rows_within_one_file_are_written_once",
        issue=True,
        more=(("            existing.add(key)\n", ""),),
    ),
    M(
        "Ctrl-C exits 1 instead of 130",
        "cli/__init__.py",
        'print("interrupted", file=sys.stderr)\n        return 130',
        'print("interrupted", file=sys.stderr)\n        return 1',
        "tests/cli/test_interrupt.py",
        "tests/cli/test_cli.py",
        issue=True,
    ),
    M(
        "demo always exits 0",
        "cli/demo.py",
        'return 0 if summary["lineage_recovered"] else 1',
        "return 0",
        "tests/cli/test_demo.py::test_demo_exits_1_when_lineage_is_missed",
        issue=True,
    ),
    M(
        "internal error mapped to exit 2",
        "cli/__init__.py",
        "        if is_usage_error(exc):\n",
        "        if True:\n",
        "tests/cli/test_cli.py",
        issue=True,
    ),
    M(
        "summary matrix diagonal is 1 instead of the self-similarity",
        "analysis/similarity.py",
        "m[i, i] = float(np.nanmean(ss)) if ss is not None and np.isfinite(ss).any() else 1.0",
        "m[i, i] = 1.0",
        BASELINES,
        "tests/analysis/test_pipeline.py::test_rse_lexical_style_recovers_lineage",
        issue=True,
    ),
    # ---------------------------------------------------------------- stats
    M(
        "z for one-sided instead of two-sided",
        "stats.py",
        "inv_cdf(0.5 + confidence / 2.0)",
        "inv_cdf(confidence)",
        STATS,
    ),
    M(
        "Wilson half-width without the z^2/4n^2 term",
        "stats.py",
        "math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))",
        "math.sqrt(p * (1 - p) / n)",
        STATS,
    ),
    M(
        "ties get the lowest rank instead of the mean rank",
        "stats.py",
        "ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0",
        "ranks[order[i : j + 1]] = i + 1.0",
        STATS,
    ),
    M("quantiles interpolate to the lower value", "stats.py", "out = vlo + (vhi - vlo) * frac", "out = vlo", STATS),
    # ---------------------------------------------------------------- analysis
    M(
        "clone flags without the significance test",
        "analysis/share.py",
        "if any(_share_point(x) > cutoff and _stands_out(x, alpha) for x in (ab, ba)):",
        "if any(_share_point(x) > cutoff for x in (ab, ba)):",
        ORACLE,
        BASELINES,
    ),
    M(
        "residual over the smaller centre instead of the larger",
        "analysis/share.py",
        "return t - np.fmax(row, np.swapaxes(row, 0, 1))",
        "return t - np.fmin(row, np.swapaxes(row, 0, 1))",
        ORACLE,
        FORMULA,
        "tests/analysis/test_share.py::test_intervals_cover_the_true_share",
    ),
    M(
        "saturated prompts kept (a copy that cannot stand out counts as unrelated)",
        "analysis/share.py",
        "valid = valid & (np.nan_to_num(headroom, nan=np.inf) >= tau)",
        "valid = valid",
        ORACLE,
        "tests/analysis/test_share.py::test_a_copy_is_a_copy_on_a_saturated_granularity",
    ),
    M(
        "the degree reads the all-pairs mean with several samples (v5)",
        "analysis/table.py",
        "if granularity in self._match:",
        "if False:",
        "tests/analysis/test_share.py::test_intervals_cover_the_true_share",
        "tests/analysis/test_baselines.py::test_matched_scores_pair_each_sample_with_its_closest",
    ),
    M(
        "matched scores one-sided (each A sample's best B only)",
        "analysis/similarity.py",
        "return 0.5 * (sides[0] + sides[1])",
        "return sides[0]",
        "tests/analysis/test_baselines.py::test_matched_scores_pair_each_sample_with_its_closest",
    ),
    M(
        "tie-break strength over each candidate's own standing-out prompts (unpaired)",
        "analysis/terms.py",
        'stands = (sh_all["below"] == 0.0).any(axis=1).astype(np.float64)  # (nS, n)\n    stands_out = np.where(vraw, stands[:, None, :], np.nan)',
        'stands_out = np.where(vraw, 1.0 - sh["below"], np.nan)',
        "tests/analysis/test_pipeline.py::test_demo_recovers_lineage",
    ),
    M(
        "a generic partner's null pools both sides",
        "analysis/share.py",
        "_GENERIC_Z = 3.0",
        "_GENERIC_Z = 1e9",
        "tests/analysis/test_share.py::test_a_stranger_to_a_generic_teacher_reads_zero",
        "tests/analysis/test_share.py::test_the_generic_side_matches_the_oracle",
    ),
    M(
        "the generic side's null keeps the other side too (oracle disagrees)",
        "analysis/share.py",
        "        srows = []\n    rows = srows + crows",
        "        pass\n    rows = srows + crows",
        "tests/analysis/test_share.py::test_the_generic_side_matches_the_oracle",
    ),
    M(
        "clones found with the larger-centre residual",
        "analysis/share.py",
        "e = residuals(t, flags if flags.any() else None, double=True)",
        "e = residuals(t, flags if flags.any() else None, double=False)",
        ORACLE,
        FORMULA,
        "tests/analysis/test_degree.py::test_deterministic_given_seed_and_subset_independent",
    ),
    M(
        "tau from twice the lower spread",
        "analysis/share.py",
        "tau = float(med + threshold * (med - q1))",
        "tau = float(med + 2 * threshold * (med - q1))",
        ORACLE,
        FORMULA,
    ),
    M(
        "degree not clipped to [0, 1]",
        "analysis/terms.py",
        "share = np.clip(share_from_means(below, null_below, null_count), clip[0], clip[1])",
        "share = share_from_means(below, null_below, null_count)",
        ORACLE,
        "tests/analysis/test_degree.py::test_identical_inputs_give_the_top_degree",
    ),
    M(
        "paired difference ties counted as wins",
        "analysis/degree.py",
        "(diff[ok] <= _TIE).sum()",
        "(diff[ok] < -_TIE).sum()",
        STATS,
        "tests/analysis/test_degree.py::test_paired_difference_of_identical_candidates_is_not_significant",
    ),
    M(
        "null pairs use the same prompt (no derangement)",
        "analysis/similarity.py",
        'for kind, cslots in (("raw", slots), ("null", perm)):',
        'for kind, cslots in (("raw", slots), ("null", slots)):',
        "tests/analysis/test_pipeline.py",
    ),
    # ---------------------------------------------------------------- kernels wrappers
    M(
        "faiss ties left in faiss's arbitrary order",
        "kernels.py",
        "order = np.lexsort((idx, -scores), axis=-1) if scores.size else None",
        "order = None",
        "tests/kernels/test_dense.py",
    ),
    M(
        "cosine_paired accepts mixed float16/float32",
        "kernels.py",
        "if a.dtype != b.dtype:",
        "if False:",
        "tests/kernels/test_dense.py",
    ),
    M(
        "latest_records keeps the first record instead of the last",
        "store/store.py",
        "        out[record_key(rec)] = rec\n",
        "        out.setdefault(record_key(rec), rec)\n",
        "tests/store/test_store.py",
        "tests/gather/test_gather.py",
    ),
    # ---------------------------------------------------------------- identity
    M(
        "Wilson rates use n+1 trials",
        "identity/rates.py",
        "lo, hi = wilson_interval(count, n, confidence)",
        "lo, hi = wilson_interval(count, n + 1, confidence)",
        "tests/identity/test_identity_rates.py",
    ),
    M(
        "role-play persona lines (English names) not recognised",
        "identity/text_regions.py",
        "1 <= len(words) <= 3\n        and all(w[:1].isupper() for w in words)",
        "False\n        and all(w[:1].isupper() for w in words)",
        "tests/identity/test_identity_roleplay.py",
        "tests/identity/test_identity_claims.py",
    ),
    # ---------------------------------------------------------------- gather / store
    M(
        "backoff without jitter floor (0..d)",
        "gather/limits.py",
        "return d / 2 + rng.uniform(0, d / 2)",
        "return rng.uniform(0, d)",
        "tests/gather/test_gather_limits.py",
    ),
    M(
        "backoff ignores backoff_max_s",
        "gather/limits.py",
        "d = min(model.backoff_max_s, model.backoff_base_s",
        "d = max(0.0, model.backoff_base_s",
        "tests/gather/test_gather_limits.py",
    ),
    M(
        "re-import counts existing keys as imported",
        "store/importers.py",
        "                rep.skipped_existing += 1\n                continue\n",
        "                continue\n",
        "tests/store/test_importers.py",
    ),
]


def _check_snippets(m: Mutant, root: Path) -> str | None:
    text = (root / "distillscope" / m.file).read_text(encoding="utf-8")
    for orig, _ in m.edits:
        n = text.count(orig)
        if n != 1:
            return f"snippet found {n} times in {m.file}: {orig[:60]!r}"
    return None


def _apply(m: Mutant, root: Path) -> None:
    path = root / "distillscope" / m.file
    text = path.read_text(encoding="utf-8")
    for orig, new in m.edits:
        text = text.replace(orig, new, 1)
    path.write_text(text, encoding="utf-8")


def run_one(m: Mutant | None, tests: tuple[str, ...], timeout: float, verbose: bool) -> tuple[str, float, str]:
    """``(status, seconds, detail)``; status is killed, survived, timeout or
    stale. ``m=None`` runs the tests on the unmutated copy (the baseline)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ds-mutant-") as tmp:
        root = Path(tmp) / "python"
        shutil.copytree(REPO / "python", root, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        if m is not None:
            problem = _check_snippets(m, root)
            if problem:
                return "stale", 0.0, problem
            _apply(m, root)
        env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "-x",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "-W",
            "ignore::pytest.PytestUnraisableExceptionWarning",
            *tests,
        ]
        try:
            proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return "timeout", time.perf_counter() - t0, f"tests ran over {timeout:.0f} s (counted as killed)"
        out = proc.stdout + proc.stderr
        if verbose:
            print(out[-3000:])
        lines = [ln for ln in out.splitlines() if ln.strip()]
        detail = lines[-1] if lines else ""
        if proc.returncode == 0:
            return "survived", time.perf_counter() - t0, detail
        if proc.returncode in (1,):
            failed = [ln for ln in lines if ln.startswith(("FAILED", "ERROR"))]
            return "killed", time.perf_counter() - t0, (failed[0] if failed else detail)[:160]
        return "killed", time.perf_counter() - t0, f"pytest exit {proc.returncode}: {detail}"[:160]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", default="", help="only mutants whose name contains this text")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per mutant's test run")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("-v", "--verbose", action="store_true", help="show the tail of pytest's output")
    args = ap.parse_args(argv)
    chosen = [m for m in MUTANTS if args.k.lower() in m.name.lower()]
    if not chosen:
        print(f"no mutant name contains {args.k!r}; see --list", file=sys.stderr)
        return 2
    if args.list:
        for m in chosen:
            print(f"{'*' if m.issue else ' '} {m.name}  [{m.file}]  -> {' '.join(m.tests)}")
        return 0
    if not any((REPO / "python" / "distillscope").glob("_core*")):
        print("python/distillscope has no compiled _core: build it first (see README, Development)", file=sys.stderr)
        return 2
    baseline: dict[tuple[str, ...], str] = {}
    for tests in dict.fromkeys(m.tests for m in chosen):
        status, secs, detail = run_one(None, tests, args.timeout, args.verbose)
        baseline[tests] = status
        ok = "passes" if status == "survived" else f"FAILS without a mutant ({detail})"
        print(f"baseline {secs:6.1f}s  {' '.join(tests)}: {ok}", flush=True)
    results = []
    for i, m in enumerate(chosen, 1):
        status, secs, detail = run_one(m, m.tests, args.timeout, args.verbose)
        if status in ("killed", "timeout") and baseline[m.tests] != "survived":
            status = "unproven"
        results.append((m, status))
        print(f"[{i:2d}/{len(chosen)}] {status:<8} {secs:6.1f}s  {m.name}  ({detail})", flush=True)
    bad = [(m, s) for m, s in results if s in ("survived", "stale", "unproven")]
    killed = sum(s in ("killed", "timeout") for _, s in results)
    print(f"\n{killed}/{len(results)} mutants killed")
    for m, s in bad:
        print(f"  {s.upper()}: {m.name}{'  (listed in issue 16: must be killed)' if m.issue else ''}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
