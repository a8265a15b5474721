"""Report folder: data files, figures redrawn from them, HTML/Markdown, renderers."""

from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_degree import simulate

from distillscope.analysis.attribution import attribute
from distillscope.analysis.cluster import average_linkage, leaf_order
from distillscope.analysis.degree import DegreeConfig, compute_degrees
from distillscope.analysis.report import redraw, write_report
from distillscope.analysis.tables import (
    attribution_rows,
    render_attribution,
    render_ice,
    render_matrix,
    render_table,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def results():
    table, models = simulate(11, n=120)
    res = compute_degrees(table, config=DegreeConfig(n_boot=100, seed=1))
    attr = attribute(table, result=res)
    deg = res.matrix()
    np.fill_diagonal(deg, 1.0)
    ice = {
        m: {
            "loose": {"rate": 0.1 + 0.05 * i, "ci_low": 0.05 * i, "ci_high": 0.2 + 0.05 * i, "n": 50},
            "strict": {"rate": 0.05 * i, "ci_low": 0.0, "ci_high": 0.1 + 0.05 * i, "n": 50},
            "hard": {"rate": 0.0, "ci_low": 0.0, "ci_high": 0.07, "n": 50},
        }
        for i, m in enumerate(models)
    }
    return {"models": list(res.students), "degree": deg, "raw": table.raw_matrix("semantic"), "attr": attr, "ice": ice}


class _Checker(HTMLParser):
    VOID = {"meta", "img", "br", "hr", "link", "input"}

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.imgs: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.imgs.append(dict(attrs)["src"])
        if tag == "script":
            assert "src" not in dict(attrs)  # the one script is inline
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def test_report_folder_is_complete_valid_and_reproducible(tmp_path, results):
    out = tmp_path / "rep"
    nasty = "<script>alert(1)</script>"
    written = write_report(
        out,
        models=results["models"],
        matrices={"degree": results["degree"], "raw_semantic": results["raw"]},
        attribution=results["attr"],
        ice=results["ice"],
        signatures={"semantic": "cosine|encoder=tiny"},
        title=f"audit {nasty} & friends",
        simulated=True,
        notes=[f"note with {nasty}"],
        tables={f"Judge agreement {nasty}": [{"granularity": "semantic", "spearman": 0.61, "n": 200}]},
    )
    for p in written.values():
        assert p.exists() and p.stat().st_size > 0, p
    for name in ("heatmap", "dendrogram", "ice_rse"):
        assert (out / "figures" / f"{name}.png").read_bytes()[:8] == PNG_MAGIC
        assert b"<svg" in (out / "figures" / f"{name}.svg").read_bytes()[:2000]
    for name in ("meta", "matrices", "attribution", "ice", "ice_rse", "dendrogram", "signatures"):
        json.loads((out / "data" / f"{name}.json").read_text())
    mats = json.loads((out / "data" / "matrices.json").read_text())
    assert mats["models"] == results["models"]
    np.testing.assert_allclose(np.array(mats["matrices"]["degree"], dtype=float), results["degree"])
    sigs = json.loads((out / "data" / "signatures.json").read_text())
    assert sigs["semantic"] == "cosine|encoder=tiny"
    assert sigs["calibration"].startswith("degree:v7")
    rows = list(csv.DictReader(io.StringIO((out / "data" / "attribution.csv").read_text())))
    m = len(results["models"])
    assert len(rows) == m * (m - 1)
    assert "semantic_degree" in rows[0]
    mat_rows = list(csv.reader(io.StringIO((out / "data" / "matrix_degree.csv").read_text())))
    assert mat_rows[0] == ["model", *results["models"]] and len(mat_rows) == m + 1

    page = (out / "index.html").read_text()
    assert nasty not in page and "&lt;script&gt;" in page
    chk = _Checker()
    chk.feed(page)
    chk.close()
    assert chk.stack == []  # every tag closed in order
    assert chk.tags.count("script") == 1  # the sorting script, inline; user text never becomes a tag
    assert sorted(chk.imgs) == ["figures/dendrogram.svg", "figures/heatmap.svg", "figures/ice_rse.svg"]
    assert "Simulated data." in page
    md = (out / "summary.md").read_text()
    assert md.startswith("# audit &lt;script&gt;") and "Simulated data" in md and "](figures/heatmap.png)" in md
    assert nasty not in md
    assert "Teacher attribution" in md and "| student | rank | candidate | degree [95% CI] |" in md
    assert "| s50 | T | " in md  # the key table: s50's top candidate is its teacher
    assert "| granularity | spearman | n |" in md and "| semantic | 0.610 | 200 |" in md
    assert list(csv.DictReader(io.StringIO((out / "data" / "table_1.csv").read_text()))) == [
        {"granularity": "semantic", "spearman": "0.61", "n": "200"}
    ]

    # figures come from data/ alone: delete and redraw -> same bytes
    before = {p.name: p.read_bytes() for p in (out / "figures").iterdir()}
    for p in (out / "figures").iterdir():
        p.unlink()
    redrawn = redraw(out)
    assert {p.name: p.read_bytes() for p in redrawn.values()} == before
    assert {p.suffix for p in redrawn.values()} == {".png", ".svg"}
    # ... and they follow the data: change the matrix file, the heatmap changes
    mats["matrices"]["degree"][0][1] = -1.0
    (out / "data" / "matrices.json").write_text(json.dumps(mats))
    assert redraw(out)["heatmap"].read_bytes() != before["heatmap.png"]


def test_report_without_optional_parts(tmp_path, results):
    mat = results["degree"].copy()
    mat[0, 1] = mat[1, 0] = np.nan  # an undefined pair
    w = write_report(tmp_path / "r", models=results["models"], matrices={"degree": mat}, figures=False)
    assert "ice" not in w and "attribution" not in w
    assert not (tmp_path / "r" / "figures").exists()
    data = json.loads((tmp_path / "r" / "data" / "matrices.json").read_text())
    assert data["matrices"]["degree"][0][1] is None
    figs = redraw(tmp_path / "r")
    assert set(figs) == {"heatmap", "heatmap_svg", "dendrogram", "dendrogram_svg"}  # no ICE rates, no scatter
    page = (tmp_path / "r" / "index.html").read_text()
    assert "ICE" not in page and "Identity consistency" not in page  # no ICE input: no ICE table or column
    scatter = json.loads((tmp_path / "r" / "data" / "ice_rse.json").read_text())
    assert scatter[0]["rse_candidate"] is not None and scatter[0]["ice_rate"] is None


def test_report_validation(tmp_path, results):
    models = results["models"]
    with pytest.raises(ValueError, match="must be"):
        write_report(tmp_path, models=models, matrices={"degree": np.zeros((2, 2))})
    with pytest.raises(ValueError, match="primary"):
        write_report(tmp_path, models=models, matrices={"degree": results["degree"]}, primary="x")
    with pytest.raises(ValueError, match="file-name-safe"):
        write_report(tmp_path, models=models, matrices={"../evil": results["degree"]})
    with pytest.raises(ValueError, match="rate"):
        write_report(tmp_path, models=models, matrices={"degree": results["degree"]}, ice={"A": {"loose": {}}})
    with pytest.raises(ValueError, match="attribute"):
        write_report(tmp_path, models=models, matrices={"degree": results["degree"]}, attribution={"x": 1})
    with pytest.raises(ValueError, match="flat dicts"):
        write_report(tmp_path, models=models, matrices={"degree": results["degree"]}, tables={"t": [1, 2]})
    with pytest.raises(FileNotFoundError, match="report folder"):
        redraw(tmp_path / "nothing")


def test_renderers(results):
    attr = results["attr"]
    j = json.loads(render_attribution(attr, "json"))
    assert set(j["students"]) == set(results["models"])
    # blended students: the top candidate is T's family (T or a sibling; direction is not identified)
    assert j["students"]["s90"][0]["candidate"] in {"T", "s10", "s30", "s50", "s70"}
    c = list(csv.DictReader(io.StringIO(render_attribution(attr, "csv"))))
    assert len(c) == len(attribution_rows(attr))
    assert float(c[0]["degree"]) == pytest.approx(attr["students"][c[0]["student"]][0]["degree"])
    md = render_attribution(attr, "markdown")
    assert md.count(f"\n| s90 | 1 | {j['students']['s90'][0]['candidate']} |") == 1 and "runner_up" in md
    rows = [{"a": 1.23456, "b": "x|y", "c": None, "d": float("nan")}, {"a": 2, "e": True}]
    assert render_table(rows, "markdown").splitlines()[2] == "| 1.235 | x\\|y |  |  |  |"
    assert render_table([{"a": "<b>&"}], "markdown").splitlines()[2] == "| &lt;b&gt;&amp; |"
    assert render_table(rows, "csv").splitlines() == ["a,b,c,d,e", "1.23456,x|y,,,", "2,,,,True"]
    assert json.loads(render_table(rows, "json"))[0] == {"a": 1.23456, "b": "x|y", "c": None, "d": None, "e": None}
    assert render_table(rows, "csv", ["b"]).splitlines() == ["b", "x|y", '""']  # csv quotes a lone empty field
    mj = json.loads(render_matrix(["A", "B"], [[1, 0.5], [np.nan, 1]], "json"))
    assert mj == {"models": ["A", "B"], "matrix": [[1.0, 0.5], [None, 1.0]]}
    assert render_matrix(["A", "B"], np.eye(2), "markdown").splitlines()[0] == "| model | A | B |"
    ice_csv = list(csv.DictReader(io.StringIO(render_ice(results["ice"], "csv"))))
    assert len(ice_csv) == 3 * len(results["models"]) and ice_csv[0]["level"] == "loose"
    for fmt in ("xml", "JSON"):
        with pytest.raises(ValueError, match="format"):
            render_table(rows, fmt)
        with pytest.raises(ValueError, match="format"):
            render_attribution(attr, fmt)


# ----------------------------------------------------------------- clustering
def _random_distance(seed: int, m: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((m, 3))
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    return d


@settings(max_examples=40)
@given(st.integers(0, 10_000), st.integers(2, 14))
def test_average_linkage_matches_scipy(seed, m):
    hierarchy = pytest.importorskip("scipy.cluster.hierarchy")
    distance = pytest.importorskip("scipy.spatial.distance")
    d = _random_distance(seed, m)
    ours = average_linkage(d)
    ref = hierarchy.linkage(distance.squareform(d, checks=False), method="average")
    np.testing.assert_allclose(ours[:, 2], ref[:, 2], rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(ours[:, 3], ref[:, 3])

    def members(z):
        groups = {i: frozenset([i]) for i in range(m)}
        out = []
        for k, (a, b, _, _) in enumerate(z):
            groups[m + k] = groups[int(a)] | groups[int(b)]
            out.append(groups[m + k])
        return out

    assert members(ours) == members(ref)
    order = leaf_order(ours, m)
    assert sorted(order) == list(range(m))
    assert order == list(hierarchy.leaves_list(ref))


def test_average_linkage_edges():
    assert average_linkage(np.zeros((1, 1))).shape == (0, 4)
    assert leaf_order(np.empty((0, 4)), 1) == [0]
    z = average_linkage(np.zeros((3, 3)))  # all ties: lowest ids merge first
    assert z[0, :2].tolist() == [0, 1] and z[1, :2].tolist() == [2, 3]
    with pytest.raises(ValueError, match="symmetric"):
        average_linkage(np.array([[0, 1], [2, 0]]))
    with pytest.raises(ValueError, match="NaN"):
        average_linkage(np.array([[0, np.nan], [np.nan, 0]]))
    with pytest.raises(ValueError, match="square"):
        average_linkage(np.zeros((2, 3)))


# ----------------------------------------------------------------- readability pieces
def test_report_without_matplotlib_still_builds(tmp_path, results, monkeypatch):
    import sys

    for name in [k for k in sys.modules if k == "matplotlib" or k.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    w = write_report(
        tmp_path / "r", models=results["models"], matrices={"degree": results["degree"]}, attribution=results["attr"]
    )
    page = (tmp_path / "r" / "index.html").read_text()
    assert "Figures are not included" in page and "pip install &#x27;distillscope[plot]&#x27;" in page
    assert "<img" not in page and not (tmp_path / "r" / "figures").exists()
    assert "Key result" in page and "Teacher attribution" in page  # the tables are all there
    assert "index" in w and "heatmap" not in w


def test_spread_distance_spreads_merges_and_keeps_the_tree():
    from distillscope.analysis.cluster import similarity_to_distance, spread_distance

    rng = np.random.default_rng(3)
    s = rng.uniform(-0.05, 0.15, (7, 7))  # calibrated degrees: all near 0
    old = average_linkage(similarity_to_distance(s))
    new = average_linkage(spread_distance(s))
    assert old[:, 2].max() - old[:, 2].min() < 0.2  # squashed
    np.testing.assert_array_equal(old[:, [0, 1, 3]], new[:, [0, 1, 3]])  # same tree
    assert new[0, 2] == pytest.approx(0.0) and new[:, 2].max() > 0.5  # merges use the height
    assert leaf_order(old, 7) == leaf_order(new, 7)


def test_repel_labels_leaves_no_overlap():
    from distillscope.analysis.figures import repel_labels

    anchors = np.array([[100.0, 100.0], [102.0, 101.0], [101.0, 99.0], [300.0, 50.0], [103.0, 103.0]])
    sizes = np.array([[60.0, 9.0]] * 5)
    boxes = repel_labels(anchors, sizes)
    for i in range(5):
        for j in range(i + 1, 5):
            ox = min(boxes[i, 0] + 60, boxes[j, 0] + 60) - max(boxes[i, 0], boxes[j, 0])
            oy = min(boxes[i, 1] + 9, boxes[j, 1] + 9) - max(boxes[i, 1], boxes[j, 1])
            assert ox <= 0 or oy <= 0, (i, j, boxes)
        for p in anchors:  # no label hides a point
            inside = boxes[i, 0] < p[0] < boxes[i, 0] + 60 and boxes[i, 1] < p[1] < boxes[i, 1] + 9
            assert not inside
    np.testing.assert_allclose(boxes[3], anchors[3] + [5.0, 4.0])  # a lone label stays put


def test_significance_text_names_a_tie_broken_by_strength():
    from distillscope.analysis.report_html import significance_text

    assert significance_text({"significant": True, "p_value": 0.001, "difference": 0.1}) == "yes (p = 0.001)"
    assert significance_text({"significant": False, "p_value": 0.2, "difference": 0.01}) == "no (p = 0.200)"
    # the top candidate's degree is below the runner-up's: the order came from the tie-break
    tie = significance_text({"significant": False, "p_value": 0.778, "difference": -0.005})
    assert tie == "tie, ranked by strength (p = 0.778)"
    assert significance_text({"significant": None}) == ""
