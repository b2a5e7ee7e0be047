"""The shared fitting machinery on CDNOW: published estimates, FitResult, starts, sub-samples, failures, inputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from loyalty_sim import btyd as F
from loyalty_sim.errors import ConfigError, DataError, FitError

from .published import BGNBD_LL, BGNBD_PUBLISHED, PARETO_LL, PARETO_PUBLISHED
from .simulators import simulate_bgnbd


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


def test_more_starts_agree(cdnow, fits):
    fit = F.fit_bgnbd(cdnow, n_starts=5, rng=np.random.default_rng(3))
    assert fit.n_starts == 5 and fit.converged and fit.message.startswith("converged:")
    for name, value in fits["bgnbd"].params.items():
        assert fit.params[name] == pytest.approx(value, rel=1e-5)
    with pytest.raises(ConfigError, match="n_starts"):
        F.fit_bgnbd(cdnow, n_starts=0)


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
