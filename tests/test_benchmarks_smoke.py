"""Every benchmark script still imports and answers ``--help``.

No test runs the benchmarks themselves (minutes each), so a script that
imports a moved or renamed name broke unnoticed (bench_analysis.py
imported ``_pair_series``/``_degree_from_means`` from analysis.degree long
after they had moved to analysis/terms.py). ``--help`` runs every
module-level import and the argument parser and nothing else: a few
seconds for all scripts together.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import distillscope as ds

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "benchmarks"


def _scripts() -> list[Path]:
    return sorted(BENCH.glob("bench_*.py")) + [BENCH / "calibration.py"]


def _child_env() -> dict[str, str]:
    # the child imports the same distillscope as this process (source tree,
    # installed wheel or sanitizer build); the scripts add benchmarks/ itself
    env = dict(os.environ)
    pkg_parent = str(Path(ds.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_parent, env.get("PYTHONPATH", "")) if p)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def test_every_benchmark_script_imports_and_answers_help():
    scripts = _scripts()
    assert len(scripts) >= 10 and all(p.is_file() for p in scripts), scripts
    env = _child_env()
    failures = []
    # one after the other: each --help is a fraction of a second, and the
    # report names every broken script, not just the first
    for script in scripts:
        proc = subprocess.run(
            [sys.executable, str(script), "--help"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if proc.returncode != 0 or "usage:" not in proc.stdout:
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
            failures.append(f"{script.name}: exit {proc.returncode}\n{tail}")
    assert not failures, "benchmark scripts that fail `--help`:\n\n" + "\n\n".join(failures)
