"""Conformance of every scheme family to the protocol of :mod:`loyalty_sim.schemes.base`.

Each entry of ``schemes.FAMILIES`` runs through the same checks: a zero-value version is the
baseline, its unit ledger balances, its configuration round-trips, every cost it books counts
in profit, and its results do not depend on its name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty_sim import Population, load_preset, simulate
from loyalty_sim.ledger import check_accounts, weekly_costs
from loyalty_sim.schemes import (
    FAMILIES,
    PROGRAMME_COSTS,
    Cashback,
    Combined,
    FlatDiscount,
    Gift,
    Perks,
    Points,
    ProtocolError,
    Referral,
    Settlement,
    StampCard,
    TargetedOffers,
    Tiers,
    scheme_from_dict,
)

POP = Population(load_preset("grocery"), size=1500, weeks=20, seed=3)
RUN = dict(seed=4, launch_week=4)
WEEKLY = ["alive_start", "new_customers", "purchasers", "transactions", "gross_sales", "discount", "revenue",
          "reward_retail", "reward_cost", "dropouts"]
OPT_IN = {"mode": "opt_in", "take_up": 0.5, "weeks_to_enrol": 3.0}
TIERS = [{"name": "base", "threshold": 0},
         {"name": "gold", "threshold": 150, "discount": 0.05, "perk_value": 0.3, "perk_cost_per_week": 0.1}]

#: a zero-value version of every family: it must reproduce the baseline
ZERO = {
    "stamp_card": StampCard(name="z", reward_value=0.0, reward_cost=0.0),
    "points": Points(name="z", earn_rate=0.0),
    "tiers": Tiers(name="z", tiers=[{"name": "a", "threshold": 0}, {"name": "b", "threshold": 100}]),
    "discount": FlatDiscount(name="z", depth=0.0),
    "cashback": Cashback(name="z", rate=0.0),
    "gift": Gift(name="z", gift_value=0.0, gift_cost=0.0),
    "referral": Referral(name="z", referrer_reward=0.0, referee_reward=0.0),
    "perks": Perks(name="z", perks=[{"kind": "community", "intensity": 0.0, "cost_per_member_week": 0.0}]),
    "targeted_offers": TargetedOffers(name="z", category="baby", offer_value=0.0, email_cost=0.0),
    "combined": Combined(name="z", parts=[StampCard(name="a", reward_value=0.0, reward_cost=0.0),
                                          FlatDiscount(name="b", depth=0.0)]),
}

#: a working version of every family, with random draws of its own (opt-in enrolment where it has one)
#: and a cost of every kind it can book
TYPICAL = {
    "stamp_card": StampCard(name="s", stamps_required=6, min_ticket=5.0, enrolment=OPT_IN, cost_per_member_week=0.01),
    "points": Points(name="p", earn_rate=1.0, point_value=0.02, redemption={"rule": "free", "redeem_probability": 0.4},
                     expiry={"type": "rolling", "weeks": 4}, enrolment=OPT_IN, cost_per_member_week=0.01),
    "tiers": Tiers(name="t", tiers=TIERS, enrolment=OPT_IN, cost_per_member_week=0.01),
    "discount": FlatDiscount(name="d", depth=0.1, members_only=True, enrolment=OPT_IN, cost_per_member_week=0.01),
    "cashback": Cashback(name="c", rate=0.05, use="choose", use_probability=0.5, expiry_weeks=6, enrolment=OPT_IN),
    "gift": Gift(name="g", spend_threshold=80.0, gift_value=6.0, gift_cost=2.0, max_gifts=2, enrolment=OPT_IN),
    "referral": Referral(name="r", referrer_reward=5.0, referee_reward=5.0, enrolment=OPT_IN),
    "perks": Perks(name="k", perks=[{"kind": "community", "intensity": 0.5, "cost_per_member_week": 0.05}],
                   enrolment=OPT_IN),
    "targeted_offers": TargetedOffers(name="o", category="baby", audience="untargeted", email_cost=0.05),
    "combined": Combined(name="m", parts=[Points(name="p", earn_rate=1.0, enrolment=OPT_IN),
                                          TargetedOffers(name="o", category="baby", audience="untargeted",
                                                         email_cost=0.05)]),
}


def test_every_family_is_covered():
    assert set(ZERO) == set(FAMILIES) == set(TYPICAL)
    for kind, cls in FAMILIES.items():
        assert type(ZERO[kind]) is cls and type(TYPICAL[kind]) is cls


@pytest.fixture(scope="module")
def baseline():
    return simulate(POP, **RUN)


@pytest.fixture(scope="module")
def typical_runs():
    return {kind: simulate(POP, s, **RUN) for kind, s in TYPICAL.items()}


@pytest.mark.parametrize("kind", sorted(FAMILIES))
def test_zero_value_scheme_is_the_baseline(baseline, kind):
    res = simulate(POP, ZERO[kind], **RUN)
    pd.testing.assert_frame_equal(res.weekly[WEEKLY], baseline.weekly[WEEKLY])
    assert np.array_equal(res.customers["revenue"], baseline.customers["revenue"])


@pytest.mark.parametrize("kind", sorted(FAMILIES))
def test_unit_ledger_balances(typical_runs, kind):
    res = typical_runs[kind]
    acc = check_accounts(res)  # issued = redeemed + expired + outstanding, week by week
    units = {p.unit for p in res.parts() if p.unit is not None}
    assert set(acc["unit"]) == units if len(acc) else not units
    # the per-customer balances add up to the ledger's outstanding stock at the horizon
    bal = res.balances()
    for (part, unit), col in bal.items():
        last = acc[(acc["part"] == part) & (acc["unit"] == unit)]["outstanding"].iloc[-1]
        assert col.sum() == pytest.approx(last, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("kind", sorted(FAMILIES))
@pytest.mark.parametrize("which", ["zero", "typical"])
def test_configuration_round_trips(kind, which):
    s = (ZERO if which == "zero" else TYPICAL)[kind]
    assert scheme_from_dict(s.to_dict()) == s


@pytest.mark.parametrize("kind", sorted(FAMILIES))
def test_every_cost_booked_counts_in_profit(typical_runs, kind):
    res = typical_runs[kind]
    costs = res.costs()
    prog = weekly_costs(res)["programme_cost"].to_numpy()
    assert np.allclose(prog, costs.sum(axis=1).to_numpy() if costs.shape[1] else 0.0, rtol=0, atol=1e-12)
    # no ledger column looks like a cost without being one that is counted
    counted = set(PROGRAMME_COSTS) | {f"{p.prefix}{c}" for p in res.parts() for c in PROGRAMME_COSTS}
    valuations = {"reward_cost", "liability_cost"}
    stray = [c for c in res.weekly.columns if c.endswith("_cost") and c not in counted
             and c.rsplit(".", 1)[-1] not in valuations]
    assert stray == []
    booked = {c.rsplit(".", 1)[-1] for c in res.weekly.columns} & set(PROGRAMME_COSTS)
    assert set(costs.columns) == booked


def test_a_cost_that_is_not_declared_is_an_error():
    with pytest.raises(ProtocolError, match="sms_cost"):
        Settlement(costs={"sms_cost": np.zeros(1)})
    with pytest.raises(ProtocolError, match="sms_cost"):
        Settlement(ledger={"sms_cost": np.zeros(1)})
    Settlement(ledger={"liability_cost": np.zeros(1)}, costs={"member_cost": np.zeros(1)})


# ------------------------------------------------------------------------------------ names and streams
def _renamed(s, name: str):
    if isinstance(s, Combined):
        return s.model_copy(update={"name": name, "parts": [p.model_copy(update={"name": f"{name}{i}"})
                                                            for i, p in enumerate(s.parts)]})
    return s.model_copy(update={"name": name})


def _values(res) -> tuple[np.ndarray, list[np.ndarray]]:
    return res.weekly.to_numpy(), [res.customers[c].to_numpy() for c in res.customers.columns]


@pytest.mark.parametrize("kind", sorted(FAMILIES))
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_ 0123456789", min_size=1, max_size=12))
def test_renaming_a_scheme_changes_nothing(typical_runs, kind, name):
    res = simulate(POP, _renamed(TYPICAL[kind], name), **RUN)
    ref = typical_runs[kind]
    w, cust = _values(res)
    w_ref, cust_ref = _values(ref)
    assert np.array_equal(w, w_ref)
    assert len(cust) == len(cust_ref) and all(np.array_equal(a, b) for a, b in zip(cust, cust_ref))


def test_schemes_with_the_same_enrolment_rule_enrol_the_same_customers():
    runs = [simulate(POP, FlatDiscount(name=f"depth={d}", depth=d, members_only=True, enrolment=OPT_IN), **RUN)
            for d in (0.1, 0.2)]
    runs.append(simulate(POP, StampCard(name="card", enrolment=OPT_IN), **RUN))
    weeks = [r.state("enrol_week").to_numpy() for r in runs]
    assert (weeks[0] >= 0).any() and (weeks[0] < 0).any()
    for other in weeks[1:]:
        assert np.array_equal(weeks[0], other)


def test_parts_of_a_combination_draw_independently():
    a = FlatDiscount(name="a", depth=0.1, members_only=True, enrolment=OPT_IN)
    b = FlatDiscount(name="b", depth=0.1, members_only=True, enrolment=OPT_IN)
    both = simulate(POP, Combined(name="ab", parts=[a, b]), **RUN)
    ea, eb = both.state("enrol_week", "a").to_numpy(), both.state("enrol_week", "b").to_numpy()
    assert not np.array_equal(ea >= 0, eb >= 0)  # the same rule, yet not the same members
    # the first part draws what it draws on its own (a combination is paired with its first part)
    alone = simulate(POP, a, **RUN)
    assert np.array_equal(ea, alone.state("enrol_week").to_numpy())
