"""The scheme ledger: units issued, redeemed, expired and outstanding; reward and programme costs.

A run's ``weekly`` frame carries the scheme's own columns (``points_issued``,
``stamps_outstanding``, ``perk_cost``...; prefixed ``part.`` inside a combination).
This module gathers them into one tidy ledger per scheme part and checks the
accounting identity ``issued = redeemed + expired + outstanding`` week by week.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .result import SimulationResult
from .schemes.base import PROGRAMME_COSTS

_FLOW = ("issued", "redeemed", "expired")

#: programme costs (currency per week), summed into ``programme_cost``; discounts given by
#: offers or points are not here: they already lower revenue (declared in :mod:`loyalty_sim.schemes.base`)
COST_COLUMNS = PROGRAMME_COSTS


def unit_accounts(result: SimulationResult) -> pd.DataFrame:
    """Long-format ledger of scheme units (stamps, points, credit) per week.

    Returns
    -------
    DataFrame
        Columns ``part, unit, week, issued, redeemed, expired, outstanding,
        cumulative_issued, cumulative_redeemed, cumulative_expired, breakage_rate``
        (``breakage_rate`` = expired so far / issued so far).
    """
    frames = []
    for part, f in result.accounts():
        for k in _FLOW:
            f[f"cumulative_{k}"] = f[k].cumsum()
        with np.errstate(invalid="ignore", divide="ignore"):
            f["breakage_rate"] = np.where(f["cumulative_issued"] > 0,
                                          f["cumulative_expired"] / f["cumulative_issued"], 0.0)
        f.insert(0, "unit", part.unit)
        f.insert(0, "part", part.name)
        frames.append(f.reset_index())
    if not frames:
        return pd.DataFrame(columns=["part", "unit", "week", *_FLOW, "outstanding"])
    return pd.concat(frames, ignore_index=True)


def check_accounts(result: SimulationResult, *, atol: float = 1e-6) -> pd.DataFrame:
    """The identity ``cumulative issued = redeemed + expired + outstanding`` per unit and week.

    Returns the accounts with a ``gap`` column; raises ``AssertionError`` naming the
    first week where the gap exceeds ``atol`` or a balance is negative.
    """
    acc = unit_accounts(result)
    if acc.empty:
        return acc.assign(gap=[])
    acc["gap"] = acc["cumulative_issued"] - acc["cumulative_redeemed"] - acc["cumulative_expired"] - acc["outstanding"]
    bad = acc[(acc["gap"].abs() > atol * np.maximum(1.0, acc["cumulative_issued"].abs())) | (acc["outstanding"] < -atol)]
    if len(bad):
        r = bad.iloc[0]
        raise AssertionError(f"{r['part']} {r['unit']}: ledger does not balance in week {r['week']}: "
                             f"issued {r['cumulative_issued']:.4f} != redeemed {r['cumulative_redeemed']:.4f} + "
                             f"expired {r['cumulative_expired']:.4f} + outstanding {r['outstanding']:.4f}")
    return acc


def weekly_costs(result: SimulationResult) -> pd.DataFrame:
    """Per-week scheme money: discount, reward at retail and cost, each programme cost, liability.

    Returns
    -------
    DataFrame indexed by week with ``discount, reward_retail, reward_cost`` (from the
    run), one column per cost in :data:`COST_COLUMNS` present (all parts summed),
    ``programme_cost`` (their sum), ``liability_retail`` and ``liability_cost``
    (outstanding units valued, end of week).
    """
    w = result.weekly
    n = len(w)
    out = {c: w[c].to_numpy() if c in w else np.zeros(n) for c in ("discount", "reward_retail", "reward_cost")}
    prog = np.zeros(n)
    costs = result.costs()
    for cost in costs.columns:
        out[cost] = costs[cost].to_numpy()
        prog = prog + out[cost]
    out["programme_cost"] = prog
    for lia in ("liability_retail", "liability_cost"):
        booked = result.ledger(lia)
        out[lia] = booked.to_numpy() if booked is not None else np.zeros(n)
    return pd.DataFrame(out, index=w.index)
