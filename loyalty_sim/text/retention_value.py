"""The words of the retention -> profit calculator (:mod:`loyalty_sim.retention_value`).

The answer for one set of inputs (report and console), what the sensitivity heat map
shows and hides, the simulated check of notebook 04 and a one-line headline. Every
number is written by :mod:`loyalty_sim.text.format`; user text (a scheme's name) is
escaped for Markdown.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..retention_value import sensitivity_counts
from .escape import escape_markdown as _md
from .format import finite, money, number, percent, points

__all__ = ["profit_impact_headline", "profit_impact_sentence", "profit_impact_text", "sensitivity_sentence",
           "simulated_check_sentence"]


def _change_pct(x: Any, digits: int, missing: str | None = None) -> str:
    """A change already in percent (``12.3`` -> ``+12.3%``); n/a when undefined."""
    return number(x, digits, sign=True, missing=missing) + ("%" if finite(x) is not None else "")


def profit_impact_sentence(res: dict[str, Any], band: tuple[float, float] = (25.0, 125.0), *,
                           currency: str | None = None) -> str:
    """The retention -> profit answer for one set of inputs (markdown), from :func:`~loyalty_sim.retention_value.retention_profit_impact`.

    Gives the absolute change in profit per customer always, and the % change only where
    profit per customer before the gain is positive; otherwise says why it is undefined.
    """
    pct = res.get("profit_change_pct")
    text = (f"## The answer for your inputs\n\nRaising retention from **{percent(res['retention'], 0)}** to "
            f"**{percent(res['retention_after'], 0)}** changes profit per customer from "
            f"{money(res['value_before'], 0, currency=currency)} to {money(res['value_after'], 0, currency=currency)}: "
            f"**{money(res['profit_change'], 0, sign=True, currency=currency)} per customer**")
    if pct is None or not math.isfinite(pct):
        text += (f". The percentage change is undefined: {res['reason']}. A percentage of a profit at or below "
                 "zero has no meaning (near zero it explodes, below zero its sign turns round), so read the "
                 "absolute change.")
    else:
        where = "inside" if band[0] <= pct <= band[1] else "outside"
        text += f" (**{number(pct, 0, sign=True)}%**), {where} the {band[0]:g}-{band[1]:g}% range."
    only = res.get("retention_only_change_pct")
    text += (f" Retention alone (no acquisition cost, no tenure effects) would give {number(only, 0, sign=True)}%."
             if only is not None and math.isfinite(only) else "")
    return text


def sensitivity_sentence(grid: pd.DataFrame, *, vmax: float = 200.0, acquisition_cost: float = 0.0,
                         currency: str | None = None) -> str:
    """What the retention x discount-rate heat map shows and hides (markdown), from ``retention_sensitivity``."""
    c = sensitivity_counts(grid, vmax=vmax)
    parts = [f"Of the {c['cells']} cells, {c['on_scale']} are on the colour scale"]
    if c["beyond_scale"]:
        top = float(np.nanmax(grid["profit_change_pct"].to_numpy(dtype=float)))
        parts.append(f"{c['beyond_scale']} lie beyond it (above {vmax:g}%, up to {number(top, 0)}%: hatched and "
                     f"labelled \"> {vmax:g}%\")")
    if c["undefined"]:
        parts.append(f"{c['undefined']} have no percentage (grey)")
    text = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1] + ". "
    if c["undefined_nonpositive_profit"]:
        cost = f" of {money(acquisition_cost, 0, currency=currency)}" if acquisition_cost else ""
        text += (f"In {c['undefined_nonpositive_profit']} of them the baseline profit per customer is zero or "
                 f"negative - a customer's value does not cover the acquisition cost{cost} - so the percentage "
                 "change is undefined and only the absolute change, shown in every cell (per customer), means "
                 "anything. ")
    if c["undefined_not_converging"]:
        text += (f"In {c['undefined_not_converging']} (\"n/a\") a customer's value does not converge: tenure "
                 "growth outpaces discounting once retention is that high, so neither change is finite. ")
    if c["undefined_retention_above_100"]:
        text += f"In {c['undefined_retention_above_100']} retention after the gain would pass 100%. "
    if c["beyond_scale"]:
        text += (f"A percentage above {vmax:g}% means the change is large next to the profit before the gain - "
                 "because that profit is close to zero (beside the grey cells) or because retention after the gain "
                 "nears 100% and a customer's value runs away - not that those customers are the ones to keep: "
                 "compare the absolute changes.")
    return text.strip()


def profit_impact_headline(res: dict[str, Any]) -> str:
    """One line for a report index: the % change in profit, or the absolute change when the % is undefined."""
    gain = f"+{res['retention_gain_points']:g} points of retention"
    pct = res.get("profit_change_pct")
    if pct is None or not math.isfinite(pct):
        return f"{number(res['profit_change'], 0, sign=True)} profit per customer from {gain} (% undefined: profit before <= 0)"
    return f"{number(pct, 0, sign=True)}% profit ({number(res['profit_change'], 0, sign=True)} per customer) from {gain}"


def profit_impact_text(res: dict[str, Any]) -> str:
    """The retention -> profit answer as console text (``loyalty-sim profit-impact``)."""
    pct, only = res.get("profit_change_pct"), res.get("retention_only_change_pct")
    text = (f"retention {number(res['retention'], 3)} -> {number(res['retention_after'], 3)} "
            f"({res['retention_gain_points']:+g} points), discount rate {number(res['discount_rate'], 3)}\n"
            f"profit per customer before   {number(res['value_before'], 2)}\n"
            f"profit per customer after    {number(res['value_after'], 2)}\n"
            f"profit change per customer   {number(res['profit_change'], 2, sign=True)}\n"
            + (f"profit change                {_change_pct(pct, 1)}\n" if pct is not None else
               "profit change                undefined (see reason)\n")
            + f"retention alone would give   {_change_pct(only, 1, res.get('retention_only_change_pct_reason'))}")
    if res["reason"]:
        text += f"\nreason: {res['reason']}"
    return text


def simulated_check_sentence(sim: dict[str, Any], scheme: str) -> str:
    """The calculator checked on simulated customers (markdown), from :func:`~loyalty_sim.economics.simulated_profit_impact`."""
    base, with_scheme = sim["simulated_retention_baseline"], sim["simulated_retention_scheme"]
    return (f"Simulated yearly retention: **{percent(base, 1)}** without the scheme, "
            f"**{percent(with_scheme, 1)}** with {_md(scheme)} ({points(with_scheme - base, 1)}). "
            f"With the simulated margin of {number(sim['margin'], 0)} per customer-year, retention alone gives "
            f"**{_change_pct(sim['profit_change_pct'], 1)}**; the simulated profit after launch actually changed "
            f"by **{_change_pct(sim['simulated_incremental_profit_pct'], 1)}** (which also includes the scheme's "
            "effect on purchase frequency and its costs).")
