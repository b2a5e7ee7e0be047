"""Who gets a scheme's rewards: points, value back and uplift by how heavily customers buy.

A points design is judged not only by its total cost but by where the value lands:
front-loaded accrual favours new customers, progressive accrual the heaviest; a tiered
redemption threshold that light customers never reach leaves them with nothing (and the
shop with breakage). The tables here split customers into light, middle and heavy thirds
by their purchase rate *in the counterfactual run* (same customers and random numbers,
no scheme), so the grouping is not moved by the scheme itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .errors import ConfigError
from .result import SimulationResult
from .scenario import ScenarioRun

#: heaviness groups, lightest first
HEAVINESS = ("light", "middle", "heavy")


def heaviness_groups(baseline: SimulationResult | pd.DataFrame, *, weeks: int | None = None, from_week: int = 0,
                     min_alive_weeks: int = 4) -> pd.Series:
    """Light / middle / heavy thirds by purchases per alive week (from ``from_week``) without the scheme.

    Parameters
    ----------
    baseline : SimulationResult or DataFrame
        The counterfactual run (or its ``customers``).
    weeks : int, optional
        The run's horizon (default: the baseline's; required with a DataFrame).
    from_week : int
        First week counted (the launch week: heaviness while the scheme would run).
    min_alive_weeks : int
        Customers alive for fewer weeks from ``from_week`` are left out (their rate is noise).

    Returns
    -------
    Series of ``HEAVINESS`` labels (categorical) indexed by ``customer_id``; customers
    left out are absent.
    """
    if isinstance(baseline, pd.DataFrame):
        if weeks is None:
            raise ConfigError("give the horizon with a customers frame", field="weeks")
        baseline = SimulationResult.from_customers(baseline, weeks=weeks)
    c = baseline.customers
    weeks = baseline.weeks if weeks is None else weeks
    alive = baseline.alive_weeks(from_week, weeks)
    tx = baseline.window(from_week, weeks, "transactions").to_numpy()
    keep = alive >= min_alive_weeks
    if keep.sum() < len(HEAVINESS):
        raise ConfigError(f"too few customers alive for {min_alive_weeks} weeks from week {from_week}", field="from_week")
    rate = tx[keep] / alive[keep]
    # ranks break ties (many light customers share a rate of 0) so the thirds are equal in size
    ranks = pd.Series(rate).rank(method="first").to_numpy()
    labels = pd.Categorical.from_codes(np.minimum((ranks - 1) * 3 // len(ranks), 2).astype(int), HEAVINESS)
    return pd.Series(labels, index=pd.Index(c["customer_id"].to_numpy()[keep], name="customer_id"), name="heaviness")


def _by_customer(result: SimulationResult, values: pd.Series | np.ndarray, ids: pd.Index) -> pd.Series:
    """Per-customer ``values`` (aligned with ``result.customers``) for the customers ``ids``."""
    keyed = pd.Series(np.asarray(values), index=pd.Index(result.customers["customer_id"].to_numpy(), name="customer_id"))
    return keyed.loc[ids]


def reward_distribution(run: ScenarioRun, scheme: str) -> pd.DataFrame:
    """Points or stamps earned, value handed back and the uplift, per heaviness group.

    Parameters
    ----------
    run : ScenarioRun
        One replication (baseline and schemes on the same customers).
    scheme : str
        The scheme's name.

    Returns
    -------
    DataFrame indexed by heaviness with ``customers``, ``member_share``,
    ``units_earned_per_customer`` and ``units_redeemed_per_customer`` (points, stamps or
    credit: the scheme's own unit; NaN for schemes without one), ``value_back_per_customer``
    (currency at retail: money off plus rewards handed out, after launch),
    ``value_back_share`` (of the group's full-price spend after launch), ``cost_per_customer``
    (money off plus rewards at cost), ``purchases_uplift`` (relative change in purchases
    after launch against the counterfactual) and ``spend_per_customer_week_baseline``.
    """
    if scheme not in run.results or scheme == "baseline":
        raise ConfigError(f"unknown scheme '{scheme}'; the run has {[k for k in run.results if k != 'baseline']}",
                          field="scheme")
    launch = run.scenario.launch_week
    weeks = run.scenario.weeks
    base_run, run_s = run.baseline, run.results[scheme]
    groups = heaviness_groups(base_run, weeks=weeks, from_week=launch)
    ids = groups.index
    res = run_s.customers.set_index("customer_id").loc[ids]
    tx_s = _by_customer(run_s, run_s.window(launch, weeks, "transactions"), ids)
    tx_b = _by_customer(base_run, base_run.window(launch, weeks, "transactions"), ids)
    rev_s = _by_customer(run_s, run_s.window(launch, weeks, "revenue"), ids)
    value = res["discount"] + res.get("reward_retail", 0.0)
    cost = res["discount"] + res["reward_cost"]
    gross_after = rev_s + res["discount"]
    members = run_s.members()  # a combination: member of any part
    frame = pd.DataFrame({"group": groups, "value": value, "cost": cost, "gross": gross_after,
                          "tx_s": tx_s, "tx_b": tx_b,
                          "member": _by_customer(run_s, members, ids) if members is not None else True})
    config = next((s for s in run.scenario.schemes if s.name == scheme), None)
    earned, redeemed = _unit_columns(run_s, config, ids)
    frame["earned"], frame["redeemed"] = earned, redeemed
    alive_weeks = _by_customer(base_run, base_run.alive_weeks(launch, weeks), ids).to_numpy()
    frame["spend_b"] = _by_customer(base_run, base_run.window(launch, weeks, "revenue"), ids)
    frame["alive_weeks"] = alive_weeks
    g = frame.groupby("group", observed=False)
    out = pd.DataFrame({
        "customers": g.size(),
        "member_share": g["member"].mean(),
        "units_earned_per_customer": g["earned"].mean(),
        "units_redeemed_per_customer": g["redeemed"].mean(),
        "value_back_per_customer": g["value"].mean(),
        "value_back_share": g["value"].sum() / g["gross"].sum(),
        "cost_per_customer": g["cost"].mean(),
        "purchases_uplift": g["tx_s"].sum() / g["tx_b"].sum() - 1.0,
        "spend_per_customer_week_baseline": g["spend_b"].sum() / g["alive_weeks"].sum(),
    })
    out.index.name = "heaviness"
    out.attrs["units"] = {"value_back_per_customer": "currency at retail after launch",
                          "cost_per_customer": "currency at cost after launch",
                          "value_back_share": "share of full-price spend after launch",
                          "purchases_uplift": "relative to the counterfactual"}
    return out


def _unit_columns(result: SimulationResult, config: Any, ids: pd.Index) -> tuple[pd.Series, pd.Series]:
    """Per-customer units earned and redeemed over the horizon (points, or stamps), NaN where untracked.

    A combination's units count when exactly one of its parts keeps points or stamps (units of
    different parts do not add up).
    """
    nan = pd.Series(np.nan, index=ids)
    parts = list(config.components()) if config is not None else []
    found = []
    for part in parts:
        earned, redeemed = result.state("points_earned", part.name), result.state("points_redeemed", part.name)
        rewards = result.state("rewards", part.name)
        if earned is not None and redeemed is not None:
            found.append((_by_customer(result, earned, ids), _by_customer(result, redeemed, ids)))
        elif rewards is not None:  # stamps: redeemed = completed cards x stamps per card
            found.append((nan, _by_customer(result, rewards, ids) * part.stamps_required))
    return found[0] if len(found) == 1 else (nan, nan)


def distribution_table(run: ScenarioRun, schemes: list[str] | None = None) -> pd.DataFrame:
    """:func:`reward_distribution` for several schemes, long format (``scheme``, ``heaviness``, columns)."""
    names = schemes or [k for k in run.results if k != "baseline"]
    return pd.concat([reward_distribution(run, n).reset_index().assign(scheme=n) for n in names], ignore_index=True)


def ledger_table(run: ScenarioRun, schemes: list[str] | None = None) -> pd.DataFrame:
    """Weekly unit ledgers and liability of several schemes, long format, with breakage so far.

    Returns
    -------
    DataFrame with ``scheme, week, issued, redeemed, expired, outstanding,
    breakage_rate, liability_retail, liability_cost`` (units and currency per week).
    """
    from .ledger import check_accounts, weekly_costs

    names = schemes or [k for k in run.results if k != "baseline"]
    frames = []
    for n in names:
        res = run.results[n]
        acc = check_accounts(res)
        if acc.empty:
            continue
        costs = weekly_costs(res)
        several = acc[["part", "unit"]].drop_duplicates().shape[0] > 1
        # one series per part and unit: points and credit of a combination do not add up
        for (part, unit), a in acc.groupby(["part", "unit"], sort=False):
            a = a.set_index("week")[["issued", "redeemed", "expired", "outstanding", "cumulative_issued",
                                     "cumulative_expired"]].copy()
            issued = a["cumulative_issued"]
            a["breakage_rate"] = np.where(issued > 0, a["cumulative_expired"] / issued.where(issued > 0), 0.0)
            a["liability_retail"] = costs["liability_retail"].to_numpy()
            a["liability_cost"] = costs["liability_cost"].to_numpy()
            if several:  # the liability columns are the scheme's total; per part they are not kept
                a[["liability_retail", "liability_cost"]] = np.nan
            frames.append(a.reset_index().assign(scheme=f"{n}.{part}" if several else n, unit=unit))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
