"""Identity-check output formats: a CSV of rates and a Markdown summary with evidence."""

from __future__ import annotations

import csv
import io
from typing import Any, Mapping

from .._io import csv_cell
from .claims import VERDICTS


def _rate_rows(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def add(scope: str, group: str, block: Mapping[str, Any]) -> None:
        for metric in ("loose", "strict", "hard"):
            r = block[metric]
            rows.append({"scope": scope, "group": group, "metric": metric, **{k: r[k] for k in ("count", "n", "rate", "ci_low", "ci_high")}})

    def add_all(prefix: str, rates: Mapping[str, Any]) -> None:
        add(prefix + "overall", "all", rates)
        for k, v in rates["by_category"].items():
            add(prefix + "category", k, v)
        for k, v in rates["by_language"].items():
            add(prefix + "language", k, v)

    add_all("", result["rates"])
    for model, rates in (result.get("by_model") or {}).items():
        add_all(f"model:{model}:", rates)
    return rows


def format_csv(result: Mapping[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["scope", "group", "metric", "count", "n", "rate", "ci_low", "ci_high"], lineterminator="\n")
    w.writeheader()
    for r in _rate_rows(result):
        w.writerow({k: csv_cell("" if v is None else (f"{v:.6f}" if isinstance(v, float) else v)) for k, v in r.items()})
    return buf.getvalue()


def format_markdown(result: Mapping[str, Any], *, max_evidence: int = 20) -> str:
    def pct(x: Any) -> str:
        return "—" if x is None else f"{100 * x:.1f}%"

    t = result.get("target") or {}
    lines = [f"## Identity consistency{' — ' + t['name'] if t else ''}", ""]
    counts = result["rates"]["verdict_counts"]
    keys = VERDICTS if set(counts) <= set(VERDICTS) else tuple(counts)
    lines.append(f"{len(result['verdicts'])} responses: " + ", ".join(f"{k} {counts.get(k, 0)}" for k in keys) + ".")
    lines += ["", "| scope | group | metric | rate | 95% CI | count / n |", "|---|---|---|---:|---|---:|"]
    for r in _rate_rows(result):
        lines.append(
            f"| {r['scope']} | {r['group']} | {r['metric']} | {pct(r['rate'])} | {pct(r['ci_low'])} – {pct(r['ci_high'])} | {r['count']} / {r['n']} |"
        )
    ev = [v for v in result["verdicts"] if v["verdict"] == "contradicts"][:max_evidence]
    if ev:
        lines += ["", "### Contradicting evidence", ""]
        for v in ev:
            span = v["evidence"]
            text = span["text"].replace("|", "\\|").replace("\n", " ")
            lines.append(f"* #{v['index']} ({'strict' if v['strict'] else 'vague'}) chars {span['start']}–{span['end']}: “{text}”")
    lines.append("")
    lines.append(f"`{result['signature']}`")
    return "\n".join(lines) + "\n"
