"""BG/NBD (Fader, Hardie & Lee 2005): likelihood, fit and predictions.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the easy
way: an alternative to the Pareto/NBD model. *Marketing Science* 24(2), 275-284.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import special as sc

from ..errors import ConfigError
from ._mle import (
    FitResult,
    _btyd_arrays,
    _history,
    _near_one,
    _nonneg,
    _objective,
    _params,
    _Patterns,
    _rate_scale,
    _run_fit,
    _Spec,
    _time_unit_of,
    _unique_rows,
)


@dataclass
class _BGData:
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    w: np.ndarray
    n: float
    xu: np.ndarray
    xi: np.ndarray
    pos: np.ndarray
    bx1: np.ndarray   # x - 1 for repeaters (b + x - 1 > 0)

    @classmethod
    def build(cls, P: _Patterns) -> _BGData:
        x, t_x, T = P.cols
        xu, xi = np.unique(x, return_inverse=True)
        pos = x > 0
        return cls(x=x, t_x=t_x, T=T, w=P.w, n=float(P.w.sum()), xu=xu, xi=xi, pos=pos, bx1=x[pos] - 1.0)


@np.errstate(all="ignore")
def _bgnbd_terms(theta: np.ndarray, D: _BGData, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
    r, al, a, b = theta
    xu = D.xu
    g_x = (sc.gammaln(r + xu) - sc.gammaln(r) + sc.gammaln(b + xu) - sc.gammaln(b)
           + sc.gammaln(a + b) - sc.gammaln(a + b + xu))
    lT = np.log(al + D.T)
    rx = r + D.x
    pos = D.pos
    ltx = np.log(al + D.t_x[pos])
    # l2 - l1 for repeaters: log(a / (b + x - 1)) + (r + x) (log(al + T) - log(al + t_x))
    delta = math.log(a) - np.log(b + D.bx1) + rx[pos] * (lT[pos] - ltx)
    soft = np.zeros_like(lT)
    soft[pos] = np.logaddexp(0.0, delta)
    ll = g_x[D.xi] + r * math.log(al) - rx * lT + soft
    if not grad:
        return ll, None
    w2 = np.zeros_like(lT)
    w2[pos] = sc.expit(delta)
    w1 = 1.0 - w2
    d_r_x = sc.digamma(r + xu) - sc.digamma(r)
    d_ab_x = sc.digamma(a + b) - sc.digamma(a + b + xu)
    d_b_x = sc.digamma(b + xu) - sc.digamma(b)
    inv_btx = np.zeros_like(lT)
    inv_btx[pos] = 1.0 / (al + D.t_x[pos])
    ltx_all = np.zeros_like(lT)
    ltx_all[pos] = ltx
    inv_bx = np.zeros_like(lT)
    inv_bx[pos] = 1.0 / (b + D.bx1)
    g = np.empty((4, len(lT)))
    g[0] = d_r_x[D.xi] + math.log(al) - w1 * lT - w2 * ltx_all
    g[1] = r / al - rx * (w1 / (al + D.T) + w2 * inv_btx)
    g[2] = d_ab_x[D.xi] + w2 / a
    g[3] = d_b_x[D.xi] + d_ab_x[D.xi] - w2 * inv_bx
    return ll, g


def bgnbd_log_likelihood(params: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (Fader, Hardie & Lee 2005, eq. 6).

    Parameters
    ----------
    params : dict or FitResult
        ``r, alpha, a, b``.
    frequency, recency, T : array-like
        Repeat transactions, time of the last one and length of observation.

    Returns
    -------
    ndarray
    """
    theta = np.array(_params(params, "bgnbd"))
    x, t_x, T = _btyd_arrays({"frequency": frequency, "recency": recency, "T": T})
    D = _BGData.build(_Patterns((x, t_x, T), np.ones_like(x), len(x)))
    with np.errstate(all="ignore"):
        return _bgnbd_terms(theta, D, False)[0]


def fit_bgnbd(rfm: pd.DataFrame, *, n_starts: int = 3, starts: Sequence[Any] | None = None,
              raise_on_failure: bool = True,
              rng: np.random.Generator | int | None = 20050401) -> FitResult:
    """Maximum-likelihood BG/NBD fit (Fader, Hardie & Lee 2005).

    Parameters
    ----------
    rfm : DataFrame
        ``frequency``, ``recency``, ``T`` (see :func:`loyalty_sim.btyd.rfm.rfm_summary`).
    n_starts : int
        Starting points to try (the first three are data-scaled defaults).
    starts : sequence of dict, optional
        Explicit starting points ``{"r":, "alpha":, "a":, "b":}`` instead.
    raise_on_failure : bool
        Raise :class:`FitError` when the fit does not converge (default); otherwise
        return a result with ``converged=False``.
    rng : Generator, int or None
        Draws the starting points beyond the three defaults (only when ``n_starts > 3``);
        seeded by default so that a fit is reproducible.

    Returns
    -------
    FitResult

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). *Marketing Science* 24(2), 275-284.
    """
    x, t_x, T = _btyd_arrays(rfm)
    P = _unique_rows(x, t_x, T)
    scale = _rate_scale(P.cols[0], P.cols[2], P.w)
    default = [np.log([1.0, scale, 1.0, 3.0]), np.log([0.3, 0.3 * scale, 0.5, 1.5]),
               np.log([3.0, 3.0 * scale, 3.0, 10.0])]
    spec = _Spec("bgnbd", lambda Q: _objective(_bgnbd_terms, _BGData.build(Q)), default, 1e-4,
                 "a -> 0 or b -> infinity means the data show no dropout; r and alpha -> infinity mean no "
                 "heterogeneity in purchase rates")
    return _run_fit(spec, P, starts=starts, n_starts=n_starts, raise_on_failure=raise_on_failure,
                    time_unit=_time_unit_of(rfm), rng=rng)


def bgnbd_expected_transactions(params: Any, t: Any) -> np.ndarray:
    """Expected transactions in (0, t] of a customer just acquired, E[X(t)].

    ``E[X(t)] = (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]``
    (Fader, Hardie & Lee 2005, eq. 9). When ``a + b <= 1`` (the hypergeometric form is
    undefined) it is computed as ``E_p[(1 - (alpha/(alpha+p t))^r) / p]`` by Gauss-Jacobi
    quadrature over p ~ Beta(a, b).

    Parameters
    ----------
    params : dict or FitResult
        ``r, alpha, a, b``.
    t : float or array-like
        Time since the first purchase, in the fit's time unit.

    Returns
    -------
    ndarray
        Same shape as ``t``.
    """
    r, al, a, b = _params(params, "bgnbd")
    t = _nonneg(t, "t")
    if a + b - 1.0 <= 1e-6:
        return _bgnbd_expected_quadrature(r, al, a, b, t)

    def f(aa: float) -> np.ndarray:
        with np.errstate(all="ignore"):
            z = t / (al + t)
            h = sc.hyp2f1(r, b, aa + b - 1.0, z)
            return (aa + b - 1.0) / (aa - 1.0) * (1.0 - np.exp(r * (math.log(al) - np.log(al + t))) * h)

    out = _near_one(f, a)
    return np.where(t == 0, 0.0, out)


@np.errstate(all="ignore")
def _bgnbd_expected_quadrature(r: float, al: float, a: float, b: float, t: np.ndarray,
                               n: int = 96) -> np.ndarray:
    nodes, weights = sc.roots_jacobi(n, b - 1.0, a - 1.0)
    p = (nodes + 1.0) / 2.0
    weights = weights / weights.sum()
    tt = t[..., None]
    with np.errstate(all="ignore"):
        g = -np.expm1(-r * np.log1p(p * tt / al)) / p
    return g @ weights


def bgnbd_pmf(params: Any, t: Any, x: Any) -> np.ndarray:
    """P(X(t) = x): probability of ``x`` transactions in (0, t] (Fader, Hardie & Lee 2005, eq. 8).

    Parameters
    ----------
    params : dict or FitResult
        ``r, alpha, a, b``.
    t : float or array-like
        Length of the period; broadcast against ``x``.
    x : int or array-like
        Numbers of transactions (non-negative integers).

    Returns
    -------
    ndarray
        Broadcast shape of ``t`` and ``x``.
    """
    r, al, a, b = _params(params, "bgnbd")
    t = _nonneg(t, "t")
    x = np.asarray(x, dtype=np.float64)
    if not np.isfinite(x).all() or (x < 0).any() or (x != np.round(x)).any():
        raise ConfigError("must be non-negative whole numbers", field="x")
    t, x = np.broadcast_arrays(t, x)
    with np.errstate(all="ignore"):
        lbeta0 = sc.betaln(a, b)
        z = t / (al + t)
        log_p0 = r * (math.log(al) - np.log(al + t))
        first = np.exp(sc.betaln(a, b + x) - lbeta0 + sc.gammaln(r + x) - sc.gammaln(r) - sc.gammaln(x + 1.0)
                       + log_p0 + sc.xlogy(x, z))
        xs = np.maximum(x, 1.0)
        second = np.exp(sc.betaln(a + 1.0, b + xs - 1.0) - lbeta0) * sc.betainc(xs, r, z)
    return np.where(x > 0, first + second, first)


def bgnbd_probability_alive(params: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
    """P(a customer with history (x, t_x, T) is still active) (Fader, Hardie & Lee 2005, eq. 12).

    Customers with no repeat purchase are alive with probability 1 (in BG/NBD dropout
    happens only right after a repeat purchase).

    Returns
    -------
    ndarray
    """
    r, al, a, b = _params(params, "bgnbd")
    shape, x, t_x, T, _ = _history(frequency, recency, T)
    return _bgnbd_alive(r, al, a, b, x, t_x, T).reshape(shape)


@np.errstate(all="ignore")
def _bgnbd_alive(r: float, al: float, a: float, b: float, x: np.ndarray, t_x: np.ndarray,
                 T: np.ndarray) -> np.ndarray:
    lratio = (np.log(a) - np.log(b + np.maximum(x, 1.0) - 1.0)
              + (r + x) * (np.log(al + T) - np.log(al + t_x)))
    return np.where(x > 0, sc.expit(-lratio), 1.0)


def bgnbd_conditional_expected_transactions(params: Any, t: Any, frequency: Any, recency: Any,
                                            T: Any) -> np.ndarray:
    """Expected transactions in (T, T + t] given history (x, t_x, T) (FHL 2005, eq. 10).

    Parameters
    ----------
    params : dict or FitResult
    t : float or array-like
        Length of the future period; broadcast against the customers.
    frequency, recency, T : array-like

    Returns
    -------
    ndarray
    """
    r, al, a, b = _params(params, "bgnbd")
    shape, x, t_x, T, t = _history(frequency, recency, T, t)
    alive = _bgnbd_alive(r, al, a, b, x, t_x, T)

    def f(aa: float) -> np.ndarray:
        with np.errstate(all="ignore"):
            z = t / (al + T + t)
            h = sc.hyp2f1(r + x, b + x, aa + b + x - 1.0, z)
            lead = np.exp((r + x) * (np.log(al + T) - np.log(al + T + t)))
            return (aa + b + x - 1.0) / (aa - 1.0) * (1.0 - lead * h)

    # 1 + delta * ... equals 1 / P(alive), so eq. 10 is the bracket times P(alive).
    out = _near_one(f, a) * alive
    return np.where(t == 0, 0.0, out).reshape(shape)
