"""The decision statistics and the value of information, on synthetic draws with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from loyalty_sim.uncertainty.decision import decision_table, variance_parts
from loyalty_sim.uncertainty.priors import sobol_points
from loyalty_sim.uncertainty.value_of_information import evpi, evpi_of, evppi, evppi_of

from .conftest import synthetic_psa


def _two_inputs(n: int = 512, seed: int = 11):
    u = sobol_points(n, 2, seed)
    return u, 2.0 * u - 1.0  # theta ~ U(-1, 1) in each column


def test_law_of_total_variance_recovers_the_assumption_and_noise_parts():
    """y = 10 theta + noise(sd 2): assumption variance 100/3, noise variance 4."""
    u, th = _two_inputs(1024)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(5)))
    v = (10 * th[:, 0])[:, None, None] + rng.normal(0, 2.0, size=(1024, 3, 1))
    a, noise = variance_parts(v)
    # sampling sd of a variance estimate is about var * sqrt(2 / dof): 10% tolerances are > 3 sd here
    assert a[0] == pytest.approx(100 / 3, rel=0.1)
    assert noise[0] == pytest.approx(4.0, rel=0.1)
    t = decision_table(synthetic_psa(u, v, ["rate_lift_price", "goal_gradient"], ["a"]))
    z = stats.norm.ppf(0.975)
    assert t.loc["a", "noise_half_width"] == pytest.approx(z * 2 / np.sqrt(3), rel=0.1)
    assert t.loc["a", "assumption_half_width"] == pytest.approx(z * np.sqrt(100 / 3), rel=0.1)
    assert t.loc["a", "p_pays"] == pytest.approx(0.5, abs=0.05)


def test_probabilities_of_being_best_sum_to_one_and_losses_are_consistent():
    u, th = _two_inputs()
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(6)))
    v = np.stack([th[:, 0], 0.5 * th[:, 1] + 0.1, -0.2 + 0 * th[:, 0]], axis=1)[:, None, :] \
        + rng.normal(0, 0.05, size=(len(u), 2, 3))
    psa = synthetic_psa(u, v, ["rate_lift_price", "goal_gradient"], ["a", "b", "c"])
    t = decision_table(psa)
    assert t["p_best"].sum() == pytest.approx(1.0, abs=1e-12)
    assert set(t.index) == {"no scheme", "a", "b", "c"}
    # EVPI is the smallest expected loss (that of the option best on average)
    assert evpi(psa) == pytest.approx(t["expected_loss"].min(), rel=1e-12)
    assert t["expected_loss"].idxmin() == t["expected"].idxmax()


def test_evpi_and_evppi_match_the_known_answer_and_vanish_for_an_unrelated_input():
    """Options: nothing (0) or a scheme paying theta_0 ~ U(-1, 1): EVPI = E[max(0, theta_0)] = 0.25."""
    u, th = _two_inputs(1024)
    values = np.column_stack([np.zeros(len(u)), th[:, 0]])
    assert evpi_of(values) == pytest.approx(0.25, abs=0.01)
    assert evppi_of(u[:, [0]], values) == pytest.approx(0.25, abs=0.01)
    assert 0.0 <= evppi_of(u[:, [1]], values) < 0.02  # knowing an input the profit ignores is worth ~nothing


def test_value_of_information_is_zero_when_one_scheme_wins_every_draw():
    u, th = _two_inputs(256)
    v = np.stack([10 + th[:, 0], 5 + th[:, 0] + th[:, 1]], axis=1)[:, None, :]
    psa = synthetic_psa(u, v, ["rate_lift_price", "dropout_cut_price"], ["a", "b"])
    assert evpi(psa) == 0.0
    t = evppi(psa)
    assert (t["evppi"] == 0.0).all()
    assert decision_table(psa).loc["a", "p_best"] == 1.0


def test_value_of_information_is_never_negative():
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(8)))
    for trial in range(5):
        u = sobol_points(128, 3, trial)
        values = rng.normal(size=(128, 3)) + u[:, [0]]
        total = evpi_of(values)
        assert total >= 0
        for cols in ([0], [1, 2]):
            assert 0.0 <= evppi_of(u[:, cols], values) <= total
