"""Priors: one per row, Beta-PERT with the mode at the point value; a scenario fixes a parameter or gives a range."""

from __future__ import annotations

import numpy as np
import pytest

from loyalty_sim.behaviour import PARAMETER_TABLE
from loyalty_sim.errors import ConfigError
from loyalty_sim.scenario import load_scenario, scenario_from_mapping
from loyalty_sim.uncertainty.priors import draw_parameters, priors, uncertain


def test_every_row_has_a_prior_with_its_mode_at_the_default_and_measured_rows_are_narrower():
    prs = priors()
    assert list(prs) == [p.name for p in PARAMETER_TABLE]
    for p in PARAMETER_TABLE:
        pr = prs[p.name]
        assert (pr.low, pr.mode, pr.high) == (p.plausible[0], p.default, p.plausible[1])
        x = pr.ppf(np.linspace(0.001, 0.999, 999))
        assert x.min() >= pr.low and x.max() <= pr.high
    a, b = prs["goal_gradient"].alpha_beta  # measured: weight 16
    assert a + b == pytest.approx(18.0)
    a, b = prs["erosion_floor"].alpha_beta  # an assumption: weight 4
    assert a + b == pytest.approx(6.0)
    # PERT mean (a + w m + b) / (w + 2)
    assert prs["erosion_floor"].mean() == pytest.approx((0.0 + 4 * 0.4 + 1.0) / 6)


def test_draws_are_reproducible_and_follow_the_prior():
    prs = priors()
    u1, d1 = draw_parameters(prs, 256, seed=5)
    u2, d2 = draw_parameters(prs, 256, seed=5)
    assert np.array_equal(u1, u2) and d1 == d2
    gg = np.array([d["goal_gradient"] for d in d1])
    # Sobol' points: the sample mean is within a small fraction of the prior sd of the prior mean
    sd = (prs["goal_gradient"].high - prs["goal_gradient"].low) * 0.1
    assert abs(gg.mean() - prs["goal_gradient"].mean()) < 0.05 * sd


def _scenario(behaviour):
    raw = {"name": "t", "preset": "coffee_shop", "customers": 100, "weeks": 10, "behaviour": behaviour,
           "schemes": [{"type": "stamp_card", "name": "s", "stamps_required": 5, "reward_value": 1, "reward_cost": 0.5}]}
    return scenario_from_mapping(raw, source="my.yaml")


def test_a_scenario_fixes_a_parameter_or_gives_its_own_range_and_round_trips():
    sc = _scenario({"goal_gradient": {"fixed": 0.2}, "erosion_floor": {"low": 0.2, "high": 0.6},
                    "rate_lift_price": 0.7})
    prs = priors(sc.behaviour, sc.behaviour_priors)
    assert sc.behaviour.goal_gradient == 0.2 and prs["goal_gradient"].fixed
    assert "goal_gradient" not in uncertain(prs)
    assert (prs["erosion_floor"].low, prs["erosion_floor"].mode, prs["erosion_floor"].high) == (0.2, 0.4, 0.6)
    assert prs["rate_lift_price"].high == 0.7 == prs["rate_lift_price"].mode  # the range widens to the point value
    back = scenario_from_mapping(sc.to_dict())
    assert back.behaviour_priors == sc.behaviour_priors and back.behaviour == sc.behaviour


@pytest.mark.parametrize("spec, field", [
    ({"goal_gradient": {"fixed": 0.2, "low": 0.1}}, "behaviour.goal_gradient"),
    ({"goal_gradient": {"low": 0.3, "high": 0.1}}, "behaviour.goal_gradient"),
    ({"goal_gradient": {"low": 0.1}}, "behaviour.goal_gradient"),
    ({"goal_gradient": {"lo": 0.1, "high": 0.3}}, "behaviour.goal_gradient"),
    ({"goal_gradient": {"low": "x", "high": 0.3}}, "behaviour.goal_gradient.low"),
    ({"goal_gradient": {"low": 0.1, "high": 0.3, "mode": 0.5}}, "behaviour.goal_gradient.mode"),
    ({"goal_gradient": {"low": 0.1, "high": 0.3, "weight": 0}}, "behaviour.goal_gradient.weight"),
    ({"discount_threshold": {"low": 0.1, "high": 0.4}}, "behaviour.discount_saturation"),
])
def test_a_bad_prior_names_the_file_and_the_field(spec, field):
    with pytest.raises(ConfigError) as exc:
        _scenario(spec)
    assert exc.value.field == field and exc.value.source == "my.yaml"


def test_shipped_scenarios_still_load_with_the_table_priors():
    sc = load_scenario("coffee_comparison")
    assert sc.behaviour_priors == {}
    assert len(uncertain(priors(sc.behaviour))) == len(PARAMETER_TABLE)


def test_opt_in_take_up_gets_a_prior_scaling_every_opt_in_scheme():
    from loyalty_sim.uncertainty.draws import is_opt_in, scaled_take_up
    from loyalty_sim.uncertainty.priors import TAKE_UP

    sc = load_scenario("coffee_comparison")  # member10 is opt-in at take-up 0.5
    prs = priors(sc.behaviour, sc.behaviour_priors, opt_in=any(is_opt_in(s) for s in sc.schemes))
    assert (prs[TAKE_UP].low, prs[TAKE_UP].mode, prs[TAKE_UP].high) == (0.5, 1.0, 1.5)
    member = next(s for s in sc.schemes if s.name == "member10")
    assert scaled_take_up(member, 1.0) is member  # unscaled: the very same scheme, so the same bits
    assert scaled_take_up(member, 1.4).enrolment.take_up == pytest.approx(0.7)
    assert scaled_take_up(member, 3.0).enrolment.take_up == 1.0  # capped
    stamp = next(s for s in sc.schemes if s.name == "stamp10")
    assert scaled_take_up(stamp, 1.4) == stamp  # automatic enrolment: nothing to scale


def test_the_take_up_scale_is_a_prior_only_and_round_trips():
    from loyalty_sim.uncertainty.priors import TAKE_UP

    sc = _scenario({TAKE_UP: {"low": 0.8, "high": 1.2}})
    assert priors(sc.behaviour, sc.behaviour_priors)[TAKE_UP].high == 1.2
    assert scenario_from_mapping(sc.to_dict()).behaviour_priors == sc.behaviour_priors
    for bad in (0.9, {"low": -0.5, "high": 1.0}):
        with pytest.raises(ConfigError) as exc:
            _scenario({TAKE_UP: bad})
        assert exc.value.field == f"behaviour.{TAKE_UP}"
