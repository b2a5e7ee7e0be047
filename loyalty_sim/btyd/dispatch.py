"""Calls by model name: fit one or several models, predict and value customers under either transaction model.

Kept apart from ``btyd/__init__.py`` so that :mod:`loyalty_sim.btyd.holdout` can use the
dispatch without importing the package it belongs to.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError, FitError
from ._mle import MODELS, FitResult, _btyd_arrays, _column, _model_of, _unique_rows
from .bgnbd import (
    bgnbd_conditional_expected_transactions,
    bgnbd_expected_transactions,
    bgnbd_probability_alive,
    fit_bgnbd,
)
from .gamma_gamma import fit_gamma_gamma, gamma_gamma_expected_spend, spend_frequency
from .pareto_nbd import (
    fit_pareto_nbd,
    pareto_nbd_conditional_expected_transactions,
    pareto_nbd_expected_transactions,
    pareto_nbd_probability_alive,
)


def fit_model(rfm: pd.DataFrame, model: str, **kwargs: Any) -> FitResult:
    """Fit ``model`` (``"bgnbd"``, ``"pareto_nbd"`` or ``"gamma_gamma"``) to ``rfm``."""
    fits = {"bgnbd": fit_bgnbd, "pareto_nbd": fit_pareto_nbd, "gamma_gamma": fit_gamma_gamma}
    if model not in fits:
        raise ConfigError(f"expected one of {list(fits)}, got {model!r}", field="model")
    return fits[model](rfm, **kwargs)


@dataclass(frozen=True)
class NotFitted:
    """A model that could not be fitted: which, and why (shown in reports as "not fitted: <reason>").

    Attributes
    ----------
    model : str
    reason : str
    """

    model: str
    reason: str
    params: dict[str, float] = dataclasses.field(default_factory=dict)
    standard_errors: dict[str, float] = dataclasses.field(default_factory=dict)
    log_likelihood: float | None = None
    converged: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict with ``converged=False`` and the reason as ``error``."""
        return {"model": self.model, "converged": False, "error": self.reason}


def fit_models(rfm: pd.DataFrame, models: Mapping[str, str] | Sequence[str] = MODELS, *,
               required: Sequence[str] = (), n_starts: int = 3) -> dict[str, FitResult | NotFitted]:
    """Fit several models; one that does not converge is a :class:`NotFitted`, the others go on.

    Parameters
    ----------
    rfm : DataFrame
        An RFM summary.
    models : mapping of label -> model, or sequence of models
        What to fit (labels key the result; default: every model by its own name).
    required : sequence of str
        Models (names, not labels) whose failure raises instead (e.g. the one a population is built from).
    n_starts : int

    Returns
    -------
    dict
        Label -> :class:`FitResult` or :class:`NotFitted`.
    """
    pairs = dict(models) if isinstance(models, Mapping) else {m: m for m in models}
    out: dict[str, FitResult | NotFitted] = {}
    for label, mname in pairs.items():
        try:
            out[label] = fit_model(rfm, mname, n_starts=n_starts)
        except (FitError, DataError) as exc:
            if mname in required:
                raise
            out[label] = NotFitted(model=mname, reason=str(exc))
    return out


def fit_table(fits: Mapping[str, FitResult | NotFitted]) -> pd.DataFrame:
    """Estimates, standard errors and log-likelihoods of :func:`fit_models`, one row per parameter.

    A model that was not fitted has one row, parameter ``"not fitted: <reason>"``.
    """
    rows = []
    for name, f in fits.items():
        if isinstance(f, NotFitted):
            rows.append({"model": name, "parameter": f"not fitted: {f.reason}", "estimate": None,
                         "standard error": None, "log-likelihood": None, "converged": False})
            continue
        for k, v in f.params.items():
            rows.append({"model": name, "parameter": k, "estimate": v, "standard error": f.standard_errors.get(k),
                         "log-likelihood": f.log_likelihood, "converged": f.converged})
    return pd.DataFrame(rows).set_index(["model", "parameter"])


def expected_transactions(params: Any, t: Any, *, model: str | None = None) -> np.ndarray:
    """E[X(t)] for a new customer under ``model`` (taken from a FitResult when None)."""
    model = _model_of(params, model)
    f = bgnbd_expected_transactions if model == "bgnbd" else pareto_nbd_expected_transactions
    return f(params, t)


def conditional_expected_transactions(params: Any, t: Any, frequency: Any, recency: Any, T: Any, *,
                                      model: str | None = None) -> np.ndarray:
    """Expected transactions in (T, T + t] given (x, t_x, T) under ``model``."""
    model = _model_of(params, model)
    f = (bgnbd_conditional_expected_transactions if model == "bgnbd"
         else pareto_nbd_conditional_expected_transactions)
    return f(params, t, frequency, recency, T)


def probability_alive(params: Any, frequency: Any, recency: Any, T: Any, *,
                      model: str | None = None) -> np.ndarray:
    """P(still active | x, t_x, T) under ``model``."""
    model = _model_of(params, model)
    f = bgnbd_probability_alive if model == "bgnbd" else pareto_nbd_probability_alive
    return f(params, frequency, recency, T)


def customer_lifetime_value(transaction_params: Any, spend_params: Any, rfm: pd.DataFrame, *,
                            model: str | None = None, horizon: float = 52.0, step: float = 1.0,
                            discount_rate: float = 0.10, time_units_per_year: float | None = None,
                            margin: float = 1.0) -> pd.Series:
    """Discounted expected value of each customer's transactions over the next ``horizon``.

    ``CLV = margin * E[spend] * sum_k (E[Y(t_k)] - E[Y(t_{k-1})]) (1 + d)^(-t_k / units_per_year)``,
    with ``t_k = step, 2 step, ..., horizon``: conditional expected transactions
    (BG/NBD or Pareto/NBD) in each step, discounted at the step's end, times the
    Gamma-Gamma expected spend (a residual, discounted CLV as in Fader, Hardie & Lee 2005
    JMR, evaluated on a time grid).

    Parameters
    ----------
    transaction_params : FitResult or dict
        BG/NBD or Pareto/NBD parameters.
    spend_params : FitResult or dict
        Gamma-Gamma parameters.
    rfm : DataFrame
        ``frequency, recency, T, monetary_value``.
    model : str, optional
        Taken from ``transaction_params`` when it is a FitResult.
    horizon, step : float
        In the RFM time unit.
    discount_rate : float
        Annual discount rate (0.10 = 10% a year).
    time_units_per_year : float, optional
        Defaults to 365.25 / the RFM unit's days (52.18 for weeks).
    margin : float
        Share of spend that is profit (1 = revenue).

    Returns
    -------
    Series
        ``clv``, indexed like ``rfm``.
    """
    model = _model_of(transaction_params, model)
    for name, v in (("horizon", horizon), ("step", step), ("margin", margin)):
        if not (isinstance(v, numbers.Real) and math.isfinite(v) and v > 0):
            raise ConfigError(f"must be a positive number, got {v!r}", field=name)
    if not (math.isfinite(discount_rate) and discount_rate > -1):
        raise ConfigError(f"must exceed -1, got {discount_rate!r}", field="discount_rate")
    if time_units_per_year is None:
        time_units_per_year = 365.25 / float(rfm.attrs.get("unit_days", 7.0))
    x, t_x, T = _btyd_arrays(rfm)
    spend = gamma_gamma_expected_spend(spend_params, spend_frequency(rfm), _column(rfm, "monetary_value"))
    P = _unique_rows(x, t_x, T)
    idx = P.inverse
    grid = np.arange(step, horizon + step * 1e-9, step)
    if not len(grid) or grid[-1] < horizon:
        grid = np.append(grid, horizon)
    cum = np.stack([conditional_expected_transactions(transaction_params, tk, *P.cols, model=model)
                    for tk in grid], axis=1)
    inc = np.diff(np.hstack([np.zeros((len(P), 1)), cum]), axis=1)
    disc = (1.0 + discount_rate) ** (-grid / time_units_per_year)
    value = (inc @ disc)[idx] * spend * margin
    return pd.Series(value, index=rfm.index, name="clv")
