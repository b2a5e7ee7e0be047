"""Figures of a trial review: event study, before/after per group, the money.

Every function draws a computed :class:`~loyalty_sim.trial.review.TrialReview`; nothing
here estimates anything.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes

from .comparison import PALETTE, _ax

_LABELS = {
    "purchases_per_week": ("purchase frequency", "purchases per customer per week"),
    "spend_per_week": ("spend per customer", "spend per customer per week (currency)"),
    "mean_ticket": ("mean ticket", "currency per purchase"),
    "retention": ("retention", "share still buying"),
}


def plot_event_study(review: Any, *, metric: str = "purchases_per_week", ax: Axes | None = None,
                     title: str | None = None) -> Axes:
    """Weekly effect (pilot minus control, relative to each customer's pre-period mean) with its interval.

    Parameters
    ----------
    review : TrialReview
    metric : {"purchases_per_week", "spend_per_week"}
        Which weekly series.
    ax : Axes, optional
    title : str, optional

    Returns
    -------
    Axes
        A line of weekly estimates, a shaded interval band, a zero line and a dotted line
        at the pilot start.
    """
    ax = _ax(ax)
    es = review.event_study
    d = es[es["metric"] == metric].sort_values("week")
    x = d["week"].to_numpy()
    ax.fill_between(x, d["ci_low"].to_numpy(), d["ci_high"].to_numpy(), color=PALETTE[0], alpha=0.2, lw=0,
                    label=f"{100 * review.level:.0f}% interval")
    ax.plot(x, d["estimate"].to_numpy(), color=PALETTE[0], marker="o", ms=3, lw=1.5, label="weekly effect")
    ax.axhline(0, color="black", lw=0.8)
    ax.axvline(-0.5, color="grey", ls=":", lw=1, label="pilot start")
    label, unit = _LABELS[metric]
    ax.set(xlabel="week relative to the pilot start (0 = first pilot week)", ylabel=f"effect, {unit}",
           title=title or f"Event study: {label}, pilot minus control")
    ax.legend(fontsize=8, frameon=False)
    return ax


def plot_before_after(review: Any, *, metric: str = "purchases_per_week", ax: Axes | None = None,
                      title: str | None = None) -> Axes:
    """Pre-period and pilot-window means of each group, as grouped bars.

    Parameters
    ----------
    review : TrialReview
    metric : str
        A metric of ``review.before_after``.
    ax : Axes, optional
    title : str, optional

    Returns
    -------
    Axes
        Four bars: pilot and control, before and during the pilot.
    """
    ax = _ax(ax, (5.5, 3.6))
    ba = review.before_after
    d = ba[ba["metric"] == metric].set_index("group")
    x = np.arange(2)
    width = 0.38
    for i, (col, name) in enumerate((("pre", "before the pilot"), ("post", "during the pilot"))):
        vals = [float(d.loc[g, col]) for g in ("pilot", "control")]
        ax.bar(x + (i - 0.5) * width, vals, width, color=PALETTE[i], alpha=0.85, label=name)
    ax.set_xticks(x, ["pilot", "control"])
    label, unit = _LABELS[metric]
    ax.set(xlabel="group", ylabel=unit, title=title or f"Before and during the pilot: {label}")
    ax.margins(y=0.25)  # head room: the legend sits above the bars, never over them
    ax.legend(fontsize=8, frameon=False, loc="upper center", ncols=2)
    return ax


def plot_trial_money(review: Any, *, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Incremental gross profit against costs, and incremental profit with its interval.

    Parameters
    ----------
    review : TrialReview
    ax : Axes, optional
    title : str, optional

    Returns
    -------
    Axes
        Horizontal bars (gross profit, costs as negatives, incremental profit) with
        interval whiskers where there is one.
    """
    ax = _ax(ax, (6.5, 3.2))
    m = review.money.set_index("item")
    items = [("incremental_gross_profit", "incremental gross profit", 1.0),
             ("discount_cost", "discount given", -1.0),
             ("reward_cost", "reward cost", -1.0),
             ("programme_cost", "programme cost", -1.0),
             ("incremental_profit", "incremental profit", 1.0)]
    est = np.array([sign * float(m.loc[k, "estimate"]) for k, _, sign in items])
    lo = np.array([sign * float(m.loc[k, "ci_low"]) for k, _, sign in items])
    hi = np.array([sign * float(m.loc[k, "ci_high"]) for k, _, sign in items])
    lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
    y = np.arange(len(items))[::-1]
    colors = [PALETTE[2] if v >= 0 else PALETTE[3] for v in est]
    ax.barh(y, est, color=colors, alpha=0.85)
    err = np.vstack([est - lo, hi - est])
    has = (hi - lo) > 0
    if has.any():
        ax.errorbar(est[has], y[has], xerr=err[:, has], fmt="none", ecolor="black", capsize=4, lw=1.2)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [label for _, label, _ in items])
    weeks = float(m.loc["pilot_weeks", "estimate"])
    ax.set(xlabel=f"currency over the pilot ({weeks:.0f} weeks)",
           title=title or f"Did the pilot pay? {review.verdict_word}")
    return ax
