"""The static HTML leaderboard (`zshbench.leaderboard.html`): the page's content and determinism, read with the
standard library's HTML parser, then the page in a real headless Chromium (`tests/headless_chromium.py`): it loads
without a console error, every figure is displayed, and clicking a column header (or pressing Enter or Space on it)
sorts the rows.

The browser tests skip with a reason where Chromium is not installed (``apt-get install chromium``).
"""

from __future__ import annotations

import ast
import base64
import hashlib
import io
import os
import random
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from factories import make_record
from headless_chromium import BrowserError, Chromium, find_chromium

from zshbench.leaderboard import aggregate, render_markdown
from zshbench.leaderboard.html import HTML_NAME, figure_links, html_report, split_variants
from zshbench.records import load_records
from zshbench.reported import validate_paper_record

# TEST DATA ONLY: the numbers below are invented to exercise the code; they are not from any paper or run.


def _png(width: int, height: int, shade: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (shade, 120, 200)).save(buf, format="PNG")
    return buf.getvalue()


def hand_made():
    """lsh at 16/32/64 bits (two seeds), itq at 16 bits only (so its 32- and 64-bit cells are '-'), sh at all three,
    settings at 64 bits, and one leaky record with a value found nowhere else."""
    recs = []
    for seed in (0, 1):
        for bits, value in ((16, 0.30), (32, 0.40), (64, 0.50)):
            v = value + 0.01 * seed
            settings = {"S->A": {"map@5000": 0.7 + seed / 100}, "U->U": {"map@5000": 0.6}, "H": {"map@5000": 0.58}}
            recs.append(
                make_record(
                    "lsh",
                    n_bits=bits,
                    seed=seed,
                    metrics={"map@5000": v, "map@all": v - 0.1},
                    settings=settings if bits == 64 else None,
                    timings={"fit_s": 0.5 + seed},
                )
            )
            recs.append(make_record("sh", n_bits=bits, seed=seed, metrics={"map@5000": v + 0.05, "map@all": v}))
    recs.append(make_record("itq", n_bits=16, metrics={"map@5000": 0.9, "map@all": 0.8}))
    recs.append(leaky(make_record("lsh", n_bits=32, metrics={"map@5000": 0.8765, "map@all": 0.77})))
    return recs


def leaky(rec):
    """``rec`` evaluated in the ``leaky`` variant (another run identity)."""
    from zshbench.records import Record

    return Record.create(
        identity=dict(rec.identity, evaluation={**rec.identity["evaluation"], "variant": "leaky"}),
        params=rec.params,
        config_hash=rec.config_hash,
        split_fingerprint=rec.split_fingerprint,
        metrics=rec.metrics,
        metric_conventions=rec.metric_conventions,
        timings=rec.timings,
        complexity=rec.complexity,
        environment=rec.environment,
        zshbench_version=rec.zshbench_version,
        features=rec.features,
        created_utc=rec.created_utc,
        split_counts=rec.split_counts,
        non_default_params=rec.non_default_params,
    )


def paper(method="LSH", **kw):
    rec = {
        "schema_version": 3,
        "source": "paper",
        "paper": "testpaper",
        "citation": "A. Test, 2099.",
        "url": "https://example.org/test",
        "table": "Table 9",
        "method": method,
        "dataset": "Toy",
        "metric": "map@5000",
        "printed_unit": "percent",
        "unit": "fraction",
        "values": {"16": {"printed": "12.50", "value": 0.125}, "32": {"printed": "25.00", "value": 0.25}},
        "protocol_description": "an unseeded random split.",
        "protocol_caveats": ["Runs: one unseeded run per cell."],
        "zshbench_method": "lsh",
        "zshbench_dataset": "toy",
    }
    rec.update(kw)
    return validate_paper_record(rec)


class Tables(HTMLParser):
    """Every table of a page: id -> {"caption", "head": [texts], "rows": [[texts]], "sort": [data-sort or None]}."""

    def __init__(self, text: str):
        super().__init__()
        self.tables: dict[str, dict] = {}
        self.imgs: list[dict] = []
        self._t = self._cell = None
        self._in_caption = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._t = self.tables.setdefault(a["id"], {"caption": "", "head": [], "rows": [], "sort": []})
        elif tag == "caption":
            self._in_caption = True
        elif tag == "tr" and self._t is not None and "data-index" in a:
            self._t["rows"].append([])
            self._t["sort"].append([])
        elif tag in ("td", "th") and self._t is not None:
            self._cell = [""]
            self._head = a.get("scope") == "col"
            self._sort = a.get("data-sort")
        elif tag == "img":
            self.imgs.append(a)

    def handle_endtag(self, tag):
        if tag == "table":
            self._t = None
        elif tag == "caption":
            self._in_caption = False
        elif tag in ("td", "th") and self._cell is not None:
            text = self._cell[0].strip()
            if self._head:
                self._t["head"].append(text)
            else:
                self._t["rows"][-1].append(text)
                self._t["sort"][-1].append(self._sort)
            self._cell = None

    def handle_data(self, data):
        if self._in_caption and self._t is not None:
            self._t["caption"] += data
        elif self._cell is not None:
            self._cell[0] += data


def _markdown_tables(md: str) -> list[list[list[str]]]:
    """The body rows of every Markdown table, cells without the bold marks."""
    out, cur = [], None
    for line in md.splitlines():
        if line.startswith("| ") and not line.startswith("| method"):
            cur.append([c.strip().strip("*") for c in line.strip("|").split(" | ")])
        elif line.startswith("| method"):
            cur = []
            out.append(cur)
    return out


# -- the page, read without a browser ----------------------------------------------------------------------------


def test_same_cells_as_the_markdown_tables_and_leaky_records_left_out():
    recs = hand_made()
    std, others = split_variants(recs)
    assert len(others) == 1 and others[0].evaluation["variant"] == "leaky"
    page = Tables(html_report(recs))
    for metric in ("map@5000", "map@all"):
        (table,) = aggregate(std, metric)
        (expected,) = _markdown_tables(render_markdown([table]))
        got = page.tables[f"toy--toy-zsh--{metric.replace('@', 'at')}"]
        assert got["head"] == ["method", "16 bits", "32 bits", "64 bits"]
        assert got["rows"] == expected
    # '-' has no sort key; numbers sort by the mean's full value
    main = page.tables["toy--toy-zsh--mapat5000"]
    assert main["rows"][0][:2] == ["itq", "0.9000 (n=1)"] and main["rows"][0][2] == "-"
    assert main["sort"][0][1] == "0.9" and main["sort"][0][2] is None
    # the leaky record: only in its own section
    leaky_tables = [k for k in page.tables if k.startswith("variant--leaky")]
    assert leaky_tables and "0.8765" in " ".join(map(str, page.tables[leaky_tables[0]]["rows"]))
    assert not any("0.8765" in str(t["rows"]) for k, t in page.tables.items() if k not in leaky_tables)


def test_deterministic_and_independent_of_record_order():
    recs = hand_made()
    reported = [paper(), paper("LSH-b", values={"64": {"printed": "40.00", "value": 0.4}})]
    figs = figure_links(recs)
    first = html_report(recs, reported, figs)
    for seed in range(3):
        shuffled = recs[:]
        random.Random(seed).shuffle(shuffled)
        assert html_report(shuffled, reported[::-1], dict(reversed(list(figs.items())))) == first
    assert first.endswith("</html>\n") and first.count("<table") == first.count("</table>")


def test_settings_at_64_bits():
    page = Tables(html_report(hand_made()))
    t = page.tables["toy--toy-zsh--settings--mapat5000"]
    assert t["caption"] == "map@5000 by retrieval setting, 64 bits"
    assert t["head"] == ["method", "U->A", "S->A", "U->U", "H"]  # no record has S->S
    assert t["rows"][0] == [
        "lsh",
        "0.5050 ± 0.0071 (n=2)",
        "0.7050 ± 0.0071 (n=2)",
        "0.6000 ± 0.0000 (n=2)",
        "0.5800 ± 0.0000 (n=2)",
    ]
    assert t["rows"][1][0] == "sh" and t["rows"][1][2:] == ["-", "-", "-"]


def test_figures_embedded_or_linked_and_nothing_from_the_network():
    recs = hand_made()
    png = _png(30, 20, 10)
    page_text = html_report(
        recs, figures={"pr_toy_toy-zsh.png": png, "map_vs_bits_toy_toy-zsh.png": "figures/m.png", "extra.png": png}
    )
    page = Tables(page_text)
    srcs = [i["src"] for i in page.imgs]
    assert srcs == [
        "data:image/png;base64," + base64.b64encode(png).decode(),  # pr before map_vs_bits: the display order
        "figures/m.png",
        "data:image/png;base64," + base64.b64encode(png).decode(),  # "extra.png": under Other figures
    ]
    assert all(i["alt"] for i in page.imgs)
    assert 'id="other-figures"' in page_text
    # nothing fetched from elsewhere: no absolute URL in src/href, a CSP that allows only this page's own
    # script and style (by hash), and no absolute figure path accepted
    assert not re.search(r'src="(https?:)?//', page_text) and "<link" not in page_text and "@import" not in page_text
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page_text).group(1)
    for tag, directive in (("script", "script-src"), ("style", "style-src")):
        body = re.search(rf"<{tag}>(.*?)</{tag}>", page_text, re.S).group(1)
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in csp
    assert "default-src 'none'" in csp
    for bad in ("/abs/pr.png", "https://example.org/pr.png", "C:/x.png"):
        with pytest.raises(ValueError, match="not a relative path"):
            html_report(recs, figures={"pr_toy_toy-zsh.png": bad})
    with pytest.raises(ValueError, match="cannot embed"):
        html_report(recs, figures={"pr_toy_toy-zsh.pdf": b"%PDF"})


def test_reported_side_by_side_and_printed_tables_are_escaped():
    recs = hand_made()
    odd = paper("Odd", table="Table 10", url="javascript:alert(1)", zshbench_method=None)
    page_text = html_report(recs, [paper(), paper("<b>Net</b>", zshbench_method=None), odd])
    page = Tables(page_text)
    comp = page.tables["comparison-1"]
    assert comp["head"] == ["bits", "reported (printed)", "reported", "measured (mean ± std, n)"]
    assert comp["rows"] == [
        ["16", "12.50 percent", "0.1250", "0.3050 ± 0.0071 (n=2)"],
        ["32", "25.00 percent", "0.2500", "0.4050 ± 0.0071 (n=2)"],
    ]
    assert "Runs: one unseeded run per cell." in page_text
    printed = page.tables["reported--testpaper--table-9--toy"]
    assert [r[0] for r in printed["rows"]] == ["<b>Net</b>", "LSH"]  # text, never markup
    assert "<b>Net" not in page_text and "&lt;b&gt;Net&lt;/b&gt;" in page_text
    # the source is a link to follow (nothing loads by itself); another scheme stays text
    assert '<a href="https://example.org/test" rel="noreferrer">' in page_text
    assert "<code>javascript:alert(1)</code>" in page_text and 'href="javascript' not in page_text


def test_provenance():
    recs = hand_made()
    page_text = html_report(recs, regenerate_cmd="zshbench report --results R --out O --html")
    page = Tables(page_text)
    (proto,) = page.tables["provenance-protocols"]["rows"]
    sha = recs[0].protocol["sha256"]
    assert proto[:4] == ["toy-zsh", "1", sha, "yes"] and proto[-1] == str(len(recs) - 1)
    assert page.tables["provenance-hardware"]["rows"][0][0] == "Test CPU"
    assert "zshbench report --results R --out O --html" in page_text
    assert f"zshbench versions of the records: 0 ({len(recs) - 1} records)" in page_text
    assert "1 record(s) of another evaluation variant: leaky (1 record)" in page_text


def test_the_page_reads_only_records():
    """Like the other leaderboard modules, the page never imports the registry, the runner or a method."""
    tree = ast.parse((Path(__file__).parents[1] / "zshbench" / "leaderboard" / "html.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not {m for m in imported if m.startswith(("zshbench.registry", "zshbench.runner", "zshbench.methods"))}


@pytest.fixture(scope="module")
def real_report(tmp_path_factory):
    """A report of real small runs (lsh and itq on digits, plus one leaky run), with figures and the page."""
    from zshbench.leaderboard import write_report
    from zshbench.runner import run

    d = tmp_path_factory.mktemp("html")
    for method in ("lsh", "itq"):
        run(method, "digits", bits=[16, 32], seeds=[0, 1], results_dir=d / "results", progress=False)
    run("lsh", "digits", bits=[32], seeds=[0], results_dir=d / "results", progress=False, eval_variant="leaky")
    recs, errors = load_records(d / "results")
    assert not errors and len(recs) == 9
    std, _ = split_variants(recs)
    out = d / "report"
    write_report(std, out)
    reported = [
        paper(dataset="Digits", zshbench_dataset="digits", metric="map@all", printed_unit="percent"),
    ]
    (out / HTML_NAME).write_text(html_report(recs, reported, figure_links(std)))
    return recs, out, d / "results"


_PAGE_SCRIPT = """
import sys
from pathlib import Path
from test_html import hand_made, paper
from zshbench.leaderboard.html import figure_links, html_report, split_variants
from zshbench.records import load_records
recs, _ = load_records(sys.argv[1])
sys.stdout.buffer.write(html_report(recs, [paper()], figure_links(split_variants(recs)[0])).encode())
sys.stdout.buffer.write(html_report(hand_made(), [paper()]).encode())
"""


def test_same_bytes_in_fresh_processes_with_other_hash_seeds(real_report):
    """No set or dict order leaks into the page: two processes with different string hash seeds (and a fresh
    load of the records, in directory order) give the bytes made here."""
    recs, _, results = real_report
    here = html_report(recs, [paper()], figure_links(split_variants(recs)[0])) + html_report(hand_made(), [paper()])
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        got = subprocess.run(
            [sys.executable, "-c", _PAGE_SCRIPT, str(results)],
            env=env,
            cwd=Path(__file__).parent,
            capture_output=True,
            check=True,
        ).stdout
        assert got == here.encode()


def test_figure_links_name_the_figures_the_report_draws(real_report):
    recs, out, _ = real_report
    std, _ = split_variants(recs)
    drawn = sorted(p.relative_to(out).as_posix() for p in (out / "figures").glob("*.png"))
    assert sorted(figure_links(std).values()) == drawn
    assert len(drawn) == 7  # pr, pn, rn, map_vs_bits, settings, ap_vs_distance, hamming


# -- the page in a real browser ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if find_chromium() is None:
        why = "ZSHBENCH_CHROMIUM=none" if os.environ.get("ZSHBENCH_CHROMIUM") == "none" else "no Chromium found"
        pytest.skip(f"{why}: the page is not tested in a browser (Debian: apt-get install chromium)")
    try:
        b = Chromium.start(tmp_path_factory.mktemp("chromium-profile"))
    except BrowserError as e:  # installed but broken: fail, do not hide the page's test behind a skip
        pytest.fail(f"Chromium ({find_chromium()}) did not start: {e}; set ZSHBENCH_CHROMIUM=none to skip")
    yield b
    b.close()


ROWS = (
    "Array.from(document.getElementById({tid!r}).tBodies[0].rows).map(r => Array.from(r.cells).map(c => c.textContent))"
)
SORT = "Array.from(document.getElementById({tid!r}).tHead.rows[0].cells).map(c => c.getAttribute('aria-sort'))"


def _open(browser, path: Path):
    page = browser.new_page()
    page.goto(path.resolve().as_uri())
    return page


def _images(page) -> list:
    return page.eval(
        "Array.from(document.images).map(i => [i.getAttribute('src').slice(0, 60), i.complete, i.naturalWidth])"
    )


def test_hand_made_page_in_chromium_sorts_and_shows_every_figure(browser, tmp_path):
    recs = hand_made()
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "rn.png").write_bytes(_png(40, 30, 90))
    figs = {"pr_toy_toy-zsh.png": _png(50, 40, 0), "rn_toy_toy-zsh.png": "figures/rn.png"}
    path = tmp_path / HTML_NAME
    path.write_text(html_report(recs, [paper()], figs))
    page = _open(browser, path)
    assert page.eval("document.title") == "zshbench leaderboard"
    imgs = _images(page)
    assert len(imgs) == 2 and all(complete and width > 0 for _, complete, width in imgs), imgs

    # the header buttons' accessible names are their text (the sort arrows are decoration)
    nodes = page.send("Accessibility.getFullAXTree")["nodes"]
    buttons = [n["name"]["value"] for n in nodes if n.get("role", {}).get("value") == "button"]
    assert buttons[:4] == ["method", "16 bits", "32 bits", "64 bits"]

    tid = "toy--toy-zsh--mapat5000"
    assert [r[0] for r in page.eval(ROWS.format(tid=tid))] == ["itq", "lsh", "sh"]  # label order
    assert page.eval(SORT.format(tid=tid)) == ["ascending", None, None, None]
    # 32 bits: the first click sorts descending (higher is better), '-' (itq) last
    page.click(f"#{tid} thead th:nth-child(3) button")
    rows = page.eval(ROWS.format(tid=tid))
    assert [r[0] for r in rows] == ["sh", "lsh", "itq"] and rows[-1][2] == "-"
    assert page.eval(SORT.format(tid=tid)) == [None, None, "descending", None]
    # again: ascending, '-' still last
    page.click(f"#{tid} thead th:nth-child(3) button")
    assert [r[0] for r in page.eval(ROWS.format(tid=tid))] == ["lsh", "sh", "itq"]
    assert page.eval(SORT.format(tid=tid))[2] == "ascending"
    # the keyboard: Enter on the focused "method" header button sorts by label, descending after ascending
    page.eval(f"document.querySelector('#{tid} thead th:nth-child(1) button').focus()")
    page.press("Enter")
    assert page.eval(SORT.format(tid=tid))[0] == "ascending"
    page.press("Enter")
    assert [r[0] for r in page.eval(ROWS.format(tid=tid))] == ["sh", "lsh", "itq"]
    assert page.eval("document.getElementById('sort-status').textContent") == "map@5000: sorted by method, descending"
    page.press(" ")  # space activates a button too
    assert page.eval(SORT.format(tid=tid))[0] == "ascending"
    # cost: lower is better, so the first click sorts ascending
    cost = "toy--toy-zsh--cost"
    page.click(f"#{cost} thead th:nth-child(2) button")
    assert page.eval(SORT.format(tid=cost))[1] == "ascending"
    assert page.errors() == []


def test_real_report_in_chromium(browser, real_report):
    recs, out, _ = real_report
    page = _open(browser, out / HTML_NAME)
    imgs = _images(page)
    assert sorted(src for src, _, _ in imgs) == sorted(figure_links(split_variants(recs)[0]).values())
    assert all(complete and width > 0 for _, complete, width in imgs), imgs
    tid = "digits--digits-zsh--mapat5000"
    before = page.eval(ROWS.format(tid=tid))
    page.click(f"#{tid} thead th:nth-child(2) button")
    after = page.eval(ROWS.format(tid=tid))
    means = [float(r[1].split(" ")[0]) for r in after]
    assert means == sorted(means, reverse=True) and sorted(map(tuple, before)) == sorted(map(tuple, after))
    assert page.eval("document.querySelectorAll('table.sortable').length") > 10
    assert page.errors() == []
    assert page.eval("document.getElementById('comparison-1') !== null")  # the paper record's side-by-side
