"""Economics: profit identities on the ledger, scheme economics, the verdict word, simulated profit impact."""

from __future__ import annotations

import numpy as np
import pytest

from loyalty_sim import ConfigError, Population, simulate
from loyalty_sim.economics import Economics, profit_frame, scheme_economics, simulated_profit_impact, verdict_word
from loyalty_sim.schemes import Combined, FlatDiscount, Referral, StampCard


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
    assert verdict_word(-100, -150, -50) == "reconsider"
    assert verdict_word(100, 50, 150) == "pays"
    assert verdict_word(10, -5, 25) == "uncertain"      # a positive estimate whose interval includes zero
    assert verdict_word(-10, -25, 5) == "uncertain"


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
