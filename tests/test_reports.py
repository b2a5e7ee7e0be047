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
    return {name: report.run_report(name, {**params, **EXTRA.get(name, {})}, out_dir=out)
            for name, params in SMALL.items() if name in report.available_reports()}


def test_reports_write_notebook_and_html_with_parameters_in_the_name(outputs):
    for name, o in outputs.items():
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
