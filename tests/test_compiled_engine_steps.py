"""The engine's compiled booking and till steps give the bits of the numpy formulations they replaced."""

import numpy as np


def test_engine_sums_and_totals_in_one_pass_match_the_numpy_steps():
    from loyalty_sim.engine import _sum_and_add
    from loyalty_sim.granules import bounds, sums
    rng = np.random.default_rng(24)
    n_block, ng = 8000, 7
    idx = np.sort(rng.choice(n_block, 5000, replace=False))
    granule_of = np.sort(rng.integers(0, ng, n_block))
    edges = bounds(granule_of[idx], ng)
    values = np.where(rng.random(idx.size) < 0.3, rng.normal(0, 5, idx.size), 0.0)
    values[:3] = -0.0
    total = rng.random(n_block)
    want_total = total.copy()
    nz = np.flatnonzero(values != 0)
    want_total[idx[nz]] += values[nz]
    got = _sum_and_add(values, idx, edges, total)
    assert got.tobytes() == np.bincount(granule_of[idx], weights=values, minlength=ng).tobytes()
    assert got.tobytes() == sums(values, edges).tobytes() and total.tobytes() == want_total.tobytes()


def test_engine_till_and_net_in_one_pass_match_the_numpy_steps():
    from loyalty_sim.till import net_of_discounts as _net
    from loyalty_sim.till import ticket_and_discount as _till
    rng = np.random.default_rng(25)
    n = 5000
    gross = np.where(rng.random(n) < 0.4, rng.gamma(2.0, 5.0, n), 0.0)
    ticket, rate = 1.0 + rng.random(n) * 0.2, rng.choice([0.0, 0.05, 0.1], n)
    settled = np.where(rng.random(n) < 0.1, -0.0, rng.random(n))
    want_gross = gross * ticket
    want_till = want_gross * rate
    want_bill = want_gross - want_till
    got_till, got_bill = _till(gross, ticket, rate)
    assert gross.tobytes() == want_gross.tobytes()
    assert got_till.tobytes() == want_till.tobytes() and got_bill.tobytes() == want_bill.tobytes()
    want_discount = want_till + settled
    discount, revenue = _net(gross, got_till, settled)
    assert discount.tobytes() == want_discount.tobytes()
    assert revenue.tobytes() == (want_gross - want_discount).tobytes()
