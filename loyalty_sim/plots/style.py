"""One look for every figure of a report: a colour per scheme and one way to draw the counterfactual.

A report builds ``colors = scheme_colors(scenario_scheme_names)`` once and passes it to
every plot, so a scheme keeps its colour from chart to chart (keyed by its place in the
scenario, never by its place in one chart). The counterfactual (no scheme) is always a
black dashed line drawn on top of the schemes, so it never hides under one.
"""

from __future__ import annotations

from typing import Iterable, Mapping

PALETTE = ("#1b6ca8", "#e07a1f", "#3a9d5d", "#c23b5b", "#7b5ea7", "#8c6d31", "#17becf", "#4a4a4a")

#: How the counterfactual is drawn in every line chart.
COUNTERFACTUAL = {"color": "black", "ls": "--", "lw": 2.0, "zorder": 10, "label": "counterfactual (no scheme)"}

#: Names a result may carry for the counterfactual.
BASELINE_NAMES = ("baseline", "counterfactual")


def scheme_colors(names: Iterable[str]) -> dict[str, str]:
    """Scheme name -> colour, by order in the scenario (the palette repeats after eight)."""
    return {str(n): PALETTE[i % len(PALETTE)] for i, n in enumerate(dict.fromkeys(names))}


def color_of(name: str, i: int, colors: Mapping[str, str] | None) -> str:
    """The colour of ``name``: from ``colors`` when it has one, else by position ``i``."""
    if colors and name in colors:
        return colors[name]
    return PALETTE[i % len(PALETTE)]


def plain_axis(axis: object, *, digits: int = 0) -> None:
    """Tick labels in fixed point with thousands separators: never a ``1e7`` offset or scientific notation."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(5))  # type: ignore[attr-defined]  # wide labels: fewer ticks, no overlap
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.{digits}f}"))  # type: ignore[attr-defined]
