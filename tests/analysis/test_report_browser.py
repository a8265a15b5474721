"""The report as a reader sees it: built by the CLI from real AlpacaEval answers,
parsed as HTML, and opened in headless Chromium (Debian's chromium +
chromium-driver, driven by selenium)."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
from html.parser import HTMLParser

import pytest

from distillscope.analysis.tables import DEGREE_DEFINITION
from distillscope.cli import main

# As tests/conftest.py decides it (not imported: "conftest" names two modules here).
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")

MODELS = ("gpt4_1106_preview", "gpt4_1106_preview_concise", "Yi-34B-Chat", "zephyr-7b-beta")
N_PROMPTS = 60


@pytest.fixture(scope="module")
def report(shared_data, tmp_path_factory):
    """A report of 4 AlpacaEval models x 60 prompts (lexical + style, no encoder)."""
    src = tmp_path_factory.mktemp("alpaca")
    files = []
    for m in MODELS:
        items = json.loads((shared_data / "alpaca_eval" / f"{m}.json").read_text(encoding="utf-8"))
        p = src / f"{m}.json"
        p.write_text(json.dumps(items[:N_PROMPTS]), encoding="utf-8")
        files.append(str(p))
    out = tmp_path_factory.mktemp("report") / "rep"
    rc = main(
        ["report", *files, "--encoder", "none", "--bootstrap", "200", "--out", str(out), "--title", "AlpacaEval audit"]
    )
    assert rc == 0
    return out


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[str] = []
        self.ids: set[str] = set()
        self.stack: list[str] = []
        self.tables: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ("href", "src"):
            if a.get(k):
                self.refs.append(a[k])
        if a.get("id"):
            self.ids.add(a["id"])
        if tag not in ("meta", "img", "br", "hr", "link", "input"):
            self.stack.append(tag)
        if tag == "table":
            self.tables.append({"th": 0, "rows": 0})
        elif tag == "th":
            self.tables[-1]["th"] += 1
        elif tag == "tr" and "tbody" in self.stack:
            self.tables[-1]["rows"] += 1

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()


def test_report_folder_parses_links_resolve_and_stays_offline(report):
    page = (report / "index.html").read_text(encoding="utf-8")
    chk = _Links()
    chk.feed(page)
    chk.close()
    assert chk.stack == []
    assert chk.refs, "the page links its figures"
    for ref in chk.refs:
        assert not re.match(r"^[a-z]+:", ref), f"external or absolute link {ref!r}"
        assert (report / ref).is_file(), f"{ref} does not resolve to a file in the report folder"
    assert not re.search(r"https?://", page), "the page must not reference the network"
    for svg in (report / "figures").glob("*.svg"):
        assert not re.search(r'(href|src)="https?://', svg.read_text(encoding="utf-8")), svg
    # every figure as SVG and PNG, and the page shows each
    for name in ("heatmap", "heatmap_degree_lexical", "heatmap_degree_style", "dendrogram"):
        for ext in ("svg", "png"):
            assert (report / "figures" / f"{name}.{ext}").stat().st_size > 1000
        assert f"figures/{name}.svg" in chk.refs
    assert not (report / "figures" / "ice_rse.svg").exists()  # no ICE input: no scatter, no ICE table
    assert "Identity consistency (ICE)" not in page
    assert {"audit", "key", "figures", "evidence", "tables"} <= chk.ids
    assert html.escape(DEGREE_DEFINITION) in page
    for m in MODELS:
        assert m in page
    assert "Prompts</dt><dd>60, joined by whitespace-normalized prompt text" in page
    assert "Samples per prompt</dt><dd>1</dd>" in page and "One sample per model and prompt" in page
    assert "Only 60 prompts" in page
    assert all(t["th"] > 0 and t["rows"] > 0 for t in chk.tables)  # no empty table
    assert "<details><summary>" in page and "<mark>" in page  # evidence, with shared spans marked


def _chromium():
    """(browser binary, driver binary) or a reason they cannot be used."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return None, "selenium is not installed (pip install '.[test]')"
    browser = next(
        (shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None
    )
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        return None, "Chromium or chromedriver not found (apt-get install chromium chromium-driver)"
    return (browser, driver), ""


@pytest.fixture(scope="module")
def browser():
    found, reason = _chromium()
    if found is None:
        if IN_CI:
            pytest.fail(f"{reason}; CI installs them (.ci/run), so this is a broken CI image", pytrace=False)
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = found[0]
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1300,900"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(found[1]), options=opts)
    yield drv
    drv.quit()


def _column(drv, table_id, col):
    return drv.execute_script(
        "var c = arguments[1]; return Array.from(document.getElementById(arguments[0]).tBodies[0].rows)"
        ".map(function(r){return r.cells[c].textContent;});",
        table_id,
        col,
    )


def test_report_in_headless_chromium(report, browser, tmp_path):
    drv = browser
    drv.get((report / "index.html").resolve().as_uri())
    errors = [e for e in drv.get_log("browser") if e.get("level") == "SEVERE"]
    assert errors == [], errors
    imgs = drv.execute_script(
        "return Array.from(document.images).map(function(i){return [i.getAttribute('src'), i.complete, "
        "i.naturalWidth];});"
    )
    assert len(imgs) >= 4
    for src, complete, width in imgs:
        assert complete and width > 0, f"{src} did not load"

    # sorting: the key table by degree (column 2), then reversed; numbers, not strings
    heads = drv.find_elements("css selector", "#table-key thead th")
    names = [h.text for h in heads]
    col = names.index("degree [95% CI]")
    before = _column(drv, "table-key", col)
    heads[col].click()
    asc = [float(v.split()[0]) for v in _column(drv, "table-key", col)]
    assert asc == sorted(asc) and sorted(asc) == sorted(float(v.split()[0]) for v in before)
    assert heads[col].get_attribute("aria-sort") == "ascending"
    heads[col].click()
    desc = [float(v.split()[0]) for v in _column(drv, "table-key", col)]
    assert desc == sorted(asc, reverse=True)
    # a text column sorts alphabetically
    heads[0].click()
    students = _column(drv, "table-key", 0)
    assert students == sorted(students, key=str.lower) and len(students) == len(MODELS)

    # evidence: closed by default, opens on a click and shows both answers
    det = drv.find_element("css selector", "#evidence details")
    assert det.get_attribute("open") is None
    pre = det.find_element("css selector", ".pair pre")
    assert not pre.is_displayed()
    det.find_element("tag name", "summary").click()
    assert det.get_attribute("open") is not None and pre.is_displayed()
    assert len(det.find_elements("css selector", ".pair pre")) >= 2

    height = drv.execute_script("return document.documentElement.scrollHeight")
    drv.set_window_size(1300, min(height + 50, 16000))
    shot = tmp_path / "report.png"
    assert drv.save_screenshot(str(shot))
    assert shot.stat().st_size > 50_000
    assert drv.get_log("browser") == [] or all(e.get("level") != "SEVERE" for e in drv.get_log("browser"))


def test_report_markdown_summary_for_a_paper(shared_data, tmp_path, capsys):
    files = []
    for m in MODELS[:3]:
        items = json.loads((shared_data / "alpaca_eval" / f"{m}.json").read_text(encoding="utf-8"))
        p = tmp_path / f"{m}.json"
        p.write_text(json.dumps(items[:40]), encoding="utf-8")
        files.append(str(p))
    assert main(["report", *files, "--encoder", "none", "--bootstrap", "100", "--format", "markdown"]) == 0
    md = capsys.readouterr().out
    assert "**Distillation degree.** " + DEGREE_DEFINITION in md
    lines = md.splitlines()
    head = lines.index(
        "| student | top candidate | degree [95% CI] | runner-up | runner-up degree | beats runner-up | prompts |"
    )
    key = lines[head + 2 : head + 5]
    assert len(key) == 3 and all(re.search(r"\| -?\d\.\d{3} \[-?\d\.\d{3}, -?\d\.\d{3}\] \|", r) for r in key), key
    assert "*ceiling*:" in md and "Only 40 prompts" in md
    assert "figures/" not in md  # no folder asked for: no figures promised
    assert main(["report", *files, "--encoder", "none"]) == 2  # html needs --out: one-line usage error
    assert "--out DIR is required" in capsys.readouterr().err
