"""Money: margin, costs, incremental profit, ROI, payback, CLV and the retention -> profit calculator.

Profit of a run, per week (currency)::

    profit = revenue - cogs - reward_cost - programme_cost - fixed_cost - setup_cost
    revenue = gross_sales - discount            (discounts, points and credit used as money)
    cogs    = (1 - gross_margin) * gross_sales  (goods at cost, whatever price was paid)
    programme_cost = member, perk, e-mail and referral-reward costs from the ledger

Free goods are costed at cost price (a free coffee costs its ingredients, not its
price). Incremental profit is the scheme's profit minus the baseline's on the same
customers and random numbers.

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
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .engine import SimulationResult
from .errors import ConfigError
from .ledger import unit_accounts, weekly_costs
from .population import PRESET_DIR
from .schemes.common import MAX_MONEY

WEEKS_PER_YEAR = 52.0
#: Largest annual discount rate accepted (10 = 1000% a year).
MAX_DISCOUNT_RATE = 10.0


@dataclass(frozen=True)
class Economics:
    """Economic settings of a comparison.

    Parameters
    ----------
    gross_margin : float
        Share of full-price sales left after the cost of goods (0..1).
    discount_rate : float
        Annual discount rate for present values (e.g. 0.10).
    fixed_cost_per_week : float
        Programme cost per week not in the scheme's own settings (currency).
    setup_cost : float
        One-off programme cost at launch not in the scheme's settings (currency).

    Every value is finite and >= 0; ``gross_margin`` at most 1, ``discount_rate`` at most
    :data:`MAX_DISCOUNT_RATE` (1000% a year), the costs at most ``MAX_MONEY`` (1e9).
    """

    gross_margin: float = 0.5
    discount_rate: float = 0.10
    fixed_cost_per_week: float = 0.0
    setup_cost: float = 0.0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ConfigError(f"expected a finite number >= 0, got {v!r}", field=f"economics.{f.name}")
        if self.gross_margin > 1:
            raise ConfigError(f"must be a share in [0, 1], got {self.gross_margin}", field="economics.gross_margin")
        for name, high in (("discount_rate", MAX_DISCOUNT_RATE), ("fixed_cost_per_week", MAX_MONEY),
                           ("setup_cost", MAX_MONEY)):
            if getattr(self, name) > high:
                raise ConfigError(f"must be <= {high:g}, got {getattr(self, name)!r}", field=f"economics.{name}")

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None, *, preset: str | None = None,
                     source: str | None = None) -> "Economics":
        """Preset defaults (``economics:`` in the preset file) overridden by ``raw``."""
        base = preset_economics(preset) if preset else {}
        raw = dict(raw or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(f"unknown economics setting(s) {unknown}; expected some of {sorted(known)}",
                              field=f"economics.{unknown[0]}", source=source)
        try:
            return cls(**{**base, **raw})
        except ConfigError as exc:
            raise ConfigError(exc.message, field=exc.field, source=source) from None

    def weekly_discount_factor(self, weeks: np.ndarray) -> np.ndarray:
        """``(1 + i)^(-week / 52)``: present value of a currency unit ``week`` weeks ahead."""
        return (1.0 + self.discount_rate) ** (-np.asarray(weeks, dtype=float) / WEEKS_PER_YEAR)

    def to_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


def preset_economics(preset: str) -> dict[str, float]:
    """The ``economics:`` defaults of a preset file (values only)."""
    from .files import load_yaml

    path = PRESET_DIR / f"{preset}.yaml"
    raw = load_yaml(path) if path.is_file() else {}
    econ = (raw or {}).get("economics") or {}
    return {k: (v["value"] if isinstance(v, Mapping) else v) for k, v in econ.items()}


def _scheme_costs(result: SimulationResult) -> tuple[float, float]:
    """(fixed cost per week, setup cost) from the scheme configuration, parts summed."""
    cfg = result.config.get("scheme", {}) or {}
    parts = [cfg, *(cfg.get("parts") or [])]
    fixed = sum(float(p.get("fixed_cost_per_week", 0.0) or 0.0) for p in parts)
    setup = sum(float(p.get("setup_cost", 0.0) or 0.0) for p in parts)
    return fixed, setup


def profit_frame(result: SimulationResult, econ: Economics) -> pd.DataFrame:
    """Per-week money of one run.

    Returns
    -------
    DataFrame indexed by week: ``gross_sales, discount, revenue, cogs, gross_profit,
    reward_cost, programme_cost, fixed_cost, setup_cost, profit, liability_retail,
    liability_cost, discount_factor, profit_pv`` (currency).
    """
    w = result.weekly
    costs = weekly_costs(result)
    launch = int(result.config.get("launch_week", 0))
    has_scheme = (result.config.get("scheme", {}) or {}).get("name", "baseline") != "baseline"
    fixed, setup = _scheme_costs(result) if has_scheme else (0.0, 0.0)
    fixed += econ.fixed_cost_per_week if has_scheme else 0.0
    setup += econ.setup_cost if has_scheme else 0.0
    weeks = w.index.to_numpy()
    out = pd.DataFrame(index=w.index)
    out["gross_sales"] = w["gross_sales"]
    out["discount"] = w["discount"]
    out["revenue"] = w["revenue"]
    out["cogs"] = (1.0 - econ.gross_margin) * w["gross_sales"]
    out["gross_profit"] = out["revenue"] - out["cogs"]
    out["reward_cost"] = w["reward_cost"]
    out["programme_cost"] = costs["programme_cost"]
    out["fixed_cost"] = np.where(weeks >= launch, fixed, 0.0)
    out["setup_cost"] = np.where(weeks == launch, setup, 0.0)
    out["profit"] = (out["gross_profit"] - out["reward_cost"] - out["programme_cost"]
                     - out["fixed_cost"] - out["setup_cost"])
    out["liability_retail"] = costs["liability_retail"]
    out["liability_cost"] = costs["liability_cost"]
    out["discount_factor"] = econ.weekly_discount_factor(weeks)
    out["profit_pv"] = out["profit"] * out["discount_factor"]
    return out


def scheme_economics(result: SimulationResult, baseline: SimulationResult, econ: Economics) -> dict[str, float]:
    """Headline economics of a scheme against its counterfactual (same customers, same random numbers).

    Returns
    -------
    dict with ``revenue``, ``revenue_baseline``, ``incremental_revenue``, ``incremental_gross_profit``,
    ``scheme_cost`` (discounts + rewards at cost + programme, fixed and setup costs + the
    liability provision), ``liability_provision`` (rewards still owed at the horizon end, at
    cost, times the share of units redeemed rather than expired so far and the share of the
    balances held by customers still active: accrual accounting),
    ``incremental_profit`` (after the provision), ``incremental_profit_cash`` (before it),
    ``incremental_profit_pv``, ``roi`` (incremental profit / scheme cost),
    ``payback_week`` (first week from launch when cumulative incremental profit is >= 0 and
    stays so; NaN if never), ``breakage_rate`` (expired / issued units), ``unredeemed_share``
    (outstanding / issued at the end; both NaN for combinations of several units), ``liability_end_cost``, ``liability_end_retail``,
    ``clv`` and ``clv_baseline`` (discounted profit over the horizon per customer present at
    launch or acquired later, currency).
    """
    launch = int(result.config.get("launch_week", 0))
    p = profit_frame(result, econ)
    b = profit_frame(baseline, econ)
    after = p.index >= launch
    inc = (p["profit"] - b["profit"])[after]
    cum = inc.cumsum()
    never_negative_after = cum[::-1].cummin()[::-1] >= 0
    payback = float(cum.index[never_negative_after.to_numpy()][0] - launch) if never_negative_after.any() else float("nan")
    scheme_cost = float((p["discount"] + p["reward_cost"] + p["programme_cost"] + p["fixed_cost"]
                         + p["setup_cost"])[after].sum())
    acc = unit_accounts(result)
    breakage = unredeemed = float("nan")
    redeem_share = 1.0
    if not acc.empty:
        last = acc.groupby(["part", "unit"]).tail(1)
        if len(last) == 1:  # one unit: shares of it; a combination's units (points, credit) do not add up
            issued = last["cumulative_issued"].sum()
            if issued:
                breakage = float(last["cumulative_expired"].sum() / issued)
                unredeemed = float(last["outstanding"].sum() / issued)
        closed = last["cumulative_redeemed"].sum() + last["cumulative_expired"].sum()
        if len(last) == 1 and closed > 0:
            redeem_share = float(last["cumulative_redeemed"].sum() / closed)
    # rewards still owed at the horizon end are a cost of the scheme too (accrual accounting): the
    # outstanding liability at cost, times the share of units redeemed rather than expired so far,
    # times the share of the balances held by customers still active (those who left never redeem)
    provision = float(p["liability_cost"].iloc[-1]) * redeem_share * _active_balance_share(result)
    scheme_cost += provision
    n_cust = len(result.customers)
    n_base = len(baseline.customers)
    incremental_profit = float(inc.sum()) - provision
    return {
        "revenue": float(p["revenue"][after].sum()),
        "revenue_baseline": float(b["revenue"][after].sum()),
        "incremental_revenue": float((p["revenue"] - b["revenue"])[after].sum()),
        "incremental_gross_profit": float((p["gross_profit"] - b["gross_profit"])[after].sum()),
        "scheme_cost": scheme_cost,
        "incremental_profit": incremental_profit,
        "incremental_profit_pv": float(((p["profit_pv"] - b["profit_pv"])[after]).sum())
        - provision * float(p["discount_factor"].iloc[-1]),
        "incremental_profit_cash": float(inc.sum()),
        "liability_provision": provision,
        "roi": incremental_profit / scheme_cost if scheme_cost > 0 else float("nan"),
        "payback_week": payback,
        "breakage_rate": breakage,
        "unredeemed_share": unredeemed,
        "liability_end_cost": float(p["liability_cost"].iloc[-1]),
        "liability_end_retail": float(p["liability_retail"].iloc[-1]),
        "clv": float(p["profit_pv"].sum() / n_cust) if n_cust else float("nan"),
        "clv_baseline": float(b["profit_pv"].sum() / n_base) if n_base else float("nan"),
    }


def _active_balance_share(result: SimulationResult) -> float:
    """Share of the outstanding scheme balance (points, stamps or credit) held by customers still active.

    1.0 when the run keeps no per-customer balance or keeps several (a combination of units).
    """
    c = result.customers
    cols = [k for k in c.columns if k.startswith(("points_balance:", "stamps:", "credit:"))]
    if len(cols) != 1:
        return 1.0
    bal = c[cols[0]].to_numpy(dtype=float)
    total = bal.sum()
    return float(bal[c["dropout_week"].to_numpy() < 0].sum() / total) if total > 0 else 1.0


def verdict(effect: float, low: float, high: float, *, level: float = 0.95, what: str = "incremental profit") -> str:
    """A plain-language verdict from an effect and its interval.

    ``"reconsider"`` when the return is below the cost (the whole interval is below 0).
    """
    pct = f"{100 * level:.0f}%"
    if high < 0:
        return f"reconsider: {what} is negative ({effect:,.0f}; {pct} interval {low:,.0f} to {high:,.0f}) - the scheme costs more than it returns"
    if low > 0:
        return f"pays: {what} {effect:,.0f} ({pct} interval {low:,.0f} to {high:,.0f})"
    return f"uncertain: {what} {effect:,.0f} ({pct} interval {low:,.0f} to {high:,.0f}) includes zero"


# ---------------------------------------------------------------------------------- retention -> profit
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
    _check_num("margin", margin, low=0.0, strict=True)
    _check_num("retention", retention, low=0.0, high=1.0)
    _check_num("discount_rate", discount_rate, low=0.0)
    _check_num("acquisition_cost", acquisition_cost, low=0.0)
    _check_num("retention_gain", retention_gain, low=-100.0, high=100.0)
    after_r = retention + retention_gain / 100.0
    if not 0.0 <= after_r < 1.0 + discount_rate:
        raise ConfigError(f"retention + gain must stay in [0, 1], got {after_r:.4f}", field="retention_gain")
    if after_r > 1.0:
        raise ConfigError(f"retention + gain must stay at or below 1, got {after_r:.4f}", field="retention_gain")
    if horizon_years is not None:
        _check_num("horizon_years", horizon_years, low=0.0, strict=True)
    for name, val in (("spend_growth", spend_growth), ("cost_to_serve_decline", cost_to_serve_decline),
                      ("referral_rate", referral_rate), ("price_premium", price_premium)):
        _check_num(name, val, low=0.0)
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
    return (f"baseline profit per customer is zero or negative ({profit_before:,.0f}: the value of a customer "
            f"does not cover the acquisition cost): the percentage change is undefined; "
            f"the absolute change is {profit_change:+,.0f} per customer")


#: Columns of :func:`retention_sensitivity` and :func:`margin_sensitivity` besides the varied inputs.
SENSITIVITY_COLUMNS = ("profit_before", "profit_after", "profit_change", "profit_change_pct", "reason")


def _impact_row(margin: float, retention: float, retention_gain: float, discount_rate: float,
                **kwargs: Any) -> dict[str, Any]:
    """One cell of a sensitivity table: profit before/after, absolute and % change, and the reason if undefined."""
    nan = float("nan")
    if retention + retention_gain / 100.0 > 1.0:
        return {"profit_before": nan, "profit_after": nan, "profit_change": nan, "profit_change_pct": nan,
                "reason": f"retention after the gain would pass 100% ({retention:.0%} + {retention_gain:g} points)"}
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


def simulated_retention(result: SimulationResult, *, from_week: int | None = None, years: int = 1) -> dict[str, float]:
    """Yearly retention and margin base measured on simulated customers.

    Retention: share of the customers alive at ``from_week`` (default: launch) still alive
    52 weeks later (or at the horizon end, annualised). Simulation truth, not an estimate.
    """
    c = result.customers
    w0 = int(result.config.get("launch_week", 0)) if from_week is None else from_week
    weeks = int(result.config.get("weeks", len(result.weekly)))
    span = min(52 * years, weeks - w0)
    if span <= 0:
        raise ConfigError("no weeks after from_week to measure retention", field="from_week")
    alive0 = (c["acquisition_week"] <= w0) & ((c["dropout_week"] < 0) | (c["dropout_week"] >= w0))
    still = alive0 & ((c["dropout_week"] < 0) | (c["dropout_week"] >= w0 + span))
    share = float(still.sum() / alive0.sum()) if alive0.sum() else float("nan")
    return {"retention_annual": share ** (52.0 / span), "customers_at_start": int(alive0.sum()), "weeks": span}


def simulated_profit_impact(result: SimulationResult, baseline: SimulationResult, econ: Economics, *,
                            acquisition_cost: float = 0.0, **tenure: Any) -> dict[str, Any]:
    """The retention -> profit calculation with retention and margins taken from a simulation.

    Retention before/after are the baseline's and the scheme's simulated yearly retention
    (from launch); the yearly margin per customer is the scheme's simulated profit per
    alive customer-year after launch. Returns :func:`retention_profit_impact`'s dict plus
    ``simulated_incremental_profit_pct`` (the scheme's actual profit change over the
    horizon after launch) so the claim is checked on the simulated customers.
    """
    rb = simulated_retention(baseline)["retention_annual"]
    rs = simulated_retention(result)["retention_annual"]
    launch = int(result.config.get("launch_week", 0))
    pb = profit_frame(baseline, econ)
    ps = profit_frame(result, econ)
    after = pb.index >= launch
    cw = baseline.weekly["alive_start"][after].sum()
    margin_year = float(pb["profit"][after].sum() / cw * WEEKS_PER_YEAR) if cw else float("nan")
    out = retention_profit_impact(max(margin_year, 1e-9), rb, 100.0 * (rs - rb), econ.discount_rate,
                                  acquisition_cost=acquisition_cost, **tenure)
    out["simulated_retention_baseline"] = rb
    out["simulated_retention_scheme"] = rs
    base_profit = float(pb["profit"][after].sum())
    out["simulated_incremental_profit_pct"] = (100.0 * (float(ps["profit"][after].sum()) / base_profit - 1.0)
                                               if base_profit > 0 else float("nan"))
    return out


def _check_num(name: str, value: Any, *, low: float | None = None, high: float | None = None,
               strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not math.isfinite(value):
        raise ConfigError(f"expected a finite number, got {value!r}", field=name)
    if low is not None and (value <= low if strict else value < low):
        raise ConfigError(f"must be {'>' if strict else '>='} {low:g}, got {value}", field=name)
    if high is not None and value > high:
        raise ConfigError(f"must be <= {high:g}, got {value}", field=name)
    return float(value)
