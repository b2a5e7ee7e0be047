"""Pilot design: analytic power and MDE, simulated power by re-randomisation, assignment, CLI, plots."""

from __future__ import annotations

import argparse
import csv
import json
import math
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from loyalty_sim.errors import ConfigError, DataError
from loyalty_sim.trial import design as dz
from loyalty_sim.trial.design import (
    TrialDesign,
    analytic_mde,
    analytic_power,
    assign,
    design_effect,
    design_trial,
    estimate_icc,
    rerandomisation_power,
    write_assignment,
)
from loyalty_sim.trial.design_cli import add_arguments, run

# small designs keep the module fast: 600 customers, 3 lengths, 2 shares
SMALL = dict(customers=600, candidate_weeks=(2, 4, 8), candidate_shares=(0.2, 0.5), rerandomisations=100, seed=3)


@pytest.fixture(scope="module")
def customer_design() -> TrialDesign:
    return design_trial("coffee_shop", "stamp10", **SMALL)


@pytest.fixture(scope="module")
def store_design() -> TrialDesign:
    return design_trial("coffee_shop", "stamp10", unit="store", stores=8, icc=0.02, **SMALL)


def _gaussian_units(n: int, rho: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Pre and post outcomes with unit variance and correlation rho (the analytic model's assumptions)."""
    rng = np.random.default_rng(seed)
    pre = rng.standard_normal(n)
    post = rho * pre + math.sqrt(1 - rho * rho) * rng.standard_normal(n)
    return pre, post


# --------------------------------------------------------------------------- closed forms


def test_analytic_mde_is_the_closed_form():
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    expected = z * 2.0 * math.sqrt(1 / 300 + 1 / 700)
    assert analytic_mde(2.0, 300, 700, alpha=0.05, power=0.8) == pytest.approx(expected, rel=1e-12)
    # CUPED: variance times (1 - rho^2)
    assert analytic_mde(2.0, 300, 700, rho=0.6) == pytest.approx(expected * 0.8, rel=1e-12)
    # stores: design effect and t quantiles on G - 2 degrees of freedom
    t = stats.t.ppf(0.975, 18) + stats.t.ppf(0.8, 18)
    got = analytic_mde(2.0, 300, 700, design_effect=3.0, df=18)
    assert got == pytest.approx(t * 2.0 * math.sqrt(3.0) * math.sqrt(1 / 300 + 1 / 700), rel=1e-12)
    # the power at the MDE is the target (up to the far tail, < 1e-4 here)
    assert analytic_power(expected, 2.0, 300, 700) == pytest.approx(0.8, abs=1e-4)
    assert analytic_power(0.0, 2.0, 300, 700) == pytest.approx(0.05, abs=1e-12)


def test_design_effect_formula():
    assert design_effect(101, 0.01) == pytest.approx(2.0)
    assert design_effect(101, 0.0) == 1.0
    # unequal store sizes (Eldridge et al. 2006): 1 + ((1 + cv^2) m - 1) ICC
    assert design_effect(100, 0.02, cv=0.5) == pytest.approx(1 + (1.25 * 100 - 1) * 0.02)


def test_estimate_icc_recovers_a_known_store_effect():
    rng = np.random.default_rng(5)
    stores = np.repeat(np.arange(200), 50)
    icc = 0.1
    y = rng.normal(0, math.sqrt(icc), 200)[stores] + rng.normal(0, math.sqrt(1 - icc), len(stores))
    assert estimate_icc(y, stores) == pytest.approx(icc, abs=0.03)
    assert estimate_icc(rng.standard_normal(len(stores)), stores) < 0.02
    assert math.isnan(estimate_icc([1.0, 2.0, 3.0], [0, 0, 0]))


# --------------------------------------------------------------------------- simulated vs analytic


def test_simulated_power_matches_analytic_where_assumptions_hold():
    # normal outcomes, constant effect, customer assignment: the analytic formula is exact up to
    # the normal approximation. 400 re-randomisations: binomial SE <= 0.025; tolerance 0.08 (> 3 SE).
    n, rho = 4000, 0.7
    pre, post = _gaussian_units(n, rho, seed=11)
    sigma = 1.0
    effect = 0.6 * analytic_mde(sigma, n / 2, n / 2, rho=rho, power=0.8)    # analytic power about 0.4
    expected = analytic_power(effect, sigma * math.sqrt(1 - rho ** 2), n / 2, n / 2)
    res = rerandomisation_power(pre, post, post + effect, share=0.5, rerandomisations=400, seed=1, method="cuped",
                                strata=None)
    assert 0.2 < expected < 0.6
    assert abs(res["power"] - expected) < 0.08
    assert res["true_effect"] == pytest.approx(effect)
    assert res["mean_estimate"] == pytest.approx(effect, abs=0.01)
    # the spread of the estimates is the analytic standard error (within 10%)
    mde = analytic_mde(sigma, n / 2, n / 2, rho=rho)
    assert res["simulated_mde"] == pytest.approx(mde, rel=0.10)
    assert res["method"] == "cuped"


def test_null_rejection_rate_is_alpha():
    # baseline vs baseline: the share of intervals excluding 0 is alpha; 1000 draws -> SE 0.0069,
    # tolerance 3.5 SE
    pre, post = _gaussian_units(2000, 0.5, seed=2)
    res = rerandomisation_power(pre, post, post, share=0.3, alpha=0.05, rerandomisations=1000, seed=4)
    tol = 3.5 * math.sqrt(0.05 * 0.95 / 1000)
    assert abs(res["null_rejection"] - 0.05) < tol
    assert abs(res["power"] - 0.05) < tol       # no effect: "power" is the false-alarm rate too
    assert res["null_rejection_se"] == pytest.approx(math.sqrt(0.05 * 0.95 / 1000))


def test_design_on_a_simulated_population(customer_design):
    d = customer_design
    m = d.metrics.set_index("metric")
    assert list(m.index) == ["frequency", "spend", "retention"]
    # simulated and analytic agree (100 re-randomisations: SE <= 0.05; tolerance 0.15)
    for metric in ("frequency", "spend"):
        assert abs(m.loc[metric, "simulated_power"] - m.loc[metric, "analytic_power"]) < 0.15
        assert m.loc[metric, "simulated_mde"] == pytest.approx(m.loc[metric, "analytic_mde"], rel=0.25)
        assert m.loc[metric, "true_effect"] > 0           # a stamp card raises visits and spend
        assert m.loc[metric, "method"] == "cuped"
    # A/A check: within 3 binomial SE of alpha
    for metric in m.index:
        assert abs(m.loc[metric, "null_rejection"] - 0.05) <= 3 * m.loc[metric, "null_rejection_se"] + 1e-12
    # the analytic MDE of the chosen design is the closed form for its sigma and group sizes
    r = m.loc["spend"]
    assert r["analytic_mde"] == pytest.approx(analytic_mde(r["sigma"], round(0.5 * d.settings["n_units"]),
                                                           d.settings["n_units"] - round(0.5 * d.settings["n_units"])))


def test_power_increases_with_length_and_share(customer_design):
    c = customer_design.curve
    spend = c[c["metric"] == "spend"]
    by_weeks = spend[spend["varies"] == "weeks"].sort_values("weeks")
    by_share = spend[spend["varies"] == "share"].sort_values("share")
    assert np.all(np.diff(by_weeks["analytic_power"]) > 0)
    assert np.all(np.diff(by_share["analytic_power"]) > 0)
    assert np.all(np.diff(by_share["analytic_mde"]) < 0)
    sim = by_weeks["simulated_power"].to_numpy()
    assert sim[-1] > sim[0]
    # by re-randomisation on the same outcomes: a larger pilot share has more power
    pre, post = _gaussian_units(3000, 0.6, seed=8)
    small = rerandomisation_power(pre, post, post + 0.06, share=0.1, rerandomisations=300, seed=2, null=False)
    half = rerandomisation_power(pre, post, post + 0.06, share=0.5, rerandomisations=300, seed=2, null=False)
    assert half["power"] > small["power"] + 0.1


def test_store_assignment_inflates_the_mde(customer_design, store_design):
    cm = customer_design.metrics.set_index("metric")
    sm = store_design.metrics.set_index("metric")
    s = store_design.settings
    for metric in ("frequency", "spend", "retention"):
        assert sm.loc[metric, "analytic_mde"] > cm.loc[metric, "analytic_mde"]
        assert sm.loc[metric, "design_effect"] == pytest.approx(
            design_effect(s["mean_customers_per_store"], 0.02, cv=s["store_size_cv"]))
        assert sm.loc[metric, "icc"] == pytest.approx(0.02)
    assert sm.loc["spend", "method"] == "did"          # the review's estimator for stores
    assert sm.loc["retention", "method"] == "cuped"    # retention: CUPED on pre-period frequency
    # simulated and analytic agree roughly (8 stores: t on 6 df; tolerance 0.15)
    assert abs(sm.loc["frequency", "simulated_power"] - sm.loc["frequency", "analytic_power"]) < 0.15
    # a larger intra-store correlation widens it further
    wider = design_trial("coffee_shop", "stamp10", unit="store", stores=8, icc=0.1, **{**SMALL, "rerandomisations": 0})
    assert wider.metrics.set_index("metric").loc["spend", "analytic_mde"] > sm.loc["spend", "analytic_mde"]


def test_recommendation_and_statement(customer_design):
    rec = customer_design.recommendation
    assert rec["metric"] == "spend" and rec["basis"] == "simulated"
    assert isinstance(rec["statement"], str) and rec["statement"]
    if rec["weeks"] is None:
        assert "no candidate length" in rec["statement"].lower()
    # a generous population reaches the target: the smallest length that does is reported
    big = design_trial("coffee_shop", "stamp10", customers=6000, candidate_weeks=(1, 2, 4, 8), rerandomisations=0,
                       seed=3)
    c = big.curve[(big.curve["metric"] == "spend") & (big.curve["varies"] == "weeks")].sort_values("weeks")
    reaching = c[c["analytic_power"] >= 0.8]["weeks"]
    assert big.recommendation["basis"] == "analytic"
    assert big.recommendation["weeks"] == int(reaching.iloc[0])
    assert f"{big.recommendation['weeks']} weeks" in big.recommendation["statement"]


def test_design_to_dict_is_json_and_summary_is_plain(customer_design):
    d = customer_design.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text)["settings"]["unit"] == "customer"
    assert {r["metric"] for r in d["metrics"]} == {"frequency", "spend", "retention"}
    summary = customer_design.summary_text()
    for phrase in ("stamp10", "Spend per customer", "smallest effect detectable", "Recommendation:",
                   "wrongly found", "estimator these figures are for"):
        assert phrase in summary


def test_same_seed_same_design():
    a = design_trial("coffee_shop", "stamp10", **{**SMALL, "rerandomisations": 30})
    b = design_trial("coffee_shop", "stamp10", **{**SMALL, "rerandomisations": 30})
    pd.testing.assert_frame_equal(a.metrics, b.metrics)
    pd.testing.assert_frame_equal(a.curve, b.curve)


# --------------------------------------------------------------------------- assignment


def _units(n: int = 1000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    spend = np.where(rng.random(n) < 0.1, 0.0, rng.gamma(2.0, 20.0, n))
    return pd.DataFrame({"customer_id": np.arange(1, n + 1) * 7, "spend": spend})


def _check_exact(frame: pd.DataFrame, share: float) -> None:
    for _, g in frame.groupby("stratum"):
        k = int((g["group"] == "pilot").sum())
        assert math.floor(share * len(g)) <= k <= math.ceil(share * len(g))
    total = int((frame["group"] == "pilot").sum())
    assert math.floor(share * len(frame)) <= total <= math.ceil(share * len(frame))


@pytest.mark.parametrize("share", [0.1, 0.33, 0.5, 0.8])
def test_assignment_has_exact_shares_per_stratum(share):
    a = assign(_units(), share=share, seed=5)
    assert list(a.columns) == ["customer_id", "group", "stratum"]
    assert set(a["group"]) == {"pilot", "control"}
    assert a["stratum"].nunique() == 11                 # ten spend deciles and the non-buyers
    assert (a.loc[a["stratum"] == "spend_none", "customer_id"].isin(_units().query("spend == 0")["customer_id"])).all()
    _check_exact(a, share)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 300), share=st.floats(0.01, 0.99), seed=st.integers(0, 2 ** 31),
       n_strata=st.integers(1, 12))
def test_assignment_exact_shares_property(n, share, seed, n_strata):
    units = pd.DataFrame({"customer_id": np.arange(n), "segment": np.arange(n) % n_strata})
    a = assign(units, share=share, strata="segment", seed=seed)
    _check_exact(a, share)


def test_assignment_is_reproducible_order_invariant_and_seeded():
    units = _units()
    a = assign(units, share=0.4, seed=9)
    pd.testing.assert_frame_equal(a, assign(units, share=0.4, seed=9))
    shuffled = units.sample(frac=1.0, random_state=np.random.default_rng(1).integers(1 << 30)).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, assign(shuffled, share=0.4, seed=9))
    other = assign(units, share=0.4, seed=10)
    assert not a["group"].equals(other["group"])
    assert a["customer_id"].is_monotonic_increasing


def test_assignment_from_a_log_and_of_stores():
    rng = np.random.default_rng(3)
    n = 400
    log = pd.DataFrame({"customer_id": rng.integers(0, 120, n), "amount": rng.gamma(2.0, 3.0, n),
                        "timestamp": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 70, n), unit="D"),
                        "store_id": rng.choice(["A", "B", "C", "D", "E", "F", "G", "H"], n)})
    a = assign(log, share=0.5, seed=1, pre_weeks=4)
    assert a["customer_id"].is_unique and len(a) == log["customer_id"].nunique()
    _check_exact(a, 0.5)
    s = assign(log, unit="store", share=0.5, seed=1)
    assert list(s.columns) == ["store_id", "group", "stratum"]
    assert len(s) == 8 and (s["group"] == "pilot").sum() == 4
    given_strata = assign(pd.DataFrame({"store_id": list("ABCDEF"), "region": list("NNNSSS")}), unit="store",
                          share=0.5, strata="region", seed=2)
    _check_exact(given_strata, 0.5)
    assert set(given_strata["stratum"]) == {"N", "S"}


def test_write_assignment_is_spreadsheet_safe_and_atomic(tmp_path, monkeypatch):
    frame = pd.DataFrame({"customer_id": ["=cmd|x", "+1", "-2", "@a", "ok"], "group": ["pilot", "control"] * 2 + ["pilot"],
                          "stratum": ["=s"] * 5})
    path = tmp_path / "out" / "assignment.csv"
    write_assignment(frame, path)
    with open(path, newline="", encoding="utf-8") as fh:
        cells = [c for row in csv.reader(fh) for c in row]
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)
    before = path.read_bytes()
    import loyalty_sim.files as lio

    def boom(_frame):
        raise RuntimeError("disk full")

    monkeypatch.setattr(lio, "spreadsheet_safe", boom)
    with pytest.raises(RuntimeError):
        write_assignment(frame, path)
    assert path.read_bytes() == before                              # the old file is intact
    assert os.listdir(path.parent) == ["assignment.csv"]            # no temporary file left
    with pytest.raises(ConfigError) as err:
        write_assignment(frame, tmp_path / "a.xlsx")
    assert err.value.field == "assignment_out"


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("kwargs, field", [
    ({"share": 0.0}, "share"), ({"share": 1.2}, "share"), ({"pilot_weeks": 0}, "pilot_weeks"), ({"pre_weeks": 0}, "pre_weeks"),
    ({"unit": "shop"}, "unit"), ({"alpha": 1.0}, "alpha"), ({"target_power": 0}, "target_power"),
    ({"primary": "profit"}, "primary"), ({"method": "magic"}, "method"), ({"candidate_weeks": [0, 2]}, "candidate_weeks"),
    ({"unit": "store", "stores": 2}, "stores"), ({"unit": "store", "icc": 1.0}, "icc"),
    ({"unit": "store", "stores": 4, "share": 0.2}, "share"), ({"rerandomisations": -1}, "rerandomisations"),
    ({"seed": -1}, "seed"),
])
def test_bad_design_parameters_name_the_field(kwargs, field):
    with pytest.raises(ConfigError) as err:
        design_trial("coffee_shop", "stamp10", **{**SMALL, **kwargs})
    assert err.value.field == field


def test_bad_scheme_and_assignment_parameters():
    with pytest.raises(ConfigError) as err:
        design_trial("coffee_shop", "no_such_scheme", **SMALL)
    assert err.value.field == "scheme"
    with pytest.raises(ConfigError) as err:
        design_trial("coffee_shop", "coffee_comparison", scheme_name="nope", **SMALL)
    assert err.value.field == "scheme_name"
    for kwargs, field in (({"share": 1.5}, "share"), ({"unit": "shop"}, "unit"), ({"strata": "nope"}, "strata"),
                          ({"seed": -3}, "seed")):
        with pytest.raises(ConfigError) as err:
            assign(_units(50), **{"share": 0.5, **kwargs})
        assert err.value.field == field
    with pytest.raises(DataError):
        assign(pd.DataFrame({"id": [1, 2]}), share=0.5)


# --------------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    return add_arguments(argparse.ArgumentParser(prog="loyalty-sim trial design"))


@pytest.fixture(scope="module")
def log_path(tmp_path_factory):
    from loyalty_sim import Population, simulate

    pop = Population("coffee_shop", size=500, weeks=30, seed=5)
    log = simulate(pop, None, weeks=30, seed=5, output="log").transactions[["customer_id", "timestamp", "amount"]]
    log = log.assign(customer_id=["-c%d" % c if c % 7 == 0 else "c%d" % c for c in log["customer_id"]],
                     store_id=["S%d" % (int(str(c).lstrip("-c")) % 6) for c in log["customer_id"]])
    path = tmp_path_factory.mktemp("trial") / "log.csv"
    log.to_csv(path, index=False)
    return path


def test_cli_from_a_log_writes_a_safe_assignment(log_path, tmp_path, capsys):
    out = tmp_path / "assign" / "assignment.csv"
    args = _parser().parse_args(["--log", str(log_path), "--scheme", "stamp10", "--weeks", "4", "--pre-weeks", "6",
                                 "--candidate-weeks", "2,4", "--rerandomisations", "40", "--assignment-out", str(out),
                                 "--json"])
    assert run(args) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["assignment"]["path"] == str(out)
    assert payload["settings"]["weeks"] == 4 and payload["fit"]["bgnbd"]["converged"]
    assert os.listdir(out.parent) == ["assignment.csv"]
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["customer_id", "group", "stratum"]
    assert not any(c.startswith(("=", "+", "-", "@")) for row in rows for c in row)
    # every customer of the log is assigned, once; the review reads the file
    log = pd.read_csv(log_path)
    assert len(rows) - 1 == log["customer_id"].nunique()
    from loyalty_sim.trial.review import read_assignment

    asg = read_assignment(out)
    assert asg.unit == "customer" and asg.n_pilot + asg.n_control == len(rows) - 1


def test_cli_store_design_from_a_log(log_path, tmp_path, capsys):
    out = tmp_path / "stores.csv"
    args = _parser().parse_args(["--log", str(log_path), "--scheme", "stamp10", "--unit", "store", "--weeks", "4",
                                 "--candidate-weeks", "4", "--rerandomisations", "20", "--assignment-out", str(out)])
    assert run(args) == 0
    text = capsys.readouterr().out
    assert "6 stores" in text and "Assignment written" in text
    a = pd.read_csv(out)
    assert list(a.columns) == ["store_id", "group", "stratum"] and len(a) == 6 and (a["group"] == "pilot").sum() == 3


def test_store_summary_of_a_log(log_path):
    log = pd.read_csv(log_path, parse_dates=["timestamp"])
    summ = dz.store_summary(log, pre_weeks=6)
    stores, home = summ["stores"], summ["home"]
    assert list(stores["store_id"]) == [f"S{i}" for i in range(6)]
    assert stores["size"].sum() == len(home)
    # each customer buys in one store in this log, so that is the home store
    one = log.drop_duplicates("customer_id").set_index("customer_id")["store_id"]
    assert (home == one.reindex(home.index)).all()
    assert set(summ["icc"]) == {"frequency", "spend", "retention"}
    assert all(0 <= v < 0.2 for v in summ["icc"].values())      # stores are random here: small


def test_cli_preset_text_and_errors(capsys, tmp_path):
    args = _parser().parse_args(["--preset", "coffee_shop", "--scheme", "stamp10", "--customers", "400",
                                 "--candidate-weeks", "4,8", "--rerandomisations", "0",
                                 "--assignment-out", str(tmp_path / "a.csv")])
    assert run(args) == 0
    assert "Recommendation:" in capsys.readouterr().out
    assert (tmp_path / "a.csv").is_file()
    for argv, field in ((["--share", "1.5"], "share"), (["--unit", "shop"], "unit"), (["--weeks", "0"], "weeks"),
                        (["--assignment-out", "x.txt"], "assignment_out"), (["--candidate-weeks", "a,b"], "candidate_weeks"),
                        (["--alpha", "0"], "alpha")):
        with pytest.raises(ConfigError) as err:
            run(_parser().parse_args(["--scheme", "stamp10", *argv]))
        assert err.value.field == field
    with pytest.raises(SystemExit):      # --preset and --log exclude each other
        _parser().parse_args(["--scheme", "stamp10", "--preset", "grocery", "--log", "x.csv"])


# --------------------------------------------------------------------------- plots


def test_plots_draw_the_expected_artists(customer_design):
    import matplotlib.pyplot as plt

    from loyalty_sim.plots.trial_design import plot_mde, plot_power_curve

    fig, axes = plt.subplots(1, 3)
    try:
        ax = plot_power_curve(customer_design, ax=axes[0])
        labels = [ln.get_label() for ln in ax.get_lines()]
        assert labels[0] == "analytic" and labels[1].startswith("simulated") and labels[2].startswith("target")
        has_rec = customer_design.recommendation.get("weeks") is not None
        assert len(ax.get_lines()) == 3 + has_rec
        assert len(ax.get_lines()[0].get_xdata()) == 3                 # one point per candidate length
        assert ax.get_xlabel() == "pilot length (weeks)" and "%" in ax.get_ylabel() and ax.get_title()
        ax = plot_power_curve(customer_design, ax=axes[1], by="share")
        assert "share" in ax.get_xlabel()
        ax = plot_mde(customer_design, ax=axes[2])
        assert len(ax.get_lines()) == 6                                # detectable + simulated effect per outcome
        assert len(ax.collections) == 3                                # simulated MDE markers
        assert "weeks" in ax.get_xlabel() and "%" in ax.get_ylabel() and ax.get_title()
    finally:
        plt.close(fig)


def test_helpers_reachable_from_the_module():
    # the public API listed in __all__ exists
    for name in dz.__all__:
        assert hasattr(dz, name)


@pytest.mark.parametrize("first, second, home", [("S2", "S1", "S1"), (2, 10, 10)])
def test_home_store_ties_are_broken_the_same_way_in_design_and_review(first, second, home):
    """A customer with as many pre-period rows in two stores: the design and the review put them in the same store
    (the id that sorts first as text, whatever the order of the log: '10' before '2'), hence the same group."""
    from loyalty_sim.trial.review import review_trial

    start = pd.Timestamp("2026-03-02")
    stores = [first, second, "S3", "S4"] if isinstance(first, str) else [first, second, 30, 40]
    rows = [(999, start - pd.Timedelta(days=30), 10.0, first),        # the tie: first seen in `first`
            (999, start - pd.Timedelta(days=29), 10.0, second),
            (999, start + pd.Timedelta(days=3), 12.0, first)]
    for c in range(40):
        for w in range(-8, 4):
            rows.append((c, start + pd.Timedelta(days=7 * w + c % 7), 10.0 + c % 5, stores[c % 4]))
    log = pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount", "store_id"])
    summ = dz.store_summary(log, pre_weeks=8, end=start)
    assert summ["home"].loc[999] == home
    # the review: `home` runs the pilot, the other tied store is a control
    asg = pd.DataFrame({"store_id": stores, "group": ["control", "control", "pilot", "control"]})
    asg.loc[asg["store_id"] == home, "group"] = "pilot"
    asg.loc[asg["store_id"] == ({first, second} - {home}).pop(), "group"] = "control"
    r = review_trial(log, asg, start=start, end=start + pd.Timedelta(days=27), pre_weeks=8, programme_cost=1)
    assert r.checks["coverage"]["analysed_pilot"] == 10 + 10 + 1     # two pilot stores' 10 customers each, and 999


def test_unequal_store_sizes_lower_the_analytic_degrees_of_freedom(store_design):
    # 8 stores of (about) equal size: G - 2 = 6; sizes 1, 1, ..., 1, 9 (cv about 1): about 8 / 2 - 2 = 2
    assert store_design.settings["analytic_t_df"] == pytest.approx(6.0, abs=0.01)
    d = design_trial("coffee_shop", "stamp10", unit="store", stores=8, store_sizes=[1, 1, 1, 1, 1, 1, 1, 9],
                     icc=0.02, **{**SMALL, "rerandomisations": 0})
    assert 1.0 <= d.settings["analytic_t_df"] < 3.0
