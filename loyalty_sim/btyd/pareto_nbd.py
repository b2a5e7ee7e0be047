"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987): likelihood, fit and predictions.

The likelihood uses the Gauss hypergeometric form of Fader & Hardie (2005). After
Euler's transformation its series has positive terms falling at least as fast as z^k,
and is summed with its parameter derivatives (an analytic gradient) while z <= 0.65;
beyond that, finite differences of ``scipy.special.hyp2f1`` are used.

References
----------
Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting your customers: who
are they and what will they do next? *Management Science* 33(1), 1-24.

Fader, P. S. & Hardie, B. G. S. (2005). A note on deriving the Pareto/NBD model and
related expressions. http://brucehardie.com/notes/009/
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from scipy import special as sc

from ._mle import (
    FitResult,
    _btyd_arrays,
    _history,
    _nonneg,
    _params,
    _Patterns,
    _rate_scale,
    _run_fit,
    _Spec,
    _time_unit_of,
    _unique_rows,
)


@dataclass
class _PNData:
    x: np.ndarray
    w: np.ndarray
    n: float
    xu: np.ndarray
    xi: np.ndarray
    T: np.ndarray
    xa: np.ndarray   # unique (x, t_x): the hypergeometric term at t_x ...
    ta: np.ndarray
    ia: np.ndarray   # ... and each pattern's row in it
    xb: np.ndarray   # unique (x, T): the term at T
    tb: np.ndarray
    ib: np.ndarray
    same: np.ndarray  # t_x == T: the integral term vanishes
    xv: np.ndarray   # xa then xb, for one series call
    tv: np.ndarray
    tmin: float

    @classmethod
    def build(cls, P: _Patterns) -> _PNData:
        x, t_x, T = P.cols
        xu, xi = np.unique(x, return_inverse=True)
        pa = _unique_rows(x, t_x)
        pb = _unique_rows(x, T)
        ia, ib = pa.inverse, pb.inverse
        xv = np.concatenate([pa.cols[0], pb.cols[0]])
        tv = np.concatenate([pa.cols[1], pb.cols[1]])
        return cls(x=x, w=P.w, n=float(P.w.sum()), xu=xu, xi=xi, T=T, xa=pa.cols[0], ta=pa.cols[1], ia=ia,
                   xb=pb.cols[0], tb=pb.cols[1], ib=ib, same=t_x >= T, xv=xv, tv=tv, tmin=float(tv.min()))


def _log_h(A: np.ndarray, B: np.ndarray, m: np.ndarray, z: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Log of 2F1(A, B; A + 1; z) / (m + t)^A."""
    return np.log(sc.hyp2f1(A, B, A + 1.0, z)) - A * np.log(m + t)


@np.errstate(all="ignore")
def _pnbd_terms(theta: np.ndarray, D: _PNData) -> tuple[np.ndarray, np.ndarray]:
    """Log of the two parts of the Pareto/NBD likelihood, without the common factor.

    ``theta`` has shape (k, 4) (k parameter vectors evaluated at once). Returns
    ``l0 = log[(alpha+T)^-(r+x) (beta+T)^-s]`` and ``lI = log[s * integral]`` where
    integral = int_{t_x}^{T} (alpha+tau)^-(r+x) (beta+tau)^-(s+1) d tau, shape (k, n).
    """
    r, al, s, be = (theta[:, i:i + 1] for i in range(4))
    a_ge = al >= be
    m = np.where(a_ge, al, be)
    dz = np.abs(al - be)

    def part(xv: np.ndarray, tv: np.ndarray) -> np.ndarray:
        A = r + s + xv
        B = np.where(a_ge, s + 1.0, r + xv)
        return _log_h(A, B, m, dz / (m + tv), tv)

    la = part(D.xa, D.ta)[:, D.ia]
    lb = part(D.xb, D.tb)[:, D.ib]
    diff = np.minimum(lb - la, 0.0)
    lI = la + np.log(-np.expm1(diff)) + np.log(s) - np.log(r + s + D.x)
    lI = np.where(D.same | (diff >= 0.0), -np.inf, lI)
    l0 = -(r + D.x) * np.log(al + D.T) - s * np.log(be + D.T)
    return l0, lI


@np.errstate(all="ignore")
def _pnbd_ll(theta: np.ndarray, D: _PNData) -> np.ndarray:
    r, al, s, be = (theta[:, i:i + 1] for i in range(4))
    l0, lI = _pnbd_terms(theta, D)
    g_x = sc.gammaln(r + D.xu) - sc.gammaln(r)
    return g_x[:, D.xi] + r * np.log(al) + s * np.log(be) + np.logaddexp(l0, lI)


_FD_STEP = 1e-5


_SERIES_ZMAX = 0.65     # use the series (analytic gradient) while every argument is below this


_SERIES_MAXTERMS = 400


@np.errstate(all="ignore")
def _h_series(A: np.ndarray, B: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, ...] | None:
    """Log 2F1(A, B; A+1; z) and its derivatives in A, B and z.

    Euler's transformation gives ``2F1(A, B; A+1; z) = (1-z)^(1-B) G`` with
    ``G = 2F1(1, C; A+1; z) = sum_k (C)_k / (A+1)_k z^k`` and ``C = A + 1 - B``. For the
    Pareto/NBD arguments C < A + 1, so the terms of G are positive and fall at least
    as fast as z^k: the sum is accurate and, for z <= ``_SERIES_ZMAX``, short. Returns
    ``(log F, d/dA, d/dB, d/dz)`` or None if the series has not converged.
    """
    C = A + 1.0 - B
    G = np.ones_like(z)
    GC = np.zeros_like(z)     # sum g_k dC_k,  dC_k = sum_{j<k} 1/(C+j)
    GA = np.zeros_like(z)     # sum g_k dA_k,  dA_k = sum_{j<k} 1/(A+1+j)
    Gz = np.zeros_like(z)     # sum k g_k / z
    g = np.ones_like(z)
    dC = np.zeros_like(z)
    dA = np.zeros_like(z)
    ck = C.copy()
    ak = A + 1.0
    limit = 1e-15 * (1.0 - float(z.max()))   # tail of every sum below 1e-15 (G >= 1)
    for k in range(1, _SERIES_MAXTERMS):
        ratio = ck / ak
        dC += 1.0 / ck
        dA += 1.0 / ak
        gz = g * ratio * k          # k g_k / z
        g = gz * (z / k)
        G += g
        Gz += gz
        GC += g * dC
        GA += g * dA
        ck += 1.0
        ak += 1.0
        if k % 4 == 0 and float(np.max(gz)) < limit:
            lz = np.log1p(-z)
            return (np.log(G) + (1.0 - B) * lz, (GC - GA) / G, -lz - GC / G,
                    Gz / G - (1.0 - B) / (1.0 - z))
    return None


@np.errstate(all="ignore")
def _pnbd_analytic(theta: np.ndarray, D: _PNData) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-pattern Pareto/NBD log-likelihood and its gradient in (r, alpha, s, beta).

    Differentiates the hypergeometric form term by term (see :func:`_h_series`);
    returns None when an argument of 2F1 is too close to 1 for the series.
    """
    r, al, s, be = (float(v) for v in theta)
    a_ge = al >= be
    m = al if a_ge else be
    dz = abs(al - be)
    if dz / (m + D.tmin) > _SERIES_ZMAX:
        return None

    na = len(D.xa)
    xv, tv = D.xv, D.tv
    A = r + s + xv
    B = np.full_like(xv, s + 1.0) if a_ge else r + xv
    mt = m + tv
    z = dz / mt
    res = _h_series(A, B, z)
    if res is None:
        return None
    logF, hA, hB, hz = res
    lmt = np.log(mt)
    h = logF - A * lmt
    hA = hA - lmt
    hm = -A / mt
    g = np.empty((4, len(h)))
    if a_ge:
        g[0] = hA
        g[2] = hA + hB
        g[1] = hz * (be + tv) / mt ** 2 + hm
        g[3] = -hz / mt
    else:
        g[0] = hA + hB
        g[2] = hA
        g[1] = -hz / mt
        g[3] = hz * (al + tv) / mt ** 2 + hm
    h1, g1 = h[:na][D.ia], g[:, :na][:, D.ia]
    h2, g2 = h[na:][D.ib], g[:, na:][:, D.ib]
    x = D.x
    live = ~D.same & (h2 < h1)
    rho = np.where(live, np.exp(np.minimum(h2 - h1, 0.0)), 0.0)
    A = r + s + x
    lI = np.where(live, math.log(s) - np.log(A) + h1 + np.log(np.where(live, -np.expm1(h2 - h1), 1.0)),
                  -np.inf)
    dlI = np.where(live, (g1 - rho * g2) / np.where(live, 1.0 - rho, 1.0), 0.0)
    dlI[0] -= 1.0 / A
    dlI[2] += 1.0 / s - 1.0 / A
    lT_a = np.log(al + D.T)
    lT_b = np.log(be + D.T)
    l0 = -(r + x) * lT_a - s * lT_b
    wI = sc.expit(lI - l0)
    w0 = 1.0 - wI
    ll = (sc.gammaln(r + D.xu) - sc.gammaln(r))[D.xi] + r * math.log(al) + s * math.log(be) + np.logaddexp(l0, lI)
    grad = np.empty((4, len(ll)))
    grad[0] = (sc.digamma(r + D.xu) - sc.digamma(r))[D.xi] + math.log(al) - w0 * lT_a + wI * dlI[0]
    grad[1] = r / al - w0 * (r + x) / (al + D.T) + wI * dlI[1]
    grad[2] = math.log(be) - w0 * lT_b + wI * dlI[2]
    grad[3] = s / be - w0 * s / (be + D.T) + wI * dlI[3]
    return ll, grad


def _pnbd_objective(D: _PNData, central: bool = True) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """Mean negative log-likelihood and its gradient in log-parameters.

    Analytic where the series applies; elsewhere finite differences of the closed
    form (central, or forward when ``central`` is False: half the cost, for the
    loose first pass of the starts), all perturbations evaluated in one call.
    """
    k = 4
    eye = np.eye(k) * _FD_STEP
    shifts = np.vstack([np.zeros(k), eye, -eye]) if central else np.vstack([np.zeros(k), eye])

    def f(lt: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.exp(lt)
        with np.errstate(all="ignore"):
            res = _pnbd_analytic(theta, D)
            if res is not None:
                ll, g = res
                val = -float(D.w @ ll) / D.n
                grad = -(g @ D.w) * theta / D.n
            else:
                vals = -(_pnbd_ll(np.exp(lt + shifts), D) @ D.w) / D.n
                val = float(vals[0])
                if central:
                    grad = (vals[1:k + 1] - vals[k + 1:]) / (2 * _FD_STEP)
                else:
                    grad = (vals[1:] - vals[0]) / _FD_STEP
        if not (math.isfinite(val) and np.isfinite(grad).all()):
            return 1e10, np.zeros(k)
        return val, grad
    return f


def pareto_nbd_log_likelihood(params: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
    """Per-customer Pareto/NBD log-likelihood (Schmittlein, Morrison & Colombo 1987).

    Evaluated as in Fader & Hardie (2005, note 009): the Gauss hypergeometric form,
    choosing the branch by whether ``alpha >= beta`` so that its argument lies in [0, 1).

    Parameters
    ----------
    params : dict or FitResult
        ``r, alpha, s, beta``.
    frequency, recency, T : array-like

    Returns
    -------
    ndarray
    """
    theta = np.array(_params(params, "pareto_nbd"))[None, :]
    x, t_x, T = _btyd_arrays({"frequency": frequency, "recency": recency, "T": T})
    D = _PNData.build(_Patterns((x, t_x, T), np.ones_like(x), len(x)))
    with np.errstate(all="ignore"):
        return _pnbd_ll(theta, D)[0]


def fit_pareto_nbd(rfm: pd.DataFrame, *, n_starts: int = 3, starts: Sequence[Any] | None = None,
                   raise_on_failure: bool = True,
                   rng: np.random.Generator | int | None = 20050401) -> FitResult:
    """Maximum-likelihood Pareto/NBD fit (Schmittlein, Morrison & Colombo 1987).

    Parameters
    ----------
    rfm : DataFrame
        ``frequency``, ``recency``, ``T``.
    n_starts, starts, raise_on_failure, rng
        As in :func:`fit_bgnbd` (starting points ``{"r":, "alpha":, "s":, "beta":}``).

    Returns
    -------
    FitResult

    References
    ----------
    Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). *Management Science* 33(1), 1-24.
    Fader, P. S. & Hardie, B. G. S. (2005). A note on deriving the Pareto/NBD model and
    related expressions.
    """
    x, t_x, T = _btyd_arrays(rfm)
    P = _unique_rows(x, t_x, T)
    scale = _rate_scale(P.cols[0], P.cols[2], P.w)
    tbar = float(P.w @ P.cols[2]) / float(P.w.sum())  # mean T: a lifetime of the observed span
    # alpha and beta of one order keep the hypergeometric argument small (fast, analytic gradient)
    default = [np.log([1.0, scale, 1.0, tbar]), np.log([0.5, 0.5 * scale, 0.5, tbar]),
               np.log([2.0, 2.0 * scale, 2.0, 1.5 * tbar])]
    spec = _Spec("pareto_nbd", lambda Q: _pnbd_objective(_PNData.build(Q)), default, 1e-3,
                 "s -> 0 or beta -> infinity means the data show no dropout; r and alpha -> infinity mean "
                 "no heterogeneity in purchase rates",
                 loose_objective=lambda Q: _pnbd_objective(_PNData.build(Q), central=False))
    return _run_fit(spec, P, starts=starts, n_starts=n_starts, raise_on_failure=raise_on_failure,
                    time_unit=_time_unit_of(rfm), rng=rng)


def _pnbd_data(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> _PNData:
    return _PNData.build(_Patterns((x, t_x, T), np.ones_like(x), len(x)))


def _one_minus_pow_over(s1: float, L: np.ndarray) -> np.ndarray:
    """[1 - exp(-(s-1) L)] / (s-1), with its limit L at s = 1."""
    if abs(s1) < 1e-10:
        return L
    return -np.expm1(-s1 * L) / s1


def pareto_nbd_expected_transactions(params: Any, t: Any) -> np.ndarray:
    """E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)] for a new customer (SMC 1987).

    Returns
    -------
    ndarray
    """
    r, al, s, be = _params(params, "pareto_nbd")
    t = _nonneg(t, "t")
    return r * be / al * _one_minus_pow_over(s - 1.0, np.log1p(t / be))


def pareto_nbd_probability_alive(params: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
    """P(alive | x, t_x, T) for Pareto/NBD (Schmittlein, Morrison & Colombo 1987; Fader & Hardie 2005).

    Returns
    -------
    ndarray
    """
    theta = np.array(_params(params, "pareto_nbd"))[None, :]
    shape, x, t_x, T, _ = _history(frequency, recency, T)
    return _pnbd_alive(theta, x, t_x, T).reshape(shape)


@np.errstate(all="ignore")
def _pnbd_alive(theta: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    l0, lI = _pnbd_terms(theta, _pnbd_data(x, t_x, T))
    return np.exp(l0 - np.logaddexp(l0, lI))[0]


def pareto_nbd_conditional_expected_transactions(params: Any, t: Any, frequency: Any, recency: Any,
                                                 T: Any) -> np.ndarray:
    """Expected transactions in (T, T + t] given (x, t_x, T) for Pareto/NBD.

    ``(r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)] P(alive)``.

    Returns
    -------
    ndarray
    """
    r, al, s, be = _params(params, "pareto_nbd")
    shape, x, t_x, T, t = _history(frequency, recency, T, t)
    alive = _pnbd_alive(np.array([[r, al, s, be]]), x, t_x, T)
    with np.errstate(all="ignore"):
        out = (r + x) * (be + T) / (al + T) * _one_minus_pow_over(s - 1.0, np.log1p(t / (be + T))) * alive
    return out.reshape(shape)
