"""The sensitivity method reproduces a function with known indices (Ishigami)."""

from __future__ import annotations

import numpy as np
import pytest

from loyalty_sim.uncertainty.priors import sobol_points
from loyalty_sim.uncertainty.sensitivity import first_order, first_order_regression


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_rbd_fast_on_sobol_draws_reproduces_the_ishigami_first_order_indices():
    """Analytic S1 (a=7, b=0.1): 0.3139, 0.4424, 0 (Ishigami & Homma 1990; Saltelli et al. 2008)."""
    u = sobol_points(2048, 3, seed=4)
    s = first_order(u, ishigami(-np.pi + 2 * np.pi * u), ["x1", "x2", "x3"], seed=1)["S1"]
    assert s["x1"] == pytest.approx(0.3139, abs=0.04)
    assert s["x2"] == pytest.approx(0.4424, abs=0.04)
    assert abs(s["x3"]) < 0.04


def test_the_spline_regression_indices_reproduce_ishigami_and_null_inputs_stay_near_zero():
    """Our own estimator (Var of a GCV spline fit / Var y) against the analytic indices, plus a dummy input."""
    u = sobol_points(2048, 4, seed=7)
    y = ishigami(-np.pi + 2 * np.pi * u[:, :3])
    s = first_order_regression(u, y, ["x1", "x2", "x3", "dummy"])
    assert s["x1"] == pytest.approx(0.3139, abs=0.02)
    assert s["x2"] == pytest.approx(0.4424, abs=0.02)
    assert s["x3"] < 0.01 and s["dummy"] < 0.01
