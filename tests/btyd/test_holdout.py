"""Holdout checks on CDNOW: tracking, conditional expectations by frequency, and their plots."""

from __future__ import annotations

import numpy as np
import pytest

from loyalty_sim import btyd as F


def test_holdout_tracking_on_cdnow(cdnow_log, fits):
    for model, tol in (("bgnbd", 0.05), ("pareto_nbd", 0.05)):
        track = F.holdout_tracking(cdnow_log, fits[model], calibration_end="1997-09-30",
                                   observation_end="1998-06-30")
        assert len(track) == 78 and track["holdout"].sum() == 39
        assert track.loc[39, "actual"] == 2457 and track.loc[78, "actual"] == 2457 + 1882
        assert track["predicted"].is_monotonic_increasing
        # FHL (2005, fig. 2): both models track cumulative repeat sales within a few per cent
        assert track.loc[39, "predicted"] == pytest.approx(2457, rel=0.03)
        assert track.loc[78, "predicted"] == pytest.approx(4339, rel=tol)


def test_conditional_expectations_by_frequency(cdnow, fits):
    table = F.conditional_expectations_by_frequency(cdnow, fits["bgnbd"])
    assert list(table["label"]) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert table["n_customers"].sum() == 2357
    assert table["predicted"].is_monotonic_increasing
    weighted = (table["predicted"] * table["n_customers"]).sum()
    assert weighted == pytest.approx(F.bgnbd_conditional_expected_transactions(
        fits["bgnbd"], 39.0, cdnow["frequency"], cdnow["recency"], cdnow["T"]).sum())
    # FHL (2005, fig. 4): predictions follow the actual means bucket by bucket, within ~0.35 transactions
    assert np.all(np.abs(table["predicted"] - table["actual"]) < 0.4)


def test_plots_draw_what_they_are_given(cdnow_log, cdnow, fits):
    import matplotlib.pyplot as plt

    from loyalty_sim.plots.fit import plot_conditional_expectations, plot_holdout_tracking

    track = F.holdout_tracking(cdnow_log, fits["bgnbd"], calibration_end="1997-09-30")
    ax = plot_holdout_tracking(track)
    actual, predicted = ax.get_lines()[:2]
    np.testing.assert_array_equal(actual.get_ydata(), track["actual"].to_numpy())
    np.testing.assert_array_equal(predicted.get_ydata(), track["predicted"].to_numpy())
    assert ax.get_lines()[2].get_xdata()[0] == 39
    table = F.conditional_expectations_by_frequency(cdnow, fits["bgnbd"])
    fig, ax2 = plt.subplots()
    assert plot_conditional_expectations(table, ax=ax2) is ax2
    np.testing.assert_array_equal(ax2.get_lines()[1].get_ydata(), table["predicted"].to_numpy())
    plt.close("all")
