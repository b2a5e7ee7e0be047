"""The fast per-granule sums and the inversion shortcuts give the same bits as the plain computations."""

import numpy as np
import pytest

from loyalty_sim.granules import bounds, counts, sums
from loyalty_sim.inversion import gamma_sum_quantile, gamma_wilson_hilferty, poisson_quantile


def _sorted_granules(rng, n, ng, empty=()):
    g = np.sort(rng.integers(0, ng, n))
    return g[~np.isin(g, empty)]


@pytest.mark.parametrize("zero_share", [0.0, 0.3, 0.7, 0.97, 1.0])  # 0.97: the few-values path
def test_sums_have_the_bits_of_bincount(zero_share):
    rng = np.random.default_rng(11)
    g = _sorted_granules(rng, 20_000, 16, empty=(3, 15))
    v = rng.gamma(2.0, 5.0, g.size) * 10.0 ** rng.integers(-8, 8, g.size)  # wide magnitudes: order matters
    v[rng.random(g.size) < zero_share] = 0.0
    v[rng.random(g.size) < 0.01] *= -1.0
    v[:5] = -0.0
    got = sums(v, bounds(g, 16))
    want = np.bincount(g, weights=v, minlength=16)
    assert got.tobytes() == want.tobytes()
    # the check can fail: a pairwise sum differs in the last bits on these magnitudes
    pairwise = np.array([v[g == k].sum() for k in range(16)])
    assert zero_share == 1.0 or pairwise.tobytes() != want.tobytes()


def test_all_negative_zero_run_sums_to_positive_zero_as_bincount():
    g = np.array([0, 0, 1, 1])
    v = np.array([-0.0, -0.0, 1.0, -0.0])
    got = sums(v, bounds(g, 3))
    assert got.tobytes() == np.bincount(g, weights=v, minlength=3).tobytes()
    assert not np.signbit(got[0])


def test_counts_are_exact_for_bool_int_and_whole_floats():
    rng = np.random.default_rng(2)
    g = _sorted_granules(rng, 10_000, 8, empty=(0, 7))
    e = bounds(g, 8)
    for v in (rng.random(g.size) < 0.4, rng.integers(0, 50, g.size), np.floor(rng.random(g.size) * 1e6)):
        assert np.array_equal(counts(v, e), np.bincount(g, weights=v.astype(float), minlength=8))
    assert np.array_equal(counts(np.zeros(0, dtype=bool), bounds(np.zeros(0, dtype=int), 4)), np.zeros(4))


def test_poisson_quantile_with_known_exp_and_counting_search_is_unchanged():
    rng = np.random.default_rng(5)
    mu = np.minimum(rng.gamma(1.2, 1.0, 40_000) * rng.choice([0.3, 1.0, 8.0, 40.0], 40_000), 70.0)
    u = rng.random(mu.size)
    u[:20], mu[20:30] = 1.0 - 1e-17 * rng.random(20), 0.0
    got = poisson_quantile(u, mu, prob0=np.exp(-mu))
    assert np.array_equal(got, poisson_quantile(u, mu))
    # reference: the plain sequential search, element by element
    for i in rng.choice(np.flatnonzero(mu <= 60), 300, replace=False):
        p = d = 0.0
        p = np.exp(-mu[i])
        d = u[i] - p
        k = 0
        while d > 0 and k <= 400:
            k += 1
            p = p * mu[i] * (1.0 / k)
            d -= p
        assert got[i] == k


def test_gamma_sum_quantile_equals_wilson_hilferty_of_the_summed_shape():
    rng = np.random.default_rng(9)
    n = rng.integers(1, 40, 30_000)
    u = rng.random(n.size)
    for shape in (8.0, 0.7, 2.5):  # 0.7: small shapes are inverted exactly
        got = gamma_sum_quantile(n, shape, u)
        assert got.tobytes() == gamma_wilson_hilferty(n * shape, u).tobytes()
