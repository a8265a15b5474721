"""The report's HTML page (and the table model it shares with the Markdown
summary), rendered from a report folder's ``data/`` files alone.

The page is one file beside ``data/`` and ``figures/``: no network, no
external style or script; every piece of text from the data is
HTML-escaped. Tables sort by any column with a short inline script (click a
header; a second click reverses); without JavaScript they read the same,
unsorted. Evidence sits in ``<details>`` blocks, closed by default.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .tables import (
    ATTR_COLUMNS,
    BEST_COLUMNS,
    DEGREE_DEFINITION,
    GLOSSARY,
    attribution_rows,
    best_rows,
    format_value,
    ice_rows,
    key_rows,
)

__all__ = [
    "load_data",
    "figure_caption",
    "interval_text",
    "significance_text",
    "non_empty_columns",
    "audit_facts",
    "summary_tables",
    "merge_intervals",
    "page_html",
]

_CAPTIONS = {
    "heatmap": "Combined degree, student (row) toward candidate teacher (column), models in clustering order. "
    "Red: closer than the population predicts; blue: farther; white: as predicted (0). Read a row to "
    "see whom a student resembles, a column to see who resembles a candidate; the matrix is not "
    "symmetric.",
    "dendrogram": "Average-linkage clustering of the models on the symmetrised degree; heights are rescaled so "
    "that 0 is the closest pair and 1 the farthest (the tree itself does not change).",
    "ice_rse": "Identity-consistency contradiction rate (how often a model's answers about itself name another "
    "model or contradict its own identity) against its degree toward its top candidate; bars are "
    "intervals.",
}


def load_data(root: Path, name: str) -> Any:
    """``root/data/name`` parsed as JSON, or None when it is absent."""
    p = Path(root) / "data" / name
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None


def figure_caption(name: str) -> str:
    if name.startswith("heatmap_degree_"):
        g = name[len("heatmap_degree_") :]
        return f"Degree from {g} similarity alone, same rows, columns, order and colour scale as the combined heatmap."
    return _CAPTIONS.get(name, name)


def interval_text(d: Any, lo: Any, hi: Any) -> str:
    if d is None:
        return ""
    if lo is None or hi is None:
        return f"{d:.3f}"
    return f"{d:.3f} [{lo:.3f}, {hi:.3f}]"


def significance_text(r: Mapping[str, Any]) -> str:
    """ "yes (p = …)" / "no (p = …)"; when the top candidate's degree is *below* the
    runner-up's (a statistical tie that the ranking broke by how close the student
    is to each on the prompts where its answers stand out, ``strength``), says so
    instead of a bare "no"."""
    if r.get("significant") is None:
        return ""
    p = r.get("p_value")
    ptxt = f" (p = {p:.3f})" if p is not None else ""
    diff = r.get("difference")
    if not r["significant"] and diff is not None and math.isfinite(diff) and diff < 0:
        return "tie, ranked by strength" + ptxt
    return ("yes" if r["significant"] else "no") + ptxt


def _empty(v: Any) -> bool:
    return v is None or v == "" or (isinstance(v, float) and not math.isfinite(v))


def non_empty_columns(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> list[str]:
    """``columns`` (default: keys in first-seen order) without those empty in every row."""
    if columns is None:
        seen: dict[str, None] = {}
        for r in rows:
            for k in r:
                seen.setdefault(k, None)
        columns = list(seen)
    return [c for c in columns if any(not _empty(r.get(c)) for r in rows)]


def audit_facts(aud: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, text) lines of the audit header."""
    facts = []
    if aud.get("n_prompts") is not None:
        facts.append(("Prompts", f"{aud['n_prompts']}" + (f", joined {aud['join']}" if aud.get("join") else "")))
    spp = aud.get("samples_per_prompt") or {}
    if spp.get("max") is not None:
        lo, hi = spp.get("min", spp["max"]), spp["max"]
        facts.append(("Samples per prompt", f"{lo}" if lo == hi else f"{lo} to {hi}"))
    if aud.get("granularities"):
        facts.append(("Granularities", ", ".join(map(str, aud["granularities"]))))
    if "encoder" in aud:
        facts.append(("Encoder", str(aud["encoder"] or "none (no semantic, structural or token granularity)")))
    if aud.get("bootstrap"):
        facts.append(("Bootstrap", f"{aud['bootstrap']} resamples over prompts (95% intervals)"))
    return facts


# --------------------------------------------------------------------------- table model
def merge_intervals(rows: Sequence[Mapping[str, Any]], cols: Sequence[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """The column just before ``ci_low``/``ci_high`` shows ``value [low, high]``;
    the two interval columns go. Cells become ``(text, sort value)``."""
    cols = list(cols)
    est = None
    if "ci_low" in cols and "ci_high" in cols and cols.index("ci_low") > 0:
        est = cols[cols.index("ci_low") - 1]
    out_cols = [c for c in cols if not (est and c in ("ci_low", "ci_high"))]
    out = []
    for r in rows:
        row: dict[str, tuple[str, int | float | None]] = {}
        for c in out_cols:
            v = r.get(c)
            if c == est and isinstance(v, (int, float)) and not isinstance(v, bool):
                row[c] = (interval_text(v, r.get("ci_low"), r.get("ci_high")), v)
            else:
                row[c] = (format_value(v), v if isinstance(v, (int, float)) and not isinstance(v, bool) else None)
        out.append(row)
    names = [f"{c} [95% CI]" if c == est else c for c in out_cols]
    return [{n: row[c] for n, c in zip(names, out_cols)} for row in out], names


def summary_tables(root: Path, *, markdown: bool = False) -> list[tuple[str, list[dict[str, Any]], list[str]]]:
    """(title, rows, columns) of the tables after the key result, from ``data/``,
    empty columns dropped, tables without rows left out. ``markdown=True``
    leaves out the model x model matrices (they are in ``data/``)."""
    mats = load_data(root, "matrices.json")
    meta = load_data(root, "meta.json")
    models = mats["models"]
    out: list[tuple[str, list[dict[str, Any]], list[str]]] = []
    attr = load_data(root, "attribution.json")
    if attr is not None:
        sig = {r["student"]: significance_text(r) for r in key_rows(attr)}
        top = []
        for r in attribution_rows(attr, granularities=True):
            if (r.get("rank") or 99) <= 3:
                r = dict(r)
                r["beats runner-up"] = sig.get(r["student"], "") if r.get("rank") == 1 else ""
                top.append(r)
        cols = [c for c in ATTR_COLUMNS if c not in ("raw",)]
        cols.insert(cols.index("ci_high") + 1, "beats runner-up")
        cols += ["raw"] + [c for c in (top[0] if top else {}) if c.endswith("_degree")]
        out.append(("Teacher attribution: top 3 candidates per student", top, cols))
        out.append(
            (
                "Does the top candidate beat the runner-up? (paired bootstrap over prompts)",
                best_rows(attr),
                list(BEST_COLUMNS),
            )
        )
    ice = load_data(root, "ice.json")
    if ice is not None:
        out.append(
            ("Identity consistency (ICE) rates", ice_rows(ice), ["model", "level", "rate", "ci_low", "ci_high", "n"])
        )
        scatter = load_data(root, "ice_rse.json") or []
        cols = [
            "model",
            "rse_candidate",
            "rse_degree",
            "rse_ci_low",
            "rse_ci_high",
            "ice_level",
            "ice_rate",
            "ice_ci_low",
            "ice_ci_high",
        ]
        out.append(("RSE and ICE per model", scatter, cols))
    if not markdown:
        for name, m in mats["matrices"].items():
            rows = [
                {"student \\ candidate": a, **{b: m[i][j] for j, b in enumerate(models)}} for i, a in enumerate(models)
            ]
            label = f"Matrix {name}" + (" (primary)" if name == meta["primary"] else "")
            out.append((label, rows, ["student \\ candidate", *models]))
    for name in meta.get("extra_tables") or []:
        t = load_data(root, f"{name}.json")
        if t and t.get("rows"):
            out.append((t["title"], t["rows"], non_empty_columns(t["rows"])))
    sigs = load_data(root, "signatures.json") or {}
    if sigs:
        out.append(("Signatures", [{"metric": k, "signature": v} for k, v in sigs.items()], ["metric", "signature"]))
    return [(title, rows, non_empty_columns(rows, cols)) for title, rows, cols in out if rows]


# --------------------------------------------------------------------------- HTML
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em auto;max-width:1250px;padding:0 1em;
color:#1d1d1f;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.85em}
td,th{border:1px solid #d0d0d0;padding:3px 8px;text-align:right;vertical-align:top}
td:first-child,th:first-child{text-align:left}td{white-space:nowrap}
th{background:#f1f3f5;cursor:pointer;user-select:none;white-space:nowrap}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
tbody tr:nth-child(even){background:#fafafa}
.sim{background:#fff3cd;border:1px solid #e0c36a;padding:.6em 1em}
.warn{background:#fdecea;border-left:4px solid #d9534f;padding:.5em 1em;margin:.4em 0}
.def{background:#eef5fb;border-left:4px solid #33658a;padding:.6em 1em}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:.15em 1em;margin:.6em 0}
dl.facts dt{font-weight:600}dl.facts dd{margin:0}
.figs{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}
figure{margin:0;max-width:100%}figure.main img{max-width:560px}figure.small img{max-width:380px}
img{max-width:100%;height:auto;border:1px solid #eee}figcaption{font-size:.82em;color:#444;max-width:560px}
.note{color:#6c4a00;background:#fff8e1;padding:.5em 1em}
details{margin:.4em 0;border:1px solid #ddd;border-radius:4px;padding:.3em .8em}
summary{cursor:pointer;font-weight:600}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:.8em;margin:.4em 0 1em}
.pair pre{white-space:pre-wrap;word-wrap:break-word;font:0.82em/1.4 ui-monospace,monospace;background:#f8f9fa;
padding:.5em;margin:0;max-height:26em;overflow:auto;border:1px solid #e3e3e3}
mark{background:#ffe08a}.muted{color:#666;font-size:.85em}
"""

_SCRIPT = """
(function(){
  function key(cell){var v=cell.getAttribute('data-v');if(v===null){v=cell.textContent;}
    var n=parseFloat(v);return (v.trim()!==''&&isFinite(n))?n:v.trim().toLowerCase();}
  function cmp(a,b){var ea=(a===''),eb=(b==='');if(ea||eb){return ea===eb?0:(ea?1:-1);}
    if(typeof a===typeof b){return a<b?-1:(a>b?1:0);}return typeof a==='number'?-1:1;}
  document.querySelectorAll('table.sortable').forEach(function(t){
    var heads=t.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads,function(th,i){
      th.tabIndex=0;th.title='sort by this column';
      function go(){var asc=th.getAttribute('aria-sort')!=='ascending';
        Array.prototype.forEach.call(heads,function(h){h.removeAttribute('aria-sort');});
        th.setAttribute('aria-sort',asc?'ascending':'descending');
        var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);
        rows.sort(function(r1,r2){var a=key(r1.cells[i]),b=key(r2.cells[i]);
          if(a===''||b===''){return cmp(a,b);}return asc?cmp(a,b):cmp(b,a);});
        rows.forEach(function(r){body.appendChild(r);});}
      th.addEventListener('click',go);
      th.addEventListener('keydown',function(ev){if(ev.key==='Enter'){go();}});
    });
  });
})();
"""


def _table(rows: Sequence[Mapping[str, Any]], cols: Sequence[str], table_id: str) -> str:
    e = html.escape
    cells, names = merge_intervals(rows, cols)
    head = "".join(f'<th scope="col">{e(str(c))}</th>' for c in names)
    body = []
    for r in cells:
        tds = []
        for c in names:
            text, sv = r[c]
            dv = f' data-v="{sv!r}"' if isinstance(sv, (int, float)) and math.isfinite(sv) else ""
            tds.append(f"<td{dv}>{e(text)}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    return (
        f'<table class="sortable" id="{e(table_id)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _marked(text: str, spans: Sequence[Sequence[int]]) -> str:
    e = html.escape
    out, pos = [], 0
    for a, b in sorted((int(s[0]), int(s[1])) for s in spans):
        if a < pos or b > len(text):
            continue
        out.append(e(text[pos:a]))
        out.append(f"<mark>{e(text[a:b])}</mark>")
        pos = b
    out.append(e(text[pos:]))
    return "".join(out)


def _evidence_html(evidence: Sequence[Mapping[str, Any]]) -> list[str]:
    e = html.escape
    parts = [
        '<section id="evidence"><h2>Evidence: the answers behind each top degree</h2>',
        "<p>For each student and its top candidate, the prompts that contribute most to the degree (largest "
        "similarity above the population on that prompt, weighted over granularities as the degree is). "
        "Highlighted: runs of words both answers share (at least "
        f"{int(evidence[0].get('min_run', 5)) if evidence else 5} words, after the tokenizer's "
        "normalization). Answers are the first sample, cut at about 1,200 characters.</p>",
    ]
    for ev in evidence:
        head = (
            f"{ev['student']} \u2192 {ev['candidate']}: degree "
            f"{interval_text(ev.get('degree'), ev.get('ci_low'), ev.get('ci_high'))}, "
            f"{len(ev['prompts'])} prompt{'s' if len(ev['prompts']) != 1 else ''}"
        )
        parts.append(f"<details><summary>{e(head)}</summary>")
        if not ev["prompts"]:
            parts.append('<p class="muted">No prompt answered by both models.</p>')
        for k, p in enumerate(ev["prompts"], start=1):
            sc = ", ".join(f"{g} {v:.2f}" for g, v in (p.get("scores") or {}).items() if v is not None)
            parts.append(
                f"<h4>{k}. prompt {e(str(p['prompt_id']))}: contribution {p['contribution']:+.3f}"
                f' <span class="muted">({e(sc)}; longest shared run {int(p["longest_shared_run"])}'
                f" words; {100 * float(p['shared_fraction']):.0f}% of the student's answer in shared "
                "runs)</span></h4>"
            )
            if p.get("prompt"):
                parts.append(f"<p><strong>Prompt:</strong> {e(p['prompt'])}</p>")
            cut_s = " (cut)" if p.get("student_truncated") else ""
            cut_c = " (cut)" if p.get("candidate_truncated") else ""
            parts.append(
                '<div class="pair">'
                f"<div><strong>{e(ev['student'])}</strong> (student){cut_s}"
                f"<pre>{_marked(p['student_answer'], p['student_spans'])}</pre></div>"
                f"<div><strong>{e(ev['candidate'])}</strong> (candidate){cut_c}"
                f"<pre>{_marked(p['candidate_answer'], p['candidate_spans'])}</pre></div></div>"
            )
        parts.append("</details>")
    parts.append("</section>")
    return parts


def _figure(name: str, cls: str) -> str:
    e = html.escape
    cap = figure_caption(name)
    return (
        f'<figure class="{cls}"><img src="figures/{e(name)}.svg" alt="{e(cap)}">'
        f'<figcaption>{e(cap)} <a href="figures/{e(name)}.svg">SVG</a> \u00b7 '
        f'<a href="figures/{e(name)}.png">PNG</a></figcaption></figure>'
    )


def page_html(root: Path) -> str:
    """The whole ``index.html`` of a report folder."""
    root = Path(root)
    meta = load_data(root, "meta.json")
    aud = load_data(root, "audit.json") or {}
    e = html.escape
    figs = list(meta.get("figures") or [])
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(meta['title'])}</title>",
        f"<style>{_CSS}</style>",
        "</head><body>",
        f"<h1>{e(meta['title'])}</h1>",
    ]
    if meta.get("simulated"):
        parts.append(
            '<p class="sim"><strong>Simulated data.</strong> These models and answers were generated by '
            "distillscope's simulator; the numbers show what the method recovers, not facts about real "
            "models.</p>"
        )
    # ---- the audit
    parts.append('<section id="audit"><h2>What was audited</h2><dl class="facts">')
    parts.append(f"<dt>Models ({len(meta['models'])})</dt><dd>{e(', '.join(meta['models']))}</dd>")
    for k, v in audit_facts(aud):
        parts.append(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>")
    parts.append("</dl>")
    parts.append(f'<p class="def"><strong>Distillation degree.</strong> {e(DEGREE_DEFINITION)}</p>')
    parts.append(
        '<details><summary>How to read the other numbers</summary><dl class="facts">'
        + "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in GLOSSARY)
        + "</dl></details>"
    )
    for w in aud.get("warnings") or []:
        parts.append(f'<p class="warn"><strong>Warning.</strong> {e(w)}</p>')
    if meta.get("notes"):
        parts.append("<ul>" + "".join(f"<li>{e(n)}</li>" for n in meta["notes"]) + "</ul>")
    parts.append("</section>")
    # ---- key result
    attr = load_data(root, "attribution.json")
    if attr is not None:
        rows = [
            {
                "student": r["student"],
                "top candidate": r["top_candidate"],
                "degree": r["degree"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
                "runner-up": r["runner_up"],
                "runner-up degree": r["runner_up_degree"],
                "beats runner-up": significance_text(r),
                "prompts": r["n_prompts"],
            }
            for r in key_rows(attr)
        ]
        parts += [
            '<section id="key"><h2>Key result: closest candidate teacher per student</h2>',
            _table(rows, non_empty_columns(rows), "table-key"),
            "</section>",
        ]
    # ---- figures
    parts.append('<section id="figures"><h2>Degrees and clustering</h2>')
    if meta.get("figure_note"):
        parts.append(
            f'<p class="note">Figures are not included: {e(meta["figure_note"])}. '
            "The same numbers are in the tables below.</p>"
        )
    heat = [f for f in figs if f.startswith("heatmap")]
    if heat:
        parts.append(
            '<div class="figs">' + "".join(_figure(f, "main" if f == "heatmap" else "small") for f in heat) + "</div>"
        )
    if "dendrogram" in figs:
        parts.append('<div class="figs">' + _figure("dendrogram", "main") + "</div>")
    parts.append("</section>")
    if "ice_rse" in figs:
        parts += [
            '<section id="identity"><h2>Identity consistency and response similarity</h2>',
            '<div class="figs">' + _figure("ice_rse", "main") + "</div></section>",
        ]
    evidence = load_data(root, "evidence.json")
    if evidence:
        parts += _evidence_html(evidence)
    # ---- tables
    parts.append(
        '<section id="tables"><h2>Tables</h2><p class="muted">Click a column header to sort. Matrices: '
        "row = student S, column = candidate T; similarity matrices score S's answer against T's answer "
        "(some metrics, e.g. BLEU, are asymmetric, so the matrix is too). All values are also in "
        "<code>data/</code> as JSON and CSV.</p>"
    )
    for n, (title, rows, cols) in enumerate(summary_tables(root), start=1):
        table_html = _table(rows, cols, f"table-{n}")
        if title.startswith("Matrix") or title == "Signatures":
            parts.append(f"<details><summary>{e(title)}</summary>{table_html}</details>")
        else:
            parts.append(f"<h3>{e(title)}</h3>{table_html}")
    parts.append("</section>")
    parts.append(
        f'<p class="muted">distillscope {e(str(meta.get("distillscope_version")))}, report format '
        f"v{e(str(meta.get('report_version')))}; data files in <code>data/</code>, figures redrawn from "
        "them by <code>distillscope.analysis.report.redraw</code>.</p>"
    )
    parts.append(f"<script>{_SCRIPT}</script>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
