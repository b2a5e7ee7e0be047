"""The compiled week step (counts and dropouts) gives the bits of the same steps on numpy arrays."""

import numpy as np
import pytest

from loyalty_sim.inversion import poisson_quantile
from loyalty_sim.purchases import purchases_and_dropouts, scheme_rates


def _numpy_search(u, mu, prob):
    """The CDF search on whole arrays: count the ``k`` with ``u - P(N <= k) > 0`` (at most 401)."""
    d = u - prob
    active = d > 0
    count = active.astype(np.int64)
    for k in range(1, 401):
        prob = prob * mu
        prob = prob * (1.0 / k)
        d = d - prob
        active &= d > 0
        count += active
    return count


def _numpy_week(u, mu, prob0, h, rem):
    """The engine's numpy formulation (before it was compiled): search, dropout budget, purchases made."""
    big = mu > 60
    k = _numpy_search(u, mu, prob0)
    k[big] = poisson_quantile(u[big], mu[big])  # the normal approximation there
    with np.errstate(divide="ignore"):
        k_death = np.where(h > 0, np.ceil(rem / np.where(h > 0, h, 1.0)), np.inf)
    died = np.flatnonzero(k >= k_death)
    made = np.minimum(k, k_death).astype(np.int64)
    return k, made, died, rem - made * h


def _inputs(seed, n_block=30_000, n_alive=20_000):
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(n_block, n_alive, replace=False))
    u_flat = rng.random(2 * n_block)
    u_flat[:50] = 1.0 - 1e-17 * rng.random(50)  # the search's exhausted tail
    u_pos = rng.permutation(n_block) * 2
    lam = rng.gamma(0.8, 0.4, n_block) * rng.choice([0.1, 1.0, 30.0, 200.0], n_block, p=[0.45, 0.45, 0.08, 0.02])
    lam[:40] = 0.0
    p = rng.beta(1.0, 6.0, n_block)
    p[40:200] = 0.0  # never leave (h = 0)
    h0 = -np.log1p(-np.minimum(p, 1 - 1e-12))
    remaining = rng.exponential(1.0, n_block)
    return rng, idx, u_flat, u_pos, lam, h0, remaining


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("by_customer", [(True, True), (True, False), (False, False)])
def test_compiled_week_has_the_bits_of_the_numpy_steps(seed, by_customer):
    rng, idx, u_flat, u_pos, lam, h0, remaining = _inputs(seed)
    mu_full, h_full = by_customer
    if mu_full:
        mu, prob0 = lam, np.exp(-lam)
    else:
        mu = lam[idx] * rng.uniform(0.8, 1.6, idx.size)
        prob0 = np.exp(-mu)
    h = h0 if h_full else h0[idx] * rng.uniform(0.5, 1.0, idx.size)
    a_mu = idx if mu_full else slice(None)
    a_h = idx if h_full else slice(None)
    want_k, want_made, want_died, want_rem = _numpy_week(u_flat[u_pos[idx]], mu[a_mu], prob0[a_mu], h[a_h],
                                                         remaining[idx])
    rem = remaining.copy()
    k, made, died = purchases_and_dropouts(idx, u_pos, u_flat, rem, mu, prob0, mu_full, h, h_full)
    assert (mu[a_mu] > 60).any() and (h[a_h] == 0).any() and want_died.size > 100  # every branch is reached
    assert np.array_equal(k, want_k) and np.array_equal(made, want_made) and np.array_equal(died, want_died)
    assert rem[idx].tobytes() == want_rem.tobytes()
    untouched = np.setdiff1d(np.arange(rem.size), idx)
    assert rem[untouched].tobytes() == remaining[untouched].tobytes()


def test_poisson_quantile_keeps_the_shape_of_its_input():
    rng = np.random.default_rng(3)
    u, mu = rng.random((3, 50)), rng.gamma(1.0, 2.0, (3, 50))
    got = poisson_quantile(u, mu)
    assert got.shape == (3, 50)
    assert np.array_equal(got.ravel(), poisson_quantile(u.ravel(), mu.ravel()))


def test_scheme_rates_have_the_bits_of_the_numpy_steps():
    rng = np.random.default_rng(9)
    n_block = 12_000
    idx = np.sort(rng.choice(n_block, 8000, replace=False))
    lam, p = rng.gamma(0.8, 0.5, n_block), rng.beta(1.0, 3.0, n_block)
    p[:30] = 1.0  # capped below 1: a finite hazard
    rate, dropout = 1.0 + rng.random(idx.size), rng.uniform(0.5, 1.2, idx.size)
    dropout[:5] = np.nan
    for r, d in ((rate, dropout), (1.0, dropout), (rate, 1.0)):
        mu, prob0, h = scheme_rates(idx, lam, p, r, d)
        want_mu = lam[idx] * r
        want_h = -np.log1p(-np.minimum(p[idx] * d / r, 1 - 1e-12))
        assert mu.tobytes() == want_mu.tobytes() and prob0.tobytes() == np.exp(-want_mu).tobytes()
        assert h.tobytes() == want_h.tobytes() and np.isfinite(h[5:]).all()
