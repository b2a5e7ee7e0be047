"""What knowing more is worth: EVPI for the decision and EVPPI for the parameter groups a pilot measures.

With options ``d`` (the schemes and no scheme) and net benefit ``NB_d(theta)`` (incremental profit):

* EVPI ``= E_theta[max_d NB_d] - max_d E_theta[NB_d]``, from the draw means; it equals the expected
  loss of the best option under current knowledge. The draw means carry some simulation noise,
  which biases EVPI up a little (noise alone can make another option look best in a draw).
* EVPPI of a group ``G`` ``= E[max_d E[NB_d | theta_G]] - max_d E[NB_d]``, with ``E[NB_d | theta_G]``
  estimated by nonparametric (additive spline, GAM) regression of each option's draw values on
  the group's draws (Strong, Oakley & Brennan 2014, Medical Decision Making 34(3):311-326). The fits
  keep each option's mean, so the estimate is >= 0; it is capped at EVPI (which bounds it by definition).

Both are per decision, for the simulated population and horizon, in currency.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .decision import option_values
from .draws import PSA
from .regression import AdditiveFit

#: fewest draws for an EVPPI regression
MIN_DRAWS = 16

#: what a pilot could measure, as groups of behavioural parameters
PILOT_GROUPS: dict[str, tuple[str, ...]] = {
    "frequency lift": ("rate_lift_price", "rate_lift_service", "rate_lift_habitual"),
    "retention effect": ("dropout_cut_price", "dropout_cut_service", "dropout_cut_habitual",
                         "perk_dropout_cut_service", "perk_dropout_cut_price", "perk_dropout_cut_habitual",
                         "status_dropout_cut"),
    "take-up": ("take_up_scale", "take_up_heavy_bias"),
}


def evpi_of(values: np.ndarray) -> float:
    """EVPI from an array draws x options of net benefits."""
    v = np.asarray(values, dtype=float)
    return float(max(v.max(axis=1).mean() - v.mean(axis=0).max(), 0.0))


def evpi(psa: PSA) -> float:
    """Expected value of perfect information about every assumption, for the decision."""
    return evpi_of(option_values(psa).to_numpy())


def evppi_of(x: np.ndarray, values: np.ndarray) -> float:
    """EVPPI of the inputs ``x`` (draws x k, on ``[0, 1]``) from net benefits draws x options, capped at EVPI."""
    v = np.asarray(values, dtype=float)
    total = evpi_of(v)
    if total == 0.0 or x.size == 0:
        return 0.0
    fitted = np.column_stack([AdditiveFit(x, v[:, d]).fitted if np.ptp(v[:, d]) > 0 else v[:, d]
                              for d in range(v.shape[1])])
    return float(min(evpi_of(fitted), total))


def evppi(psa: PSA, groups: dict[str, tuple[str, ...]] | None = None) -> pd.DataFrame:
    """EVPPI of each parameter group (default :data:`PILOT_GROUPS`) and EVPI, in currency.

    Returns
    -------
    DataFrame indexed by group: ``evppi``, ``parameters`` (the group's uncertain ones), ``share_of_evpi``.
    The last row, ``all assumptions``, is EVPI. A group's EVPPI is NaN with fewer than :data:`MIN_DRAWS`
    draws (unless EVPI is 0, when it is 0).
    """
    groups = PILOT_GROUPS if groups is None else groups
    values = option_values(psa).to_numpy()
    total = evpi_of(values)
    rows = []
    for name, params in groups.items():
        cols = [psa.names.index(p) for p in params if p in psa.names]
        val = evppi_of(psa.unit[:, cols], values) if cols else 0.0
        if cols and total > 0 and psa.n_draws < MIN_DRAWS:
            val = float("nan")  # a regression on fewer draws interpolates the noise
        rows.append({"group": name, "evppi": val, "parameters": ", ".join(psa.names[c] for c in cols),
                     "share_of_evpi": val / total if total > 0 else float("nan")})
    rows.append({"group": "all assumptions", "evppi": total, "parameters": "every uncertain parameter",
                 "share_of_evpi": 1.0 if total > 0 else float("nan")})
    return pd.DataFrame(rows).set_index("group")
