"""BG/NBD: closed forms against independent oracles, conditional expectations, parameter recovery."""

from __future__ import annotations

import numpy as np
import pytest

from loyalty_sim import btyd as F

from ..oracles import bgnbd_mean, bgnbd_pmf
from .published import BGNBD_PUBLISHED
from .simulators import simulate_bgnbd, within

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


def test_bgnbd_recovers_simulated_parameters():
    rng = np.random.default_rng(20050401)
    truth = {"r": 0.6, "alpha": 5.0, "a": 0.9, "b": 3.0}
    T = rng.uniform(26.0, 52.0, 30_000)
    fit = F.fit_bgnbd(simulate_bgnbd(30_000, *truth.values(), T, rng))
    within(fit, truth)
