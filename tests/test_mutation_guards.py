"""Exact checks that catch the two mutants the architecture review found surviving.

1. ``comparison.interval`` must use the Student-t quantile (a normal quantile makes
   five-replication intervals about 30% too narrow).
2. ``Combined`` must compound till discounts, ``1 - prod(1 - d_i)``, as its docstring
   promises, not add them.
"""

from __future__ import annotations

import math

import numpy as np

from loyalty_sim import Population, simulate
from loyalty_sim.comparison import interval
from loyalty_sim.schemes import Combined, FlatDiscount


def test_interval_is_student_t_exactly():
    # [1, 2, 3]: mean 2, sd 1, se 1/sqrt(3); t(0.975, 2 df) = 4.302652729749464 (tables)
    mean, lo, hi = interval(np.array([1.0, 2.0, 3.0]), level=0.95)
    half = 4.302652729749464 / math.sqrt(3.0)
    assert mean == 2.0
    assert math.isclose(lo, 2.0 - half, rel_tol=1e-12)
    assert math.isclose(hi, 2.0 + half, rel_tol=1e-12)
    # five replications at 90%: t(0.95, 4 df) = 2.131846786326649
    v = np.array([10.0, 12.0, 9.0, 11.0, 13.0])
    mean, lo, hi = interval(v, level=0.90)
    half = 2.131846786326649 * v.std(ddof=1) / math.sqrt(5.0)
    assert math.isclose(hi - mean, half, rel_tol=1e-12)
    assert math.isclose(mean - lo, half, rel_tol=1e-12)


def test_combined_till_discounts_compound():
    pop = Population("coffee_shop", size=2000, weeks=12, seed=3)
    combo = Combined(name="both", parts=[FlatDiscount(name="ten", depth=0.10), FlatDiscount(name="twenty", depth=0.20)])
    res = simulate(pop, combo, seed=4, launch_week=4)
    after = res.weekly.loc[4:]
    share = after["discount"].sum() / after["gross_sales"].sum()
    # hand-computed bill: 1 - 0.9 * 0.8 = 0.28 off the full price (adding would give 0.30)
    assert math.isclose(share, 0.28, rel_tol=1e-9)
    before = res.weekly.loc[:3]
    assert before["discount"].sum() == 0.0
