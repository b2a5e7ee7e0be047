"""Figures for money: cumulative incremental profit, retention -> profit sensitivity, survival, ledger."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib as mpl
import matplotlib.patches as mpatches
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ..text.escape import plot_text
from ..text.format import money
from .comparison import PALETTE, _ax
from .style import plain_axis


def plot_cumulative_profit(incremental: Mapping[str, pd.Series], *, ax: Axes | None = None,
                           launch_week: int | None = None, title: str | None = None,
                           colors: Mapping[str, str] | None = None, currency: str | None = None) -> Axes:
    """Cumulative incremental profit per scheme (``{name: weekly incremental profit}``); payback where it crosses 0.

    The counterfactual is the zero line, drawn as in every chart (black, dashed).
    """
    from .style import COUNTERFACTUAL, color_of

    ax = _ax(ax)
    for i, (name, s) in enumerate(incremental.items()):
        ax.plot(s.index, s.cumsum(), label=plot_text(name), color=color_of(name, i, colors), lw=1.6)
    ax.axhline(0, **COUNTERFACTUAL)
    if launch_week:
        ax.axvline(launch_week, color="grey", ls=":", lw=1)
    ax.set(xlabel="week", ylabel=f"cumulative profit, {plot_text(currency) if currency else 'currency'}",
           title=title or "Cumulative incremental profit vs counterfactual")
    plain_axis(ax.yaxis)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


#: Fill of cells with no percentage (profit per customer before the gain <= 0, or no finite value).
UNDEFINED_COLOUR = "#d9d9d9"


def plot_retention_sensitivity(grid: pd.DataFrame, *, ax: Axes | None = None, title: str | None = None,
                               band: tuple[float, float] = (25.0, 125.0), vmax: float = 200.0,
                               currency: str | None = None, retention_gain: float = 5.0) -> Axes:
    """Heat map of the profit change over base retention x discount rate (from ``retention_sensitivity``).

    Each cell shows the % change (bold inside ``band``) and, under it, the absolute change
    in profit per customer (in ``currency``, when given). The colour scale stops at ``vmax``: cells beyond it are
    hatched and read "> vmax%". Cells whose percentage is undefined (profit per customer
    before the gain is zero or negative) are grey and read "undefined" above their
    absolute change; cells with no finite value (not converging) read "n/a". The legend
    says so.
    """
    ax = _ax(ax, (9.0, 6.6))
    piv = grid.pivot(index="retention", columns="discount_rate", values="profit_change_pct").sort_index()
    absolute = grid.pivot(index="retention", columns="discount_rate", values="profit_change").sort_index()
    pct, abs_v = piv.to_numpy(dtype=float), absolute.to_numpy(dtype=float)
    base = mpl.colormaps["viridis"]
    cmap = base.with_extremes(bad=UNDEFINED_COLOUR, over=base(1.0))
    im = ax.imshow(np.ma.masked_invalid(pct), origin="lower", aspect="auto", cmap=cmap, vmin=0.0, vmax=vmax,
                   extent=(-0.5, piv.shape[1] - 0.5, -0.5, piv.shape[0] - 0.5))
    ax.set_xticks(range(piv.shape[1]), [f"{100 * c:.0f}%" for c in piv.columns])
    ax.set_yticks(range(piv.shape[0]), [f"{100 * r:.0f}%" for r in piv.index])
    n_over = n_undefined = 0
    for (i, j), v in np.ndenumerate(pct):
        a = abs_v[i, j]
        second = money(a, 0, sign=True, currency=currency) if np.isfinite(a) else ""
        if not np.isfinite(v):
            n_undefined += 1
            first = "undefined" if np.isfinite(a) else "n/a"
            ax.text(j, i, f"{first}\n{second}".strip(), ha="center", va="center", fontsize=8.5, color="#404040")
            continue
        if v > vmax:
            n_over += 1
            ax.add_patch(mpatches.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///",
                                            edgecolor="#7a6a00", lw=0))
            ax.text(j, i, f"> {vmax:g}%\n{second}", ha="center", va="center", fontsize=8.5, color="black",
                    fontweight="bold", bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8))
            continue
        inside = band[0] <= v <= band[1]
        ax.text(j, i, f"{v:.0f}%\n{second}", ha="center", va="center", fontsize=8.5,
                color="black" if v > 0.6 * vmax else "white", fontweight="bold" if inside else "normal")
    ax.figure.colorbar(im, ax=ax, extend="max", label=f"% change in profit per customer (scale stops at {vmax:g}%)")
    handles = [mpatches.Patch(facecolor="white", edgecolor="none",
                              label=f"in each cell: % change (bold: inside {band[0]:g}-{band[1]:g}%), then the change "
                                    f"in profit per customer ({currency or 'currency'})")]
    if n_over:
        handles.append(mpatches.Patch(facecolor=cmap(1.0), hatch="///", edgecolor="#7a6a00",
                                      label=f"> {vmax:g}%: beyond the colour scale (the profit before the gain is small "
                                            "next to the change)"))
    if n_undefined:
        handles.append(mpatches.Patch(facecolor=UNDEFINED_COLOUR, edgecolor="none",
                                      label="undefined: profit per customer before the gain is zero or negative "
                                            "(n/a: no finite value)"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=8.5, frameon=False,
              ncol=1, handlelength=2.2)
    ax.set(xlabel="annual discount rate", ylabel="base annual retention",
           title=title or f"Profit change from +{retention_gain:g} points of retention (bold: inside "
                          f"{band[0]:g}-{band[1]:g}%)")
    return ax


def plot_profit_change_by_margin(table: pd.DataFrame, *, axes: Sequence[Axes] | None = None, title: str | None = None,
                                 band: tuple[float, float] = (25.0, 125.0), vmax: float = 200.0,
                                 currency: str | None = None) -> Sequence[Axes]:
    """Absolute and % change in profit per customer by yearly margin (from ``margin_sensitivity``), money in ``currency``.

    Top: the absolute change (always defined). Bottom: the % change, its axis stopping at
    ``vmax`` (points beyond it are marked at the edge, "> vmax%"); margins where profit
    per customer before the gain is zero or negative are shaded "% undefined".
    """
    if axes is None:
        fig, axes = plt.subplots(2, 1, figsize=(7.0, 5.2), sharex=True, layout="constrained")
    top, bottom = axes
    m = table["margin"].to_numpy(dtype=float)
    absolute = table["profit_change"].to_numpy(dtype=float)
    pct = table["profit_change_pct"].to_numpy(dtype=float)
    top.plot(m, absolute, color=PALETTE[0], lw=1.6)
    top.axhline(0, color="black", lw=0.6)
    unit = f" ({currency})" if currency else ""
    top.set(ylabel=f"change in profit\nper customer{unit}", title=title or "Profit change by margin")
    undefined = ~np.isfinite(pct) & np.isfinite(absolute)
    if undefined.any():
        lo, hi = m[undefined].min(), m[undefined].max()
        step = np.diff(m).mean() / 2 if len(m) > 1 else 0.0
        top.axvspan(lo - step, hi + step, color=UNDEFINED_COLOUR, alpha=0.7, lw=0)
        bottom.axvspan(lo - step, hi + step, color=UNDEFINED_COLOUR, alpha=0.7, lw=0,
                       label="% undefined: profit per customer before the gain is zero or negative")
    bottom.axhspan(*band, color="#3a9d5d", alpha=0.12, label=f"{band[0]:g}-{band[1]:g}% (Reichheld & Sasser 1990)")
    shown = np.where(pct <= vmax, pct, np.nan)
    bottom.plot(m, shown, color=PALETTE[0], lw=1.6)
    over = np.isfinite(pct) & (pct > vmax)
    if over.any():
        bottom.plot(m[over], np.full(over.sum(), vmax), ls="none", marker="^", color=PALETTE[3],
                    label=f"> {vmax:g}%: off the scale (profit before the gain near zero)")
    bottom.set(xlabel=f"margin per customer per year{unit}", ylabel="% change in profit", ylim=(min(0.0, np.nanmin(shown)
               if np.isfinite(shown).any() else 0.0), vmax * 1.05))
    bottom.legend(fontsize=7.5, frameon=False, loc="upper right")
    return axes


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
                            band: tuple[float, float] = (25.0, 125.0), currency: str | None = None,
                            retention_gain: float = 5.0) -> Axes:
    """Bars of ``profit_change_pct`` for named assumption sets (index = case label), Bain band shaded.

    With a ``profit_change`` column each label also gives the absolute change per
    customer (in ``currency``, when given); a case whose percentage is undefined (profit before the gain <= 0) has no
    bar and reads "% undefined" with its absolute change.
    """
    ax = _ax(ax)
    y = np.arange(len(cases))
    ax.axvspan(*band, color="#3a9d5d", alpha=0.12, label="25-125% (Reichheld & Sasser 1990)")
    pct = pd.to_numeric(cases["profit_change_pct"], errors="coerce").to_numpy(dtype=float)
    absolute = (pd.to_numeric(cases["profit_change"], errors="coerce").to_numpy(dtype=float)
                if "profit_change" in cases else np.full(len(cases), np.nan))
    ax.barh(y, np.nan_to_num(pct), color=PALETTE[0])
    for yi, v, a in zip(y, pct, absolute):
        extra = f" ({money(a, 0, sign=True, currency=currency)} per customer)" if np.isfinite(a) else ""
        label = f" {v:.0f}%{extra}" if np.isfinite(v) else f" % undefined: profit before <= 0{extra}"
        ax.text(v if np.isfinite(v) else 0.0, yi, label, va="center", fontsize=8)
    ax.set_yticks(y, [plot_text(c) for c in cases.index])
    ax.invert_yaxis()
    ax.set(xlabel=f"% change in profit per customer from +{retention_gain:g} points of retention",
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
