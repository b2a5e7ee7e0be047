"""The decision under uncertainty: expected profit, its two intervals, P(pays), P(best), expected loss.

Each draw ``i`` has ``R`` paired replications ``y_ir`` of a scheme's incremental profit. By the
law of total variance,

    Var(y) = E_theta[Var(y | theta)] + Var_theta(E[y | theta]),

the first term is the simulation noise of one replication, estimated by the mean within-draw
variance ``s_w^2`` (needs ``R >= 2``); the second is what the assumptions contribute, estimated
by ``Var_i(mean_r y_ir) - s_w^2 / R`` (the draw means carry ``s_w^2 / R`` of noise), floored at 0.
The interval of the profit is ``mean +- z sqrt(assumption + noise / R)``: ``z sqrt(noise / R)`` is
the plain comparison's interval (what more replications would shrink) and ``z sqrt(assumption)``
what only better knowledge of the assumptions would.

The decision is between the schemes and *no scheme* (incremental profit 0). ``P(best)`` is the
share of draws in which an option has the highest draw mean (ties to the first listed), so it
sums to 1 over the options; the expected loss of an option is the mean over draws of the best
option's profit minus its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .draws import PSA

#: the option of launching nothing (incremental profit 0 in every draw)
NO_SCHEME = "no scheme"


def option_values(psa: PSA, metric: str = "incremental_profit") -> pd.DataFrame:
    """Draw means of ``metric`` for every option: ``no scheme`` (0) first, then the schemes."""
    m = psa.draw_means(metric)
    m.insert(0, NO_SCHEME, 0.0)
    return m


def best_option(values: pd.DataFrame) -> np.ndarray:
    """Index of the best option in each draw (ties to the first column)."""
    return np.argmax(values.to_numpy(dtype=float), axis=1)


def variance_parts(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(assumption variance, noise variance of one replication) per scheme from draws x replications x schemes.

    The noise part is NaN with one replication per draw; the assumption part is then the variance
    of the draw values, noise included.
    """
    n, r, _ = v.shape
    means = v.mean(axis=1)
    between = means.var(axis=0, ddof=1) if n >= 2 else np.zeros(v.shape[2])
    if r < 2:
        return between, np.full(v.shape[2], np.nan)
    within = v.var(axis=1, ddof=1).mean(axis=0)
    return np.maximum(between - within / r, 0.0), within


def noise_from_comparison(comparison: Any, metric: str = "incremental_profit") -> dict[str, float]:
    """Per scheme, the variance of ``metric`` over a plain comparison's replications (noise at the point values)."""
    pr = comparison.per_replication
    out = {}
    for name in comparison.schemes:
        v = pr[(pr["scheme"] == name) & (pr["metric"] == metric)]["value"].to_numpy(dtype=float)
        out[name] = float(v.var(ddof=1)) if v.size >= 2 else float("nan")
    return out


def decision_table(psa: PSA, metric: str = "incremental_profit", noise: dict[str, float] | None = None) -> pd.DataFrame:
    """One row per option: expected value, intervals, P(pays), P(best), expected loss.

    With one replication per draw the noise of one replication is taken from ``noise`` (per
    scheme, e.g. :func:`noise_from_comparison`, measured at the point values) and the assumption
    part is the draws' variance less it.

    Columns: ``expected``, ``low``/``high`` (interval with both parts), ``assumption_half_width``,
    ``noise_half_width``, ``assumption_share`` (of the interval's variance), ``draws_low``/``draws_high``
    (quantiles of the draw means), ``p_pays``, ``p_best``, ``expected_loss``.
    """
    vals = option_values(psa, metric)
    v = psa.values(metric)
    z = float(stats.norm.ppf(0.5 + psa.level / 2))
    a_var, n_var = variance_parts(v)
    r = psa.replications
    if r < 2 and noise is not None:
        n_var = np.array([noise.get(s, np.nan) for s in psa.schemes], dtype=float)
        a_var = np.maximum(a_var - np.nan_to_num(n_var), 0.0)
    best = best_option(vals)
    x = vals.to_numpy(dtype=float)
    loss = (x.max(axis=1, keepdims=True) - x).mean(axis=0)
    q = (0.5 - psa.level / 2, 0.5 + psa.level / 2)
    rows = []
    for j, name in enumerate(vals.columns):
        col = x[:, j]
        row = {"option": name, "expected": float(col.mean()), "p_best": float(np.mean(best == j)),
               "expected_loss": float(loss[j]), "draws_low": float(np.quantile(col, q[0])),
               "draws_high": float(np.quantile(col, q[1]))}
        if j == 0:
            row.update(low=0.0, high=0.0, assumption_half_width=0.0, noise_half_width=0.0,
                       assumption_share=float("nan"), p_pays=float("nan"))
        else:
            av, nv = float(a_var[j - 1]), float(n_var[j - 1])
            noise = nv / r if np.isfinite(nv) else 0.0
            half = z * np.sqrt(av + noise)
            row.update(low=row["expected"] - half, high=row["expected"] + half,
                       assumption_half_width=z * np.sqrt(av),
                       noise_half_width=z * np.sqrt(nv / r) if np.isfinite(nv) else float("nan"),
                       assumption_share=av / (av + noise) if av + noise > 0 else float("nan"),
                       p_pays=float(np.mean(col > 0)))
        rows.append(row)
    out = pd.DataFrame(rows).set_index("option")
    out.attrs.update(level=psa.level, draws=psa.n_draws, replications=r, metric=metric)
    return out


def leaders(psa: PSA, metric: str = "incremental_profit") -> tuple[str, str] | None:
    """The two schemes with the highest expected ``metric`` (best first); None with fewer than two schemes."""
    m = psa.draw_means(metric).mean(axis=0).sort_values(ascending=False, kind="stable")
    return (str(m.index[0]), str(m.index[1])) if len(m) >= 2 else None
