"""Pareto/NBD: analytic gradient, E[X(t)] by quadrature, parameter recovery."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from loyalty_sim import btyd as F
from loyalty_sim.btyd import _mle
from loyalty_sim.btyd import pareto_nbd as PN

from .published import PARETO_PUBLISHED
from .simulators import simulate_pareto, within


def test_pareto_gradient_matches_finite_differences(cdnow):
    x, t_x, T = _mle._btyd_arrays(cdnow)
    D = PN._PNData.build(_mle._unique_rows(x, t_x, T))
    for theta in ([0.55, 10.6, 0.6, 11.7], [0.55, 12.6, 0.6, 11.7], [0.2, 30.0, 0.3, 45.0]):
        theta = np.array(theta)
        ll, g = PN._pnbd_analytic(theta, D)
        np.testing.assert_allclose(ll, PN._pnbd_ll(theta[None], D)[0], rtol=1e-12, atol=1e-10)
        h = 1e-6
        num = np.array([(PN._pnbd_ll((theta + h * e)[None], D)[0] - PN._pnbd_ll((theta - h * e)[None], D)[0])
                        / (2 * h) for e in np.eye(4)])
        np.testing.assert_allclose(g @ D.w, num @ D.w, rtol=1e-5)


@pytest.mark.parametrize("params", [PARETO_PUBLISHED, {"r": 2.0, "alpha": 5.0, "s": 1.0, "beta": 7.0},
                                    {"r": 0.5, "alpha": 3.0, "s": 2.5, "beta": 30.0}])
def test_pareto_expected_transactions_by_quadrature(params):
    r, al, s, be = (params[k] for k in ("r", "alpha", "s", "beta"))
    for t in (1.0, 39.0, 200.0):
        # E[X(t)] = E[lambda] E[(1 - exp(-mu t)) / mu], mu ~ Gamma(s, rate beta)
        inner, _ = integrate.quad(lambda mu, t=t: -math.expm1(-mu * t) / mu * stats.gamma.pdf(mu, s, scale=1 / be),
                                  0, np.inf, limit=200)
        assert F.pareto_nbd_expected_transactions(params, t) == pytest.approx(r / al * inner, rel=1e-7)


def test_pareto_nbd_recovers_simulated_parameters():
    rng = np.random.default_rng(1987)
    truth = {"r": 0.8, "alpha": 8.0, "s": 0.7, "beta": 12.0}
    T = rng.uniform(26.0, 52.0, 12_000)
    fit = F.fit_pareto_nbd(simulate_pareto(12_000, *truth.values(), T, rng))
    within(fit, truth)
