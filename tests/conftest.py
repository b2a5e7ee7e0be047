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


@pytest.fixture
def block_context():
    """Build a :class:`~loyalty_sim.schemes.context.BlockContext` by hand (default behaviour)."""
    from loyalty_sim.behaviour import BehaviourParams
    from loyalty_sim.result import SimulationConfig
    from loyalty_sim.schemes.context import BlockContext

    def make(pop, start: int = 0, stop: int | None = None, *, weeks: int | None = None, launch_week: int = 0,
             behaviour=None):
        stop = pop.n_customers if stop is None else stop
        cfg = SimulationConfig(weeks=pop.weeks if weeks is None else weeks, launch_week=launch_week)
        return BlockContext(pop, pop.traits(start, stop), start, cfg,
                            behaviour=behaviour if behaviour is not None else BehaviourParams())

    return make


@pytest.fixture
def hand_runtime(block_context):
    """A scheme's runtime on ``n`` grocery customers present from week 0, driven by hand."""
    from loyalty_sim.population import Population, load_preset

    def make(scheme, n: int = 4, weeks: int = 30, launch: int = 0, behaviour=None):
        pop = Population(load_preset("grocery", arrivals="none"), size=n, weeks=weeks, seed=1)
        return scheme.start(block_context(pop, weeks=weeks, launch_week=launch, behaviour=behaviour))

    return make
