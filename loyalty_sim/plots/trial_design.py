"""Figures for a pilot design: power against pilot length (or share), minimum detectable effects.

Each function draws what :func:`loyalty_sim.trial.design.design_trial` computed and
returns the Axes; nothing is estimated here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes

from .comparison import PALETTE, _ax

ANALYTIC = "#1b6ca8"
SIMULATED = "#e07a1f"

_LABELS = {"frequency": "purchase frequency", "spend": "spend per customer", "retention": "retention"}


def plot_power_curve(design: Any, *, ax: Axes | None = None, metric: str | None = None, by: str = "weeks",
                     title: str | None = None) -> Axes:
    """Power to detect the simulated effect against pilot length (or pilot share).

    Draws the analytic power (line), the simulated power (markers, with a band of two
    binomial standard errors where simulated), the target power (dotted horizontal
    line) and, when the target is reached, the recommended length or share (dotted
    vertical line).

    Parameters
    ----------
    design : TrialDesign
        From :func:`loyalty_sim.trial.design.design_trial`.
    ax : Axes, optional
    metric : str, optional
        Outcome (default: the design's primary one).
    by : {"weeks", "share"}
        Against pilot length at the chosen share, or against share at the chosen length.
    title : str, optional

    Returns
    -------
    Axes
    """
    if by not in ("weeks", "share"):
        from ..errors import ConfigError

        raise ConfigError(f"expected 'weeks' or 'share', got {by!r}", field="by")
    ax = _ax(ax)
    metric = metric or design.primary
    c = design.curve
    d = c[(c["metric"] == metric) & (c["varies"] == by)].sort_values(by)
    x = d[by].to_numpy(dtype=float) * (100.0 if by == "share" else 1.0)
    ax.plot(x, 100 * d["analytic_power"].to_numpy(), color=ANALYTIC, lw=1.8, label="analytic")
    sim = d["simulated_power"].to_numpy(dtype=float)
    ok = np.isfinite(sim)
    if ok.any():
        se = d["simulated_power_se"].to_numpy(dtype=float)[ok]
        ax.fill_between(x[ok], 100 * np.clip(sim[ok] - 2 * se, 0, 1), 100 * np.clip(sim[ok] + 2 * se, 0, 1),
                        color=SIMULATED, alpha=0.15, lw=0)
        ax.plot(x[ok], 100 * sim[ok], color=SIMULATED, lw=1.2, ls="--", marker="o", ms=4,
                label=f"simulated ({int(design.settings.get('curve_rerandomisations', 0))} re-randomisations)")
    target = 100 * float(design.settings["target_power"])
    ax.axhline(target, color="black", ls=":", lw=1, label=f"target {target:.0f}%")
    rec = design.recommendation or {}
    best = rec.get(by) if rec.get("metric") == metric else None
    if best is not None:
        xb = 100 * float(best) if by == "share" else float(best)
        ax.axvline(xb, color="grey", ls=":", lw=1, label=f"recommended {xb:g}{'%' if by == 'share' else ' weeks'}")
    s = design.settings
    fixed = f"{100 * s['share']:.0f}% in pilot" if by == "weeks" else f"{s['weeks']}-week pilot"
    ax.set(xlabel="pilot length (weeks)" if by == "weeks" else f"pilot share (% of {s['unit']}s)",
           ylabel="power (% of pilots that detect the effect)", ylim=(0, 102),
           title=title or f"Power for {_LABELS.get(metric, metric)} ({fixed}, alpha {100 * s['alpha']:g}%)")
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    return ax


def plot_mde(design: Any, *, ax: Axes | None = None, relative: bool = True, title: str | None = None) -> Axes:
    """Minimum detectable effect of each outcome against pilot length, with the simulated effect.

    For each outcome: the analytic MDE at the target power (solid line) and the
    scheme's simulated effect (dashed line, same colour); the pilot can show the effect
    where the dashed line is above the solid one. Where the chosen design was
    simulated, its simulated MDE is marked.

    Parameters
    ----------
    design : TrialDesign
    ax : Axes, optional
    relative : bool
        In % of the baseline mean (default; puts the outcomes on one scale) or in each
        outcome's own unit.
    title : str, optional

    Returns
    -------
    Axes
    """
    ax = _ax(ax)
    c = design.curve
    s = design.settings
    mcol = "analytic_mde_relative" if relative else "analytic_mde"
    for i, metric in enumerate(dict.fromkeys(c["metric"])):
        d = c[(c["metric"] == metric) & (c["varies"] == "weeks")].sort_values("weeks")
        color = PALETTE[i % len(PALETTE)]
        scale = 100.0 if relative else 1.0
        effect = (d["true_effect"] / d["baseline_mean"].where(d["baseline_mean"] > 0)) if relative else d["true_effect"]
        name = _LABELS.get(metric, metric)
        ax.plot(d["weeks"], scale * d[mcol], color=color, lw=1.8, label=f"{name}: detectable")
        ax.plot(d["weeks"], scale * np.abs(effect), color=color, lw=1.2, ls="--", label=f"{name}: simulated effect")
        row = design.metrics[design.metrics["metric"] == metric]
        if len(row):
            v = float(row["simulated_mde_relative" if relative else "simulated_mde"].iloc[0])
            if np.isfinite(v):
                ax.scatter([s["weeks"]], [scale * v], color=color, marker="D", s=22, zorder=3)
    unit = "% of the baseline mean" if relative else "outcome units"
    ax.set(xlabel="pilot length (weeks)", ylabel=f"effect ({unit})",
           title=title or f"Detectable ({100 * s['target_power']:.0f}% power) vs simulated effect")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, frameon=False, ncol=2)
    return ax
