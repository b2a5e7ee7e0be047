"""The retention -> profit calculator: what a customer is worth, before and after a retention gain.

A closed-form model, separate from the simulation: ``loyalty-sim profit-impact`` and
notebook 04 use it alone, :func:`loyalty_sim.economics.simulated_profit_impact` feeds it
retention and margins measured on simulated customers.

Customer value (Gupta, Lehmann & Stuart 2004), with margins growing with tenure
(Reichheld & Sasser 1990)::

    value = sum_t m_t r^t / (1 + i)^t,  t = 1, 2, ...   (= m r / (1 + i - r) without tenure effects)

References
----------
Reichheld, F. F. & Sasser, W. E. (1990). Zero defections: quality comes to services.
Harvard Business Review 68(5), 105-111.
Gupta, S., Lehmann, D. R. & Stuart, J. A. (2004). Valuing customers. Journal of
Marketing Research 41(1), 7-18.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .errors import ConfigError
from .text.format import number, percent
from .validation import check_number

__all__ = ["SENSITIVITY_COLUMNS", "TenureEffects", "customer_value", "margin_sensitivity", "percent_change",
           "retention_profit_impact", "retention_sensitivity", "sensitivity_counts", "undefined_change_reason"]


@dataclass(frozen=True)
class TenureEffects:
    """How a customer's yearly margin grows with tenure (Reichheld & Sasser 1990).

    Parameters
    ----------
    spend_growth : float
        Yearly growth of spend with tenure (0.05 = +5% a year).
    cost_to_serve_decline : float
        Yearly fall in the cost to serve, as a share of the first year's margin added back per year.
    referral_rate : float
        New customers referred per retained customer per year.
    referral_value : float or None
        Value of a referred customer (currency); None = the first-year margin.
    price_premium : float
        Yearly rise in the price a loyal customer accepts, as a share of margin per year of tenure.
    """

    spend_growth: float = 0.0
    cost_to_serve_decline: float = 0.0
    referral_rate: float = 0.0
    referral_value: float | None = None
    price_premium: float = 0.0

    def margin_path(self, margin: float, years: int) -> np.ndarray:
        """Margin in years ``1..years`` of tenure."""
        t = np.arange(years, dtype=float)  # years of tenure before year t+1
        m = margin * (1.0 + self.spend_growth) ** t * (1.0 + self.price_premium * t)
        m = m + margin * self.cost_to_serve_decline * t
        ref_val = margin if self.referral_value is None else self.referral_value
        return m + self.referral_rate * ref_val

    @property
    def none(self) -> bool:
        return (self.spend_growth == 0 and self.cost_to_serve_decline == 0 and self.referral_rate == 0
                and self.price_premium == 0)


def customer_value(margin: float, retention: float, discount_rate: float, *, horizon_years: float | None = None,
                   tenure: TenureEffects | None = None) -> float:
    """Present value of a customer's margins: ``sum_t m_t r^t / (1 + i)^t``, t = 1, 2, ...

    With no tenure effects and no horizon this is ``m r / (1 + i - r)`` (Gupta, Lehmann &
    Stuart 2004), computed in closed form.
    """
    tenure = tenure or TenureEffects()
    if horizon_years is None and tenure.none:
        return margin * retention / (1.0 + discount_rate - retention)
    q = retention / (1.0 + discount_rate)
    if horizon_years is None:
        growth = (1.0 + tenure.spend_growth) * (1.0 + tenure.price_premium)
        if q * max(growth, 1.0) >= 1.0:
            raise ConfigError("with these tenure effects the value does not converge; give horizon_years",
                              field="horizon_years")
        years = 1
        while q ** years * max(growth, 1.0) ** years * max(years, 1) > 1e-12 and years < 5000:
            years += 1
    else:
        years = int(math.floor(horizon_years))
    if years <= 0:
        return 0.0
    m = tenure.margin_path(margin, years)
    t = np.arange(1, years + 1, dtype=float)
    return float(np.sum(m * q ** t))


def retention_profit_impact(margin: float, retention: float, retention_gain: float, discount_rate: float, *,
                            acquisition_cost: float = 0.0, horizon_years: float | None = None,
                            spend_growth: float = 0.0, cost_to_serve_decline: float = 0.0,
                            referral_rate: float = 0.0, referral_value: float | None = None,
                            price_premium: float = 0.0) -> dict[str, Any]:
    """Customer value before and after a retention gain, and the % change in profit.

    Parameters
    ----------
    margin : float
        Margin per customer per year (currency, > 0).
    retention : float
        Yearly retention rate (0..1).
    retention_gain : float
        Gain in retention in **percentage points** (5 = 0.90 -> 0.95).
    discount_rate : float
        Yearly discount rate (0.10 = 10%).
    acquisition_cost : float
        Cost to acquire a customer (currency); profit per customer is value minus this.
    horizon_years : float, optional
        Cut the customer's life at this many years (None = no limit).
    spend_growth, cost_to_serve_decline, referral_rate, referral_value, price_premium
        Tenure effects, see :class:`TenureEffects`.

    Returns
    -------
    dict
        ``value_before``, ``value_after`` (profit per acquired customer: value minus
        acquisition cost), ``profit_change`` (their difference, currency per customer:
        always defined), ``profit_change_pct`` (None when profit per customer before the
        gain is zero or negative: a percentage of it means nothing), ``reason`` (why the
        percentage is undefined, in words with the absolute change; empty otherwise;
        ``note`` repeats it), the inputs, and ``retention_only_change_pct`` (the same
        gain with no tenure effects, no acquisition cost and no horizon:
        ``m r / (1 + i - r)``).

    Examples
    --------
    >>> round(retention_profit_impact(100, 0.90, 5, 0.10)["profit_change_pct"], 1)
    40.7
    """
    check_number("margin", margin, low=0.0, strict_low=True)
    check_number("retention", retention, low=0.0, high=1.0)
    check_number("discount_rate", discount_rate, low=0.0)
    check_number("acquisition_cost", acquisition_cost, low=0.0)
    check_number("retention_gain", retention_gain, low=-100.0, high=100.0)
    after_r = retention + retention_gain / 100.0
    if not 0.0 <= after_r < 1.0 + discount_rate:
        raise ConfigError(f"retention + gain must stay in [0, 1], got {after_r:.4f}", field="retention_gain")
    if after_r > 1.0:
        raise ConfigError(f"retention + gain must stay at or below 1, got {after_r:.4f}", field="retention_gain")
    if horizon_years is not None:
        check_number("horizon_years", horizon_years, low=0.0, strict_low=True)
    for name, val in (("spend_growth", spend_growth), ("cost_to_serve_decline", cost_to_serve_decline),
                      ("referral_rate", referral_rate), ("price_premium", price_premium)):
        check_number(name, val, low=0.0)
    tenure = TenureEffects(spend_growth, cost_to_serve_decline, referral_rate, referral_value, price_premium)
    before = customer_value(margin, retention, discount_rate, horizon_years=horizon_years, tenure=tenure)
    after = customer_value(margin, after_r, discount_rate, horizon_years=horizon_years, tenure=tenure)
    profit_before = before - acquisition_cost
    profit_after = after - acquisition_cost
    plain_before = customer_value(margin, retention, discount_rate)
    plain_after = customer_value(margin, after_r, discount_rate)
    absolute = profit_after - profit_before
    change = percent_change(profit_before, profit_after)
    reason = undefined_change_reason(profit_before, absolute)
    out = {
        "margin": margin, "retention": retention, "retention_after": after_r, "retention_gain_points": retention_gain,
        "discount_rate": discount_rate, "acquisition_cost": acquisition_cost, "horizon_years": horizon_years,
        "tenure_effects": dataclasses.asdict(tenure),
        "value_before": profit_before, "value_after": profit_after,
        "customer_value_before": before, "customer_value_after": after,
        "profit_change": absolute,
        "profit_change_pct": change,
        "retention_only_change_pct": 100.0 * (plain_after / plain_before - 1.0) if plain_before > 0 else None,
        "reason": reason,
        "note": reason,
    }
    # undefined values (null in JSON) carry their reason beside them
    if out["profit_change_pct"] is None:
        out["profit_change_pct_reason"] = reason
    if out["retention_only_change_pct"] is None:
        out["retention_only_change_pct_reason"] = "customer value before the gain is not positive"
    return out


def percent_change(profit_before: float, profit_after: float) -> float | None:
    """``100 (after / before - 1)``, or None when ``profit_before <= 0`` (no base to take a percentage of).

    Near zero the percentage explodes (a profit of 1 rising to 11 is +1000%), and below
    zero its sign turns round (-10 rising to +5 would read -150%): neither says anything
    a reader can use, so the absolute change is the figure to show there.
    """
    if not profit_before > 0:
        return None
    return 100.0 * (profit_after / profit_before - 1.0)


def undefined_change_reason(profit_before: float, profit_change: float | None) -> str:
    """Why the % change in profit is undefined, in words with the absolute change ('' when it is defined).

    Parameters
    ----------
    profit_before : float
        Profit per customer before the gain (value minus acquisition cost); NaN when the
        value does not converge.
    profit_change : float or None
        Absolute change in profit per customer (currency).
    """
    if profit_change is None or not math.isfinite(profit_before) or not math.isfinite(profit_change):
        return ("a customer's value does not converge (tenure growth outpaces discounting at this retention): "
                "neither change is finite; set a horizon in years")
    if profit_before > 0:
        return ""
    return (f"baseline profit per customer is zero or negative ({number(profit_before, 0)}: the value of a customer "
            f"does not cover the acquisition cost): the percentage change is undefined; "
            f"the absolute change is {number(profit_change, 0, sign=True)} per customer")


#: Columns of :func:`retention_sensitivity` and :func:`margin_sensitivity` besides the varied inputs.
SENSITIVITY_COLUMNS = ("profit_before", "profit_after", "profit_change", "profit_change_pct", "reason")


def _impact_row(margin: float, retention: float, retention_gain: float, discount_rate: float,
                **kwargs: Any) -> dict[str, Any]:
    """One cell of a sensitivity table: profit before/after, absolute and % change, and the reason if undefined."""
    nan = float("nan")
    if retention + retention_gain / 100.0 > 1.0:
        return {"profit_before": nan, "profit_after": nan, "profit_change": nan, "profit_change_pct": nan,
                "reason": f"retention after the gain would pass 100% ({percent(retention, 0)} + {retention_gain:g} points)"}
    try:
        res = retention_profit_impact(margin, retention, retention_gain, discount_rate, **kwargs)
    except ConfigError as exc:
        if "does not converge" not in exc.message:
            raise
        # value does not converge (growth outpaces discounting): no finite answer
        return {"profit_before": nan, "profit_after": nan, "profit_change": nan, "profit_change_pct": nan,
                "reason": undefined_change_reason(nan, None)}
    pct = res["profit_change_pct"]
    return {"profit_before": res["value_before"], "profit_after": res["value_after"],
            "profit_change": res["profit_change"], "profit_change_pct": nan if pct is None else pct,
            "reason": res["reason"]}


def retention_sensitivity(margin: float, retentions: np.ndarray, discount_rates: np.ndarray,
                          retention_gain: float = 5.0, **kwargs: Any) -> pd.DataFrame:
    """Profit change over a grid of base retention x discount rate (other inputs fixed).

    Returns
    -------
    DataFrame
        One row per cell: ``retention``, ``discount_rate``, ``profit_before`` and
        ``profit_after`` (profit per acquired customer, currency), ``profit_change``
        (absolute, currency per customer), ``profit_change_pct`` (NaN where undefined)
        and ``reason`` (why the percentage is undefined, '' where it is defined):
        profit per customer before the gain is zero or negative (the absolute change is
        still given), the value does not converge (tenure growth outpaces discounting:
        both NaN), or retention after the gain would pass 100%.
    """
    rows = []
    for r in retentions:
        for i in discount_rates:
            rows.append({"retention": float(r), "discount_rate": float(i),
                         **_impact_row(margin, float(r), retention_gain, float(i), **kwargs)})
    return pd.DataFrame(rows, columns=["retention", "discount_rate", *SENSITIVITY_COLUMNS])


def margin_sensitivity(margins: np.ndarray, retention: float, retention_gain: float, discount_rate: float,
                       **kwargs: Any) -> pd.DataFrame:
    """Profit change by yearly margin per customer (other inputs fixed); columns as :func:`retention_sensitivity`.

    With an acquisition cost the % change explodes as the value of a customer falls to
    that cost and is undefined below it, while the absolute change stays finite.
    """
    rows = [{"margin": float(m), **_impact_row(float(m), retention, retention_gain, discount_rate, **kwargs)}
            for m in margins]
    return pd.DataFrame(rows, columns=["margin", *SENSITIVITY_COLUMNS])


def sensitivity_counts(grid: pd.DataFrame, *, vmax: float = 200.0) -> dict[str, int]:
    """How many cells of a sensitivity table are shown on the colour scale, beyond it, or undefined (and why)."""
    pct = grid["profit_change_pct"].to_numpy(dtype=float)
    finite = np.isfinite(pct)
    reason = grid["reason"].astype(str)
    nonpositive = reason.str.startswith("baseline profit").to_numpy()
    diverging = reason.str.contains("does not converge").to_numpy()
    above = reason.str.startswith("retention after the gain").to_numpy()
    return {"cells": int(len(grid)), "on_scale": int((finite & (pct <= vmax)).sum()),
            "beyond_scale": int((finite & (pct > vmax)).sum()),
            "undefined": int((~finite).sum()), "undefined_nonpositive_profit": int(nonpositive.sum()),
            "undefined_not_converging": int(diverging.sum()), "undefined_retention_above_100": int(above.sum())}

