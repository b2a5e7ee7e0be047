"""Money: margin, costs, incremental profit, ROI, payback, CLV and the verdict word.

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

from .errors import ConfigError
from .ledger import unit_accounts, weekly_costs
from .population import available_presets, read_preset
from .result import SimulationResult
from .retention_value import retention_profit_impact
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
        from .validation import from_mapping

        return from_mapping(cls, raw, what="economics setting(s)", prefix="economics",
                            defaults=preset_economics(preset) if preset else {}, source=source)

    def weekly_discount_factor(self, weeks: np.ndarray) -> np.ndarray:
        """``(1 + i)^(-week / 52)``: present value of a currency unit ``week`` weeks ahead."""
        return (1.0 + self.discount_rate) ** (-np.asarray(weeks, dtype=float) / WEEKS_PER_YEAR)

    def to_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


def preset_economics(preset: str) -> dict[str, float]:
    """The ``economics:`` defaults of a preset file (values only; none for a name that is not a preset)."""
    raw = read_preset(preset)[0] if preset in available_presets() else {}
    econ = (raw or {}).get("economics") or {}
    return {k: (v["value"] if isinstance(v, Mapping) else v) for k, v in econ.items()}


def economics_for(scenario: Any, *, gross_margin: float | None = None, **overrides: Any) -> Economics:
    """The economics of ``scenario``: its preset's defaults, its ``economics:`` section, then ``overrides``.

    ``gross_margin`` ``None`` or negative (the reports' ``-1``) keeps the scenario's or
    preset's margin; any other value replaces it.
    """
    extra = dict(overrides)
    if gross_margin is not None and gross_margin >= 0:
        extra["gross_margin"] = gross_margin
    return Economics.from_mapping({**scenario.economics, **extra}, preset=getattr(scenario, "preset", None) or scenario.params.name,
                                 source=scenario.source)


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
    gross_sales, revenue = w["gross_sales"].to_numpy(), w["revenue"].to_numpy()
    cogs = (1.0 - econ.gross_margin) * gross_sales
    gross_profit = revenue - cogs
    reward_cost, programme_cost = w["reward_cost"].to_numpy(), costs["programme_cost"].to_numpy()
    fixed_cost = np.where(weeks >= launch, fixed, 0.0)
    setup_cost = np.where(weeks == launch, setup, 0.0)
    profit = gross_profit - reward_cost - programme_cost - fixed_cost - setup_cost
    discount_factor = econ.weekly_discount_factor(weeks)
    # the columns built as arrays and framed once (a frame grown column by column costs more than the sums)
    return pd.DataFrame({
        "gross_sales": gross_sales, "discount": w["discount"].to_numpy(), "revenue": revenue, "cogs": cogs,
        "gross_profit": gross_profit, "reward_cost": reward_cost, "programme_cost": programme_cost,
        "fixed_cost": fixed_cost, "setup_cost": setup_cost, "profit": profit,
        "liability_retail": costs["liability_retail"].to_numpy(), "liability_cost": costs["liability_cost"].to_numpy(),
        "discount_factor": discount_factor, "profit_pv": profit * discount_factor,
    }, index=w.index)


def _baseline_profit_frame(baseline: SimulationResult, econ: Economics) -> pd.DataFrame:
    """:func:`profit_frame` of a counterfactual, kept on it (the same frame each time: do not change it).

    A sweep and the draws of an uncertainty analysis price many schemes against one counterfactual.
    """
    cache = baseline.__dict__.setdefault("_profit_frames", {})
    key = (econ, id(baseline.weekly))
    if key not in cache:
        cache.clear()
        cache[key] = profit_frame(baseline, econ)
    return cache[key]


def incremental_profit_frame(result: SimulationResult, baseline: SimulationResult, econ: Economics) -> pd.DataFrame:
    """Week-by-week profit of a scheme minus its counterfactual's, from launch.

    Returns
    -------
    DataFrame indexed by week (launch week on): ``incremental_profit`` (scheme profit
    minus baseline profit, same customers and random numbers) and ``cumulative``
    (its running sum; ``payback_week`` of :func:`scheme_economics` is where it turns
    non-negative for good). Currency, before the liability provision.
    """
    return _incremental(profit_frame(result, econ), profit_frame(baseline, econ), int(result.config.get("launch_week", 0)))


def _incremental(p: pd.DataFrame, b: pd.DataFrame, launch: int) -> pd.DataFrame:
    inc = (p["profit"] - b["profit"])[p.index >= launch]
    return pd.DataFrame({"incremental_profit": inc, "cumulative": inc.cumsum()})


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
    b = _baseline_profit_frame(baseline, econ)
    after = p.index >= launch
    frame = _incremental(p, b, launch)
    inc, cum = frame["incremental_profit"], frame["cumulative"]
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
    active = _active_balance_share(result)
    provision = float(p["liability_cost"].iloc[-1]) * redeem_share * active
    scheme_cost += provision
    # payback on the same accrual basis: each week's cumulative profit net of the rewards then owed
    # (a stamp card is "in profit" in cash from launch because its free coffees are still owed)
    owed = p["liability_cost"][after].to_numpy() * redeem_share * active
    accrued = cum.to_numpy() - owed
    never_negative_after = np.minimum.accumulate(accrued[::-1])[::-1] >= 0
    payback = float(cum.index[never_negative_after][0] - launch) if never_negative_after.any() else float("nan")
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
    bal_frame = result.balances()
    if bal_frame.shape[1] != 1:
        return 1.0
    bal = bal_frame.iloc[:, 0].to_numpy(dtype=float)
    total = bal.sum()
    return float(bal[result.alive_at(result.weeks).to_numpy()].sum() / total) if total > 0 else 1.0


def verdict_word(effect: float, low: float, high: float) -> str:
    """The verdict on an effect and its interval: ``"pays"``, ``"uncertain"`` or ``"reconsider"``.

    ``"reconsider"`` when the return is below the cost (the whole interval is below 0),
    ``"pays"`` when the whole interval is above 0, ``"uncertain"`` otherwise (also when
    there is no interval). The sentence around it is
    :func:`loyalty_sim.text.comparison.verdict`.
    """
    if high < 0:
        return "reconsider"
    if low > 0:
        return "pays"
    return "uncertain"


def simulated_retention(result: SimulationResult, *, from_week: int | None = None, years: int = 1) -> dict[str, float]:
    """Yearly retention and margin base measured on simulated customers.

    Retention: share of the customers alive at ``from_week`` (default: launch) still alive
    52 weeks later (or at the horizon end, annualised). Simulation truth, not an estimate.
    """
    w0 = int(result.config.get("launch_week", 0)) if from_week is None else from_week
    span = min(52 * years, result.weeks - w0)
    if span <= 0:
        raise ConfigError("no weeks after from_week to measure retention", field="from_week")
    alive0 = result.alive_at(w0)
    still = alive0 & result.alive_at(w0 + span)
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
