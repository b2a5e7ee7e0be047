"""Reports: every notebook runs through papermill with small parameters; HTML is produced and renders."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import numpy as np
import pytest

from loyalty_sim import ConfigError, report
from loyalty_sim.cli import main
from loyalty_sim.errors import ReportError

SMALL = {
    "01-scheme-comparison": {"customers": 600, "weeks": 30, "launch_week": 10, "replications": 2,
                             "survey": str(Path(__file__).resolve().parents[1] / "data" / "surveys" / "coffee_survey.csv")},
    "02-discount-levels": {"customers": 600, "weeks": 30, "launch_week": 5, "replications": 2,
                           "depths": [0.0, 0.1, 0.3, 0.6]},
    "03-points-design": {"customers": 600, "weeks": 30, "launch_week": 6, "replications": 2},
    "04-profit-impact": {"customers": 600},
    "05-segments-and-targeting": {"customers": 1000, "weeks": 30, "launch_week": 6, "replications": 2},
    "06-calibrate-your-data": {"customers": 500},
    "07-trial-review": {"example": "stores", "margin": 0.28},
}
#: more small parameters, not checked in the file name (which hashes parameters past 80 characters)
EXTRA = {"01-scheme-comparison": {"uncertainty": 4}}


def _reports(outputs):
    return {k: v for k, v in outputs.items() if not k.startswith("_")}


def test_every_notebook_has_a_small_parameter_set():
    assert set(report.available_reports()) == set(SMALL)
    for name in report.available_reports():
        spec = report.notebook_parameters(name)
        assert "run_id" in spec and "seed" in spec or name.startswith("06")
        for p in spec.values():
            assert p.doc, f"{name}: parameter {p.name} has no description"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    # what the kernels write on this process's stderr (fd 2), kept for test_report_runs_make_no_kernel_chatter
    log = out.parent / "kernel-stderr.txt"
    saved = os.dup(2)
    with open(log, "wb") as f:
        os.dup2(f.fileno(), 2)
        try:
            done = {name: report.run_report(name, {**params, **EXTRA.get(name, {})}, out_dir=out) for name, params in SMALL.items()
                    if name in report.available_reports()}
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    done["_stderr"] = log.read_text(errors="replace")
    return done


def test_report_runs_make_no_kernel_chatter(outputs):
    assert "Kernel is running over TCP" not in outputs["_stderr"]
    assert "KeyboardInterrupt" not in outputs["_stderr"]


def test_reports_write_notebook_and_html_with_parameters_in_the_name(outputs):
    for name, o in _reports(outputs).items():
        assert o.html.is_file() and o.notebook.is_file()
        assert o.html.name.startswith(name) and o.run_id in o.html.name
        given = {**SMALL[name], **EXTRA.get(name, {})}
        parts = [f"{key}-{Path(value).stem.replace('_', '-') if '/' in str(value) else value}"
                 for key, value in sorted(given.items()) if not isinstance(value, list)]
        stem = o.html.name.split("__")[1]
        if re.fullmatch(r".{60}_[0-9a-f]{8}", stem):  # a long name keeps its first 60 characters and a hash
            assert "_".join(parts).startswith(stem[:60])
        else:
            assert all(part in stem for part in parts)
        text = o.html.read_text()
        assert "import " not in text or "from loyalty_sim" not in text  # code is hidden
        assert o.run_id in text and "loyalty-sim 0.1.0" in text  # run id, version, parameters printed
        assert not list(o.html.parent.glob(".*"))  # no temporary files left


def test_scheme_comparison_records_real_values(outputs):
    v = outputs["01-scheme-comparison"].values
    assert v["replications"] == 2
    assert set(v["schemes"]) == set(v["incremental_profit"]) == set(v["verdicts"])
    assert all(np.isfinite(x) for x in v["incremental_profit"].values())
    # the stamp card raises frequency in the default scenario
    assert v["purchases_relative_effect"]["stamp10"] > 0.02
    # the survey's draws replaced the member scheme's take-up in each replication
    assert len(v["survey_take_up"]) == 2 and all(0 < t < 1 for t in v["survey_take_up"])
    # what we don't know: P(best) over the options sums to 1, the interval with the assumptions holds the noise one
    assert v["uncertainty_draws"] == 4 and sum(v["uncertainty_p_best"].values()) == pytest.approx(1.0)
    for name, (lo, hi) in v["uncertainty_interval"].items():
        if name != "no scheme":
            assert hi - lo >= 2 * v["uncertainty_noise_half_width"][name] - 1e-9
    assert v["evpi"] >= 0
    html = outputs["01-scheme-comparison"].html.read_text()
    assert "from the assumptions" in html and "from simulation noise" in html


def test_discount_levels_records_a_curve(outputs):
    v = outputs["02-discount-levels"].values
    assert set(v["profit_by_depth"]) == {"0", "0.1", "0.3", "0.6"}
    assert v["profit_by_depth"]["0"] == 0.0
    assert v["profit_by_depth"]["0.6"] < v["profit_by_depth"]["0.3"]


def test_points_design_records_who_gets_what(outputs):
    v = outputs["03-points-design"].values
    assert set(v["accrual_incremental_profit"]) == {"linear", "front_loaded", "progressive", "compound"}
    assert set(v["redemption_incremental_profit"]) == {"tiered", "minimum_unit", "refill", "tiered_calendar_expiry"}
    share = v["value_back_share"]
    assert len(share) == 12 and all(0 <= x <= 0.2 for x in share.values())
    # progressive accrual gives heavy customers a larger share of their spend than light ones
    assert share["progressive:heavy"] > share["progressive:light"]
    assert all(0 <= x < 1 for x in v["breakage_rate"].values())


def test_segments_and_targeting_records_segments_offers_and_funnel(outputs):
    v = outputs["05-segments-and-targeting"].values
    segs = {k.split(":")[1] for k in v["segment_purchases_effect"]}
    assert segs == {"price_sensitive", "service_sensitive", "habitual"}
    assert set(v["offer_uplift"]) >= {"baby_by_affinity", "baby_untargeted", "fresh_post_hoc_till", "fresh_pre_emptive"}
    assert all(0 <= c <= 1 for c in v["offer_conversion"].values())
    assert v["funnel"]["fresh_pre_emptive:sent"] >= v["funnel"]["fresh_pre_emptive:opened"]


def test_trial_review_records_estimates_and_a_verdict(outputs):
    import json

    v = outputs["07-trial-review"].values
    truth = json.loads((Path(report.NOTEBOOK_DIR).parent / "datasets" / "trial" / "truth.json").read_text())["stores"]
    for metric in ("purchases_per_week", "spend_per_week", "retention"):
        e = v[metric]
        assert e["ci_low"] <= truth[metric] <= e["ci_high"], (metric, e, truth[metric])
    assert v["purchases_per_week"]["method"] == "did"  # stores were assigned: DiD, clustered by store
    assert v["verdict"] in ("pays", "uncertain", "reconsider")
    lo_est_hi = v["incremental_profit"]
    assert lo_est_hi[1] <= lo_est_hi[0] <= lo_est_hi[2]
    assert "customer_id" not in outputs["07-trial-review"].html.read_text()


def test_profit_impact_records_the_calculator(outputs):
    v = outputs["04-profit-impact"].values
    assert v["retention_only_change_pct"] == pytest.approx(100 * ((0.85 / 0.25) / (0.80 / 0.30) - 1), abs=0.01)
    assert v["cases"]["all of the above"] > v["cases"]["retention alone"]
    assert 0 < v["simulated_retention"][0] < 1
    # the heat map's grid at the defaults: 15 cells with baseline profit <= 0, 1 not converging, 4 above 200%
    assert v["grid_cells"]["undefined_nonpositive_profit"] == 15 and v["grid_cells"]["beyond_scale"] == 4
    assert v["profit_change"] > 0 and "per customer" in v["headline"]


def test_calibration_notebook_reproduces_the_published_cdnow_fit(outputs):
    v = outputs["06-calibrate-your-data"].values
    assert v["bgnbd"]["r"] == pytest.approx(0.243, rel=0.01) and v["bgnbd"]["b"] == pytest.approx(2.426, rel=0.01)
    assert v["log_likelihood"]["BG/NBD"] == pytest.approx(-9582.4, abs=0.1)
    assert v["pareto_nbd"]["s"] == pytest.approx(0.606, rel=0.01)


def test_bad_parameters_are_rejected_before_running(tmp_path):
    with pytest.raises(ConfigError, match="'customers'.*\\[100, 2e\\+06\\]|'customers'.*must be in"):
        report.run_report("01-scheme-comparison", {"customers": 5}, out_dir=tmp_path)
    with pytest.raises(ConfigError, match="'replications'.*integer"):
        report.run_report("01-scheme-comparison", {"replications": "many"}, out_dir=tmp_path)
    with pytest.raises(ConfigError, match="'preset'.*one of"):
        report.run_report("01-scheme-comparison", {"preset": "bakery"}, out_dir=tmp_path)
    with pytest.raises(ConfigError, match="unknown parameter.*colour"):
        report.run_report("01-scheme-comparison", {"colour": 1}, out_dir=tmp_path)
    with pytest.raises(ConfigError, match="unknown report 'nope'.*01-scheme-comparison"):
        report.run_report("nope", {}, out_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_failing_notebook_names_the_cell_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('x: int = 1  # a number [0, 10]\nrun_id: str = "i"  # run id')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("print('ok')"),
                nbformat.v4.new_code_cell("raise ValueError('broken on purpose')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, nbdir / "99-broken.ipynb")
    monkeypatch.setattr(report, "NOTEBOOK_DIR", nbdir)
    out = tmp_path / "out"
    with pytest.raises(ReportError, match="failed in cell .*ValueError: broken on purpose"):
        report.run_report("99-broken", {"x": 3}, out_dir=out)
    assert list(out.iterdir()) == []
    assert main(["report", "99-broken", "-o", str(out)]) == 2
    assert "broken on purpose" in capsys.readouterr().err


def test_list_and_batch(tmp_path, capsys, monkeypatch):
    assert main(["report", "--list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["reports"]
    assert "01-scheme-comparison" in listed and "customers" in listed["01-scheme-comparison"]
    batch = tmp_path / "batch.yaml"
    batch.write_text("runs:\n  - {margin: 100.0, retention: 0.7}\n  - {margin: 50.0, retention: 0.9}\n")
    out = tmp_path / "out"
    assert main(["report", "04-profit-impact", "--batch", str(batch), "-p", "customers", "300", "-o", str(out),
                 "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert len(res["reports"]) == 2 and not res["failed"]
    index = Path(res["index"]).read_text()
    for r in res["reports"]:
        assert Path(r).name in index
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {retention: 3}\n")
    assert main(["report", "04-profit-impact", "--batch", str(bad), "-o", str(out)]) == 2
    assert "batch[0].retention" in capsys.readouterr().err


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_html_report_renders_its_figures_in_headless_chromium(outputs, tmp_path):
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI: .ci/run installs the Debian package 'chromium'")
        pytest.skip("headless Chromium not installed (apt-get install chromium); CI installs it")
    html = outputs["01-scheme-comparison"].html
    text = html.read_text()
    pngs = [re.sub(r"\s+", "", p) for p in re.findall(r'src="data:image/png;base64,([^"]+)"', text, flags=re.S)]
    assert len(pngs) >= 5  # effects, weekly, naive vs causal, segments, profit (+ member gap)
    import matplotlib.image as mpimg

    for b64 in pngs:
        img = mpimg.imread(io.BytesIO(base64.b64decode(b64)), format="png")
        assert img.std() > 0.02, "a blank figure"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([browser, *flags, "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert len(re.findall(r'<img[^>]*src="data:image/png;base64,', dom.stdout)) == len(pngs)
    shot = tmp_path / "shot.png"
    subprocess.run([browser, *flags, "--window-size=1200,2400", f"--screenshot={shot}", html.as_uri()],
                   capture_output=True, timeout=120, check=True)
    img = mpimg.imread(shot)
    assert img.shape[0] == 2400 and img.shape[1] == 1200
    rgb = img[..., :3]
    coloured = (rgb.max(axis=2) - rgb.min(axis=2)) > 0.15  # bars and lines, not text on white
    assert coloured.mean() > 0.01, "no coloured figure pixels in the screenshot"


# --------------------------------------------------------------------------- every report, as a reader's browser shows it

#: Measures what a reader sees, run inside a copy of the report (the report itself allows no script):
#: the page width, each table's width and right edge, the visible text, and every resource the page fetched.
_MEASURE = """<script>
window.addEventListener('load', function () {
  var page = document.documentElement.clientWidth;
  var tables = Array.from(document.querySelectorAll('table')).map(function (t) {
    var r = t.getBoundingClientRect();
    return {width: r.width, right: r.right, scroll: t.scrollWidth, head: (t.rows[0] || {}).innerText || ''};
  });
  var fetched = performance.getEntriesByType('resource').map(function (e) { return e.name; });
  var out = document.createElement('pre');
  out.id = 'ls-measure';
  out.textContent = JSON.stringify({page: page, tables: tables, fetched: fetched, text: document.body.innerText});
  document.body.appendChild(out);
});
</script>"""


def _measure(browser: str, html: Path, tmp: Path) -> dict:
    """Open a copy of ``html`` at 1,280 px with the measuring script and return what it measured."""
    page = html.read_text(encoding="utf-8")
    # the copy drops the report's CSP (it forbids the measuring script), so any outside fetch is attempted and
    # shows in the page's resource list (failed fetches too) instead of being blocked silently
    page = re.sub(r'<meta[^>]*Content-Security-Policy[^>]*>', "", page, count=1)
    copy = tmp / f"{html.stem}.measure.html"
    copy.write_text(page.replace("</body>", _MEASURE + "</body>"), encoding="utf-8")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
             f"--user-data-dir={tmp / 'profile'}", "--window-size=1280,1000", "--virtual-time-budget=5000",
             # network off: no name resolves, so the page renders from the file alone
             "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost"]
    res = subprocess.run([browser, *flags, "--dump-dom", copy.as_uri()], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    m = re.search(r'<pre id="ls-measure">(.*?)</pre>', res.stdout, flags=re.S)
    assert m, "the measuring script did not run"
    import html as html_mod

    found = json.loads(html_mod.unescape(m.group(1)))
    found["dom"] = res.stdout
    return found


@pytest.fixture(scope="module")
def measured(outputs, tmp_path_factory):
    browser = _chromium()
    if browser is None:
        pytest.fail("headless Chromium is required for the report checks (apt-get install chromium)")
    tmp = tmp_path_factory.mktemp("measure")
    return {name: _measure(browser, o.html, tmp) for name, o in _reports(outputs).items()}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SMALL))
def test_report_fits_the_page_and_shows_no_raw_numbers(measured, name):
    m = measured[name]
    assert m["page"] >= 1200  # a 1,280 px window, less any scrollbar
    assert m["tables"], f"{name}: no table"
    for t in m["tables"]:
        assert t["right"] <= m["page"] + 1 and t["scroll"] <= m["page"], (name, t["head"][:80], t["width"])
    text = m["text"]
    raw = re.findall(r".{0,30}(?:\bNaN\b|\bnan\b|\b-?inf\b|\binfinity\b|\d[eE][+-]\d).{0,30}", text)
    assert raw == [], (name, raw[:5])
    assert "'" + "coffee_shop" + "'" not in text and "None" not in text.split()  # no Python reprs


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SMALL))
def test_report_fetches_nothing_outside_the_file(measured, name):
    m = measured[name]
    outside = [u for u in m["fetched"] if not u.startswith(("file:", "data:"))]
    assert outside == [], (name, outside)
    for attr in re.findall(r'(?:src|href)="([^"#][^"]*)"', m["dom"]):
        assert attr.startswith(("data:", "file:")) or "://" not in attr, (name, attr[:80])


def _table_cells(dom: str, header: str = "") -> list[list[str]]:
    """Rows (header row included) of every ``ls-table`` in a DOM dump whose header holds ``header``, as text."""
    import html as html_mod

    rows = []
    for table in re.findall(r'<table class="ls-table">(.*?)</table>', dom, flags=re.S):
        if header not in re.sub(r"<[^>]+>", " ", table.split("</thead>")[0]):
            continue
        for tr in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S):
            rows.append([html_mod.unescape(re.sub(r"<[^>]+>", "", c)).strip()
                         for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr, flags=re.S)])
    return rows


_MONEY = r"EUR -?[\d,]+"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["01-scheme-comparison", "03-points-design", "05-segments-and-targeting"])
def test_comparison_verdicts_quote_the_numbers_of_their_tables(measured, name):
    m = measured[name]
    verdict = m["text"].split("Report " + name)[0]
    rows = {r[0]: r for r in _table_cells(m["dom"], "incremental profit") if r}
    quoted = re.findall(r"\n(\S+): [^\n]*?Profit (" + _MONEY + r");[^\n]*?each EUR 1 spent (returns|loses) EUR (\d+\.\d\d)",
                        verdict)
    quoted = [q for q in quoted if q[0] in rows]  # 05 tabulates the benefits comparison, not the offers one
    assert len(quoted) >= 4, verdict[:2000]
    for scheme, profit, verb, per_unit in quoted:
        per_unit = per_unit if verb == "returns" else "-" + per_unit
        # the profit column names the currency in its header; its cells hold the signed amount, then the interval
        cell = rows[scheme][4]
        assert cell.split(" ")[0].lstrip("+") == profit.removeprefix("EUR "), (scheme, profit, rows[scheme])
        roi = rows[scheme][5].split(" ")[0].lstrip("+")
        assert roi == per_unit, (scheme, per_unit, roi)


@pytest.mark.slow
def test_discount_verdict_quotes_its_table(measured):
    m = measured["02-discount-levels"]
    verdict = m["text"].split("Report 02-discount-levels")[0]
    depth, profit = re.search(r"(?:most profitable depth tested is|least costly depth is) (\d+%)\W+(" + _MONEY + ")",
                              verdict).groups()
    rows = {r[0]: r for r in _table_cells(m["dom"]) if r}
    assert rows[depth][4] == profit, (depth, profit, rows[depth])
    assert "most profitable depth tested is 0%" not in verdict


@pytest.mark.slow
def test_profit_impact_answer_quotes_its_table(measured):
    m = measured["04-profit-impact"]
    before, after = re.search(r"changes profit per customer from (" + _MONEY + ") to (" + _MONEY + ")", m["text"]).groups()
    rows = {r[0]: r for r in _table_cells(m["dom"]) if r}
    assert rows["all of the above"][1:3] == [before, after]
