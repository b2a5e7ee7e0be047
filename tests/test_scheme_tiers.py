"""Tiered membership: qualification window, promotion at once, demotion at reviews, status, till discount."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from pydantic import ValidationError

from loyalty_sim import Population, load_preset, simulate
from loyalty_sim.behaviour import BehaviourParams
from loyalty_sim.errors import ConfigError
from loyalty_sim.schemes import validation_error
from loyalty_sim.schemes.tiers import Tiers

DATA = Path(__file__).resolve().parents[1] / "loyalty_sim" / "scenarios"
SAME = ["alive_start", "purchasers", "transactions", "gross_sales", "revenue", "dropouts"]
THREE = [{"name": "base", "threshold": 0},
         {"name": "silver", "threshold": 100, "discount": 0.05, "perk_value": 0.2, "perk_cost_per_week": 0.05},
         {"name": "gold", "threshold": 200, "discount": 0.10, "perk_value": 0.5, "perk_cost_per_week": 0.25}]
POP = Population("grocery", size=2000, weeks=30, seed=11)


def tiers_error(raw_tiers, **extra) -> ConfigError:
    try:
        Tiers.model_validate({"type": "tiers", "name": "t", "tiers": raw_tiers, **extra})
    except ValidationError as exc:
        return validation_error(exc, source="s.yaml", path="schemes[0]")
    raise AssertionError("accepted an invalid tier scheme")


# ------------------------------------------------------------------------------ rules, driven by hand
def test_promotion_at_once_demotion_only_at_reviews_after_a_full_period(hand_runtime):
    sc = Tiers(name="t", window_weeks=4, review_every_weeks=6, tiers=THREE)
    rt = hand_runtime(sc, n=4)
    idx = np.arange(4)
    spend = np.zeros((14, 4))
    spend[[0, 1], 0] = 60.0  # reaches silver (120) in week 1, then nothing
    spend[0, 1] = 250.0      # gold at once (two tiers, one promotion), then 30 a week: silver level
    spend[1:, 1] = 30.0
    spend[:, 3] = 25.0       # exactly 100 over the 4-week window at the end of week 3
    levels, discounts, demotions, promotions = [], [], [], []
    for w in range(14):
        discounts.append(np.asarray(rt.effects(w, idx).discount, dtype=float).copy())
        led = rt.settle(w, idx, (spend[w] > 0).astype(np.int64), spend[w]).ledger
        levels.append(rt.level.copy())
        demotions.append(led["demotions"].sum())
        promotions.append(led["promotions"].sum())
    lv = np.array(levels)
    # customer 0: silver from the end of week 1; not reviewed at week 6 (held 5 < 6 weeks), demoted at week 12
    assert list(lv[:, 0]) == [0] + [1] * 11 + [0] * 2
    # customer 1: gold in week 0, demoted to silver (what the window still reaches) at the week-6 review
    assert list(lv[:, 1]) == [2] * 6 + [1] * 8
    assert (lv[:, 2] == 0).all()
    # customer 3: promoted in the very week the rolling total reaches the threshold
    assert list(lv[:5, 3]) == [0, 0, 0, 1, 1]
    # demotions only at the reviews (end of weeks 6 and 12 after launch week 0)
    assert [w for w, d in enumerate(demotions) if d] == [6, 12]
    assert demotions[6] == 1 and demotions[12] == 1
    assert promotions[0] == 1 and promotions[1] == 1 and promotions[3] == 1 and sum(promotions) == 3
    # the till discount of week w is that of the tier held at the end of week w - 1
    tier_discount = np.array([t.get("discount", 0.0) for t in THREE])
    for w in range(1, 14):
        assert np.allclose(discounts[w], tier_discount[lv[w - 1]])
    state = rt.customer_state()
    assert list(state["demoted"]) == [True, True, False, False]
    assert list(state["max_tier"]) == [1, 2, 0, 1]
    assert list(state["tier"]) == [0, 1, 0, 1]


def test_re_promotion_to_the_highest_tier_ends_the_demotion_effect(hand_runtime):
    sc = Tiers(name="t", window_weeks=2, review_every_weeks=3, tiers=THREE)
    rt = hand_runtime(sc, n=1)
    idx = np.arange(1)
    plan = [150, 0, 0, 0, 0, 150]  # silver at once, demoted at the week-3 review, silver again in week 5
    rise = 1 + BehaviourParams().demotion_dropout_rise
    drops = []
    for w, s in enumerate(plan):
        drops.append(float(np.asarray(rt.effects(w, idx).dropout)[0]))
        rt.settle(w, idx, np.array([int(s > 0)]), np.array([float(s)]))
    assert rt.level[0] == 1 and not rt.demoted[0] and rt.ever_demoted[0]
    assert drops[4] == pytest.approx(rise)  # demoted to base (no status): exactly the demotion rise
    assert drops[0] == 1.0  # base tier, never promoted
    after = float(np.asarray(rt.effects(6, idx).dropout)[0])
    assert after < 1.0  # silver status and perks again, no demotion penalty


def test_visits_qualify_with_a_rolling_window(hand_runtime):
    sc = Tiers(name="t", qualify_by="visits", window_weeks=3, review_every_weeks=2,
               tiers=[{"name": "a", "threshold": 0}, {"name": "b", "threshold": 4, "discount": 0.05}])
    rt = hand_runtime(sc, n=2)
    idx = np.arange(2)
    visits = np.array([[1, 5], [2, 0], [1, 0], [0, 0], [0, 0], [0, 0], [1, 0]])
    lv = []
    for w, v in enumerate(visits):
        rt.settle(w, idx, v, v * 40.0)  # big spend does not matter when qualifying by visits
        lv.append(rt.level.copy())
    lv = np.array(lv)
    # reviews at the end of weeks 2, 4, 6
    assert list(lv[:, 0]) == [0, 0, 1, 1, 0, 0, 0]  # 1+2+1 = 4 visits in weeks 0-2; 1 in weeks 2-4
    assert list(lv[:, 1]) == [1, 1, 1, 1, 0, 0, 0]  # weeks 0-2 still hold 5 at the week-2 review


# --------------------------------------------------------------------------- the log as an oracle
def replay_tiers(tx: pd.DataFrame, customers: pd.DataFrame, sc: Tiers, weeks: int, launch: int) -> np.ndarray:
    """Tier held in each week (customers x weeks), replayed from the transaction log by the published rules."""
    ids = customers["customer_id"].to_numpy()
    pos = pd.Series(np.arange(ids.size), index=ids)
    amount = np.zeros((ids.size, weeks))
    col = tx["amount"] + tx["discount"] if sc.qualify_by == "spend" else pd.Series(1.0, index=tx.index)
    np.add.at(amount, (pos[tx["customer_id"]].to_numpy(), tx["week"].to_numpy()), col.to_numpy())
    amount = amount.astype(np.float32).astype(float)
    thr = np.array([t.threshold for t in sc.tiers])
    held = np.zeros((ids.size, weeks + 1), dtype=int)  # last column: the tier at the horizon
    level = np.zeros(ids.size, dtype=int)
    since = np.zeros(ids.size, dtype=int)
    for w in range(launch, weeks):
        held[:, w] = level
        total = amount[:, max(launch, w - sc.window_weeks + 1): w + 1].sum(axis=1)
        reach = np.searchsorted(thr, total, side="right") - 1
        up = reach > level
        level[up], since[up] = reach[up], w
        if w > launch and (w - launch) % sc.review_every_weeks == 0:
            down = (reach < level) & (w - since >= sc.review_every_weeks)
            level[down], since[down] = reach[down], w
    held[:, weeks] = level
    return held


@pytest.mark.parametrize("qualify_by,thresholds", [("visits", (0, 6, 12)), ("spend", (0, 250, 500))])
def test_the_till_discount_follows_the_tier_replayed_from_the_log(qualify_by, thresholds):
    tiers = [{"name": n, "threshold": t, "discount": d, "perk_value": pv}
             for n, t, d, pv in zip(("base", "silver", "gold"), thresholds, (0.0, 0.05, 0.12), (0.0, 0.2, 0.5))]
    sc = Tiers(name="t", qualify_by=qualify_by, window_weeks=6, review_every_weeks=5, tiers=tiers)
    launch, weeks = 4, 30
    res = simulate(POP, sc, seed=3, launch_week=launch, output="log")
    tx, c = res.transactions, res.customers
    held = replay_tiers(tx, c, sc, weeks, launch)
    pos = pd.Series(np.arange(len(c)), index=c["customer_id"].to_numpy())
    cw = tx.groupby(["customer_id", "week"])[["amount", "discount"]].sum().reset_index()
    gross = cw["amount"] + cw["discount"]
    expected = np.array([0.0, 0.05, 0.12])[held[pos[cw["customer_id"]].to_numpy(), cw["week"].to_numpy()]]
    share = (cw["discount"] / gross).to_numpy()
    match = np.isclose(share, expected, atol=1e-9)
    # revenue = gross x (1 - tier discount) for every customer-week (float32 window sums may flip a
    # spend total lying within rounding of a threshold: allow a handful)
    assert match.mean() >= (1.0 if qualify_by == "visits" else 0.999)
    # every tier is used, and demotions happen
    assert set(np.unique(expected)) == {0.0, 0.05, 0.12}
    assert c["demoted:t"].sum() > 20
    assert (c["max_tier:t"].to_numpy() == held.max(axis=1)).mean() >= (1.0 if qualify_by == "visits" else 0.999)
    alive = (c["dropout_week"] < 0).to_numpy()  # a customer who has left keeps the tier held when leaving
    assert (c["tier:t"].to_numpy() == held[:, -1])[alive].mean() >= (1.0 if qualify_by == "visits" else 0.999)


def test_demotions_only_in_review_weeks_promotions_any_week_and_the_ledger_adds_up():
    sc = Tiers(name="t", window_weeks=6, review_every_weeks=5, tiers=THREE, cost_per_member_week=0.02)
    res = simulate(POP, sc, seed=3, launch_week=3)
    w = res.weekly
    reviews = {8, 13, 18, 23, 28}
    assert set(w.index[w["demotions"] > 0]) <= reviews and w["demotions"].sum() > 0
    assert set(w.index[w["promotions"] > 0]) - reviews
    assert w.loc[:2, ["promotions", "members"]].to_numpy().sum() == 0  # nothing before launch
    counts = w[["tier_base", "tier_silver", "tier_gold"]]
    assert np.array_equal(counts.sum(axis=1), w["members"])
    assert np.allclose(w["perk_cost"], counts.to_numpy() @ np.array([0.0, 0.05, 0.25]))
    assert np.allclose(w["member_cost"], 0.02 * w["members"])
    c = res.customers
    assert (c["max_tier:t"] >= c["tier:t"]).all()
    assert (c.loc[c["demoted:t"], "max_tier:t"] >= 1).all()


def test_results_do_not_depend_on_the_block_size():
    pop = Population("grocery", size=5000, weeks=20, seed=2)
    sc = Tiers(name="t", window_weeks=5, review_every_weeks=4, tiers=THREE)
    one = simulate(pop, sc, seed=3, launch_week=2)
    many = simulate(pop, sc, seed=3, launch_week=2, block_size=4096)
    pd.testing.assert_frame_equal(one.weekly, many.weekly)
    pd.testing.assert_frame_equal(one.customers, many.customers)


# ------------------------------------------------------------------------------------------- status
def effects_in_state(rt, level, max_level=None, demoted=False):
    n = rt.n
    rt.level[:] = level
    rt.max_level[:] = level if max_level is None else max_level
    rt.demoted[:] = demoted
    rt.refresh()  # the state was set by hand
    return rt.effects(0, np.arange(n))


def test_demoted_customers_drop_out_more_than_never_promoted_ones_in_the_same_tier(hand_runtime):
    sc = Tiers(name="t", tiers=THREE)
    rt = hand_runtime(sc, n=60)
    rise = 1 + BehaviourParams().demotion_dropout_rise
    for lvl in (0, 1):
        never = effects_in_state(rt, lvl).dropout
        demoted = effects_in_state(rt, lvl, max_level=2, demoted=True).dropout
        assert np.allclose(demoted, never * rise) and (demoted > never).all()
    assert np.all(effects_in_state(rt, 0).dropout == 1.0)  # the base tier gives nothing: no status
    assert (effects_in_state(rt, 0, max_level=2, demoted=True).dropout > 1.0).all()
    # status: the higher the tier, the lower the dropout
    d0, d1, d2 = (effects_in_state(rt, lvl).dropout for lvl in (0, 1, 2))
    assert (d2 < d1).all() and (d1 < d0).all()


def test_the_top_of_a_longer_ladder_feels_higher(hand_runtime):
    """Dreze & Nunes (2009): more tiers below raise the status felt at the top (same perks and discount)."""
    same = {"discount": 0.05, "perk_value": 0.3}
    two = Tiers(name="t", tiers=[{"name": "a", "threshold": 0, **same}, {"name": "b", "threshold": 10, **same}])
    four = Tiers(name="t", tiers=[{"name": f"t{i}", "threshold": 10 * i, **same} for i in range(4)])
    top2 = effects_in_state(hand_runtime(two, n=30), 1).dropout
    top4 = effects_in_state(hand_runtime(four, n=30), 3).dropout
    base2 = effects_in_state(hand_runtime(two, n=30), 0).dropout
    cut = BehaviourParams().status_dropout_cut
    assert np.allclose(top2 / base2, 1 - cut / 2) and np.allclose(top4 / base2, 1 - cut * 3 / 4)


def test_goal_gradient_pulls_towards_the_next_tier_only(hand_runtime):
    sc = Tiers(name="t", tiers=[{"name": "a", "threshold": 0}, {"name": "b", "threshold": 100, "perk_value": 0.5}])
    rt = hand_runtime(sc, n=20)
    idx = np.arange(20)
    rt.total[:] = np.linspace(0, 95, 20)
    rt.refresh()  # the state was set by hand
    rate = np.asarray(rt.effects(0, idx).rate)
    assert np.allclose(rate, rt.goal_gradient(rt.total / 100.0, idx))
    # a light buyer (responsiveness 1) speeds up from 1 at no progress; a heavy one is only shifted in time
    rt.heaviness[:] = 1.0
    rate = np.asarray(rt.effects(0, idx).rate)
    assert rate[0] == 1.0 and (rate[1:] > 1.0).all()
    rt.level[:] = 1  # at the top: nothing left to reach
    rt.refresh()
    assert np.all(np.asarray(rt.effects(0, idx).rate) == 1.0)


def test_demotion_lowers_survival_of_the_demoted_customers():
    """Wagner et al. (2009), with common random numbers: the same customers are demoted in both runs
    (paths are identical up to the first demotion, and demotion changes only dropout after it), so with
    the demotion effect some of them leave who would have stayed, and none stays who would have left."""
    pop = Population(load_preset("grocery", b=10.0), size=6000, weeks=52, seed=4)
    sc = Tiers(name="t", window_weeks=8, review_every_weeks=8, tiers=THREE)
    on = simulate(pop, sc, seed=5).customers
    off = simulate(pop, sc, seed=5, behaviour=BehaviourParams(demotion_dropout_rise=0.0)).customers
    dem = on["demoted:t"].to_numpy()
    assert np.array_equal(dem, off["demoted:t"].to_numpy()) and dem.sum() > 2000
    gone_on = (on.loc[dem, "dropout_week"] >= 0).to_numpy()
    gone_off = (off.loc[dem, "dropout_week"] >= 0).to_numpy()
    assert (gone_on & ~gone_off).sum() > 50 and not (gone_off & ~gone_on).any()
    assert gone_on.mean() > 1.1 * gone_off.mean(), (gone_on.mean(), gone_off.mean())
    # customers never demoted are untouched
    assert np.array_equal(on.loc[~dem, "dropout_week"], off.loc[~dem, "dropout_week"])


# -------------------------------------------------------------------------------------- zero value
@pytest.fixture(scope="module")
def baseline():
    return simulate(POP, seed=3, launch_week=4)


@pytest.mark.parametrize("tiers", [
    [{"name": "a", "threshold": 0}, {"name": "b", "threshold": 100}],
    [{"name": "a", "threshold": 0, "perk_cost_per_week": 0.1}, {"name": "b", "threshold": 100, "perk_cost_per_week": 0.5},
     {"name": "c", "threshold": 300, "perk_cost_per_week": 1.0}],
])
def test_a_tier_scheme_worth_nothing_reproduces_the_baseline_exactly(baseline, tiers):
    res = simulate(POP, Tiers(name="z", window_weeks=4, review_every_weeks=4, tiers=tiers), seed=3, launch_week=4)
    pd.testing.assert_frame_equal(res.weekly[SAME], baseline.weekly[SAME])
    assert np.array_equal(res.customers["revenue"], baseline.customers["revenue"])
    assert res.weekly["promotions"].sum() > 0  # tiers still run (and cost), they just change nothing


def test_perks_alone_change_behaviour(baseline):
    tiers = [{"name": "a", "threshold": 0}, {"name": "b", "threshold": 100, "perk_value": 1.0}]
    res = simulate(POP, Tiers(name="p", window_weeks=4, review_every_weeks=4, tiers=tiers), seed=3, launch_week=4)
    assert res.weekly["dropouts"].sum() < baseline.weekly["dropouts"].sum()
    assert res.weekly["discount"].sum() == 0


# -------------------------------------------------------------------------------------- validation
@pytest.mark.parametrize("raw,field,words", [
    ([{"name": "a", "threshold": 10}, {"name": "b", "threshold": 20}], "schemes[0].tiers[0].threshold", "threshold 0"),
    ([{"name": "a", "threshold": 0}, {"name": "b", "threshold": 50}, {"name": "c", "threshold": 50}],
     "schemes[0].tiers[2].threshold", "strictly increasing"),
    ([{"name": "a", "threshold": 0}, {"name": "b", "threshold": 50, "discount": 0.95}], "schemes[0].tiers[1].discount",
     "0.9"),
    ([{"name": "a", "threshold": 0, "discount": 0.1}, {"name": "b", "threshold": 5, "discount": 0.05}],
     "schemes[0].tiers[1].discount", "must not fall"),
    ([{"name": "a", "threshold": 0}, {"name": "a", "threshold": 5}], "schemes[0].tiers[1].name", "repeats"),
    ([{"name": "a", "threshold": 0}, {"name": "gold tier", "threshold": 5}], "schemes[0].tiers[1].name", "pattern"),
    ([{"name": "a", "threshold": 0}], "schemes[0].tiers", "at least 2"),
    ([{"name": "a", "threshold": 0}, {"name": "b", "threshold": 5, "perk_value": 1.5}],
     "schemes[0].tiers[1].perk_value", "1"),
])
def test_invalid_tiers_are_rejected_naming_the_field(raw, field, words):
    err = tiers_error(raw)
    assert err.field == field and words in str(err) and "s.yaml" in str(err)


def test_window_and_review_are_validated():
    ok = [{"name": "a", "threshold": 0}, {"name": "b", "threshold": 5}]
    assert tiers_error(ok, window_weeks=0).field == "schemes[0].window_weeks"
    assert tiers_error(ok, review_every_weeks=0).field == "schemes[0].review_every_weeks"
    assert tiers_error(ok, qualify_by="points").field == "schemes[0].qualify_by"


def test_example_scenario_file_is_valid():
    raw = yaml.safe_load((DATA / "tiers_three_level.yaml").read_text())
    sc = Tiers.model_validate(raw["schemes"][0])
    assert len(sc.tiers) == 3 and sc.tiers[0].threshold == 0
    assert raw["preset"] in ("grocery", "coffee_shop", "online_retail") and raw["launch_week"] < raw["weeks"]
