"""The retention -> profit calculator against closed forms (Gupta, Lehmann & Stuart 2004; Reichheld & Sasser 1990)."""

from __future__ import annotations

import json
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest

from loyalty_sim import ConfigError
from loyalty_sim.files import to_jsonable
from loyalty_sim.plots import economics as pe
from loyalty_sim.retention_value import (
    customer_value,
    margin_sensitivity,
    retention_profit_impact,
    retention_sensitivity,
    sensitivity_counts,
)
from loyalty_sim.text.retention_value import profit_impact_headline, profit_impact_sentence, sensitivity_sentence


@pytest.mark.parametrize("r0,expected", [(0.90, 40.74), (0.70, 22.45)])
def test_gupta_lehmann_stuart_figures(r0, expected):
    """Gupta, Lehmann & Stuart (2004): a 5-point gain at i = 10%: 0.90 -> 0.95 gives +41%, 0.70 -> 0.75 +22%."""
    res = retention_profit_impact(100.0, r0, 5.0, 0.10)
    assert res["profit_change_pct"] == pytest.approx(expected, abs=0.01)
    # exactly m r / (1 + i - r)
    assert res["value_before"] == pytest.approx(100 * r0 / (1.10 - r0), rel=1e-12)
    assert res["value_after"] == pytest.approx(100 * (r0 + 0.05) / (1.10 - r0 - 0.05), rel=1e-12)


def test_finite_horizon_is_the_discounted_sum():
    v = customer_value(50.0, 0.8, 0.1, horizon_years=3)
    manual = sum(50.0 * 0.8 ** t / 1.1 ** t for t in (1, 2, 3))
    assert v == pytest.approx(manual, rel=1e-12)
    # a long horizon converges to the closed form
    assert customer_value(50.0, 0.8, 0.1, horizon_years=400) == pytest.approx(50 * 0.8 / 0.3, rel=1e-9)


def test_tenure_effects_and_acquisition_cost_reach_the_bain_range():
    """Retention alone gives ~20-40%; tenure effects and acquisition cost lift it into 25-125%."""
    alone = retention_profit_impact(100.0, 0.80, 5.0, 0.10)["profit_change_pct"]
    assert 20 < alone < 41
    rich = retention_profit_impact(100.0, 0.80, 5.0, 0.10, acquisition_cost=150.0, spend_growth=0.05,
                                   cost_to_serve_decline=0.03, referral_rate=0.05)
    assert 25 < rich["profit_change_pct"] < 125
    assert rich["profit_change_pct"] > alone
    assert rich["retention_only_change_pct"] == pytest.approx(alone)
    # acquisition cost alone makes the same retention gain worth more in % terms
    assert (retention_profit_impact(100.0, 0.80, 5.0, 0.10, acquisition_cost=200)["profit_change_pct"]
            > alone)


def test_sensitivity_grid_rises_with_base_retention_and_falls_with_discount_rate():
    grid = retention_sensitivity(100.0, np.array([0.6, 0.7, 0.8, 0.9]), np.array([0.05, 0.1, 0.2]))
    piv = grid.pivot(index="retention", columns="discount_rate", values="profit_change_pct")
    assert (np.diff(piv.to_numpy(), axis=0) > 0).all()
    assert (np.diff(piv.to_numpy(), axis=1) < 0).all()


@pytest.mark.parametrize("kw,field", [
    (dict(margin=-1), "margin"), (dict(retention=1.2), "retention"), (dict(retention_gain=40), "retention_gain"),
    (dict(discount_rate=-0.1), "discount_rate"), (dict(acquisition_cost=float("nan")), "acquisition_cost"),
])
def test_calculator_rejects_bad_input_naming_the_field(kw, field):
    args = dict(margin=100.0, retention=0.7, retention_gain=5.0, discount_rate=0.1)
    args.update(kw)
    with pytest.raises(ConfigError, match=f"'{field}'"):
        retention_profit_impact(**args)


# ------------------------------------------------------------------ undefined and exploding percentages (issue 13.7)
def _gls(m: float, r: float, i: float) -> float:
    """Gupta, Lehmann & Stuart (2004): value = m r / (1 + i - r)."""
    return m * r / (1.0 + i - r)


def test_gupta_figures_come_with_the_absolute_change():
    res = retention_profit_impact(100.0, 0.90, 5.0, 0.10)
    assert res["profit_change"] == pytest.approx(_gls(100, 0.95, 0.10) - _gls(100, 0.90, 0.10), rel=1e-12)
    assert res["profit_change_pct"] == pytest.approx(40.74, abs=0.01) and res["reason"] == ""
    assert retention_profit_impact(100.0, 0.70, 5.0, 0.10)["profit_change_pct"] == pytest.approx(22.45, abs=0.01)


@pytest.mark.parametrize("acq", [100.0, 150.0])   # profit before the gain exactly 0, and negative
def test_nonpositive_baseline_profit_gives_no_percentage_but_the_absolute_change(acq):
    res = retention_profit_impact(100.0, 0.55, 5.0, 0.10, acquisition_cost=acq)
    assert res["value_before"] == pytest.approx(_gls(100, 0.55, 0.10) - acq) and res["value_before"] <= 0
    assert res["profit_change_pct"] is None
    expected = _gls(100, 0.60, 0.10) - _gls(100, 0.55, 0.10)   # 120 - 100
    assert math.isfinite(res["profit_change"]) and res["profit_change"] == pytest.approx(expected, rel=1e-12)
    assert res["reason"].startswith("baseline profit per customer is zero or negative")
    assert "the percentage change is undefined; the absolute change is +20 per customer" in res["reason"]
    text = profit_impact_sentence(res)
    assert "undefined" in text and "+20 per customer" in text and "nan" not in text.lower()
    assert "nan" not in profit_impact_headline(res).lower()
    assert json.loads(json.dumps(to_jsonable(res)))["profit_change_pct"] is None


def test_sensitivity_grid_gives_absolute_and_relative_change_and_a_reason():
    retentions, rates = np.round(np.arange(0.5, 0.951, 0.05), 2), np.array([0.05, 0.08, 0.1, 0.15, 0.2])
    grid = retention_sensitivity(100.0, retentions, rates, acquisition_cost=150.0)
    assert list(grid.columns) == ["retention", "discount_rate", "profit_before", "profit_after", "profit_change",
                                  "profit_change_pct", "reason"]
    assert len(grid) == 50
    closed = _gls(100, grid["retention"] + 0.05, grid["discount_rate"]) - _gls(100, grid["retention"], grid["discount_rate"])
    np.testing.assert_allclose(grid["profit_change"], closed, rtol=1e-12)   # finite everywhere, closed form
    bad = grid["profit_before"] <= 0
    assert bad.any() and grid.loc[bad, "profit_change_pct"].isna().all()
    assert grid.loc[bad, "reason"].str.contains("zero or negative").all()
    good = grid[~bad]
    assert (good["reason"] == "").all()
    np.testing.assert_allclose(good["profit_change_pct"], 100 * good["profit_change"] / good["profit_before"], rtol=1e-12)


def test_report_grid_counts_and_the_heat_map_marks_what_the_scale_hides():
    """Report 04's defaults: 16 of 50 cells without a percentage, 4 above 200% (up to 750%)."""
    tenure = dict(spend_growth=0.05, cost_to_serve_decline=0.03, referral_rate=0.05, price_premium=0.02)
    grid = retention_sensitivity(100.0, np.round(np.arange(0.5, 0.951, 0.05), 2), np.array([0.05, 0.08, 0.1, 0.15, 0.2]),
                                 acquisition_cost=150.0, **tenure)
    counts = sensitivity_counts(grid, vmax=200.0)
    assert counts == {"cells": 50, "on_scale": 30, "beyond_scale": 4, "undefined": 16,
                      "undefined_nonpositive_profit": 15, "undefined_not_converging": 1,
                      "undefined_retention_above_100": 0}
    diverging = grid[grid["reason"].str.contains("does not converge")]
    assert diverging["profit_change"].isna().all()
    ax = pe.plot_retention_sensitivity(grid)
    texts = [t.get_text() for t in ax.texts]
    assert sum(t.startswith("> 200%") for t in texts) == 4
    assert sum(t.startswith("undefined") for t in texts) == 15 and sum(t == "n/a" for t in texts) == 1
    assert sum(getattr(p, "get_hatch", lambda: None)() == "///" for p in ax.patches) == 4
    legend = " ".join(t.get_text() for t in ax.get_legend().get_texts())
    assert "> 200%" in legend and "zero or negative" in legend and "change in profit per customer" in legend
    sentence = sensitivity_sentence(grid, acquisition_cost=150.0)
    assert "16 have no percentage" in sentence and "4 lie beyond it" in sentence and "up to 750%" in sentence
    plt.close("all")


def test_margin_sensitivity_keeps_the_absolute_change_where_the_percentage_explodes():
    table = margin_sensitivity(np.linspace(20, 200, 19), 0.8, 5.0, 0.10, acquisition_cost=150.0)
    assert np.isfinite(table["profit_change"]).all()
    value_before = _gls(table["margin"], 0.8, 0.10)
    assert table.loc[value_before <= 150, "profit_change_pct"].isna().all()
    assert (table.loc[value_before > 150, "reason"] == "").all()
    axes = pe.plot_profit_change_by_margin(table)
    assert len(axes) == 2
    plt.close("all")
