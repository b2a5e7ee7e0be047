"""The one calibration path: fit_report and calibrate() on CDNOW."""

from __future__ import annotations

import json

from loyalty_sim.calibration import fit_report

from ..btyd.published import BGNBD_LL, CDNOW


def test_fit_report_is_json_and_complete(cdnow):
    rep = fit_report(cdnow)
    text = json.dumps(rep, allow_nan=False)
    assert json.loads(text)["summary"]["n_customers"] == 2357
    bg = rep["models"]["bgnbd"]
    assert bg["converged"] and abs(bg["log_likelihood"] - BGNBD_LL) <= 0.1
    assert bg["holdout"]["actual_total"] == 1882
    assert set(rep["models"]) == {"bgnbd", "pareto_nbd", "gamma_gamma"}
    assert rep["models"]["gamma_gamma"]["holdout"]["n_customers"] > 0


def test_fit_report_from_a_file_includes_tracking():
    rep = fit_report(CDNOW, model="bgnbd", calibration_end="1997-09-30", observation_end="1998-06-30",
                       duplicates="keep")
    assert rep["log_report"]["n_duplicates"] == 21
    assert rep["models"]["bgnbd"]["holdout"]["tracking"]["final_actual"] == 4339


def test_fit_report_leaves_out_customers_first_seen_on_the_last_day(tmp_path):
    """The CDNOW log plus a customer whose only purchase is on the log's last day (T = 0)."""
    src = CDNOW
    path = tmp_path / "cdnow_plus_late.txt"
    path.write_bytes(src.read_bytes() + b" 99999 9999 19980630  1   15.00\r\n")
    rep = fit_report(path, model="bgnbd", format="cdnow", duplicates="keep")
    assert rep["summary"]["customers_left_out_observed_for_no_time"] == 1
    assert rep["summary"]["n_customers"] == 2357
    assert "error" not in rep["models"]["bgnbd"], rep["models"]["bgnbd"]
