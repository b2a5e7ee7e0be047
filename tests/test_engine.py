"""Engine: the simulated process against BG/NBD and Gamma-Gamma closed forms, and reproducibility."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from loyalty_sim import ConfigError, Population, load_preset, simulate
from loyalty_sim.streams import GRANULE

from .oracles import bgnbd_mean, bgnbd_pmf

CDNOW = load_preset("online_retail", arrivals="none")


@pytest.fixture(scope="module")
def cdnow_cohort():
    """A closed BG/NBD cohort of 200,000 customers with the published CDNOW parameters."""
    pop = Population(CDNOW, size=200_000, weeks=52, seed=11)
    return simulate(pop, seed=12, windows=(0, 13, 26, 39, 52))


@pytest.mark.parametrize("t", [13, 26, 39, 52])
def test_mean_purchases_match_bgnbd_closed_form(cdnow_cohort, t):
    cols = [c for c in cdnow_cohort.customers if c.startswith("transactions_w")]
    upto = [c for c in cols if int(c.split("_")[-1]) <= t]
    sim = cdnow_cohort.customers[upto].sum(axis=1).mean() - 1.0  # minus each customer's trial purchase
    exact = bgnbd_mean(CDNOW.r, CDNOW.alpha, CDNOW.a, CDNOW.b, t)
    assert sim == pytest.approx(exact, rel=0.02)


def test_purchase_count_distribution_matches_bgnbd_pmf(cdnow_cohort):
    counts = cdnow_cohort.customers[[c for c in cdnow_cohort.customers if c.startswith("transactions_w")
                                     and int(c.split("_")[-1]) <= 39]].sum(axis=1).to_numpy() - 1  # repeats
    x = np.arange(10)
    p = bgnbd_pmf(CDNOW.r, CDNOW.alpha, CDNOW.a, CDNOW.b, 39, x)
    expected = np.append(p, 1 - p.sum()) * len(counts)
    observed = np.append(np.bincount(np.minimum(counts, 10), minlength=11)[:10], (counts >= 10).sum())
    assert expected.min() > 5
    chi2 = stats.chisquare(observed, expected)
    assert chi2.pvalue > 0.001, (observed, expected.round())


def test_dropout_matches_bgnbd_survival(cdnow_cohort):
    alive_end = (cdnow_cohort.customers["dropout_week"] < 0).mean()
    assert alive_end == pytest.approx(CDNOW.survival(52)[0], abs=0.005)


def test_mean_ticket_matches_gamma_gamma():
    prm = load_preset("coffee_shop", arrivals="none")
    res = simulate(Population(prm, size=100_000, weeks=8, seed=1), seed=2, output="log")
    tx = res.transactions
    expected = prm.spend_p * prm.spend_gamma / (prm.spend_q - 1)
    se = tx["amount"].std() / np.sqrt(len(tx)) * 20  # tickets are clustered by customer: inflate the SE
    assert abs(tx["amount"].mean() - expected) < max(se, 0.01 * expected)
    # within a customer, tickets are Gamma(spend_p): CV = 1/sqrt(spend_p)
    g = tx.groupby("customer_id")["amount"]
    cv = (g.std() / g.mean())[g.count() >= 10]
    assert np.sqrt((cv ** 2).mean()) == pytest.approx(1 / np.sqrt(prm.spend_p), rel=0.05)
    # the log adds up to the weekly totals
    assert np.allclose(tx.groupby("week")["amount"].sum().to_numpy(), res.weekly["revenue"].to_numpy())
    assert int(res.weekly["transactions"].sum()) == len(tx)


def test_transaction_categories_follow_the_catalogue():
    prm = load_preset("coffee_shop", arrivals="none")
    tx = simulate(Population(prm, size=20_000, weeks=10, seed=4), seed=5, output="log").transactions
    shares = tx["category"].value_counts(normalize=True)
    for cat, share in prm.catalogue.items():
        assert shares[cat] == pytest.approx(share, abs=0.02)


def test_life_event_moves_purchases_to_the_new_category():
    prm = load_preset("grocery", arrivals="none", life_events=(
        {"name": "new_baby", "from_category": "prenatal", "to_category": "baby", "share": 0.5, "delay_weeks": 5},))
    pop = Population(prm, size=8000, weeks=40, seed=3)
    tx = simulate(pop, seed=3, output="log").transactions
    traits = pop.customers()
    ev = traits.loc[traits["life_event"] == "new_baby", "customer_id"]
    t = tx[tx["customer_id"].isin(ev)].merge(pop.customers()[["customer_id"]], on="customer_id")
    week_of = dict(zip(pop.traits().customer_id, pop.traits().life_event_week))
    after = t[t["week"] >= t["customer_id"].map(week_of)]
    before = t[t["week"] < t["customer_id"].map(week_of)]
    assert (after["category"] == "prenatal").sum() == 0
    assert (before["category"] == "prenatal").mean() > 0.05


def test_identical_whatever_the_block_size_and_workers():
    pop = Population("coffee_shop", size=6000, weeks=20, seed=7)
    ref = simulate(pop, seed=8, block_size=GRANULE, output="log")
    for kw in (dict(block_size=4 * GRANULE), dict(block_size=GRANULE, workers=2)):
        other = simulate(pop, seed=8, output="log", **kw)
        pd.testing.assert_frame_equal(ref.weekly, other.weekly)
        pd.testing.assert_frame_equal(ref.customers, other.customers)
        pd.testing.assert_frame_equal(ref.transactions, other.transactions)


def test_aggregate_mode_equals_the_log():
    pop = Population("grocery", size=5000, weeks=15, seed=1)
    agg = simulate(pop, seed=2)
    log = simulate(pop, seed=2, output="log")
    pd.testing.assert_frame_equal(agg.weekly, log.weekly)
    pd.testing.assert_frame_equal(agg.customers, log.customers)
    assert agg.transactions is None
    per_cust = log.transactions.groupby("customer_id")["amount"].sum()
    assert np.allclose(per_cust.to_numpy(), agg.customers.set_index("customer_id").loc[per_cust.index, "revenue"])


def test_different_seeds_differ_and_same_seed_repeats():
    pop = Population("coffee_shop", size=3000, weeks=10, seed=1)
    a, b, c = simulate(pop, seed=1), simulate(pop, seed=2), simulate(pop, seed=1)
    assert not a.weekly["revenue"].equals(b.weekly["revenue"])
    pd.testing.assert_frame_equal(a.weekly, c.weekly)


def test_steady_population_keeps_the_alive_base_level():
    res = simulate(Population("coffee_shop", size=50_000, weeks=52, seed=1), seed=1)
    alive = res.weekly["alive_start"]
    assert np.all(np.abs(alive / 50_000 - 1) < 0.02)


@pytest.mark.parametrize("kw,match", [
    (dict(weeks=0), "'weeks'"),
    (dict(block_size=1000), "'block_size'.*multiple of 4096"),
    (dict(output="excel"), "'output'"),
    (dict(launch_week=30), "'launch_week'"),
    (dict(windows=(0, 5, 3, 20)), "'windows'"),
    (dict(weeks=50), "covers 20 weeks"),
])
def test_bad_run_settings_name_the_field(kw, match):
    pop = Population("coffee_shop", size=100, weeks=20, seed=1)
    with pytest.raises(ConfigError, match=match):
        simulate(pop, **kw)


def _schemes_for_resume():
    from loyalty_sim.schemes import scheme_from_dict

    return [scheme_from_dict(d) for d in (
        {"type": "stamp_card", "name": "s", "stamps_required": 6, "head_start": 1, "expiry_weeks": 8,
         "enrolment": {"mode": "opt_in", "take_up": 0.5}},
        {"type": "points", "name": "p", "earn_rate": 1.0,
         "redemption": {"rule": "tiered", "thresholds": [20, 60], "rewards": [2.0, 7.0]}},
        {"type": "tiers", "name": "t", "qualify_by": "spend", "window_weeks": 8, "review_every_weeks": 4,
         "tiers": [{"name": "a", "threshold": 0}, {"name": "b", "threshold": 40, "discount": 0.05}]},
        {"type": "referral", "name": "r", "referrer_reward": 3.0, "referee_reward": 3.0},
    )]


@pytest.mark.parametrize("kw", [dict(), dict(block_size=GRANULE, workers=2), dict(output="log", windows=(0, 9, 20))])
def test_a_scheme_run_resumed_at_launch_equals_the_run_from_week_0(kw):
    """Before launch a scheme run is its counterfactual: starting from the counterfactual's launch week
    gives every number of a run from week 0, to the bit (a referral scheme, whose blocks are larger,
    runs from week 0 whatever it is given)."""
    pop = Population("coffee_shop", size=6000, weeks=20, seed=7)
    base = simulate(pop, seed=8, launch_week=7, keep_launch_state=True, **kw)
    plain = simulate(pop, seed=8, launch_week=7, **kw)
    pd.testing.assert_frame_equal(base.weekly, plain.weekly, check_exact=True)
    pd.testing.assert_frame_equal(base.customers, plain.customers, check_exact=True)
    assert plain.launch_state is None and len(base.launch_state.blocks) >= 1
    for scheme in _schemes_for_resume():
        full = simulate(pop, scheme, seed=8, launch_week=7, **kw)
        resumed = simulate(pop, scheme, seed=8, launch_week=7, resume=base.launch_state, **kw)
        again = simulate(pop, scheme, seed=8, launch_week=7, resume=base.launch_state, **kw)  # state not used up
        for other in (resumed, again):
            pd.testing.assert_frame_equal(full.weekly, other.weekly, check_exact=True)
            pd.testing.assert_frame_equal(full.customers, other.customers, check_exact=True)
            if full.transactions is not None:
                pd.testing.assert_frame_equal(full.transactions, other.transactions, check_exact=True)
        assert not full.weekly.equals(plain.weekly)  # the scheme acted


def test_the_launch_state_holds_the_uniforms_after_launch_and_the_scheme_runs_read_them(monkeypatch):
    """The weeks after launch draw the same uniforms in every scheme run: the counterfactual keeps them and
    a resumed run reads them instead of drawing them again (the same numbers, fewer draws); a state too
    large to hold them keeps none and the runs draw their own."""
    import loyalty_sim.engine as engine
    from loyalty_sim.streams import WeeklyUniforms

    pop = Population("coffee_shop", size=6000, weeks=20, seed=7)
    scheme = _schemes_for_resume()[1]
    drawn = []
    real_get = WeeklyUniforms.get

    def counting_get(self, week, out=None):
        drawn.append(week)
        return real_get(self, week, out=out)

    monkeypatch.setattr(WeeklyUniforms, "get", counting_get)
    base = simulate(pop, seed=8, launch_week=7, keep_launch_state=True)
    assert all(sorted(b.uniform_cache) == list(range(7, 20)) for b in base.launch_state.blocks.values())
    full = simulate(pop, scheme, seed=8, launch_week=7)
    drawn.clear()
    import loyalty_sim.inversion as inversion
    quantiles = []  # the spend draws' normal quantiles: kept with the uniforms, not computed again
    real_ndtri = inversion.ndtri
    monkeypatch.setattr(inversion, "ndtri", lambda u: quantiles.append(np.size(u)) or real_ndtri(u))
    resumed = simulate(pop, scheme, seed=8, launch_week=7, resume=base.launch_state)
    pd.testing.assert_frame_equal(full.weekly, resumed.weekly, check_exact=True)
    pd.testing.assert_frame_equal(full.customers, resumed.customers, check_exact=True)
    purchase_draws, held_quantiles = len(drawn), len(quantiles)
    monkeypatch.setattr(engine, "LAUNCH_UNIFORMS_LIMIT", 0)
    none_kept = simulate(pop, seed=8, launch_week=7, keep_launch_state=True)
    assert all(b.uniform_cache is None for b in none_kept.launch_state.blocks.values())
    drawn.clear()
    again = simulate(pop, scheme, seed=8, launch_week=7, resume=none_kept.launch_state)
    pd.testing.assert_frame_equal(full.weekly, again.weekly, check_exact=True)
    # held: no draw at all (this scheme draws nothing of its own); not held: every granule, every week after launch
    assert purchase_draws == 0 and len(drawn) == 13 * -(-pop.n_customers // GRANULE)
    assert held_quantiles == 0 and len(quantiles) > 0


def test_resume_refuses_another_run_s_state():
    pop = Population("coffee_shop", size=3000, weeks=12, seed=7)
    base = simulate(pop, seed=8, launch_week=4, keep_launch_state=True)
    scheme = _schemes_for_resume()[0]
    for kw in (dict(seed=9, launch_week=4), dict(seed=8, launch_week=5)):
        with pytest.raises(ConfigError, match="resume"):
            simulate(pop, scheme, resume=base.launch_state, **kw)
    with pytest.raises(ConfigError, match="keep_launch_state"):
        simulate(pop, scheme, seed=8, launch_week=4, keep_launch_state=True)
