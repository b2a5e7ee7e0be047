"""Opt-in take-up as a marketer counts it, measured from simulated customers through ``simulate``.

``take_up`` is the share of the customers who shop after launch that join, at their first visit
after launch (see :class:`loyalty_sim.schemes.Enrolment`).
"""

from __future__ import annotations

import numpy as np
import pytest

from loyalty_sim import Population, simulate
from loyalty_sim.schemes import Enrolment, Points

LAUNCH, WEEKS = 13, 52


@pytest.fixture(scope="module", params=["coffee_shop", "grocery"])
def population(request):
    return Population(request.param, size=20_000, weeks=WEEKS, seed=51)


@pytest.mark.parametrize("take_up", [0.2, 0.5, 0.8])
def test_members_over_customers_who_shop_after_launch_is_the_take_up(population, take_up):
    res = simulate(population, Points(name="p", enrolment=Enrolment(mode="opt_in", take_up=take_up)),
                   seed=52, launch_week=LAUNCH, output="log")
    c = res.customers.set_index("customer_id")
    log = res.transactions
    after = log[log["week"] >= LAUNCH]
    first_after = after.groupby("customer_id")["week"].min()
    shops = c.index.isin(first_after.index)
    member = c["member:p"].to_numpy()
    assert not member[~shops].any()                      # nobody joins without a visit after launch
    share = member[shops].mean()
    se = np.sqrt(take_up * (1 - take_up) / shops.sum())
    assert abs(share - take_up) <= 3 * se, (share, take_up, se, shops.sum())
    # members join at their first visit after launch (the window of the definition)
    joined = c.loc[member, "enrol_week:p"]
    assert (joined.to_numpy() == first_after.reindex(joined.index).to_numpy()).all()


def test_heavier_buyers_still_join_more_often(population):
    res = simulate(population, Points(name="p", enrolment=Enrolment(mode="opt_in", take_up=0.5)),
                   seed=52, launch_week=LAUNCH)
    c = res.customers
    col = f"transactions_w0_{LAUNCH}"
    base = c[(c["acquisition_week"] < LAUNCH) & (c["last_purchase_week"] >= LAUNCH)]
    assert col in base, "the run keeps a pre-launch window (launch splits the horizon)"
    heavy = base[col] >= base[col].quantile(2 / 3)
    assert base.loc[heavy, "member:p"].mean() > base.loc[~heavy, "member:p"].mean()
