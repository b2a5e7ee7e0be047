"""Population: presets, validation, trait distributions, arrivals."""

from __future__ import annotations

import numpy as np
import pytest

from loyalty_sim import ConfigError, Population, PopulationParams, available_presets, load_preset
from loyalty_sim.population import SEGMENTS

BASE = dict(r=1.0, alpha=2.0, a=1.0, b=10.0, spend_p=5.0, spend_q=4.0, spend_gamma=10.0)


def test_presets_load_with_expected_figures():
    assert {"coffee_shop", "grocery", "online_retail"} <= set(available_presets())
    cdnow = load_preset("online_retail")
    assert (cdnow.r, cdnow.alpha, cdnow.a, cdnow.b) == (0.243, 4.414, 0.793, 2.426)
    coffee = load_preset("coffee_shop")
    assert coffee.mean_rate > load_preset("grocery").mean_rate  # coffee: more frequent
    assert coffee.mean_ticket < load_preset("grocery").mean_ticket  # ... smaller tickets
    assert {"fresh", "vegetarian", "baby", "household"} <= set(load_preset("grocery").catalogue)


def test_unknown_preset_lists_available():
    with pytest.raises(ConfigError, match="available presets: .*coffee_shop.*grocery"):
        load_preset("bakery")


@pytest.mark.parametrize("field,value,match", [
    ("b", 0.0, "'b'.*> 0"),
    ("a", -1.0, "'a'.*> 0"),
    ("r", "x", "'r'.*number"),
    ("spend_q", 0.5, "'spend_q'.*> 1"),
    ("segment_mix", {"price_sensitive": 0.5, "service_sensitive": 0.2, "habitual": 0.2}, "'segment_mix'.*sum to 1"),
    ("segment_mix", {"bargain_hunter": 1.0}, "'segment_mix'.*unknown"),
    ("catalogue", {"a": 0.7, "b": 0.7}, "'catalogue'.*sum to 1"),
    ("email_opt_in", 1.5, r"'email_opt_in'.*must be in \[0, 1\]"),
    ("arrivals", "sometimes", "'arrivals'"),
])
def test_invalid_parameters_name_the_field(field, value, match):
    with pytest.raises(ConfigError, match=match):
        PopulationParams(**{**BASE, field: value})


@pytest.mark.parametrize("kw,match", [
    (dict(size=-5, weeks=10), "'size'.*>= 1"),
    (dict(size=100, weeks=0), "'weeks'.*>= 1"),
    (dict(size=100, weeks=10, seed=-1), "'seed'"),
    (dict(size=10.5, weeks=10), "'size'.*integer"),
])
def test_invalid_counts_name_the_field(kw, match):
    with pytest.raises(ConfigError, match=match):
        Population(PopulationParams(**BASE), **kw)


def test_preset_override_is_validated():
    with pytest.raises(ConfigError, match="unknown population parameters"):
        load_preset("coffee_shop", colour="red")
    assert load_preset("coffee_shop", r=3.0).r == 3.0


def test_segment_and_category_shares_match_the_mix():
    mix = {"price_sensitive": 0.5, "service_sensitive": 0.2, "habitual": 0.3}
    cat = {"coffee": 0.6, "food": 0.3, "merch": 0.1}
    pop = Population.from_params(size=60_000, weeks=1, seed=3, segment_mix=mix, catalogue=cat, **BASE)
    df = pop.customers()
    n = len(df)
    shares = df["segment"].value_counts(normalize=True)
    for s in SEGMENTS:
        se = np.sqrt(mix[s] * (1 - mix[s]) / n)
        assert abs(shares[s] - mix[s]) < 4 * se, s
    for c, share in cat.items():
        col = df[f"affinity_{c}"]
        assert abs(col.mean() - share) < 4 * col.std() / np.sqrt(n), c


def test_traits_follow_their_distributions():
    pop = Population.from_params(size=100_000, weeks=1, seed=5, initial_base="new", **BASE)
    df = pop.customers()
    n = len(df)
    lam, p = df["purchase_rate"], df["dropout_probability"]
    assert abs(lam.mean() - BASE["r"] / BASE["alpha"]) < 4 * lam.std() / np.sqrt(n)
    assert abs(p.mean() - BASE["a"] / (BASE["a"] + BASE["b"])) < 4 * p.std() / np.sqrt(n)
    # mean ticket p/nu with nu ~ Gamma(q, gamma): E = p gamma / (q - 1)
    tick = df["mean_ticket"]
    expected = BASE["spend_p"] * BASE["spend_gamma"] / (BASE["spend_q"] - 1)
    assert abs(tick.mean() - expected) < 4 * tick.std() / np.sqrt(n)


def test_traits_do_not_depend_on_how_they_are_read():
    pop = Population("grocery", size=10_000, weeks=20, seed=9)
    whole = pop.traits()
    part = pop.traits(5000, 9000)
    assert np.array_equal(whole.lam[5000:9000], part.lam)
    assert np.array_equal(whole.affinity[5000:9000], part.affinity)
    other = Population("grocery", size=10_000, weeks=20, seed=10).traits()
    assert not np.array_equal(whole.lam, other.lam)


def test_life_events_only_for_catalogued_categories():
    with pytest.raises(ConfigError, match="life_events.baby.to_category"):
        PopulationParams(**BASE, catalogue={"a": 1.0},
                         life_events=({"name": "baby", "from_category": "a", "to_category": "zzz",
                                       "share": 0.1, "delay_weeks": 3},))


def test_closed_cohort_has_no_arrivals_and_steady_base_replaces_dropouts():
    closed = Population(load_preset("grocery", arrivals="none"), size=1000, weeks=30, seed=1)
    assert closed.n_customers == 1000
    steady = Population("grocery", size=10_000, weeks=104, seed=1)
    prm = steady.params
    # expected alive count under the schedule stays at the initial size
    surv = prm.survival(np.arange(104))
    surv0 = prm.survival_initial(np.arange(104))
    arr = steady.arrivals
    alive = [arr[0] * surv0[w] + sum(arr[c] * surv[w - c] for c in range(1, w + 1)) for w in (10, 52, 103)]
    assert np.allclose(alive, 10_000, rtol=0.002)
    fixed = Population(load_preset("grocery", arrivals=0.01), size=10_000, weeks=11, seed=1)
    assert fixed.n_customers == 10_000 + 10 * 100


def test_survival_matches_simulated_lifetimes():
    # P(alive at t) from the closed form vs the traits' own Exp(1) hazard budgets:
    # a customer with rate lam and dropout p survives t weeks with prob exp(-lam p t).
    prm = load_preset("online_retail")
    pop = Population(prm, size=200_000, weeks=1, seed=2)
    t = pop.traits()
    for weeks in (5, 26, 52):
        sim = np.exp(-t.lam * t.p * weeks).mean()
        assert abs(prm.survival(weeks)[0] - sim) < 0.005


def test_established_base_is_the_survivors_of_steady_acquisition():
    """Week-0 customers of an established base: traits weighted by survival over the history."""
    prm = load_preset("coffee_shop")
    pop = Population(prm, size=100_000, weeks=1, seed=3)
    t = pop.traits()
    fresh = Population(load_preset("coffee_shop", initial_base="new"), size=100_000, weeks=1, seed=3).traits()
    # survivors have a lower churn hazard lam * p than a fresh cohort
    assert (t.lam * t.p).mean() < 0.8 * (fresh.lam * fresh.p).mean()
    # their survival matches the closed form int_t^{t+A} S / int_0^A S
    for weeks in (10, 52):
        assert np.exp(-t.lam * t.p * weeks).mean() == pytest.approx(prm.survival_initial(weeks)[0], abs=0.005)
    with pytest.raises(ConfigError, match="initial_base"):
        load_preset("coffee_shop", initial_base="old")
