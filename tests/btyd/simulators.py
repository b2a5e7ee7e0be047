"""Test-side simulators of the BTYD stories (independent of the package) and a recovery check."""

from __future__ import annotations

import numpy as np
import pandas as pd


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


def within(fit, truth, n_se=4.0, rel=0.25):
    for name, value in truth.items():
        err = abs(fit.params[name] - value)
        assert err <= n_se * fit.standard_errors[name] and err <= rel * value, (name, fit.params[name], value)
