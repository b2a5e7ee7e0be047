"""Metric definitions on small hand-made logs with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalty_sim import ConfigError, Population, simulate
from loyalty_sim.metrics import customer_windows, period_metrics, survival_curve, window_metrics

LOG = pd.DataFrame({
    # customer a: weeks 0, 1, 1, 3 ; b: week 0, 2 ; c: week 3
    "customer_id": ["a", "a", "a", "b", "b", "a", "c"],
    "week": [0, 1, 1, 0, 2, 3, 3],
    "amount": [10.0, 5.0, 5.0, 20.0, 4.0, 6.0, 8.0],
})


def test_weekly_metrics_by_hand():
    m = period_metrics(LOG, period_weeks=1)
    assert list(m.index) == [0, 1, 2, 3]
    assert m["active_customers"].tolist() == [2, 1, 1, 2]
    assert m["transactions"].tolist() == [2, 2, 1, 2]
    assert m["revenue"].tolist() == [30.0, 10.0, 4.0, 14.0]
    assert m["purchases_per_active_customer"].tolist() == [1.0, 2.0, 1.0, 1.0]
    assert m["spend_per_active_customer"].tolist() == [15.0, 10.0, 4.0, 7.0]
    assert m["mean_ticket"].tolist() == [15.0, 5.0, 4.0, 7.0]
    assert m["new_customers"].tolist() == [2, 0, 0, 1]
    assert m["repeat_rate"].tolist() == [0.0, 1.0, 1.0, 0.5]
    # retention: week1 {a} of week0 {a,b} = 1/2; week2 {b} of week1 {a} = 0; week3 {a,c} of week2 {b} = 0
    assert np.isnan(m["retention"].iloc[0])
    assert m["retention"].iloc[1:].tolist() == [0.5, 0.0, 0.0]
    assert m["churn"].iloc[1:].tolist() == [0.5, 1.0, 1.0]
    assert "period" in m.attrs["units"]


def test_two_week_periods_and_timestamps_agree():
    m2 = period_metrics(LOG, period_weeks=2)
    assert m2["active_customers"].tolist() == [2, 3]
    assert m2["retention"].iloc[1] == 1.0  # a and b both active again
    ts = LOG.assign(timestamp=pd.Timestamp("2026-01-05") + pd.to_timedelta(LOG["week"] * 7 + 1, unit="D"))
    mt = period_metrics(ts, period_weeks=2, time_col="timestamp", start="2026-01-05")
    pd.testing.assert_frame_equal(mt, m2)


def test_missing_columns_are_named():
    with pytest.raises(ConfigError, match="amount"):
        period_metrics(LOG.drop(columns="amount"))


def test_window_metrics_use_alive_weeks():
    pop = Population("coffee_shop", size=2000, weeks=20, seed=1)
    res = simulate(pop, seed=2, launch_week=8)
    cw = customer_windows(res)
    assert set(cw["window"]) == {"0-8", "8-20"}
    wm = window_metrics(res)
    # alive customer-weeks in the windows add up to the weekly alive counts
    assert wm["alive_customer_weeks"].sum() == res.weekly["alive_start"].sum()
    assert wm["transactions"].sum() == res.weekly["transactions"].sum()
    per_seg = window_metrics(res, by="segment")
    assert per_seg["transactions"].sum() == res.weekly["transactions"].sum()


def test_survival_curve_starts_at_one_and_falls():
    pop = Population("grocery", size=3000, weeks=30, seed=1)
    res = simulate(pop, seed=2, launch_week=5)
    s = survival_curve(res)
    assert s.iloc[0] == 1.0 and (np.diff(s.to_numpy()) <= 0).all() and s.iloc[-1] < 1
