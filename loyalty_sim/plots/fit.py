"""Figures for model fits: holdout tracking and conditional expectations (Fader, Hardie & Lee 2005).

Each function draws a frame computed by :mod:`loyalty_sim.btyd` and returns the Axes;
nothing is estimated here.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes

ACTUAL = "#1b6ca8"
PREDICTED = "#e07a1f"


def _ax(ax: Axes | None, size: tuple[float, float] = (7.0, 3.6)) -> Axes:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def plot_holdout_tracking(df: pd.DataFrame, *, ax: Axes | None = None, incremental: bool = False,
                          title: str | None = None) -> Axes:
    """Cumulative (or per-period) repeat transactions, actual and predicted, by period.

    Parameters
    ----------
    df : DataFrame
        From :func:`loyalty_sim.btyd.holdout_tracking` (``actual``, ``predicted``,
        ``actual_incremental``, ``predicted_incremental``, ``holdout``; index ``period``).
    ax : Axes, optional
    incremental : bool
        Draw per-period counts instead of cumulative ones.
    title : str, optional

    Returns
    -------
    Axes
        Two lines (actual, predicted) and a dashed line where the holdout begins.
    """
    ax = _ax(ax)
    cols = ("actual_incremental", "predicted_incremental") if incremental else ("actual", "predicted")
    x = df.index.to_numpy()
    ax.plot(x, df[cols[0]].to_numpy(), color=ACTUAL, lw=1.8, label="actual")
    ax.plot(x, df[cols[1]].to_numpy(), color=PREDICTED, lw=1.8, ls="--", label="predicted")
    if "holdout" in df and bool(df["holdout"].any()) and not bool(df["holdout"].all()):
        last_cal = x[~df["holdout"].to_numpy()].max()
        ax.axvline(last_cal, color="grey", lw=1, ls=":", label="end of calibration")
    unit = df.attrs.get("time_unit", "W")
    name = {"W": "week", "D": "day", "M": "month", "Y": "year"}.get(str(unit), "period")
    ax.set(xlabel=name, ylabel=("repeat transactions" if incremental else "cumulative repeat transactions"),
           title=title if title is not None else f"Holdout tracking ({df.attrs.get('model', 'model')})")
    ax.legend(frameon=False)
    return ax


def plot_conditional_expectations(df: pd.DataFrame, *, ax: Axes | None = None,
                                  title: str | None = None) -> Axes:
    """Mean holdout transactions, actual and predicted, by calibration-period frequency.

    Parameters
    ----------
    df : DataFrame
        From :func:`loyalty_sim.btyd.conditional_expectations_by_frequency`
        (``label``, ``n_customers``, ``actual``, ``predicted``).
    ax : Axes, optional
    title : str, optional

    Returns
    -------
    Axes
        Two lines (actual, predicted) over the frequency labels.
    """
    ax = _ax(ax)
    x = range(len(df))
    ax.plot(x, df["actual"].to_numpy(), color=ACTUAL, marker="o", lw=1.8, label="actual")
    ax.plot(x, df["predicted"].to_numpy(), color=PREDICTED, marker="s", lw=1.8, ls="--", label="predicted")
    labels = df["label"].tolist() if "label" in df else [str(v) for v in df.index]
    ax.set_xticks(list(x), labels)
    ax.set(xlabel="repeat transactions in calibration", ylabel="mean transactions in holdout",
           title=title if title is not None else
           f"Conditional expectations ({df.attrs.get('model', 'model')})")
    ax.legend(frameon=False)
    return ax
