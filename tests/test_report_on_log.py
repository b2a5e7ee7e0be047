"""Report 01 on a shop's log: it opens with "your customers" and never prints a customer id."""

from __future__ import annotations

import pandas as pd
import pytest

from loyalty_sim import Population, report, simulate


@pytest.mark.slow
def test_scheme_comparison_on_a_log_opens_with_your_customers(tmp_path):
    pop = Population("coffee_shop", size=500, weeks=30, seed=2)
    log = simulate(pop, None, weeks=30, seed=2, output="log").transactions[["customer_id", "timestamp", "amount"]]
    log = log.assign(customer_id="cust" + (log["customer_id"] * 7919 + 100003).astype(str))
    path = tmp_path / "my_shop.csv"
    log.to_csv(path, index=False)
    out = report.run_report("01-scheme-comparison", {"log": str(path), "fill_from": "grocery", "customers": 300,
                                                     "weeks": 20, "launch_week": 6, "replications": 2},
                            out_dir=tmp_path / "out")
    cal = out.values["calibration"]
    assert cal["counts"]["in_log"] == log["customer_id"].nunique() and cal["counts"]["simulated"] == 300
    assert cal["customers"]["fill_from"] == "grocery"
    html = out.html.read_text()
    assert html.index("Your customers") < html.index("Verdict")
    assert "fitted customers predicted" in html and "Assumed from preset grocery" in html
    assert out.values["n_figures"] >= 1
    ids = set(pd.read_csv(path)["customer_id"])
    assert not any(i in html for i in ids)  # no raw customer id anywhere in the report
