"""Who gets a points design's value: heaviness groups, value back, uplift, breakage and liability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalty_sim import ConfigError
from loyalty_sim.rewards import distribution_table, heaviness_groups, ledger_table, reward_distribution
from loyalty_sim.scenario import find_scenario, load_scenario, run_scenario
from loyalty_sim.text.comparison import breakage_sentence, points_tradeoffs


@pytest.fixture(scope="module")
def accrual_run():
    sc = load_scenario(find_scenario("points_accrual_methods"), customers=4096, weeks=70, launch_week=20)
    return run_scenario(sc)


def test_heaviness_thirds_are_equal_and_ordered_by_counterfactual_rate(accrual_run):
    base = accrual_run.baseline.customers
    g = heaviness_groups(base, weeks=70, from_week=20)
    counts = g.value_counts()
    assert counts.max() - counts.min() <= 1
    c = base.set_index("customer_id").loc[g.index]
    drop = c["dropout_week"].to_numpy()
    alive = np.clip(np.where(drop >= 0, drop + 1, 70) - np.maximum(c["acquisition_week"].to_numpy(), 20), 0, None)
    rate = pd.Series(c["transactions_w20_70"].to_numpy() / alive, index=g.index)
    med = rate.groupby(g, observed=True).median()
    assert med["light"] <= med["middle"] <= med["heavy"] and med["light"] < med["heavy"]
    assert (alive >= 4).all()


def test_value_back_matches_the_money_off_and_the_design(accrual_run):
    t = distribution_table(accrual_run).set_index(["scheme", "heaviness"])
    # linear: every group earns 1 point per unit of spend and redeems at 5 cents -> at most 5% back, about even
    lin = t.loc["linear", "value_back_share"]
    assert (lin <= 0.05 + 1e-9).all() and lin.max() - lin.min() < 0.015
    # front-loading favours light customers relative to linear; progressive favours heavy ones
    gain = lambda s: t.loc[s, "value_back_share"] - lin
    assert gain("front_loaded")["light"] > gain("front_loaded")["heavy"]
    assert gain("progressive")["heavy"] > gain("progressive")["light"]
    assert t.loc["compound", "value_back_share"].min() >= lin.min() - 1e-9
    # redeemed never exceeds earned, and money off equals points redeemed x their value
    assert (t["units_redeemed_per_customer"] <= t["units_earned_per_customer"] + 1e-9).all()
    np.testing.assert_allclose(t["value_back_per_customer"], 0.05 * t["units_redeemed_per_customer"], rtol=1e-9)
    # heavy buyers respond least (relative uplift)
    assert (t.xs("heavy", level="heaviness")["purchases_uplift"]
            <= t.xs("light", level="heaviness")["purchases_uplift"] + 0.01).all()


def test_value_back_totals_equal_the_runs_discount(accrual_run):
    d = reward_distribution(accrual_run, "linear")
    res = accrual_run.results["linear"].customers.set_index("customer_id")
    g = heaviness_groups(accrual_run.baseline.customers, weeks=70, from_week=20)
    total = float((d["value_back_per_customer"] * d["customers"]).sum())
    assert total == pytest.approx(res.loc[g.index, "discount"].sum(), rel=1e-9)


def test_ledger_table_has_breakage_and_liability_per_scheme(accrual_run):
    led = ledger_table(accrual_run)
    assert set(led["scheme"]) == {"linear", "front_loaded", "progressive", "compound"}
    last = led.groupby("scheme").tail(1).set_index("scheme")
    # rolling expiry of 26 weeks: some points lapse, and liability equals points outstanding x 5 cents
    assert (last["breakage_rate"] > 0).all() and (last["breakage_rate"] < 0.5).all()
    np.testing.assert_allclose(last["liability_cost"], 0.05 * last["outstanding"], rtol=1e-9)
    assert "Breakage" in breakage_sentence(led)
    text = points_tradeoffs(distribution_table(accrual_run))
    assert text.count("\n") == 3 and "heavy" in text


def test_unknown_scheme_is_named(accrual_run):
    with pytest.raises(ConfigError, match="unknown scheme 'nope'.*linear"):
        reward_distribution(accrual_run, "nope")


def test_stamps_and_combination_parts_are_counted_in_their_own_units():
    from loyalty_sim.scenario import scenario_from_mapping

    sc = scenario_from_mapping({
        "name": "t", "preset": "coffee_shop", "customers": 4096, "weeks": 40, "launch_week": 10, "seed": 2,
        "schemes": [
            {"type": "stamp_card", "name": "stamp8", "stamps_required": 8, "reward_value": 4.0, "reward_cost": 1.0},
            {"type": "combined", "name": "combo", "parts": [
                {"type": "points", "name": "pts", "earn_rate": 1.0, "point_value": 0.05},
                {"type": "perks", "name": "care", "enrolment": {"mode": "opt_in", "take_up": 0.3},
                 "perks": [{"kind": "thank_you_note"}]}]}]})
    run = run_scenario(sc)
    stamp = reward_distribution(run, "stamp8")
    cards = run.results["stamp8"].customers.set_index("customer_id")["rewards:stamp8"]
    g = heaviness_groups(run.baseline.customers, weeks=40, from_week=10)
    assert (stamp["units_redeemed_per_customer"] * stamp["customers"]).sum() == pytest.approx(8 * cards.loc[g.index].sum())
    combo = reward_distribution(run, "combo")
    pts = run.results["combo"].customers.set_index("customer_id").loc[g.index, "points_earned:pts"]
    assert (combo["units_earned_per_customer"] * combo["customers"]).sum() == pytest.approx(pts.sum())
    assert (combo["member_share"] == 1.0).all()  # the points part enrols everyone automatically
    led = ledger_table(run)
    assert set(led["scheme"]) == {"stamp8", "combo"}  # one unit in the combination: no per-part split


def test_targeting_sentence_leaves_out_parts_of_combinations():
    from loyalty_sim.text.comparison import targeting_sentence

    o = pd.DataFrame({"scheme": ["a", "combo"], "audience": [100, 100], "conversion_rate": [0.1, 0.1],
                      "purchases_uplift_audience": [0.2, 0.9], "purchases_uplift_per_offer": [0.01, 0.05],
                      "purchases_uplift_others": [0.0, 0.3]}, index=pd.Index(["a", "part"], name="offer"))
    text = targeting_sentence(o)
    assert "**a**" in text and "**part**" not in text  # the best offers are whole schemes, not parts
    # the outside-audience figure is the table's largest (the part's 0.3 included), and 0.3 against 0.9 is not
    # "barely changed"
    assert "largest difference 0.3000" in text and "changed too" in text
    quiet = o.assign(purchases_uplift_others=[0.0, 0.01])
    assert "barely changed (largest difference 0.0100" in targeting_sentence(quiet)
