"""User text in reports shows literally and never runs: escaping, figure labels, and the HTML export."""

from __future__ import annotations

import html
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import matplotlib
import nbformat
import pytest
import yaml

from loyalty_sim import report
from loyalty_sim.text.escape import escape_html, escape_markdown, plain_text, plot_text

ROOT = Path(__file__).resolve().parents[1]
MARK = "PWNED"
HOSTILE = [
    f"<script>document.title='{MARK}'</script>",
    f"<img src=x onerror=\"document.title='{MARK}'\">",
    f"<svg onload=\"document.title='{MARK}'\">",
    f"[click](javascript:document.title='{MARK}')",
    "$\\frac{a}{b}$",
    "**bold**",
    "$\\frac{a}{b$ | a_b_ `code` # x",
]


def _render_markdown(text: str) -> str:
    from nbconvert.filters.markdown import markdown2html_mistune

    return markdown2html_mistune(text)


class _Dom(HTMLParser):
    """Tags, attributes and visible text of an HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        self._in_title = False

    def handle_data(self, data):
        self.text.append(data)
        if self._in_title:
            self.title += data


def _dom(markup: str) -> _Dom:
    d = _Dom()
    d.feed(markup)
    return d


@pytest.mark.parametrize("text", HOSTILE + ["fresh_pre_emptive", "a & b &lt; c", "line\none", "1. x", "- y"])
def test_escaped_markdown_renders_as_the_literal_text_and_nothing_else(text):
    out = _render_markdown(f"Scheme **{escape_markdown(text)}** wins.")
    d = _dom(out)
    assert [t for t, _ in d.tags] == ["p", "strong"]  # only the package's own markup
    assert "".join(d.text).strip() == f"Scheme {' '.join(text.split())} wins."


def test_escaped_markdown_keeps_table_cells_and_ordinary_names_readable():
    row = f"| {escape_markdown('a|b')} | {escape_markdown('<td>x')} |"
    d = _dom(_render_markdown("| p | v |\n|---|---|\n" + row))
    cells = [t for t, _ in d.tags if t == "td"]
    assert len(cells) == 2 and "a|b" in "".join(d.text) and "<td>x" in "".join(d.text)
    assert escape_markdown("fresh_pre_emptive v1.2 coffee-shop") == "fresh_pre_emptive v1.2 coffee-shop"
    assert escape_markdown("_x_") == "&#95;x&#95;"


def test_plain_text_restores_user_text_from_package_markdown():
    name = "<b>x</b> & **y** &amp;"
    assert plain_text(f"**Best candidate: {escape_markdown(name)}.** ok") == f"Best candidate: {name}. ok"


def test_escape_html_escapes_markup_and_quotes():
    assert escape_html("<a href='x'>\"&") == "&lt;a href=&#x27;x&#x27;&gt;&quot;&amp;"


def test_plot_text_draws_dollars_literally():
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    broken = "$\\frac{a}{b$"  # unbalanced mathtext: drawing it raw raises
    fig, ax = plt.subplots()
    try:
        ax.set_title(broken)
        with pytest.raises(ValueError):
            fig.canvas.draw()
        ax.set_title(plot_text(broken))
        ax.legend([ax.plot([0, 1])[0]], [plot_text("$x$ and $y$")])
        fig.canvas.draw()  # drawn as text, no mathtext error
        assert ax.title.get_window_extent(fig.canvas.get_renderer()).width > 0
    finally:
        plt.close(fig)


def test_run_header_escapes_names_and_values():
    md = report.run_header("01-x", HOSTILE[1], {"scheme": HOSTILE[0], "survey": HOSTILE[3]})
    d = _dom(_render_markdown(md))
    assert {t for t, _ in d.tags} <= {"p", "em", "table", "thead", "tbody", "tr", "th", "td"}
    text = "".join(d.text)
    assert HOSTILE[1] in text and HOSTILE[0] in text and HOSTILE[3] in text


def test_export_has_a_csp_and_no_script_or_remote_resource():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": f"<script>document.title='{MARK}'</script>"})]
    nb.cells = [nbformat.v4.new_markdown_cell("# report"), cell]
    page = report.export_html(nb, "t <x>")
    head = page.split("</head>")[0]
    assert head.index('http-equiv="Content-Security-Policy"') < head.index("<title>")
    assert "default-src 'none'" in head and "script-src 'none'" in head
    scripts = [a for t, a in _dom(page).tags if t == "script"]
    assert scripts == [{}]  # only the raw output above; the template adds none
    for tag, attrs in _dom(page).tags:
        for k in ("src", "href"):
            v = attrs.get(k) or ""
            assert not v.startswith(("http:", "https:", "//")), (tag, attrs)


# --------------------------------------------------------------------------- whole reports in Chromium


def _browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.fail("headless Chromium is required (apt-get install chromium)")


def _dump_dom(path: Path, profile: Path) -> str:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--virtual-time-budget=3000"]
    res = subprocess.run([_browser(), *flags, "--dump-dom", path.as_uri()], capture_output=True, text=True,
                         timeout=180)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


@pytest.fixture(scope="module")
def hostile_reports(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    sc = yaml.safe_load((ROOT / "loyalty_sim" / "scenarios" / "coffee_comparison.yaml").read_text())
    base = sc["schemes"]
    sc["schemes"] = [{**base[i % len(base)], "name": n} for i, n in enumerate(HOSTILE[:6])]
    sc["name"] = HOSTILE[2]
    scenario = tmp / "evil<svg onload=document.title='PWNED'>.yaml"
    scenario.write_text(yaml.safe_dump(sc))
    survey = tmp / "survey<img src=x onerror=document.title='PWNED'>.csv"
    survey.write_bytes((ROOT / "data" / "surveys" / "coffee_survey.csv").read_bytes())
    out = tmp / "out"
    return {
        "01": report.run_report("01-scheme-comparison", {"scenario": str(scenario), "survey": str(survey),
                                                         "customers": 600, "weeks": 30, "launch_week": 10,
                                                         "replications": 2}, out_dir=out),
        "04": report.run_report("04-profit-impact", {"scenario": str(scenario), "scheme": HOSTILE[0],
                                                     "customers": 600}, out_dir=out),
        "names": HOSTILE[:6], "files": [str(scenario), str(survey)], "profile": tmp / "profile",
    }


@pytest.mark.parametrize("which", ["01", "04"])
def test_hostile_names_show_literally_and_never_run_in_chromium(hostile_reports, which):
    o = hostile_reports[which]
    dom = _dom(_dump_dom(o.html, hostile_reports["profile"]))
    assert dom.title.strip() != MARK and MARK not in dom.title
    injected = [(t, a) for t, a in dom.tags
                if t in ("script", "svg", "iframe", "object", "embed")
                or (t == "img" and a.get("src") == "x")
                or any(k.startswith("on") for k in a)
                or (t == "a" and "javascript" in (a.get("href") or ""))]
    assert injected == []
    text = " ".join(dom.text)
    shown = hostile_reports["names"] if which == "01" else [HOSTILE[0]]
    for name in shown:
        assert name in text, name
    for f in hostile_reports["files"] if which == "01" else hostile_reports["files"][:1]:
        assert f in text  # the run header shows the file names as typed
    page = o.html.read_text()
    assert 'http-equiv="Content-Security-Policy"' in page and "cdnjs" not in page


def test_hostile_headline_is_recorded_as_plain_text(hostile_reports):
    v = hostile_reports["01"].values
    assert set(v["schemes"]) == set(hostile_reports["names"])
    assert "&#" not in v["headline"] and v["headline"] == html.unescape(v["headline"])
    assert any(n in v["headline"] for n in hostile_reports["names"])
