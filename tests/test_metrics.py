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


def test_renewal_rate_counts_reviews_and_demotions_of_a_tier_scheme():
    from loyalty_sim.metrics import renewal_rate
    from loyalty_sim.schemes import Tiers

    pop = Population("coffee_shop", size=4096, weeks=60, seed=4)
    tiers = Tiers(name="club", qualify_by="visits", window_weeks=8, review_every_weeks=8,
                  tiers=[{"name": "member", "threshold": 0}, {"name": "regular", "threshold": 12, "discount": 0.05}])
    res = simulate(pop, tiers, seed=5, launch_week=4)
    w = res.weekly
    reviews, demotions = w["reviews"].sum(), w["demotions"].sum()
    assert reviews > 100 and 0 < demotions < reviews
    # reviews only in review weeks (every 8 weeks after launch)
    review_weeks = w.index[w["reviews"] > 0]
    assert all((wk - 4) % 8 == 0 for wk in review_weeks)
    assert renewal_rate(res) == pytest.approx(1 - demotions / reviews)
    with pytest.raises(ConfigError, match="no tier reviews"):
        renewal_rate(simulate(pop, seed=5))


def test_email_funnel_follows_open_and_click_propensities():
    from loyalty_sim.metrics import email_funnel
    from loyalty_sim.schemes import TargetedOffers

    pop = Population("grocery", size=8192, weeks=30, seed=4)
    res = simulate(pop, TargetedOffers(name="o", category="fresh", audience="untargeted", audience_share=1.0,
                                       every_weeks=2), seed=5)
    f = email_funnel(res)
    tot = f.sum()
    assert tot["sent"] > tot["opened"] > tot["clicked"] >= tot["converted"] > 0
    t = pop.traits()
    # customers drawn at the preset's rates: the open rate matches the opted-in customers' mean propensity
    expected_open = t.email_open[t.email_opt_in].mean()
    se = np.sqrt(expected_open * (1 - expected_open) / tot["sent"])
    assert f.attrs["rates"]["open_rate"] == pytest.approx(expected_open, abs=5 * se + 0.01)
