"""What decides the verdict: global sensitivity, tornado and switching values, from the PSA draws.

* **First-order indices** ``S_j = Var(E[y | x_j]) / Var(y)``: the share of an output's variance that
  knowing parameter ``j`` alone would remove. Estimated from the PSA's own draws (no extra run) by
  nonparametric regression: ``E[y | x_j]`` is a penalised cubic spline in ``x_j`` with its smoothing
  chosen by GCV (:mod:`.regression`), and ``S_j`` the variance of the fit over that of ``y``
  (Storlie, Swiler, Helton & Sallaberry 2009, Reliability Engineering & System Safety 94(11):1735-1763).
  GCV shrinks the fit of an input that does not matter to a near-constant, so its index is near 0
  even with few draws; :func:`first_order` (RBD-FAST, Tarantola, Gatelli & Mara 2006 with the bias
  correction of Tissot & Prieur 2012, computed by SALib) is the independent check on the same
  draws, reported beside it: it needs several hundred draws to separate small indices (its
  bootstrap half-width is about 0.3 at 64 draws). Sobol'-Saltelli indices would need ``N (2k + 2)``
  runs for ``k`` parameters, 80 times the PSA here. Indices are given for every scheme's profit
  and for the difference between the two leaders.
* **Tornado**: ``E[y | x_j]`` at the 10th and 90th prior percentiles of each parameter, the others
  averaged over their priors.
* **Switching values**: where ``E[a - b | x_j]`` changes sign inside the central 95% of the prior of ``x_j``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .decision import leaders
from .draws import PSA
from .regression import AdditiveFit

#: fewest draws for which sensitivity indices are computed
MIN_DRAWS = 16
#: smallest first-order index of the leaders' difference for a switching value to be reported (below it a
#: near-flat fit crossing 0 is noise, not a switch)
MIN_SWITCH_INDEX = 0.05


def first_order(unit: np.ndarray, y: np.ndarray, names: list[str], seed: int = 0, resamples: int = 100) -> pd.DataFrame:
    """RBD-FAST first-order indices of ``y`` for each column of ``unit`` (via SALib), with a bootstrap interval.

    Returns
    -------
    DataFrame indexed by parameter: ``S1``, ``S1_conf`` (half-width of the 95% bootstrap interval).
    """
    from SALib.analyze import rbd_fast

    y = np.asarray(y, dtype=float)
    n = len(y)
    if n < MIN_DRAWS or not names or float(np.var(y)) == 0.0:
        return pd.DataFrame({"S1": np.zeros(len(names)) if n >= MIN_DRAWS else np.nan,
                             "S1_conf": np.nan}, index=pd.Index(names, name="parameter"))
    m = int(min(10, max(1, n // 16)))  # harmonics: fewer with few draws (bias 2M/N)
    problem = {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=(0x46415354,))))
    si = rbd_fast.analyze(problem, np.asarray(unit, dtype=float), y, M=m, num_resamples=resamples, seed=rng)
    return pd.DataFrame({"S1": np.asarray(si["S1"], float), "S1_conf": np.asarray(si["S1_conf"], float)},
                        index=pd.Index(names, name="parameter"))


def first_order_regression(unit: np.ndarray, y: np.ndarray, names: list[str]) -> pd.Series:
    """First-order indices by spline regression: ``Var(fit of y on x_j) / Var(y)`` for each column of ``unit``."""
    y = np.asarray(y, dtype=float)
    var = float(np.var(y))
    vals = [float(np.var(AdditiveFit(unit[:, j], y).fitted)) / var if var > 0 else 0.0 for j in range(len(names))]
    return pd.Series(vals, index=pd.Index(names, name="parameter"), name="S1")


def outputs(psa: PSA) -> pd.DataFrame:
    """The outputs analysed: each scheme's profit and, with two or more schemes, ``leader - runner-up``."""
    m = psa.draw_means()
    lead = leaders(psa)
    if lead is not None:
        m[f"{lead[0]} - {lead[1]}"] = m[lead[0]] - m[lead[1]]
    return m


def sensitivity(psa: PSA) -> pd.DataFrame:
    """First-order index of every uncertain parameter (rows) for every output of :func:`outputs` (columns).

    The regression estimate; ``attrs["rbd_fast"]`` holds SALib's RBD-FAST estimate of the same indices.
    """
    out = outputs(psa)
    cols = {c: first_order_regression(psa.unit, out[c].to_numpy(), psa.names) for c in out.columns}
    t = pd.DataFrame(cols).rename_axis("parameter")
    # the cross-check's point estimates only: its bootstrap (2 s per output at 256 draws) is not shown
    t.attrs["rbd_fast"] = pd.DataFrame({c: first_order(psa.unit, out[c].to_numpy(), psa.names, psa.scenario.seed,
                                                       resamples=2)["S1"] for c in out.columns})
    return t


def tornado(psa: PSA, output: str, top: int = 10) -> pd.DataFrame:
    """The ``top`` parameters by swing of ``E[output | parameter]`` between its 10th and 90th prior percentiles.

    Columns: ``low_value``, ``high_value`` (the parameter at those percentiles), ``at_low``, ``at_high``
    (expected output there), ``expected`` (over all draws), ``swing`` (``|at_high - at_low|``), ``S1``.
    """
    y = outputs(psa)[output].to_numpy()
    s1 = first_order_regression(psa.unit, y, psa.names)
    rows = []
    for j, name in enumerate(psa.names):
        fit = AdditiveFit(psa.unit[:, j], y)
        lo, hi = fit.predict(np.array([0.1, 0.9]))
        pr = psa.priors[name]
        rows.append({"parameter": name, "low_value": float(pr.ppf(np.array([0.1]))[0]),
                     "high_value": float(pr.ppf(np.array([0.9]))[0]), "at_low": float(lo), "at_high": float(hi),
                     "expected": float(y.mean()), "swing": abs(float(hi - lo)), "S1": float(s1[name])})
    t = pd.DataFrame(rows).set_index("parameter").sort_values("swing", ascending=False, kind="stable")
    t.attrs["output"] = output
    return t.head(top)


@dataclass(frozen=True)
class Switch:
    """Where the expected lead of ``ahead`` over ``behind`` changes sign as ``parameter`` moves."""

    ahead: str
    behind: str
    parameter: str
    value: float
    below: bool  # True: ``behind`` wins below ``value``; False: above it


def switching_values(psa: PSA, top: int = 5) -> list[Switch]:
    """Switching values of the two leaders for the ``top`` parameters that matter most to their difference.

    ``ahead`` is the leader on average; a switch is reported where the additive fit of
    ``E[ahead - behind | parameter]`` crosses 0 inside the central 95% of the parameter's prior, for
    parameters explaining at least :data:`MIN_SWITCH_INDEX` of the difference's variance.
    """
    lead = leaders(psa)
    if lead is None or psa.n_draws < MIN_DRAWS or not psa.names:
        return []
    a, b = lead
    y = (psa.draw_means()[a] - psa.draw_means()[b]).to_numpy()
    s1 = first_order_regression(psa.unit, y, psa.names).sort_values(ascending=False, kind="stable")
    grid = np.linspace(0.025, 0.975, 191)
    out = []
    for name in [k for k in s1.index[:top] if s1[k] >= MIN_SWITCH_INDEX]:
        j = psa.names.index(name)
        g = AdditiveFit(psa.unit[:, j], y).predict(grid)
        sign = np.sign(g)
        idx = np.flatnonzero(sign[:-1] * sign[1:] < 0)
        if idx.size == 0:
            continue
        k = int(idx[0])
        u0 = grid[k] - g[k] * (grid[k + 1] - grid[k]) / (g[k + 1] - g[k])
        value = float(psa.priors[name].ppf(np.array([u0]))[0])
        out.append(Switch(ahead=a, behind=b, parameter=name, value=value, below=bool(g[k] < 0)))
    return out
