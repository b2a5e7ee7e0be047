"""Economics: the retention -> profit calculator against closed forms, and profit identities on the ledger."""

from __future__ import annotations

import json
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest

from loyalty_sim import ConfigError, Population, narrative, simulate
from loyalty_sim.cli import main
from loyalty_sim.economics import (
    Economics,
    customer_value,
    margin_sensitivity,
    profit_frame,
    retention_profit_impact,
    retention_sensitivity,
    scheme_economics,
    sensitivity_counts,
    simulated_profit_impact,
    verdict,
)
from loyalty_sim.files import to_jsonable
from loyalty_sim.plots import economics as pe
from loyalty_sim.schemes import Combined, FlatDiscount, Referral, StampCard


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


def test_profit_impact_cli_json(capsys):
    assert main(["profit-impact", "--margin", "100", "--retention", "0.7", "--retention-gain", "5",
                 "--discount-rate", "0.1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"value_before", "value_after", "profit_change_pct"} <= set(out)
    assert out["profit_change_pct"] == pytest.approx(22.449, abs=1e-3)
    assert main(["profit-impact", "--margin", "100", "--retention", "0.99", "--retention-gain", "5",
                 "--discount-rate", "0.1"]) == 2
    assert "retention_gain" in capsys.readouterr().err


@pytest.fixture(scope="module")
def runs():
    pop = Population("coffee_shop", size=3000, weeks=30, seed=4)
    base = simulate(pop, seed=5, launch_week=6)
    combo = Combined(name="combo", setup_cost=500.0, fixed_cost_per_week=20.0,
                     parts=[StampCard(name="card", reward_value=4.5, reward_cost=1.2, cost_per_member_week=0.02),
                            FlatDiscount(name="disc", depth=0.2),
                            Referral(name="ref", referrer_reward=5, referee_reward=5)])
    return base, simulate(pop, combo, seed=5, launch_week=6, output="log")


def test_profit_identity_holds_to_the_cent(runs):
    base, res = runs
    econ = Economics(gross_margin=0.6, discount_rate=0.1)
    p = profit_frame(res, econ)
    ident = p["revenue"] - p["cogs"] - p["reward_cost"] - p["programme_cost"] - p["fixed_cost"] - p["setup_cost"]
    assert np.abs(p["profit"] - ident).max() < 0.005
    assert np.abs(p["revenue"] - (p["gross_sales"] - p["discount"])).max() < 0.005
    # revenue and reward cost agree with the transaction log to the cent
    tx = res.transactions
    assert tx["amount"].sum() == pytest.approx(p["revenue"].sum(), abs=0.01)
    assert tx["reward_cost"].sum() == pytest.approx(p["reward_cost"].sum(), abs=0.01)
    # programme cost = member costs + referral rewards booked in the ledger
    w = res.weekly
    expected = w["card.member_cost"] + w["disc.member_cost"] + w["ref.member_cost"] + w["ref.referral_reward_cost"]
    assert np.abs(p["programme_cost"] - expected).max() < 1e-9
    assert p["setup_cost"].sum() == 500.0 and p.loc[6, "setup_cost"] == 500.0
    assert p["fixed_cost"].sum() == 20.0 * (30 - 6)


def test_scheme_economics_is_consistent(runs):
    base, res = runs
    econ = Economics(gross_margin=0.6)
    e = scheme_economics(res, base, econ)
    p, b = profit_frame(res, econ), profit_frame(base, econ)
    assert e["incremental_profit_cash"] == pytest.approx((p["profit"] - b["profit"]).loc[6:].sum())
    # stamps still on cards at the end are owed: their cost, times the share redeemed (not expired) so far
    from loyalty_sim.ledger import unit_accounts

    last = unit_accounts(res).iloc[-1]
    share = last["cumulative_redeemed"] / (last["cumulative_redeemed"] + last["cumulative_expired"])
    c = res.customers
    active = c.loc[c["dropout_week"] < 0, "stamps:card"].sum() / c["stamps:card"].sum()
    assert 0 < active < 1  # customers who left hold stamps they will never redeem
    assert e["liability_provision"] == pytest.approx(e["liability_end_cost"] * share * active)
    assert e["liability_provision"] > 0
    assert e["incremental_profit"] == pytest.approx(e["incremental_profit_cash"] - e["liability_provision"])
    assert e["roi"] == pytest.approx(e["incremental_profit"] / e["scheme_cost"])
    assert e["scheme_cost"] > 0
    assert e["liability_end_cost"] >= 0


def test_verdict_says_reconsider_when_return_below_cost():
    assert verdict(-100, -150, -50).startswith("reconsider")
    assert verdict(100, 50, 150).startswith("pays")
    assert verdict(10, -5, 25).startswith("uncertain")


def test_simulated_profit_impact_uses_simulated_retention(runs):
    base, res = runs
    out = simulated_profit_impact(res, base, Economics(gross_margin=0.6))
    assert 0 < out["simulated_retention_baseline"] < 1
    assert out["retention"] == out["simulated_retention_baseline"]
    assert out["retention_after"] == pytest.approx(out["simulated_retention_scheme"])
    assert np.isfinite(out["simulated_incremental_profit_pct"])


def test_economics_settings_are_validated():
    with pytest.raises(ConfigError, match="economics.gross_margin"):
        Economics.from_mapping({"gross_margin": 1.5})
    with pytest.raises(ConfigError, match="economics.colour"):
        Economics.from_mapping({"colour": 1})
    assert Economics.from_mapping({}, preset="grocery").gross_margin == 0.28


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
    text = narrative.profit_impact_sentence(res)
    assert "undefined" in text and "+20 per customer" in text and "nan" not in text.lower()
    assert "nan" not in narrative.profit_impact_headline(res).lower()
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
    sentence = narrative.sensitivity_sentence(grid, acquisition_cost=150.0)
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


def test_profit_impact_cli_prints_the_absolute_change_and_the_reason(capsys):
    assert main(["profit-impact", "--margin", "100", "--retention", "0.55", "--retention-gain", "5",
                 "--discount-rate", "0.1", "--acquisition-cost", "150"]) == 0
    out = capsys.readouterr().out
    assert "profit change per customer   +20.00" in out
    assert "undefined" in out and "reason: baseline profit per customer is zero or negative" in out
    assert "nan" not in out.lower()
    assert main(["profit-impact", "--margin", "100", "--retention", "0.9", "--retention-gain", "5",
                 "--discount-rate", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "profit change per customer   +183.33" in out and "+40.7%" in out and "reason" not in out
