"""Figures of an uncertainty analysis: profit with both intervals, and the tornado of what decides the verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ..text.escape import plot_text
from ..text.uncertainty import plain_name
from .comparison import PALETTE, _ax
from .style import plain_axis


def plot_profit_uncertainty(table: pd.DataFrame, *, ax: Axes | None = None, title: str | None = None,
                            currency: str | None = None, colors: dict[str, str] | None = None) -> Axes:
    """Each scheme's expected incremental profit with its full interval (thin) and its noise part (thick).

    ``table`` is :func:`loyalty_sim.uncertainty.decision.decision_table` (the ``no scheme`` row is left out);
    ``colors`` maps scheme to colour (the report's one colour per scheme), ``currency`` labels the axis.
    """
    ax = _ax(ax)
    t = table.drop(index="no scheme", errors="ignore")
    y = np.arange(len(t))
    est = t["expected"].to_numpy(dtype=float)
    ax.hlines(y, t["low"], t["high"], color="#7f7f7f", lw=2.0, label="interval with the assumptions")
    noise = np.nan_to_num(t["noise_half_width"].to_numpy(dtype=float))
    ax.hlines(y, est - noise, est + noise, color="black", lw=6.0, label="simulation noise only")
    ax.scatter(est, y, color=[(colors or {}).get(s, PALETTE[i % len(PALETTE)]) for i, s in enumerate(t.index)],
               zorder=3, s=40)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [plot_text(s) for s in t.index])
    ax.invert_yaxis()
    level = int(round(100 * float(table.attrs.get("level", 0.95))))
    ax.set(title=title or f"Incremental profit: {level}% intervals with and without what we don't know",
           xlabel=f"{plot_text(currency or 'currency')} after launch, against the counterfactual")
    plain_axis(ax.xaxis)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, fontsize="small", frameon=False)
    return ax


def plot_tornado(tornado: pd.DataFrame, *, ax: Axes | None = None, title: str | None = None,
                 currency: str | None = None) -> Axes:
    """Tornado: expected output with each parameter at its 10th and 90th prior percentiles, widest swing on top.

    ``tornado`` is :func:`loyalty_sim.uncertainty.sensitivity.tornado`.
    """
    ax = _ax(ax, (7.0, max(2.5, 0.35 * len(tornado) + 1.2)))
    t = tornado
    mid = float(t["expected"].iloc[0]) if len(t) else 0.0
    y = np.arange(len(t))
    lo, hi = t["at_low"].to_numpy(dtype=float) - mid, t["at_high"].to_numpy(dtype=float) - mid
    ax.barh(y, lo, left=mid, color="#a9b4bf", label="parameter at its 10th percentile")
    ax.barh(y, hi, left=mid, color="#4b5a69", label="parameter at its 90th percentile")
    ax.axvline(mid, color="black", lw=0.8)
    lead = bool(t.attrs.get("output")) and " - " in str(t.attrs["output"])
    if lead:
        ax.axvline(0, color="#c23b5b", lw=1.0, ls="--")
    labels = [plot_text(f"{plain_name(n)} ({r.low_value:.3g} / {r.high_value:.3g})") for n, r in t.iterrows()]
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set(title=title or plot_text(f"What decides {t.attrs.get('output', 'the output')}"),
           xlabel=f"expected {'lead in ' if lead else ''}incremental profit, {plot_text(currency or 'currency')}")
    plain_axis(ax.xaxis)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, fontsize="small", frameon=False)
    return ax
