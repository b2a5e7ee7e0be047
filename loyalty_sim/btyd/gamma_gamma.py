"""Gamma-Gamma model of mean repeat spend: likelihood, fit and expected spend.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: using iso-value curves
for customer base analysis. *Journal of Marketing Research* 42(4), 415-430.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import special as sc

from ..errors import ConfigError, DataError
from ._mle import (
    FitResult,
    _bad_ids,
    _column,
    _objective,
    _params,
    _Patterns,
    _run_fit,
    _Spec,
    _unique_rows,
)


@dataclass
class _GGData:
    x: np.ndarray
    w: np.ndarray
    n: float
    xu: np.ndarray
    xi: np.ndarray
    const: np.ndarray   # log(m) terms: (px - 1) log m + px log x = p x (log m + log x) - log m
    lmx: np.ndarray     # log(m) + log(x)
    mx: np.ndarray      # m * x

    @classmethod
    def build(cls, P: _Patterns) -> _GGData:
        x, m = P.cols
        xu, xi = np.unique(x, return_inverse=True)
        logm = np.log(m)
        return cls(x=x, w=P.w, n=float(P.w.sum()), xu=xu, xi=xi, const=-logm, lmx=logm + np.log(x),
                   mx=m * x)


@np.errstate(all="ignore")
def _gg_terms(theta: np.ndarray, D: _GGData, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
    p, q, g = theta
    pxu = p * D.xu
    c_x = sc.gammaln(pxu + q) - sc.gammaln(pxu)
    px = p * D.x
    lgm = np.log(g + D.mx)
    ll = c_x[D.xi] - sc.gammaln(q) + q * math.log(g) + px * D.lmx + D.const - (px + q) * lgm
    if not grad:
        return ll, None
    dpx = sc.digamma(pxu + q)
    dp_x = D.xu * (dpx - sc.digamma(pxu))
    out = np.empty((3, len(ll)))
    out[0] = dp_x[D.xi] + D.x * (D.lmx - lgm)
    out[1] = dpx[D.xi] - sc.digamma(q) + math.log(g) - lgm
    out[2] = q / g - (px + q) / (g + D.mx)
    return ll, out


def spend_frequency(rfm: Any) -> np.ndarray:
    """The repeat transactions behind each ``monetary_value`` (what Gamma-Gamma's ``x`` counts).

    ``spend_frequency`` when the summary has zero-amount visits (see
    :mod:`loyalty_sim.btyd.rfm`), else ``frequency``.
    """
    return _column(rfm, "spend_frequency" if "spend_frequency" in rfm else "frequency")


def _gg_arrays(rfm: Any, min_frequency: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, m = spend_frequency(rfm), _column(rfm, "monetary_value")
    keep = x >= max(min_frequency, 1)
    if not keep.any():
        raise DataError("no customer has a repeat transaction with a non-zero amount; Gamma-Gamma needs some",
                        column="frequency")
    bad = keep & ~(np.isfinite(m) & (m > 0))
    if bad.any():
        raise DataError(f"{int(bad.sum())} repeat customer(s) with a mean spend that is not positive, e.g. "
                        f"customer(s) {_bad_ids(rfm, bad)}. Gamma-Gamma needs positive spend: leave them out "
                        f"(rfm[rfm.monetary_value > 0]) or read the log with --returns drop (returns='drop')",
                        column="monetary_value")
    return x[keep], m[keep], keep


def gamma_gamma_log_likelihood(params: Any, frequency: Any, monetary_value: Any) -> np.ndarray:
    """Per-customer Gamma-Gamma log-likelihood of the mean repeat spend.

    Parameters
    ----------
    params : dict or FitResult
        ``p, q, gamma``.
    frequency : array-like
        Repeat transactions (> 0).
    monetary_value : array-like
        Mean value of the repeat transactions (> 0).

    Returns
    -------
    ndarray

    References
    ----------
    Fader, Hardie & Lee (2005), *Journal of Marketing Research* 42(4), eq. 3-4
    (after Colombo & Jiang 1999).
    """
    theta = np.array(_params(params, "gamma_gamma"))
    x, m, _ = _gg_arrays({"frequency": frequency, "monetary_value": monetary_value})
    if len(x) != len(np.ravel(frequency)):
        raise DataError("every customer needs frequency > 0", column="frequency")
    D = _GGData.build(_Patterns((x, m), np.ones_like(x), len(x)))
    with np.errstate(all="ignore"):
        return _gg_terms(theta, D, False)[0]


def fit_gamma_gamma(rfm: pd.DataFrame, *, n_starts: int = 3, starts: Sequence[Any] | None = None,
                    raise_on_failure: bool = True,
                    rng: np.random.Generator | int | None = 20050401) -> FitResult:
    """Maximum-likelihood Gamma-Gamma fit of mean repeat spend.

    Uses the customers with ``frequency > 0``; their ``monetary_value`` (mean of
    the repeat transactions) must be positive. The model assumes spend is
    independent of the transaction process; check
    ``rfm[["frequency", "monetary_value"]].corr()`` is near 0.

    Parameters
    ----------
    rfm : DataFrame
        ``frequency``, ``monetary_value``.
    n_starts, starts, raise_on_failure, rng
        As in :func:`fit_bgnbd` (starting points ``{"p":, "q":, "gamma":}``).

    Returns
    -------
    FitResult

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: using iso-value
    curves for customer base analysis. *Journal of Marketing Research* 42(4), 415-430.
    """
    x, m, _ = _gg_arrays(rfm)
    P = _unique_rows(x, m)
    mbar = float(P.w @ P.cols[1]) / float(P.w.sum())
    default = [np.log([4.0, 3.0, 0.5 * mbar]), np.log([1.0, 2.0, mbar]), np.log([10.0, 6.0, 0.5 * mbar])]
    spec = _Spec("gamma_gamma", lambda Q: _objective(_gg_terms, _GGData.build(Q)), default, 1e-4,
                 "q -> infinity with gamma -> infinity means spend does not vary between customers; "
                 "p -> infinity means no variation within a customer")
    return _run_fit(spec, P, starts=starts, n_starts=n_starts, raise_on_failure=raise_on_failure,
                    time_unit=None, rng=rng)


def gamma_gamma_mean_spend(params: Any) -> float:
    """Population mean spend per transaction, p gamma / (q - 1) (needs q > 1)."""
    p, q, g = _params(params, "gamma_gamma")
    if q <= 1:
        raise ConfigError(f"q = {q:.4g} <= 1: the mean spend is infinite under these parameters",
                          field="params.q")
    return p * g / (q - 1.0)


def gamma_gamma_expected_spend(params: Any, frequency: Any, monetary_value: Any) -> np.ndarray:
    """Expected mean spend per transaction given x repeat transactions of mean m.

    ``E[M | x, m] = p (gamma + x m) / (p x + q - 1)``: a weighted mean of the population
    mean ``p gamma / (q-1)`` and the customer's own mean (FHL 2005 JMR, eq. 5).
    Customers with ``frequency == 0`` get the population mean.

    Parameters
    ----------
    params : dict or FitResult
        ``p, q, gamma``.
    frequency, monetary_value : array-like

    Returns
    -------
    ndarray
    """
    p, q, g = _params(params, "gamma_gamma")
    gamma_gamma_mean_spend(params)
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary_value, dtype=np.float64)
    if (~np.isfinite(x) | (x < 0)).any():
        raise DataError("frequency must be finite and non-negative", column="frequency")
    m = np.where(x > 0, m, 0.0)
    if (x > 0).any() and (~np.isfinite(m) | (m < 0))[x > 0].any():
        raise DataError("monetary_value must be finite and non-negative for repeat customers",
                        column="monetary_value")
    return p * (g + x * m) / (p * x + q - 1.0)
