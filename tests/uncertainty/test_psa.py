"""The PSA on real simulations: collapsed priors give the plain comparison, reuse is valid, unused parameters do not matter."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from loyalty_sim.behaviour import BehaviourParams
from loyalty_sim.comparison import compare
from loyalty_sim.engine import simulate
from loyalty_sim.uncertainty.decision import decision_table
from loyalty_sim.uncertainty.draws import Task, collapsed, psa, run_task
from loyalty_sim.uncertainty.sensitivity import first_order_regression


@pytest.mark.slow
def test_every_prior_collapsed_to_a_point_gives_the_plain_comparison(small_scenario):
    sc = collapsed(small_scenario)
    p = psa(sc, 2, replications=2)
    plain = compare(small_scenario, replications=2)
    pr = plain.per_replication
    for name in p.schemes:
        want = pr[(pr["scheme"] == name) & (pr["metric"] == "incremental_profit")].sort_values("replication")["value"]
        got = p.values()[:, :, p.schemes.index(name)]
        assert np.array_equal(got, np.tile(want.to_numpy(), (2, 1)))  # bit for bit, in both draws
    t = decision_table(p)
    eff = plain.effects().set_index(["scheme", "metric"])
    for name in p.schemes:
        assert t.loc[name, "expected"] == pytest.approx(eff.loc[(name, "incremental_profit"), "effect"], rel=1e-12)
        assert t.loc[name, "assumption_half_width"] == 0.0


def test_the_counterfactual_reads_no_behavioural_parameter(small_scenario):
    """Why one counterfactual per replication serves every draw: it is bit-identical under any behaviour."""
    pop = small_scenario.population(7)
    far = BehaviourParams(**{**BehaviourParams().to_dict(), "rate_lift_price": 0.6, "dropout_cut_price": 0.1,
                             "goal_gradient": 0.11, "take_up_heavy_bias": 3.0, "erosion_floor": 1.0})
    a = simulate(pop, None, weeks=40, seed=9, launch_week=8, behaviour=BehaviourParams())
    b = simulate(pop, None, weeks=40, seed=9, launch_week=8, behaviour=far)
    pd.testing.assert_frame_equal(a.weekly, b.weekly, check_exact=True)
    pd.testing.assert_frame_equal(a.customers, b.customers, check_exact=True)


def test_a_task_gives_the_same_bits_alone_and_in_any_order(small_scenario):
    p = psa(small_scenario, 3, replications=1)
    cf = run_task(Task(-1, None, 0, p.seeds[0][1], p.seeds[0][0], small_scenario))
    row = p.runs[(p.runs["draw"] == 2) & (p.runs["scheme"] == "club3")].iloc[0]
    b = BehaviourParams(**p.parameters.loc[2].to_dict())
    alone = run_task(Task(2, "club3", 0, p.seeds[0][1], p.seeds[0][0], small_scenario, b, p.economics,
                          cf["population"], cf["result"]))
    assert alone["incremental_profit"] == row["incremental_profit"]


@pytest.mark.slow
def test_a_parameter_a_scheme_never_reads_has_sensitivity_near_zero(small_scenario):
    """stamp10 reads the frequency lift and the goal gradient, never the tiers' status effect nor referrals."""
    free = ("rate_lift_price", "goal_gradient", "status_dropout_cut", "referral_max_rate")
    specs = {k: {"fixed": float(v)} for k, v in small_scenario.behaviour.to_dict().items() if k not in free}
    sc = dataclasses.replace(small_scenario, behaviour_priors=specs,
                             schemes=[s for s in small_scenario.schemes if s.name == "stamp10"])
    p = psa(sc, 64, replications=1)
    assert p.names == list(free)
    y = p.draw_means()["stamp10"].to_numpy()
    s = first_order_regression(p.unit, y, p.names)
    # GCV shrinks the fit on an input with no effect to almost a constant: its index is a few thousandths
    assert s["status_dropout_cut"] < 0.02 and s["referral_max_rate"] < 0.02
    assert s["rate_lift_price"] + s["goal_gradient"] > 0.5
