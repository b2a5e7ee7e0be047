"""Figures for reward designs: who gets the value, breakage and liability over time."""

from __future__ import annotations

from typing import Mapping

import pandas as pd
from matplotlib.axes import Axes

from ..text.escape import plot_text
from .comparison import _ax, plot_grouped_bars
from .style import color_of, plain_axis


def plot_reward_distribution(table: pd.DataFrame, value: str = "value_back_share", *, ax: Axes | None = None,
                             title: str | None = None, ylabel: str | None = None,
                             colors: Mapping[str, str] | None = None) -> Axes:
    """Grouped bars by heaviness (light, middle, heavy) and scheme, from ``rewards.distribution_table``."""
    percent = value in ("value_back_share", "purchases_uplift", "member_share")
    labels = {"value_back_share": "value back, % of full-price spend", "purchases_uplift": "purchases, % vs counterfactual",
              "value_back_per_customer": "currency at retail per customer", "units_earned_per_customer": "units per customer"}
    return plot_grouped_bars(table, "heaviness", "scheme", value, ax=ax, percent=percent,
                             ylabel=ylabel or labels.get(value, value.replace("_", " ")),
                             title=title or value.replace("_", " ").capitalize(), colors=colors)


def plot_ledger_lines(ledger: pd.DataFrame, column: str, *, ax: Axes | None = None, title: str | None = None,
                      ylabel: str | None = None, launch_week: int | None = None, percent: bool = False,
                      colors: Mapping[str, str] | None = None) -> Axes:
    """One line per scheme of a weekly ledger column (``rewards.ledger_table``), e.g. liability."""
    ax = _ax(ax)
    scale = 100.0 if percent else 1.0
    for i, (name, d) in enumerate(ledger.groupby("scheme", sort=False)):
        ax.plot(d["week"], d[column] * scale, label=plot_text(str(name).replace("_", " ")), color=color_of(str(name), i, colors), lw=1.5)
    if launch_week is not None:
        ax.axvline(launch_week, color="grey", ls=":", lw=1)
    ax.set(xlabel="week", ylabel=ylabel or column.replace("_", " "), title=title or column.replace("_", " ").capitalize())
    plain_axis(ax.yaxis, digits=0 if not percent else 1)
    ax.legend(fontsize=8, frameon=False)
    return ax
