"""Customer metrics from a transaction log (simulated or real) or a simulation result.

Every metric's name carries its unit and period, and the returned frames carry a
``units`` entry in ``DataFrame.attrs``. Definitions:

* ``active_customers``: customers with at least one purchase in the period;
* ``purchases_per_active_customer``: transactions / active customers (per period);
* ``spend_per_active_customer``: revenue / active customers (currency per period);
* ``mean_ticket``: revenue / transactions (currency per transaction);
* ``repeat_rate``: share of the period's active customers who had bought in an
  earlier period;
* ``retention``: share of the customers active in period k-1 who are active in
  period k; ``churn`` = 1 - retention;
* for simulation results, ``*_per_alive_customer_week`` divide by customer-weeks of
  customers who had not dropped out (simulation truth, not observable in a real log).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .errors import ConfigError
from .result import SimulationResult
from .validation import check_columns, check_number

UNITS = {
    "active_customers": "customers with >= 1 purchase in the period",
    "transactions": "transactions per period",
    "revenue": "currency per period",
    "purchases_per_active_customer": "transactions per active customer per period",
    "spend_per_active_customer": "currency per active customer per period",
    "mean_ticket": "currency per transaction",
    "repeat_rate": "share of active customers who bought in an earlier period",
    "retention": "share of customers active in the previous period who are active in this one",
    "churn": "1 - retention",
    "new_customers": "customers whose first purchase is in the period",
}


def period_index(log: pd.DataFrame, period_weeks: int = 1, *, time_col: str = "week",
                 start: Any = None) -> pd.Series:
    """Period number of each transaction: ``week // period_weeks`` or, for timestamps, weeks since ``start``."""
    check_number("period_weeks", period_weeks, low=1)
    t = log[time_col]
    if pd.api.types.is_datetime64_any_dtype(t):
        origin = pd.Timestamp(start) if start is not None else t.min().normalize()
        weeks = ((t - origin) / pd.Timedelta(days=7)).astype(float)
        return np.floor(weeks / period_weeks).astype(np.int64)
    return (t.astype(np.int64) // period_weeks).astype(np.int64)


def period_metrics(log: pd.DataFrame, period_weeks: int = 4, *, time_col: str = "week",
                   start: Any = None) -> pd.DataFrame:
    """Frequency, spend, ticket, activity, repeat rate, retention and churn per period.

    Parameters
    ----------
    log : DataFrame
        Columns ``customer_id``, ``amount`` and ``week`` (int) or a timestamp column.
    period_weeks : int
        Length of a period in weeks.
    time_col : str
        ``"week"`` or the name of a datetime column (e.g. ``"timestamp"``).
    start : date, optional
        Origin of period 0 for timestamps (default: first day in the log).

    Returns
    -------
    DataFrame indexed by ``period`` with the metrics in :data:`UNITS`; ``attrs["units"]``.
    """
    check_columns("log", log, ("customer_id", time_col, "amount"))
    per = period_index(log, period_weeks, time_col=time_col, start=start)
    df = pd.DataFrame({"customer_id": log["customer_id"].to_numpy(), "period": per.to_numpy(),
                       "amount": log["amount"].to_numpy(dtype=float)})
    g = df.groupby("period")
    out = pd.DataFrame({"transactions": g.size(), "revenue": g["amount"].sum(),
                        "active_customers": g["customer_id"].nunique()})
    periods = np.arange(out.index.min(), out.index.max() + 1) if len(out) else np.array([], dtype=int)
    out = out.reindex(periods, fill_value=0)
    out.index.name = "period"
    act = out["active_customers"].replace(0, np.nan)
    out["purchases_per_active_customer"] = out["transactions"] / act
    out["spend_per_active_customer"] = out["revenue"] / act
    out["mean_ticket"] = out["revenue"] / out["transactions"].replace(0, np.nan)
    pairs = df[["customer_id", "period"]].drop_duplicates()
    first = pairs.groupby("customer_id")["period"].min()
    new = first.value_counts().reindex(periods, fill_value=0)
    out["new_customers"] = new.to_numpy()
    out["repeat_rate"] = (out["active_customers"] - out["new_customers"]) / act
    # retention: active in k-1 and in k
    keyed = pairs.assign(prev=pairs["period"] - 1)
    both = keyed.merge(pairs.rename(columns={"period": "prev"}), on=["customer_id", "prev"])
    kept = both.groupby("period").size().reindex(periods, fill_value=0)
    prev_active = out["active_customers"].shift(1)
    out["retention"] = kept.to_numpy() / prev_active.replace(0, np.nan)
    out["churn"] = 1.0 - out["retention"]
    out.attrs["units"] = {**UNITS, "period": f"{period_weeks} week(s)"}
    return out


def customer_windows(result: SimulationResult) -> pd.DataFrame:
    """Per customer and window (from the run's ``windows``): transactions, revenue, alive weeks.

    ``alive_weeks`` counts the weeks of the window in which the customer had arrived
    and not dropped out (simulation truth).
    """
    c = result.customers
    edges = list(result.config.get("windows") or (0, len(result.weekly)))
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        tx = result.window(lo, hi, "transactions").to_numpy()
        rev = result.window(lo, hi, "revenue").to_numpy()
        alive = result.alive_weeks(lo, hi)
        rows.append(pd.DataFrame({"customer_id": c["customer_id"].to_numpy(), "window": f"{lo}-{hi}",
                                  "week_from": lo, "week_to": hi, "transactions": tx, "revenue": rev,
                                  "alive_weeks": alive, "segment": c["segment"].to_numpy()}))
    return pd.concat(rows, ignore_index=True)


def window_metrics(result: SimulationResult, *, by: str | None = None, customers: np.ndarray | None = None) -> pd.DataFrame:
    """Frequency, spend and ticket per window (e.g. before / after launch), optionally per segment.

    Parameters
    ----------
    result : SimulationResult
    by : str, optional
        A customer column to split by (``"segment"``).
    customers : array of bool, optional
        Restrict to these customers (a mask over ``result.customers``).

    Returns
    -------
    DataFrame with ``purchases_per_alive_customer_week``, ``spend_per_alive_customer_week``,
    ``mean_ticket``, ``alive_customer_weeks``, ``active_share`` (share of customers alive in the
    window who bought in it) per window (and group).
    """
    cw = customer_windows(result)
    if customers is not None:
        keep = np.tile(np.asarray(customers, dtype=bool), len(cw) // max(len(result.customers), 1))
        cw = cw[keep]
    keys = ["window", "week_from", "week_to"] + ([by] if by else [])
    cw = cw.assign(alive_any=cw["alive_weeks"] > 0, bought=cw["transactions"] > 0)
    g = cw.groupby(keys, observed=True)
    out = pd.DataFrame({
        "transactions": g["transactions"].sum(), "revenue": g["revenue"].sum(),
        "alive_customer_weeks": g["alive_weeks"].sum(),
        "customers_alive": g["alive_any"].sum(), "customers_buying": g["bought"].sum(),
    })
    out["purchases_per_alive_customer_week"] = out["transactions"] / out["alive_customer_weeks"].replace(0, np.nan)
    out["spend_per_alive_customer_week"] = out["revenue"] / out["alive_customer_weeks"].replace(0, np.nan)
    out["mean_ticket"] = out["revenue"] / out["transactions"].replace(0, np.nan)
    out["active_share"] = out["customers_buying"] / out["customers_alive"].replace(0, np.nan)
    out.attrs["units"] = {"purchases_per_alive_customer_week": "transactions per alive customer per week",
                          "spend_per_alive_customer_week": "currency per alive customer per week",
                          "mean_ticket": "currency per transaction",
                          "active_share": "share of alive customers who bought in the window"}
    return out.reset_index()


def survival_curve(result: SimulationResult, *, from_week: int | None = None,
                   customers: np.ndarray | None = None) -> pd.Series:
    """Share of the customers alive at ``from_week`` (default: launch) still alive at each later week."""
    w0 = int(result.config.get("launch_week", 0)) if from_week is None else from_week
    mask = result.alive_at(w0).to_numpy()
    if customers is not None:
        mask &= np.asarray(customers, dtype=bool)
    n = mask.sum()
    wk = np.arange(w0, result.weeks + 1)
    alive = np.array([(mask & result.alive_at(w).to_numpy()).sum() for w in wk]) / max(n, 1)
    return pd.Series(alive, index=pd.Index(wk, name="week"), name="survival")


def email_funnel(result: SimulationResult) -> pd.DataFrame:
    """E-mail funnel per week where offers went by e-mail: sent, opened, clicked, converted and rates."""
    w = result.weekly
    stages = {"sent": "emails_sent", "opened": "emails_opened", "clicked": "emails_clicked",
              "converted": "offers_converted"}
    out = pd.DataFrame(index=w.index)
    for stage, col in stages.items():
        booked = result.ledger(col)
        if booked is None and stage != "converted":
            raise ConfigError("this run sent no e-mail offers (no 'emails_sent' in its ledger)", field="result")
        out[stage] = booked if booked is not None else 0.0
    tot = out.sum()
    out.attrs["rates"] = {
        "open_rate": tot["opened"] / tot["sent"] if tot["sent"] else float("nan"),
        "click_to_open_rate": tot["clicked"] / tot["opened"] if tot["opened"] else float("nan"),
        "conversion_per_click": tot["converted"] / tot["clicked"] if tot["clicked"] else float("nan"),
    }
    return out


def renewal_rate(result: SimulationResult) -> float:
    """Share of tier reviews that kept or raised a member's tier (schemes with re-qualification)."""
    prom, dem = result.ledger("reviews"), result.ledger("demotions")
    if prom is None or dem is None:
        raise ConfigError("this run has no tier reviews (no 'reviews'/'demotions' in its ledger)", field="result")
    reviews = prom.to_numpy().sum()
    return float(1.0 - dem.to_numpy().sum() / reviews) if reviews else float("nan")
