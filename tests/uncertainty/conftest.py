"""Small scenarios and synthetic PSAs for the uncertainty tests."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from loyalty_sim.economics import Economics
from loyalty_sim.scenario import load_scenario
from loyalty_sim.uncertainty.draws import PSA
from loyalty_sim.uncertainty.priors import priors


@pytest.fixture
def small_scenario():
    """coffee_comparison cut to one granule of customers, 40 weeks, stamp10 and club3."""
    sc = load_scenario("coffee_comparison", customers=4096, weeks=40, seed=3)
    return dataclasses.replace(sc, launch_week=8, schemes=[s for s in sc.schemes if s.name in ("stamp10", "club3")])


def synthetic_psa(unit: np.ndarray, values: np.ndarray, names: list[str], schemes: list[str]) -> PSA:
    """A PSA over given unit-cube draws and values (draws x replications x schemes) of incremental profit."""
    n, r, s = values.shape
    sc = load_scenario("coffee_comparison")
    sc = dataclasses.replace(sc, schemes=[x.model_copy(update={"name": nm}) for x, nm in zip(sc.schemes, schemes)])
    rows = [{"draw": i, "replication": k, "scheme": schemes[j], "incremental_profit": float(values[i, k, j])}
            for i in range(n) for k in range(r) for j in range(s)]
    prs = priors()
    return PSA(scenario=sc, economics=Economics(), priors=prs, names=list(names), unit=unit,
               parameters=pd.DataFrame(index=pd.RangeIndex(n, name="draw")), runs=pd.DataFrame(rows),
               replications=r, seeds=[], level=0.95)
