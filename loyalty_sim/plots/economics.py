"""Figures for money: cumulative incremental profit, retention -> profit sensitivity, survival, ledger."""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ..text_safety import plot_text
from .comparison import PALETTE, _ax


def plot_cumulative_profit(incremental: Mapping[str, pd.Series], *, ax: Axes | None = None,
                           launch_week: int | None = None, title: str | None = None) -> Axes:
    """Cumulative incremental profit per scheme (``{name: weekly incremental profit}``); payback where it crosses 0."""
    ax = _ax(ax)
    for i, (name, s) in enumerate(incremental.items()):
        ax.plot(s.index, s.cumsum(), label=plot_text(name), color=PALETTE[i % len(PALETTE)], lw=1.6)
    ax.axhline(0, color="black", lw=0.8)
    if launch_week:
        ax.axvline(launch_week, color="grey", ls=":", lw=1)
    ax.set(xlabel="week", ylabel="currency", title=title or "Cumulative incremental profit vs counterfactual")
    ax.legend(fontsize=8, frameon=False)
    return ax


def plot_retention_sensitivity(grid: pd.DataFrame, *, ax: Axes | None = None, title: str | None = None,
                               band: tuple[float, float] = (25.0, 125.0), vmax: float = 200.0) -> Axes:
    """Heat map of ``profit_change_pct`` over base retention x discount rate, the Bain band in bold.

    Colours are capped at ``vmax``; cells with no finite answer (value not above the
    acquisition cost, or not converging) read "n/a".
    """
    ax = _ax(ax, (6.5, 4.0))
    piv = grid.pivot(index="retention", columns="discount_rate", values="profit_change_pct").sort_index()
    im = ax.imshow(piv.to_numpy(), origin="lower", aspect="auto", cmap="viridis", vmin=0.0, vmax=vmax,
                   extent=(-0.5, piv.shape[1] - 0.5, -0.5, piv.shape[0] - 0.5))
    ax.set_xticks(range(piv.shape[1]), [f"{100 * c:.0f}%" for c in piv.columns])
    ax.set_yticks(range(piv.shape[0]), [f"{100 * r:.0f}%" for r in piv.index])
    for (i, j), v in np.ndenumerate(piv.to_numpy()):
        if not np.isfinite(v):
            ax.text(j, i, "n/a", ha="center", va="center", fontsize=7, color="grey")
        else:
            inside = band[0] <= v <= band[1]
            ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=7,
                    color="black" if v > 0.6 * vmax else "white", fontweight="bold" if inside else "normal")
    ax.figure.colorbar(im, ax=ax, label=f"% change in profit per customer (capped at {vmax:g})")
    ax.set(xlabel="annual discount rate", ylabel="base annual retention",
           title=title or "Profit change from +5 points of retention (bold: inside 25-125%)")
    return ax


def plot_survival(curves: Mapping[str, pd.Series], *, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Share of customers alive at launch still alive, per scheme."""
    ax = _ax(ax)
    for i, (name, s) in enumerate(curves.items()):
        ax.plot(s.index, s.to_numpy(), label=plot_text(name), color=PALETTE[i % len(PALETTE)],
                ls="--" if name == "baseline" else "-", lw=1.6)
    ax.set(xlabel="week", ylabel="share still active", ylim=(0, 1.02), title=title or "Retention curves")
    ax.legend(fontsize=8, frameon=False)
    return ax


def plot_profit_impact_bars(cases: pd.DataFrame, *, ax: Axes | None = None, title: str | None = None,
                            band: tuple[float, float] = (25.0, 125.0)) -> Axes:
    """Bars of ``profit_change_pct`` for named assumption sets (index = case label), Bain band shaded."""
    ax = _ax(ax)
    y = np.arange(len(cases))
    ax.axvspan(*band, color="#3a9d5d", alpha=0.12, label="25-125% (Reichheld & Sasser 1990)")
    ax.barh(y, cases["profit_change_pct"], color=PALETTE[0])
    for yi, v in zip(y, cases["profit_change_pct"]):
        ax.text(v, yi, f" {v:.0f}%", va="center", fontsize=8)
    ax.set_yticks(y, [plot_text(c) for c in cases.index])
    ax.invert_yaxis()
    ax.set(xlabel="% change in profit per customer from +5 points of retention",
           title=title or "Which assumptions give the 25-125% claim")
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    return ax


def plot_ledger(accounts: pd.DataFrame, *, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Cumulative units issued, redeemed, expired and the outstanding balance (from ``ledger.unit_accounts``)."""
    ax = _ax(ax)
    for col, color in (("cumulative_issued", PALETTE[0]), ("cumulative_redeemed", PALETTE[2]),
                       ("cumulative_expired", PALETTE[3]), ("outstanding", PALETTE[1])):
        ax.plot(accounts["week"], accounts[col], label=col.replace("cumulative_", "").replace("_", " "),
                color=color, lw=1.5)
    unit = accounts["unit"].iloc[0] if len(accounts) else "units"
    ax.set(xlabel="week", ylabel=unit, title=title or f"{unit.capitalize()} ledger")
    ax.legend(fontsize=8, frameon=False)
    return ax
