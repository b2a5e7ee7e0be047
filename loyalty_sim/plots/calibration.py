"""The fit check of "your customers": weekly repeat purchases, actual and fitted, and holdout purchases by past frequency."""

from __future__ import annotations

from typing import Any

from .fit import plot_conditional_expectations, plot_holdout_tracking

__all__ = ["plot_fit_check"]


def plot_fit_check(tables: tuple[Any, Any], *, axes: Any = None) -> Any:
    """Two panels from :meth:`~loyalty_sim.calibration.calibrate.CalibratedPopulation.check_tables`.

    Left: weekly repeat purchases of the log's customers, actual and as the fit predicts,
    over the calibration period and the holdout. Right: mean holdout purchases by the
    number of repeat purchases in the calibration period.

    Returns
    -------
    ndarray of Axes
    """
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(12, 3.8), layout="constrained")
    track, cond = tables
    plot_holdout_tracking(track, ax=axes[0], incremental=True, title="Weekly repeat purchases: log vs fit")
    plot_conditional_expectations(cond, ax=axes[1], title="Holdout purchases by past repeat purchases")
    return axes
