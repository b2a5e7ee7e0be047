"""Model fits against published CDNOW estimates, closed forms and simulated populations."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from loyalty_sim import fit as F
from loyalty_sim.errors import ConfigError, DataError, FitError
from loyalty_sim.logs import read_log

from .oracles import bgnbd_mean, bgnbd_pmf

CDNOW = Path(__file__).resolve().parents[1] / "loyalty_sim" / "datasets" / "CDNOW_sample.txt"

# Fader, Hardie & Lee (2005), Marketing Science 24(2): CDNOW 1/10 sample, 39-week calibration.
BGNBD_PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
BGNBD_LL = -9582.4
PARETO_PUBLISHED = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
PARETO_LL = -9595.0
# Fader, Hardie & Lee (2005), JMR 42(4) "RFM and CLV": Gamma-Gamma on the 946 repeat customers.
GG_PUBLISHED = {"p": 6.25, "q": 3.74, "gamma": 15.44}


@pytest.fixture(scope="module")
def cdnow_log():
    return read_log(CDNOW, duplicates="keep")


@pytest.fixture(scope="module")
def cdnow(cdnow_log):
    return cdnow_log.rfm(calibration_end="1997-09-30", observation_end="1998-06-30")


@pytest.fixture(scope="module")
def fits(cdnow):
    return {"bgnbd": F.fit_bgnbd(cdnow), "pareto_nbd": F.fit_pareto_nbd(cdnow),
            "gamma_gamma": F.fit_gamma_gamma(cdnow)}


# --------------------------------------------------------------------------- published values


@pytest.mark.parametrize("model, published, ll", [("bgnbd", BGNBD_PUBLISHED, BGNBD_LL),
                                                  ("pareto_nbd", PARETO_PUBLISHED, PARETO_LL)])
def test_cdnow_matches_published_estimates(fits, model, published, ll):
    fit = fits[model]
    assert fit.converged and fit.n_customers == 2357
    for name, value in published.items():
        assert fit.params[name] == pytest.approx(value, rel=0.01), name
    assert abs(fit.log_likelihood - ll) <= 0.1
    for name in published:
        assert 0 < fit.standard_errors[name] < fit.params[name]
    cov = np.array(fit.covariance)
    np.testing.assert_allclose(cov, cov.T, rtol=1e-6, atol=1e-12)
    assert np.linalg.eigvalsh(cov).min() > 0


def test_cdnow_gamma_gamma_matches_published_estimates(fits):
    fit = fits["gamma_gamma"]
    assert fit.converged and fit.n_customers == 946
    # Published to two decimals: allow half a unit in the last digit plus 0.1% for data preparation.
    for name, value in GG_PUBLISHED.items():
        assert abs(fit.params[name] - value) <= 0.005 + 1e-3 * value, (name, fit.params[name])
    assert F.gamma_gamma_mean_spend(fit) == pytest.approx(6.25 * 15.44 / 2.74, rel=5e-3)


def test_log_likelihood_functions_sum_to_the_fit(cdnow, fits):
    args = (cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert F.bgnbd_log_likelihood(fits["bgnbd"], *args).sum() == pytest.approx(fits["bgnbd"].log_likelihood)
    assert F.pareto_nbd_log_likelihood(fits["pareto_nbd"], *args).sum() == pytest.approx(
        fits["pareto_nbd"].log_likelihood)
    rep = cdnow[cdnow["frequency"] > 0]
    assert F.gamma_gamma_log_likelihood(fits["gamma_gamma"], rep["frequency"], rep["monetary_value"]).sum() \
        == pytest.approx(fits["gamma_gamma"].log_likelihood)


def test_fit_result_is_json_able(fits):
    for fit in fits.values():
        d = json.loads(json.dumps(fit.to_dict()))
        assert d["model"] == fit.model and d["converged"] is True
        assert set(d["params"]) == set(F.PARAM_NAMES[fit.model])


def test_pareto_gradient_matches_finite_differences(cdnow):
    x, t_x, T = F._btyd_arrays(cdnow)
    D = F._PNData.build(F._unique_rows(x, t_x, T))
    for theta in ([0.55, 10.6, 0.6, 11.7], [0.55, 12.6, 0.6, 11.7], [0.2, 30.0, 0.3, 45.0]):
        theta = np.array(theta)
        ll, g = F._pnbd_analytic(theta, D)
        np.testing.assert_allclose(ll, F._pnbd_ll(theta[None], D)[0], rtol=1e-12, atol=1e-10)
        h = 1e-6
        num = np.array([(F._pnbd_ll((theta + h * e)[None], D)[0] - F._pnbd_ll((theta - h * e)[None], D)[0])
                        / (2 * h) for e in np.eye(4)])
        np.testing.assert_allclose(g @ D.w, num @ D.w, rtol=1e-5)


# --------------------------------------------------------------------------- closed forms

PARAMS = [BGNBD_PUBLISHED, {"r": 1.5, "alpha": 2.0, "a": 3.0, "b": 4.0}, {"r": 0.4, "alpha": 8.0, "a": 1.0, "b": 2.0},
          {"r": 0.8, "alpha": 3.0, "a": 0.3, "b": 0.5}]


@pytest.mark.parametrize("params", PARAMS)
def test_expected_transactions_equal_the_mean_of_the_pmf(params):
    t = np.array([0.5, 1.0, 10.0, 39.0, 78.0])
    x = np.arange(0, 3000)
    pmf = F.bgnbd_pmf(params, t[:, None], x[None, :])
    assert (pmf >= 0).all()
    np.testing.assert_allclose(pmf.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_allclose(pmf @ x, F.bgnbd_expected_transactions(params, t), rtol=1e-7)
    assert F.bgnbd_expected_transactions(params, 0.0) == 0.0


def test_closed_forms_agree_with_the_independent_oracles():
    p = BGNBD_PUBLISHED
    x = np.arange(0, 40)
    for t in (1.0, 39.0, 78.0):
        np.testing.assert_allclose(F.bgnbd_pmf(p, t, x), bgnbd_pmf(p["r"], p["alpha"], p["a"], p["b"], t, x),
                                   rtol=1e-10, atol=1e-15)
        assert F.bgnbd_expected_transactions(p, t) == pytest.approx(
            bgnbd_mean(p["r"], p["alpha"], p["a"], p["b"], t), rel=1e-12)


def test_conditional_expectation_and_p_alive(fits, cdnow):
    fit = fits["bgnbd"]
    x, tx, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    alive = F.bgnbd_probability_alive(fit, x, tx, T)
    assert ((alive > 0) & (alive <= 1)).all()
    assert (alive[x == 0] == 1).all()
    # P(alive) rises with recency and falls with the time since the last purchase
    assert np.all(np.diff(F.bgnbd_probability_alive(fit, 3, [5, 10, 20, 30], 39)) > 0)
    assert np.all(np.diff(F.bgnbd_probability_alive(fit, 3, 10, [20, 30, 39, 60])) < 0)
    e = [F.bgnbd_conditional_expected_transactions(fit, t, x, tx, T) for t in (0, 10, 39, 100)]
    assert (e[0] == 0).all() and all(np.all(b > a) for a, b in zip(e[:-1], e[1:]))
    # a customer with no history (x=0, T -> 0) expects E[X(t)]
    assert F.bgnbd_conditional_expected_transactions(fit, 20.0, 0, 0, 1e-12) == pytest.approx(
        F.bgnbd_expected_transactions(fit, 20.0), rel=1e-9)
    pa = F.pareto_nbd_probability_alive(fits["pareto_nbd"], x, tx, T)
    assert ((pa > 0) & (pa <= 1)).all()
    pe = F.pareto_nbd_conditional_expected_transactions(fits["pareto_nbd"], 39.0, x, tx, T)
    assert (pe > 0).all()


@pytest.mark.parametrize("params", [PARETO_PUBLISHED, {"r": 2.0, "alpha": 5.0, "s": 1.0, "beta": 7.0},
                                    {"r": 0.5, "alpha": 3.0, "s": 2.5, "beta": 30.0}])
def test_pareto_expected_transactions_by_quadrature(params):
    r, al, s, be = (params[k] for k in ("r", "alpha", "s", "beta"))
    for t in (1.0, 39.0, 200.0):
        # E[X(t)] = E[lambda] E[(1 - exp(-mu t)) / mu], mu ~ Gamma(s, rate beta)
        inner, _ = integrate.quad(lambda mu, t=t: -math.expm1(-mu * t) / mu * stats.gamma.pdf(mu, s, scale=1 / be),
                                  0, np.inf, limit=200)
        assert F.pareto_nbd_expected_transactions(params, t) == pytest.approx(r / al * inner, rel=1e-7)


def test_gamma_gamma_expected_spend_shrinks_towards_the_mean(fits):
    fit = fits["gamma_gamma"]
    mean = F.gamma_gamma_mean_spend(fit)
    e = F.gamma_gamma_expected_spend(fit, [0, 1, 5, 50], [np.nan, 100.0, 100.0, 100.0])
    assert e[0] == pytest.approx(mean)
    assert mean < e[1] < e[2] < e[3] < 100.0


def test_customer_lifetime_value(fits, cdnow):
    bg, gg = fits["bgnbd"], fits["gamma_gamma"]
    flat = F.customer_lifetime_value(bg, gg, cdnow, horizon=52, discount_rate=0.0)
    spend = F.gamma_gamma_expected_spend(gg, cdnow["frequency"], cdnow["monetary_value"])
    expected = F.bgnbd_conditional_expected_transactions(bg, 52.0, cdnow["frequency"], cdnow["recency"], cdnow["T"])
    np.testing.assert_allclose(flat.to_numpy(), expected * spend, rtol=1e-9)
    disc = F.customer_lifetime_value(bg, gg, cdnow, horizon=52, discount_rate=0.15, margin=0.3)
    assert (disc < flat * 0.3 + 1e-12).all() and (disc > flat * 0.3 / 1.15 - 1e-12).all()
    with pytest.raises(ConfigError, match="discount_rate"):
        F.customer_lifetime_value(bg, gg, cdnow, discount_rate=-2)


# --------------------------------------------------------------------------- holdout validation


def test_holdout_tracking_on_cdnow(cdnow_log, fits):
    for model, tol in (("bgnbd", 0.05), ("pareto_nbd", 0.05)):
        track = F.holdout_tracking(cdnow_log, fits[model], calibration_end="1997-09-30",
                                   observation_end="1998-06-30")
        assert len(track) == 78 and track["holdout"].sum() == 39
        assert track.loc[39, "actual"] == 2457 and track.loc[78, "actual"] == 2457 + 1882
        assert track["predicted"].is_monotonic_increasing
        # FHL (2005, fig. 2): both models track cumulative repeat sales within a few per cent
        assert track.loc[39, "predicted"] == pytest.approx(2457, rel=0.03)
        assert track.loc[78, "predicted"] == pytest.approx(4339, rel=tol)


def test_conditional_expectations_by_frequency(cdnow, fits):
    table = F.conditional_expectations_by_frequency(cdnow, fits["bgnbd"])
    assert list(table["label"]) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert table["n_customers"].sum() == 2357
    assert table["predicted"].is_monotonic_increasing
    weighted = (table["predicted"] * table["n_customers"]).sum()
    assert weighted == pytest.approx(F.bgnbd_conditional_expected_transactions(
        fits["bgnbd"], 39.0, cdnow["frequency"], cdnow["recency"], cdnow["T"]).sum())
    # FHL (2005, fig. 4): predictions follow the actual means bucket by bucket, within ~0.35 transactions
    assert np.all(np.abs(table["predicted"] - table["actual"]) < 0.4)


def test_fit_report_is_json_and_complete(cdnow):
    rep = F.fit_report(cdnow)
    text = json.dumps(rep, allow_nan=False)
    assert json.loads(text)["summary"]["n_customers"] == 2357
    bg = rep["models"]["bgnbd"]
    assert bg["converged"] and abs(bg["log_likelihood"] - BGNBD_LL) <= 0.1
    assert bg["holdout"]["actual_total"] == 1882
    assert set(rep["models"]) == {"bgnbd", "pareto_nbd", "gamma_gamma"}
    assert rep["models"]["gamma_gamma"]["holdout"]["n_customers"] > 0


def test_fit_report_from_a_file_includes_tracking():
    rep = F.fit_report(CDNOW, model="bgnbd", calibration_end="1997-09-30", observation_end="1998-06-30",
                       duplicates="keep")
    assert rep["log_report"]["n_duplicates"] == 21
    assert rep["models"]["bgnbd"]["holdout"]["tracking"]["final_actual"] == 4339


def test_plots_draw_what_they_are_given(cdnow_log, cdnow, fits):
    import matplotlib.pyplot as plt

    from loyalty_sim.plots.fit import plot_conditional_expectations, plot_holdout_tracking

    track = F.holdout_tracking(cdnow_log, fits["bgnbd"], calibration_end="1997-09-30")
    ax = plot_holdout_tracking(track)
    actual, predicted = ax.get_lines()[:2]
    np.testing.assert_array_equal(actual.get_ydata(), track["actual"].to_numpy())
    np.testing.assert_array_equal(predicted.get_ydata(), track["predicted"].to_numpy())
    assert ax.get_lines()[2].get_xdata()[0] == 39
    table = F.conditional_expectations_by_frequency(cdnow, fits["bgnbd"])
    fig, ax2 = plt.subplots()
    assert plot_conditional_expectations(table, ax=ax2) is ax2
    np.testing.assert_array_equal(ax2.get_lines()[1].get_ydata(), table["predicted"].to_numpy())
    plt.close("all")


# --------------------------------------------------------------------------- parameter recovery


def simulate_bgnbd(n, r, alpha, a, b, T, rng):
    """Draw (x, t_x, T) directly from the BG/NBD story (FHL 2005, section 2)."""
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    N = rng.poisson(lam * T)                 # purchases a never-dying customer makes in (0, T]
    J = rng.geometric(p)                     # dies right after its J-th repeat purchase
    x = np.minimum(N, J)
    t_x = np.zeros(n)
    pos = x > 0
    t_x[pos] = T[pos] * rng.beta(x[pos], N[pos] - x[pos] + 1)   # x-th order statistic of N uniforms
    return pd.DataFrame({"frequency": x, "recency": t_x, "T": T})


def simulate_pareto(n, r, alpha, s, beta, T, rng):
    lam = rng.gamma(r, 1.0 / alpha, n)
    tau = rng.exponential(1.0 / rng.gamma(s, 1.0 / beta, n))
    span = np.minimum(tau, T)
    x = rng.poisson(lam * span)
    t_x = np.zeros(n)
    pos = x > 0
    t_x[pos] = span[pos] * rng.beta(x[pos], 1)   # the last of x uniform arrivals in (0, span)
    return pd.DataFrame({"frequency": x, "recency": t_x, "T": T})


def _within(fit, truth, n_se=4.0, rel=0.25):
    for name, value in truth.items():
        err = abs(fit.params[name] - value)
        assert err <= n_se * fit.standard_errors[name] and err <= rel * value, (name, fit.params[name], value)


def test_bgnbd_recovers_simulated_parameters():
    rng = np.random.default_rng(20050401)
    truth = {"r": 0.6, "alpha": 5.0, "a": 0.9, "b": 3.0}
    T = rng.uniform(26.0, 52.0, 30_000)
    fit = F.fit_bgnbd(simulate_bgnbd(30_000, *truth.values(), T, rng))
    _within(fit, truth)


def test_pareto_nbd_recovers_simulated_parameters():
    rng = np.random.default_rng(1987)
    truth = {"r": 0.8, "alpha": 8.0, "s": 0.7, "beta": 12.0}
    T = rng.uniform(26.0, 52.0, 12_000)
    fit = F.fit_pareto_nbd(simulate_pareto(12_000, *truth.values(), T, rng))
    _within(fit, truth)


def test_gamma_gamma_recovers_simulated_parameters():
    rng = np.random.default_rng(2005)
    truth = {"p": 5.0, "q": 4.0, "gamma": 20.0}
    n = 8000
    x = rng.integers(1, 12, n)
    nu = rng.gamma(truth["q"], 1.0 / truth["gamma"], n)
    mean_spend = rng.gamma(truth["p"] * x, 1.0 / (x * nu))   # mean of x Gamma(p, nu) spends
    fit = F.fit_gamma_gamma(pd.DataFrame({"frequency": x, "monetary_value": mean_spend}))
    _within(fit, truth)


def test_large_summaries_fit_on_a_subsample_then_polish():
    rng = np.random.default_rng(7)
    truth = {"r": 0.3, "alpha": 4.0, "a": 0.8, "b": 2.5}
    T = np.floor(rng.uniform(30.0, 52.0, 120_000) * 7) / 7
    rfm = simulate_bgnbd(120_000, *truth.values(), T, rng)
    fit = F.fit_bgnbd(rfm)
    assert "sub-sample" in fit.message and fit.n_patterns < len(rfm)
    full = F.fit_bgnbd(rfm, starts=[fit.params])
    for name in truth:
        assert fit.params[name] == pytest.approx(full.params[name], rel=1e-4)


# --------------------------------------------------------------------------- failures


def test_no_dropout_data_raise_a_fit_error_that_says_what_to_try():
    # Everyone buys at the same Poisson rate and never leaves: a -> 0 / b -> inf, r, alpha -> inf.
    rng = np.random.default_rng(11)
    n = 4000
    T = np.full(n, 52.0)
    x = rng.poisson(0.2 * T)
    t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), 1), 0.0)
    rfm = pd.DataFrame({"frequency": x, "recency": t_x, "T": T})
    with pytest.raises(FitError, match="What to try") as info:
        F.fit_bgnbd(rfm)
    assert "did not converge" in str(info.value)
    res = F.fit_bgnbd(rfm, raise_on_failure=False)
    assert res.converged is False and "What to try" in res.message


def test_bad_inputs_are_named():
    with pytest.raises(ConfigError, match="params.alpha"):
        F.bgnbd_expected_transactions({"r": 1, "alpha": -1, "a": 1, "b": 1}, 1.0)
    with pytest.raises(ConfigError, match="params.b"):
        F.bgnbd_pmf({"r": 1, "alpha": 1, "a": 1}, 1.0, 0)
    with pytest.raises(DataError, match="recency"):
        F.fit_bgnbd(pd.DataFrame({"frequency": [1, 0], "recency": [5.0, 0.0], "T": [4.0, 3.0]}))
    with pytest.raises(DataError, match="frequency"):
        F.fit_bgnbd(pd.DataFrame({"frequency": [0, 0], "recency": [0.0, 0.0], "T": [4.0, 3.0]}))
    with pytest.raises(DataError, match="monetary_value"):
        F.fit_gamma_gamma(pd.DataFrame({"frequency": [1, 2], "monetary_value": [0.0, 3.0]}))
    with pytest.raises(ConfigError, match="params.q"):
        F.gamma_gamma_mean_spend({"p": 1, "q": 0.5, "gamma": 1})


def test_more_starts_agree(cdnow, fits):
    fit = F.fit_bgnbd(cdnow, n_starts=5, rng=np.random.default_rng(3))
    assert fit.n_starts == 5 and fit.converged and fit.message.startswith("converged:")
    for name, value in fits["bgnbd"].params.items():
        assert fit.params[name] == pytest.approx(value, rel=1e-5)
    with pytest.raises(ConfigError, match="n_starts"):
        F.fit_bgnbd(cdnow, n_starts=0)


def test_fit_report_leaves_out_customers_first_seen_on_the_last_day(tmp_path):
    """The CDNOW log plus a customer whose only purchase is on the log's last day (T = 0)."""
    from loyalty_sim.fit import fit_report

    src = Path(__file__).resolve().parents[1] / "loyalty_sim" / "datasets" / "CDNOW_sample.txt"
    path = tmp_path / "cdnow_plus_late.txt"
    path.write_bytes(src.read_bytes() + b" 99999 9999 19980630  1   15.00\r\n")
    rep = fit_report(path, model="bgnbd", format="cdnow", duplicates="keep")
    assert rep["summary"]["customers_left_out_observed_for_no_time"] == 1
    assert rep["summary"]["n_customers"] == 2357
    assert "error" not in rep["models"]["bgnbd"], rep["models"]["bgnbd"]
