"""The one calibration path: a shop simulated from known parameters, written as a log, calibrated and compared again."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalty_sim import Population, simulate
from loyalty_sim.calibration import CalibratedPopulation, calibrate
from loyalty_sim.calibration.customers import affinity_concentration, arrivals_per_week
from loyalty_sim.text.calibration import counts_sentence, fit_check_sentence, holdout_sentence


@pytest.fixture(scope="module")
def shop_log(tmp_path_factory):
    """A coffee shop's log: 1,200 customers alive at week 0, steady arrivals, 40 weeks; ids are strings."""
    pop = Population("coffee_shop", size=1200, weeks=40, seed=11)
    log = simulate(pop, None, weeks=40, seed=11, output="log").transactions[["customer_id", "timestamp", "amount"]]
    log = log.assign(customer_id="shopper_" + log["customer_id"].astype(str))
    path = tmp_path_factory.mktemp("shop") / "shop.csv"
    log.to_csv(path, index=False)
    return path, pop


@pytest.fixture(scope="module")
def shop_cal(shop_log):
    return calibrate(shop_log[0], calibration_end="auto", fill_from="grocery")


def test_calibrate_returns_the_shops_customers(shop_log, shop_cal):
    path, pop = shop_log
    assert isinstance(shop_cal, CalibratedPopulation)
    shop = shop_cal.shop
    # the base alive at the log's end, as the fit sees it: the true base stays near 1,200 (steady arrivals)
    true_alive = simulate(pop, None, weeks=40, seed=11).weekly["alive_start"].iloc[-1]
    assert shop.default_size == pytest.approx(true_alive, rel=0.15)
    # new customers: the simulated shop's arrival schedule over the same window
    arrived = pop.arrivals[-int(shop.arrival_weeks):].sum() / shop.arrival_weeks
    assert shop.arrivals_per_week == pytest.approx(arrived, rel=0.25)
    # what a log cannot show comes from the named preset, listed and stated
    assert shop.fill_from == "grocery" and "segment_mix" in shop.assumed and "email_opt_in" in shop.assumed
    assert "r" not in shop.assumed and "spend_p" not in shop.assumed
    assumed = shop_cal.describe()["statements"][-1]
    assert assumed.startswith("Assumed from preset grocery") and "45% price-sensitive" in assumed
    pop2 = shop_cal.population(weeks=4, seed=1)
    assert pop2.size == shop.default_size and set(pop2.assumed_fields()) == set(shop.assumed)
    assert pop2.params.catalogue == pytest.approx(dict(Population("grocery", 10, 1).params.catalogue))


def test_counts_are_reconciled_from_the_log_to_the_simulation(shop_log, shop_cal):
    log = pd.read_csv(shop_log[0])
    c = shop_cal.counts(5000)
    assert c["in_log"] == log["customer_id"].nunique()
    assert c["in_log"] == c["summarised"] + c["first_purchase_after_calibration"] + c.get("only_returns", 0)
    assert c["summarised"] == c["fitted"] + c["observed_for_no_time"]
    assert c["customers_at_end"] == c["in_log"] and c["simulated"] == 5000
    text = counts_sentence(c)
    for n in (c["in_log"], c["summarised"], c["fitted"], 5000):
        assert f"{n:,}" in text
    assert f"first purchase is after the calibration end {shop_cal.calibration_end}" in text
    assert "times the active base" in text and "shopper_" not in text


def test_holdout_sentence_and_verdict(shop_cal):
    check = shop_cal.fit_check()
    assert check["actual"] > 0 and check["predicted"] > 0
    assert check["relative_error"] == pytest.approx(check["predicted"] / check["actual"] - 1)
    s = holdout_sentence(check)
    assert f"predicted {check['predicted']:,.0f} repeat purchases in the holdout" in s
    assert f"there were {check['actual']:,.0f}" in s
    assert check["good_enough"] and fit_check_sentence(check).startswith("The fit is close enough")
    bad = {**check, "relative_error": 0.3, "good_enough": False, "reasons": ["the holdout total is off by more than 15%"]}
    assert fit_check_sentence(bad).startswith("Do not decide on this fit yet: the holdout total is off")


def test_too_few_repeat_customers_is_not_good_enough(tmp_path):
    rows = [("a%d" % i, f"2026-01-{1 + i % 20:02d}", 5.0) for i in range(60)]
    rows += [("a%d" % i, "2026-02-10", 6.0) for i in range(10)]
    rows += [("a%d" % i, "2026-03-02", 6.0) for i in range(20, 26)]
    rows += [("b%d" % i, "2026-03-20", 4.0) for i in range(5)]
    path = tmp_path / "tiny.csv"
    pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount"]).to_csv(path, index=False)
    cal = calibrate(path, model=("bgnbd",), calibration_end="2026-02-28")
    check = cal.fit_check()
    assert not check["good_enough"] and any("only 10 customers bought more than once" in r for r in check["reasons"])


def test_a_category_column_makes_the_catalogue(tmp_path):
    rng = np.random.default_rng(4)
    n, conc = 400, 3.0
    shares = {"tea": 0.5, "cake": 0.3, "beans": 0.2}
    aff = rng.dirichlet(conc * np.array(list(shares.values())), size=n)
    rows = []
    for i in range(n):
        k = rng.integers(5, 30)
        cats = rng.choice(list(shares), size=k, p=aff[i])
        days = np.sort(rng.integers(0, 200, size=k))
        rows += [(f"c{i}", str(pd.Timestamp("2025-01-01") + pd.Timedelta(days=int(d))), 4.0 + d % 3, c)
                 for d, c in zip(days, cats)]
    frame = pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount", "category"])
    est = affinity_concentration(frame, frame["category"].value_counts(normalize=True).to_dict())
    assert est == pytest.approx(conc, rel=0.25)
    # a shop whose log has a category column: its categories become the catalogue, its affinities the spread
    pop = Population("coffee_shop", size=1500, weeks=30, seed=3)
    log = simulate(pop, None, weeks=30, seed=3, output="log").transactions[
        ["customer_id", "timestamp", "amount", "category"]]
    log = log.assign(category=log["category"].map({"coffee": "espresso bar", "food": "kitchen",
                                                   "merchandise": "mugs"}).fillna(log["category"]))
    path = tmp_path / "cats.csv"
    log.to_csv(path, index=False)
    cal = calibrate(path, model=("bgnbd", "gamma_gamma"), calibration_end="auto", fill_from="grocery")
    params = cal.params
    assert set(params.catalogue) == {"espresso bar", "kitchen", "mugs"} and params.life_events == ()
    assert params.catalogue["kitchen"] == pytest.approx(log["category"].eq("kitchen").mean())
    assert params.affinity_concentration == pytest.approx(pop.params.affinity_concentration, rel=0.3)
    assert "catalogue" not in cal.shop.assumed and "3 categories" in cal.describe()["statements"][-1]


def test_arrivals_use_the_later_half_of_the_log():
    rfm = pd.DataFrame({"T": [30.0, 29.0, 20.0, 10.0, 5.0, 1.0]})
    per_week, window = arrivals_per_week(rfm, 1.0)
    assert window == 15.0 and per_week == pytest.approx(3 / 15.0)


@pytest.mark.slow
def test_calibrated_shop_ranks_the_schemes_as_the_true_customers(shop_log, shop_cal):
    """Compared on the customers fitted to its log, the shop ranks the schemes as on its true customers."""
    from loyalty_sim.comparison import compare
    from loyalty_sim.scenario import load_scenario, with_log

    sc = load_scenario("coffee_comparison", customers=1200, weeks=40, launch_week=14, replications=3)
    fitted = with_log(sc, shop_cal, customers=1200)
    assert fitted.params.r == pytest.approx(sc.params.r, rel=0.35)

    def relative(comp):
        e = comp.effects()
        e = e[e["metric"] == "purchases_per_customer_week"].set_index("scheme")
        base = e["effect"] / e["relative_effect"].where(e["relative_effect"] != 0)
        return e["relative_effect"], e["ci_low"] / base, e["ci_high"] / base

    true_eff, true_lo, true_hi = relative(compare(sc))
    fit_eff, fit_lo, fit_hi = relative(compare(fitted))
    assert list(true_eff.sort_values().index) == list(fit_eff.sort_values().index)
    for name in true_eff.index:
        if true_eff[name] == 0:  # a scheme without effect on frequency has none on either
            assert fit_eff[name] == 0
            continue
        assert fit_lo[name] <= true_hi[name] and true_lo[name] <= fit_hi[name], name  # the intervals overlap
