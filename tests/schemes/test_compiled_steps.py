"""The schemes' compiled per-customer steps give the bits of the numpy formulations they replaced."""

import numpy as np

from loyalty_sim.schemes.common import _goal_gradient, _value_effects


def _numpy_value_effects(idx, fade, response, member, rate_sens, dropout_sens):
    g = fade * response
    g = np.where(member, g, 0.0)
    rate = rate_sens[idx] * g
    rate += 1.0
    dropout = dropout_sens[idx] * g
    return rate, np.subtract(1.0, dropout)


def _numpy_goal_gradient(idx, progress, last_progress, cycled, lightness, g, big_h):
    p = np.clip(progress, 0.0, 1.0)
    last = last_progress[idx] - 1e-12
    went_back = cycled[idx] | (p < last)
    cycled[idx] = went_back
    last_progress[idx] = p
    den = np.where(went_back, 1.0, p) * lightness[idx] * (big_h - 1.0) + 1.0
    return (g * p + 1.0) / den


def test_value_effects_match_the_numpy_steps():
    rng = np.random.default_rng(4)
    n = 5000
    idx = np.sort(rng.choice(8000, n, replace=False))
    fade, response = rng.random(n), rng.random(n)
    member = rng.random(n) < 0.7
    rate_sens = rng.normal(1.0, 0.8, 8000)  # some negative: x = 0 gives -0.0, then + 1.0
    dropout_sens = rng.random(8000) * 0.9
    got = _value_effects(idx, fade, response, member, rate_sens, dropout_sens)
    want = _numpy_value_effects(idx, fade, response, member, rate_sens, dropout_sens)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(got, want))


def test_goal_gradient_matches_the_numpy_steps_and_records_the_progress():
    rng = np.random.default_rng(8)
    n_block = 9000
    idx = np.sort(rng.choice(n_block, 6000, replace=False))
    lightness = rng.random(n_block)
    state = [rng.random(n_block), rng.random(n_block) < 0.2]  # last progress, went back before
    copies = [a.copy() for a in state]
    for _week in range(4):  # progress rises and sometimes falls back (a reward)
        progress = rng.uniform(-0.2, 1.3, idx.size)
        progress[:3] = [np.nan, -0.0, 1.0]
        got = _goal_gradient(idx, progress, state[0], state[1], lightness, 0.6, 1.21)
        want = _numpy_goal_gradient(idx, progress, copies[0], copies[1], lightness, 0.6, 1.21)
        assert got.tobytes() == want.tobytes()
        assert state[0].tobytes() == copies[0].tobytes() and np.array_equal(state[1], copies[1])
    assert state[1][idx].any() and not state[1][idx].all()
