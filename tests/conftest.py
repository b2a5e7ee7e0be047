"""Shared fixtures and guards.

Autouse guards fail a test that touches numpy's global random state or leaves a
matplotlib figure open.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _no_global_random_state():
    before = np.random.get_state()[1].copy()
    yield
    after = np.random.get_state()[1]
    assert np.array_equal(before, after), "the test (or the code it ran) used numpy's global random state"


@pytest.fixture(autouse=True)
def _no_open_figures():
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        import matplotlib.pyplot as plt

        n = len(plt.get_fignums())
        plt.close("all")
        assert n == 0, f"the test left {n} matplotlib figure(s) open"
