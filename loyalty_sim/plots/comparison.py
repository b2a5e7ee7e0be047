"""Figures for scheme comparisons: effects with intervals, weekly paths, naive vs causal, segments, sweeps."""

from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ..text.escape import plot_text
from .style import BASELINE_NAMES, COUNTERFACTUAL, PALETTE, color_of, plain_axis


def _ax(ax: Axes | None, size: tuple[float, float] = (7.0, 3.6)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def plot_effects(effects: pd.DataFrame, metric: str, *, ax: Axes | None = None, relative: bool = False,
                 title: str | None = None, xlabel: str | None = None, colors: Mapping[str, str] | None = None,
                 scale: float = 1.0) -> Axes:
    """Horizontal bars of each scheme's effect on ``metric`` with its interval (from ``Comparison.effects()``).

    ``colors`` (:func:`~loyalty_sim.plots.style.scheme_colors`) keeps each scheme's colour;
    ``scale`` multiplies absolute effects (100: shares drawn as percentage points).
    """
    ax = _ax(ax)
    d = effects[effects["metric"] == metric].reset_index(drop=True)
    est, lo, hi = d["effect"].to_numpy(), d["ci_low"].to_numpy(), d["ci_high"].to_numpy()
    if relative:
        base = d["baseline"].to_numpy()
        scale = 100.0 / np.where(base == 0, np.nan, base)
    est, lo, hi = est * scale, lo * scale, hi * scale
    y = np.arange(len(d))
    ax.barh(y, est, color=[color_of(str(n), i, colors) for i, n in enumerate(d["scheme"])], alpha=0.85)
    err = np.vstack([est - lo, hi - est])
    ok = np.isfinite(err).all(axis=0)
    if ok.any():
        ax.errorbar(est[ok], y[ok], xerr=err[:, ok], fmt="none", ecolor="black", capsize=4, lw=1.2)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [plot_text(s) for s in d["scheme"]])
    ax.invert_yaxis()
    level = int(round(100 * float(d["level"].iloc[0]))) if len(d) else 95
    unit = "% of counterfactual" if relative else (d["unit"].iloc[0] if len(d) else "")
    ax.set(title=title or f"Effect on {metric.replace('_', ' ')} ({level}% interval)",
           xlabel=xlabel or unit)
    if np.nanmax(np.abs(np.concatenate([est, lo, hi])), initial=0) >= 1000:
        plain_axis(ax.xaxis)
    return ax


def plot_weekly(results: Mapping[str, pd.DataFrame], column: str, *, ax: Axes | None = None,
                launch_week: int | None = None, per: str | None = "alive_start", ylabel: str | None = None,
                title: str | None = None, colors: Mapping[str, str] | None = None) -> Axes:
    """Weekly path of ``column`` for several runs (``{name: result.weekly}``), optionally per alive customer.

    The counterfactual (``baseline``) is the black dashed line, drawn on top.
    """
    ax = _ax(ax)
    schemes = [n for n in results if n not in BASELINE_NAMES]
    for i, name in enumerate(schemes):
        w = results[name]
        y = w[column] / w[per].replace(0, np.nan) if per else w[column]
        ax.plot(w.index, y, label=plot_text(name), color=color_of(name, i, colors), lw=1.4)
    for name in (n for n in results if n in BASELINE_NAMES):
        w = results[name]
        y = w[column] / w[per].replace(0, np.nan) if per else w[column]
        ax.plot(w.index, y, **COUNTERFACTUAL)
    if launch_week:
        ax.axvline(launch_week, color="grey", ls=":", lw=1)
        ax.annotate("launch", (launch_week, 1), xycoords=("data", "axes fraction"), xytext=(3, -12),
                    textcoords="offset points", color="grey", fontsize=8)
    ax.set(xlabel="week", ylabel=ylabel or (f"{column} per alive customer" if per else column),
           title=title or column.replace("_", " "))
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


def plot_naive_vs_causal(effects: pd.DataFrame, metric: str = "purchases_per_customer_week", *,
                         ax: Axes | None = None, title: str | None = None,
                         colors: Mapping[str, str] | None = None) -> Axes:
    """For each scheme: the naive before/after change (grey) beside the effect against the counterfactual (its colour)."""
    ax = _ax(ax)
    d = effects[effects["metric"] == metric].reset_index(drop=True)
    if "naive_before_after" not in d:
        d = d.assign(naive_before_after=np.nan, naive_ci_low=np.nan, naive_ci_high=np.nan)
    x = np.arange(len(d))
    w = 0.38
    for off, col, lo, hi, label, color in ((-w / 2, "naive_before_after", "naive_ci_low", "naive_ci_high",
                                            "naive before/after", "#9e9e9e"),
                                           (w / 2, "effect", "ci_low", "ci_high", "vs counterfactual", PALETTE[0])):
        est = d[col].to_numpy(dtype=float)
        if col == "effect":
            color = [color_of(str(n), i, colors) for i, n in enumerate(d["scheme"])]
        ax.bar(x + off, est, w, label=label, color=color)
        err = np.vstack([est - d[lo].to_numpy(dtype=float), d[hi].to_numpy(dtype=float) - est])
        ok = np.isfinite(err).all(axis=0)
        if ok.any():
            ax.errorbar((x + off)[ok], est[ok], yerr=err[:, ok], fmt="none", ecolor="black", capsize=3, lw=1)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(x, [plot_text(s) for s in d["scheme"]])
    ax.set(ylabel=d["unit"].iloc[0] if len(d) else "", title=title or "Naive before/after vs causal effect")
    ax.legend(fontsize=8, frameon=False)
    return ax


def plot_grouped_bars(frame: pd.DataFrame, x: str, bars: str, value: str, *, ci: tuple[str, str] | None = None,
                      ax: Axes | None = None, ylabel: str | None = None, title: str | None = None,
                      percent: bool = False, colors: Mapping[str, str] | None = None) -> Axes:
    """Grouped bars: ``value`` for each ``x`` category (groups) and ``bars`` category (one colour each).

    ``ci`` names the columns of interval bounds drawn as error bars; ``percent`` scales
    shares to per cent.
    """
    ax = _ax(ax)
    names = list(dict.fromkeys(frame[bars].astype(str)))
    cats = list(dict.fromkeys(frame[x].astype(str)))
    scale = 100.0 if percent else 1.0
    w = 0.8 / max(len(names), 1)
    pos = np.arange(len(cats))
    for i, name in enumerate(names):
        d = frame[frame[bars].astype(str) == name]
        d = d.set_index(d[x].astype(str)).reindex(cats)
        est = d[value].to_numpy(dtype=float) * scale
        xs = pos + (i - (len(names) - 1) / 2) * w
        ax.bar(xs, est, w, label=plot_text(name.replace("_", " ")), color=color_of(name, i, colors))
        if ci is not None:
            err = np.vstack([est - d[ci[0]].to_numpy(dtype=float) * scale, d[ci[1]].to_numpy(dtype=float) * scale - est])
            ok = np.isfinite(err).all(axis=0)
            if ok.any():
                ax.errorbar(xs[ok], est[ok], yerr=err[:, ok], fmt="none", ecolor="black", capsize=2, lw=0.8)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(pos, [plot_text(c.replace("_", " ")) for c in cats])
    ax.set(ylabel=ylabel or value.replace("_", " "), title=title or value.replace("_", " "))
    ax.legend(fontsize=8, frameon=False)
    return ax


def plot_segment_effects(segments: pd.DataFrame, *, ax: Axes | None = None, title: str | None = None,
                         value: str = "purchases_effect", ylabel: str = "transactions per alive customer-week",
                         colors: Mapping[str, str] | None = None) -> Axes:
    """Grouped bars: effect by segment and scheme, with intervals (``ci_low``/``ci_high``) where given."""
    ci = ("ci_low", "ci_high") if value == "purchases_effect" else (f"{value}_ci_low", f"{value}_ci_high")
    if not set(ci) <= set(segments.columns):
        ci = None
    return plot_grouped_bars(segments, "segment", "scheme", value, ci=ci, ax=ax, ylabel=ylabel,
                             title=title or "Effect by segment", colors=colors)


def plot_sweep(sweep: pd.DataFrame, x: str, y: str, *, ax: Axes | None = None, ci: tuple[str, str] | None = None,
               xlabel: str | None = None, ylabel: str | None = None, title: str | None = None,
               percent_x: bool = False, mark_best: bool = True, label: str | None = None) -> Axes:
    """A line over a swept parameter with an optional interval band; marks the best value."""
    ax = _ax(ax)
    xs = sweep[x].to_numpy(dtype=float) * (100 if percent_x else 1)
    ys = sweep[y].to_numpy(dtype=float)
    line, = ax.plot(xs, ys, marker="o", lw=1.6, label=label or y.replace("_", " "))
    if ci is not None:
        ax.fill_between(xs, sweep[ci[0]].to_numpy(dtype=float), sweep[ci[1]].to_numpy(dtype=float),
                        color=line.get_color(), alpha=0.18, lw=0)
    if mark_best and np.isfinite(ys).any() and np.nanmax(ys) > 0:  # a loss is never marked best
        i = int(np.nanargmax(ys))
        ax.plot(xs[i], ys[i], marker="*", ms=14, color="#c23b5b", zorder=5)
        ax.annotate(f"best: {xs[i]:g}{'%' if percent_x else ''}", (xs[i], ys[i]), xytext=(6, 6),
                    textcoords="offset points", fontsize=8)
    ax.axhline(0, color="black", lw=0.8)
    ax.set(xlabel=xlabel or x, ylabel=ylabel or y, title=title or f"{y} by {x}")
    if abs(np.nanmax(np.abs(ys), initial=0)) >= 1000:
        plain_axis(ax.yaxis)
    return ax


def plot_member_gap(gaps: pd.DataFrame, *, ax: Axes | None = None, title: str | None = None,
                    colors: Mapping[str, str] | None = None) -> Axes:
    """Members vs non-members: the naive gap beside the causal effect on members (self-selection)."""
    ax = _ax(ax)
    x = np.arange(len(gaps))
    w = 0.38
    ax.bar(x - w / 2, gaps["naive_gap"], w, label="naive gap (members - non-members)", color="#9e9e9e")
    ax.bar(x + w / 2, gaps["causal_effect_on_members"], w, label="causal effect on members",
           color=[color_of(str(n), i, colors) for i, n in enumerate(gaps.index)])
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(x, [plot_text(s) for s in gaps.index])
    ax.set(ylabel="transactions per alive customer-week", title=title or "Self-selection: naive gap vs causal effect")
    ax.legend(fontsize=8, frameon=False)
    return ax
