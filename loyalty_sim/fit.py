"""Maximum-likelihood BG/NBD, Pareto/NBD and Gamma-Gamma models, predictions and holdout checks.

The fits work on an RFM summary (:func:`loyalty_sim.rfm.rfm_summary`): ``frequency``
(repeat transactions), ``recency`` and ``T`` in one time unit (weeks by default) and,
for Gamma-Gamma, ``monetary_value`` (mean of the repeat transactions).

How a fit is made
-----------------
* Customers with the same ``(frequency, recency, T)`` share a likelihood term, so the
  log-likelihood is summed over unique patterns weighted by their counts; terms that
  depend on the frequency alone are computed once per distinct frequency.
* Log-likelihoods are evaluated in log space (``gammaln``, ``logaddexp``, ``expit``).
  BG/NBD and Gamma-Gamma have analytic gradients. Pareto/NBD uses the Gauss
  hypergeometric form of Fader & Hardie (2005); after Euler's transformation its
  series has positive terms falling at least as fast as z^k, and is summed with its
  parameter derivatives (an analytic gradient) while z <= 0.65; beyond that,
  finite differences of ``scipy.special.hyp2f1`` are used.
* Parameters are optimised (L-BFGS-B) in decorrelated log coordinates -- log r,
  log(r/alpha), log a (or s), log(a/b) (or log(s/beta)); for Gamma-Gamma log p,
  log q, log(p gamma/q) -- from three deterministic, data-scaled starting points: the
  first to full precision, the others to a loose tolerance to check for a better
  optimum (which is then polished). For summaries with more than 80,000 customers the
  starts run on a systematic sub-sample of 20,000 and the best is polished on all.
* Standard errors come from the inverse Hessian of the log-likelihood at the estimate
  (central differences of the gradient in log parameters, then the delta method).
* BLAS runs single-threaded during a fit (thousands of tiny matrix operations gain
  nothing from threads and lose much on a busy machine); thread counts are restored
  afterwards.
* A fit that does not converge (gradient not vanishing, a parameter running off to
  0 or infinity, a Hessian that is not positive definite, a non-finite likelihood)
  raises :class:`~loyalty_sim.errors.FitError` saying why and what to try, unless
  ``raise_on_failure=False``, in which case the :class:`FitResult` says
  ``converged=False`` and carries the same message. It never returns unflagged
  numbers from a failed fit.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the easy
way: an alternative to the Pareto/NBD model. *Marketing Science* 24(2), 275-284.

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: using iso-value curves
for customer base analysis. *Journal of Marketing Research* 42(4), 415-430.

Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting your customers: who
are they and what will they do next? *Management Science* 33(1), 1-24.

Fader, P. S. & Hardie, B. G. S. (2005). A note on deriving the Pareto/NBD model and
related expressions. http://brucehardie.com/notes/009/
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import numbers
import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import special as sc

from .errors import ConfigError, DataError, FitError
from .files import to_jsonable
from .rfm import NS_PER_DAY, DailyAccumulator, EventAccumulator, check_resolution, log_resolution, timestamps_to_ns, unit_days
from .streams import as_generator

__all__ = [
    "MODELS", "PARAM_NAMES", "FitResult",
    "fit_bgnbd", "fit_pareto_nbd", "fit_gamma_gamma", "fit_model",
    "bgnbd_log_likelihood", "pareto_nbd_log_likelihood", "gamma_gamma_log_likelihood",
    "bgnbd_expected_transactions", "bgnbd_pmf", "bgnbd_conditional_expected_transactions",
    "bgnbd_probability_alive",
    "pareto_nbd_expected_transactions", "pareto_nbd_conditional_expected_transactions",
    "pareto_nbd_probability_alive",
    "gamma_gamma_expected_spend", "gamma_gamma_mean_spend",
    "expected_transactions", "conditional_expected_transactions", "probability_alive",
    "customer_lifetime_value", "holdout_tracking", "conditional_expectations_by_frequency",
    "fit_report",
]

#: Parameter names of each model, in the order used internally.
PARAM_NAMES: dict[str, tuple[str, ...]] = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "pareto_nbd": ("r", "alpha", "s", "beta"),
    "gamma_gamma": ("p", "q", "gamma"),
}
MODELS = tuple(PARAM_NAMES)
TRANSACTION_MODELS = ("bgnbd", "pareto_nbd")

_LOG_BOUND = math.log(1e8)   # parameters are kept in [1e-8, 1e8]
_AT_BOUND = math.log(1e7)    # ... and one beyond 1e7 or below 1e-7 has run off
_GRAD_TOL = 1e-5             # max |d mean-LL / d log(theta)| accepted as converged
_SUBSAMPLE = 20_000          # customers used for the starts on large data
_AGREE = 1e-6                # per-customer LL difference for starts that "agree"


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class FitResult:
    """A fitted model.

    Attributes
    ----------
    model : str
        ``"bgnbd"``, ``"pareto_nbd"`` or ``"gamma_gamma"``.
    params : dict
        Maximum-likelihood estimates by name (see :data:`PARAM_NAMES`).
    standard_errors : dict
        Asymptotic standard errors (inverse Hessian); NaN where not available.
    log_likelihood : float
        Total log-likelihood at the estimates.
    n_customers : int
        Customers the fit used.
    converged : bool
    message : str
        How the fit ended; for a failure, why and what to try.
    n_starts : int
        Starting points tried.
    n_patterns : int
        Unique data patterns the likelihood was summed over.
    time_unit : str or float or None
        Time unit of the transaction-model rates (None for Gamma-Gamma).
    covariance : tuple of tuples
        Asymptotic covariance of the estimates, in ``params`` order.
    seconds : float
        Wall time of the fit.
    """

    model: str
    params: dict[str, float]
    standard_errors: dict[str, float]
    log_likelihood: float
    n_customers: int
    converged: bool
    message: str
    n_starts: int
    n_patterns: int = 0
    time_unit: str | float | None = None
    covariance: tuple[tuple[float, ...], ...] = ()
    seconds: float = float("nan")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (NaN becomes None)."""
        return to_jsonable(dataclasses.asdict(self))


def _params(params: Any, model: str) -> tuple[float, ...]:
    """Validated parameter tuple of ``model`` from a dict, FitResult or sequence."""
    names = PARAM_NAMES[model]
    if isinstance(params, FitResult):
        if params.model != model:
            raise ConfigError(f"expected {model} parameters, got a {params.model} fit", field="params")
        params = params.params
    if isinstance(params, Mapping):
        missing = [n for n in names if n not in params]
        if missing:
            raise ConfigError(f"{model} needs parameters {list(names)}; missing {missing}",
                              field=f"params.{missing[0]}")
        values = [params[n] for n in names]
    else:
        values = list(params)
        if len(values) != len(names):
            raise ConfigError(f"{model} needs {len(names)} parameters {list(names)}, got {len(values)}",
                              field="params")
    out = []
    for name, v in zip(names, values):
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise ConfigError(f"expected a number, got {v!r}", field=f"params.{name}") from None
        if not math.isfinite(f) or f <= 0:
            raise ConfigError(f"must be a positive finite number, got {v!r}", field=f"params.{name}")
        out.append(f)
    return tuple(out)


def _model_of(params: Any, model: str | None, allowed: Sequence[str] = TRANSACTION_MODELS) -> str:
    if model is None:
        if isinstance(params, FitResult):
            model = params.model
        elif isinstance(params, Mapping) and "s" in params:
            model = "pareto_nbd"
        else:
            model = "bgnbd"
    if model not in allowed:
        raise ConfigError(f"expected one of {list(allowed)}, got {model!r}", field="model")
    return model


# --------------------------------------------------------------------------- data


def _column(rfm: Any, name: str) -> np.ndarray:
    if isinstance(rfm, pd.DataFrame):
        if name not in rfm.columns:
            hint = (" (holdout columns come from rfm_summary(..., calibration_end=...))"
                    if name.endswith("_holdout") else "")
            raise DataError(f"RFM summary has no column '{name}'; columns present: {list(rfm.columns)}{hint}",
                            column=name)
        values = rfm[name].to_numpy(dtype=np.float64, na_value=np.nan)
    elif isinstance(rfm, Mapping):
        if name not in rfm:
            raise DataError(f"RFM summary has no '{name}'", column=name)
        values = np.asarray(rfm[name], dtype=np.float64)
    else:
        raise ConfigError(f"expected an RFM DataFrame, got {type(rfm).__name__}", field="rfm")
    return np.ravel(values)


def _bad_ids(rfm: Any, mask: np.ndarray) -> str:
    idx = rfm.index[mask] if isinstance(rfm, pd.DataFrame) else np.flatnonzero(mask)
    return ", ".join(repr(v) for v in list(idx[:5]))


def _btyd_arrays(rfm: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, t_x, T = _column(rfm, "frequency"), _column(rfm, "recency"), _column(rfm, "T")
    if len(x) == 0:
        raise DataError("the RFM summary is empty", column="frequency")
    checks = [
        ("frequency", ~np.isfinite(x) | (x < 0) | (x != np.round(x)), "must be a non-negative whole number"),
        ("recency", ~np.isfinite(t_x) | (t_x < 0), "must be finite and non-negative"),
        ("T", ~np.isfinite(T) | (T <= 0), "must be finite and positive (a customer observed for no time "
                                          "carries no information)"),
        ("recency", t_x > T * (1 + 1e-12), "must not exceed T"),
        ("recency", (x == 0) & (t_x > 0), "must be 0 for customers with frequency 0"),
    ]
    for col, bad, what in checks:
        if bad.any():
            raise DataError(f"{int(bad.sum())} customer(s) where {col} {what}, e.g. customer(s) "
                            f"{_bad_ids(rfm, bad)}", column=col)
    return x, np.minimum(t_x, T), T


@dataclass
class _Patterns:
    """Unique data patterns, their counts and (when built from rows) each row's pattern."""

    cols: tuple[np.ndarray, ...]
    w: np.ndarray
    n_customers: int
    inverse: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.w)


def _unique_rows(*cols: np.ndarray, weights: np.ndarray | None = None) -> _Patterns:
    """Unique rows of the columns with their (weighted) counts, by hashing each column."""
    n = len(cols[0])
    key = np.zeros(n, dtype=np.int64)
    for c in cols:
        codes, uniq = pd.factorize(c, sort=False)
        key, kuniq = pd.factorize(key * np.int64(len(uniq)) + codes, sort=False)
    w = np.bincount(key, weights=weights, minlength=len(kuniq)).astype(np.float64)
    # factorize numbers codes in order of first appearance
    firsts = np.flatnonzero(np.r_[True, key[1:] > np.maximum.accumulate(key)[:-1]]) if n else key
    n_customers = int(round(w.sum())) if weights is not None else n
    return _Patterns(cols=tuple(c[firsts] for c in cols), w=w, n_customers=n_customers, inverse=key)


def _subsample(P: _Patterns, size: int) -> _Patterns:
    """Deterministic systematic sub-sample of about ``size`` customers."""
    cum = np.cumsum(P.w)
    total = cum[-1]
    picks = (np.arange(size) + 0.5) * (total / size)
    idx = np.minimum(np.searchsorted(cum, picks, side="right"), len(cum) - 1)
    counts = np.bincount(idx, minlength=len(P.w)).astype(np.float64)
    keep = counts > 0
    return _Patterns(cols=tuple(c[keep] for c in P.cols), w=counts[keep], n_customers=int(counts.sum()))


# --------------------------------------------------------------------------- BG/NBD


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


def _bgnbd_objective(D: _BGData) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    def f(lt: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.exp(lt)
        with np.errstate(all="ignore"):
            ll, g = _bgnbd_terms(theta, D, True)
            val = -float(D.w @ ll) / D.n
            grad = -(g @ D.w) * theta / D.n
        if not (math.isfinite(val) and np.isfinite(grad).all()):
            return 1e10, np.zeros_like(lt)
        return val, grad
    return f


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


# --------------------------------------------------------------------------- Pareto/NBD


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


# --------------------------------------------------------------------------- Gamma-Gamma


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


def _gg_objective(D: _GGData) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    def f(lt: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.exp(lt)
        with np.errstate(all="ignore"):
            ll, g = _gg_terms(theta, D, True)
            val = -float(D.w @ ll) / D.n
            grad = -(g @ D.w) * theta / D.n
        if not (math.isfinite(val) and np.isfinite(grad).all()):
            return 1e10, np.zeros_like(lt)
        return val, grad
    return f


def _gg_arrays(rfm: Any, min_frequency: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, m = _column(rfm, "frequency"), _column(rfm, "monetary_value")
    keep = x >= max(min_frequency, 1)
    if not keep.any():
        raise DataError("no customer has a repeat transaction; Gamma-Gamma needs some", column="frequency")
    bad = keep & ~(np.isfinite(m) & (m > 0))
    if bad.any():
        raise DataError(f"{int(bad.sum())} repeat customer(s) with a mean spend that is not positive, e.g. "
                        f"customer(s) {_bad_ids(rfm, bad)}. Gamma-Gamma needs positive spend: leave them out "
                        f"(rfm[rfm.monetary_value > 0]) or read the log with returns='drop'",
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


# --------------------------------------------------------------------------- optimisation

@contextlib.contextmanager
def _single_threaded_blas() -> Iterator[None]:
    """Run BLAS single-threaded for the duration of a fit, then restore the thread counts.

    The fits do thousands of tiny matrix operations (L-BFGS-B's 4x4 algebra, 4 x n
    products); OpenBLAS threads only add hand-over costs to those, and on a busy
    2-core machine they double the run time. Uses threadpoolctl, which finds and
    restores every BLAS library loaded in the process, on every platform.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


@dataclass
class _Spec:
    model: str
    objective: Callable[[_Patterns], Callable[[np.ndarray], tuple[float, np.ndarray]]]
    starts: list[np.ndarray]
    hess_step: float
    advice: str
    loose_objective: Callable[[_Patterns], Callable[[np.ndarray], tuple[float, np.ndarray]]] | None = None


def _hessian(fun: Callable[[np.ndarray], tuple[float, np.ndarray]], lt: np.ndarray, h: float) -> np.ndarray:
    k = len(lt)
    H = np.empty((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = h
        H[i] = (fun(lt + e)[1] - fun(lt - e)[1]) / (2 * h)
    return 0.5 * (H + H.T)


def _minimise(fun: Callable, x0: np.ndarray, maxiter: int, loose: bool = False,
              transform: np.ndarray | None = None) -> optimize.OptimizeResult:
    """L-BFGS-B on ``u = transform @ log(theta)`` (a better-conditioned parameterisation); x is log(theta)."""
    M = np.eye(len(x0)) if transform is None else transform
    Mi = np.linalg.inv(M)

    def g(u: np.ndarray) -> tuple[float, np.ndarray]:
        val, grad = fun(Mi @ u)
        return val, Mi.T @ grad

    bound = np.abs(M).sum(axis=1) * _LOG_BOUND
    tol = {"ftol": 1e-10, "gtol": 1e-5} if loose else {"ftol": 1e-12, "gtol": 1e-7}
    res = optimize.minimize(g, M @ np.clip(x0, -_LOG_BOUND + 1, _LOG_BOUND - 1), jac=True, method="L-BFGS-B",
                            bounds=list(zip(-bound, bound)), options={"maxiter": maxiter, "maxcor": 20, **tol})
    res.x = Mi @ res.x
    return res


#: Optimisation coordinates: log r, log(r/alpha) (the mean rate), log a or s, log(a/b) or log(s/beta);
#: for Gamma-Gamma log p, log q, log(p gamma / q). They decorrelate the estimates and save iterations.
_RATE_COORDS = np.array([[1.0, 0.0, 0.0, 0.0], [1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 1.0, -1.0]])
_SPEND_COORDS = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, -1.0, 1.0]])


def _run_fit(spec: _Spec, P: _Patterns, *, starts: Sequence[Any] | None, n_starts: int,
             raise_on_failure: bool, time_unit: Any, rng: Any, maxiter: int = 1000) -> FitResult:
    t0 = time.perf_counter()
    with _single_threaded_blas():
        result = _run_fit_inner(spec, P, starts=starts, n_starts=n_starts, time_unit=time_unit,
                                maxiter=maxiter, t0=t0, rng=rng)
    if not result.converged and raise_on_failure:
        raise FitError(result.message)
    return result


def _run_fit_inner(spec: _Spec, P: _Patterns, *, starts: Sequence[Any] | None, n_starts: int,
                   time_unit: Any, maxiter: int, t0: float, rng: Any) -> FitResult:
    names = PARAM_NAMES[spec.model]
    if starts is not None:
        x0s = [np.log(np.array(_params(s, spec.model))) for s in starts]
    else:
        if isinstance(n_starts, bool) or not isinstance(n_starts, numbers.Integral) or n_starts < 1:
            raise ConfigError(f"need a whole number of starts >= 1, got {n_starts!r}", field="n_starts")
        x0s = list(spec.starts[:n_starts])
        extra = n_starts - len(x0s)
        if extra > 0:  # random spread (one log unit) around the first default start
            grid = as_generator(rng).normal(0.0, 1.0, size=(extra, len(names)))
            x0s += [spec.starts[0] + g for g in grid]
    full = spec.objective(P)
    small = P.n_customers > 4 * _SUBSAMPLE and len(P) > _SUBSAMPLE
    make = spec.loose_objective or spec.objective
    fun = make(_subsample(P, _SUBSAMPLE) if small else P)
    # The first start runs to full precision, the others to a loose tolerance (they only
    # check for a better optimum); a better one found that way, or any optimum found on a
    # sub-sample, is then polished on all customers.
    M = _SPEND_COORDS if spec.model == "gamma_gamma" else _RATE_COORDS
    results = [_minimise(full if (i == 0 and not small) else fun, x0, maxiter, loose=(i > 0 or small),
                         transform=M) for i, x0 in enumerate(x0s)]
    fvals = np.array([r.fun if np.isfinite(r.fun) else np.inf for r in results])
    i_best = int(np.argmin(fvals))
    n_agree = int((fvals - fvals.min() <= _AGREE).sum())
    best = results[i_best]
    if small or (i_best > 0 and fvals[0] - fvals[i_best] > _AGREE):
        polished = _minimise(full, best.x, maxiter, transform=M)
        polished.nit += best.nit
        best = polished
    elif i_best > 0:
        best = results[0]
    lt = best.x
    val, grad = full(lt)
    if np.isfinite(grad).all() and np.max(np.abs(grad)) > _GRAD_TOL and np.all(np.abs(lt) < _AT_BOUND):
        retry = _minimise(full, lt, maxiter, transform=M)   # a fresh start clears a stalled line search
        if retry.fun <= val:
            retry.nit += best.nit
            best, lt = retry, retry.x
            val, grad = full(lt)
    n = P.n_customers
    theta = np.exp(lt)
    params = {k: float(v) for k, v in zip(names, theta)}
    ll = -val * float(P.w.sum())

    problems: list[str] = []
    if not math.isfinite(ll) or val >= 1e10:
        problems.append("the log-likelihood is not finite at the estimate")
    hi = [nm for nm, v in zip(names, lt) if v > _AT_BOUND]
    lo = [nm for nm, v in zip(names, lt) if v < -_AT_BOUND]
    if hi or lo:
        problems.append("parameter(s) ran off to the edge of the space: "
                        + ", ".join([f"{nm} -> infinity" for nm in hi] + [f"{nm} -> 0" for nm in lo])
                        + f" ({spec.advice})")
    gmax = float(np.max(np.abs(grad))) if np.isfinite(grad).all() else float("inf")
    if gmax > _GRAD_TOL:
        problems.append(f"the gradient did not vanish (max |d mean-LL / d log theta| = {gmax:.2g} after "
                        f"{best.nit} iterations; optimiser: {best.message})")
    se = {nm: float("nan") for nm in names}
    cov: tuple[tuple[float, ...], ...] = ()
    if not problems:
        H = _hessian(full, lt, spec.hess_step) * float(P.w.sum())
        eig = np.linalg.eigvalsh(H)
        if not np.isfinite(eig).all() or eig.min() <= 1e-10 * max(abs(eig).max(), 1e-300):
            problems.append("the Hessian is not positive definite at the estimate: the parameters are not "
                            "identified by these data (a flat or saddle-shaped likelihood)")
        else:
            cov_log = np.linalg.inv(H)
            cov_nat = cov_log * np.outer(theta, theta)
            se = {nm: float(math.sqrt(max(cov_nat[i, i], 0.0))) for i, nm in enumerate(names)}
            cov = tuple(tuple(float(v) for v in row) for row in cov_nat)
    converged = not problems
    if converged:
        message = (f"converged: {n_agree} of {len(x0s)} starts reached the best log-likelihood"
                   + (" on a sub-sample, then polished on all customers" if small else "")
                   + ("" if n_agree == len(x0s) else
                      " (the others stopped lower: the likelihood may have other, worse optima)")
                   + f"; max |gradient| {gmax:.1g}")
    else:
        message = (f"{spec.model} fit did not converge: " + "; ".join(problems) + ". What to try: "
                   "check the summary (frequency counts repeat transactions; recency and T share one time "
                   "unit and recency <= T); rescale time so that T is of order 1-100 (time_unit='W' or 'M'); "
                   "give other starting points (starts=[...]) or more of them (n_starts); "
                   f"{spec.advice}.")
    return FitResult(model=spec.model, params=params, standard_errors=se, log_likelihood=float(ll),
                     n_customers=n, converged=converged, message=message, n_starts=len(x0s),
                     n_patterns=len(P), time_unit=time_unit, covariance=cov,
                     seconds=time.perf_counter() - t0)


def _rate_scale(x: np.ndarray, T: np.ndarray, w: np.ndarray) -> float:
    total = float(w @ x)
    if total <= 0:
        raise DataError("no customer made a repeat transaction: the purchase rate cannot be estimated",
                        column="frequency")
    return float(w @ T) / total   # 1 / (repeat purchases per time unit)


def fit_bgnbd(rfm: pd.DataFrame, *, n_starts: int = 3, starts: Sequence[Any] | None = None,
              raise_on_failure: bool = True,
              rng: np.random.Generator | int | None = 20050401) -> FitResult:
    """Maximum-likelihood BG/NBD fit (Fader, Hardie & Lee 2005).

    Parameters
    ----------
    rfm : DataFrame
        ``frequency``, ``recency``, ``T`` (see :func:`loyalty_sim.rfm.rfm_summary`).
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
    spec = _Spec("bgnbd", lambda Q: _bgnbd_objective(_BGData.build(Q)), default, 1e-4,
                 "a -> 0 or b -> infinity means the data show no dropout; r and alpha -> infinity mean no "
                 "heterogeneity in purchase rates")
    return _run_fit(spec, P, starts=starts, n_starts=n_starts, raise_on_failure=raise_on_failure,
                    time_unit=_time_unit_of(rfm), rng=rng)


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
    spec = _Spec("gamma_gamma", lambda Q: _gg_objective(_GGData.build(Q)), default, 1e-4,
                 "q -> infinity with gamma -> infinity means spend does not vary between customers; "
                 "p -> infinity means no variation within a customer")
    return _run_fit(spec, P, starts=starts, n_starts=n_starts, raise_on_failure=raise_on_failure,
                    time_unit=None, rng=rng)


def fit_model(rfm: pd.DataFrame, model: str, **kwargs: Any) -> FitResult:
    """Fit ``model`` (``"bgnbd"``, ``"pareto_nbd"`` or ``"gamma_gamma"``) to ``rfm``."""
    fits = {"bgnbd": fit_bgnbd, "pareto_nbd": fit_pareto_nbd, "gamma_gamma": fit_gamma_gamma}
    if model not in fits:
        raise ConfigError(f"expected one of {list(fits)}, got {model!r}", field="model")
    return fits[model](rfm, **kwargs)


def _time_unit_of(rfm: Any) -> Any:
    return rfm.attrs.get("time_unit", None) if isinstance(rfm, pd.DataFrame) else None


# --------------------------------------------------------------------------- BG/NBD predictions


def _near_one(f: Callable[[float], np.ndarray], a: float, eps: float = 1e-6) -> np.ndarray:
    """Evaluate ``f(a)``; at a removable singularity a = 1 average the two sides."""
    if abs(a - 1.0) < eps:
        return 0.5 * (f(1.0 - eps) + f(1.0 + eps))
    return f(a)


def _nonneg(t: Any, name: str) -> np.ndarray:
    arr = np.asarray(t, dtype=np.float64)
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise ConfigError("must be finite and non-negative", field=name)
    return arr


def _history(frequency: Any, recency: Any, T: Any, t: Any = None) -> tuple[tuple[int, ...], np.ndarray, ...]:
    """Broadcast customer histories (and a horizon), validate them, return flat arrays and the shape."""
    arrays = [np.asarray(v, dtype=np.float64) for v in (frequency, recency, T)]
    if t is not None:
        arrays.append(_nonneg(t, "t"))
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    flat = [np.broadcast_to(a, shape).ravel() for a in arrays]
    x, t_x, T = _btyd_arrays({"frequency": flat[0], "recency": flat[1], "T": flat[2]})
    return (shape, x, t_x, T, flat[3] if t is not None else None)


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


# --------------------------------------------------------------------------- Pareto/NBD predictions


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


# --------------------------------------------------------------------------- spend and CLV


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
    spend = gamma_gamma_expected_spend(spend_params, x, _column(rfm, "monetary_value"))
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


# --------------------------------------------------------------------------- holdout validation


def holdout_tracking(log: Any, params: Any, *, calibration_end: Any, observation_end: Any = None,
                     model: str | None = None, time_unit: str | float = "W", start: Any = None,
                     resolution: str = "auto") -> pd.DataFrame:
    """Cumulative repeat transactions of the cohort, actual and predicted, period by period.

    The cohort is every customer whose first purchase is on or before
    ``calibration_end``; its repeat transactions (purchase days after the first, or
    with ``resolution="exact"`` purchase timestamps after the first) are counted per
    period of ``time_unit`` from ``start`` (default: the cohort's first purchase day,
    from its midnight when exact). The prediction sums ``E[X(t)]`` over customers,
    each from their own first purchase (Fader, Hardie & Lee 2005, figures 2-3).

    Parameters
    ----------
    log : TransactionLog or DataFrame
        The tidy log (``customer_id``, ``timestamp``, ``amount``).
    params : FitResult or dict
        BG/NBD or Pareto/NBD parameters, fitted in ``time_unit``.
    calibration_end, observation_end : date-like
        End of calibration (inclusive) and of the data used (default: last purchase).
    model : str, optional
    time_unit : str or float
    start : date-like, optional
    resolution : {"auto", "day", "exact"}
        What one transaction is, as in :func:`loyalty_sim.rfm.rfm_summary` (count
        the same transactions the fit was made on).

    Returns
    -------
    DataFrame
        Indexed by ``period`` (1, 2, ...): ``period_end`` (last day), ``actual``,
        ``predicted`` (cumulative), ``actual_incremental``, ``predicted_incremental``,
        ``holdout`` (period ends after ``calibration_end``).
    """
    from .rfm import _to_day

    model = _model_of(params, model)
    frame = getattr(log, "data", log)
    unit = unit_days(time_unit)
    check_resolution(resolution)
    amount = pd.to_numeric(frame["amount"], errors="coerce").to_numpy(dtype=np.float64)
    ns = timestamps_to_ns(frame["timestamp"])
    if resolution == "auto":
        resolution = log_resolution(ns)
    if resolution == "exact":
        return _holdout_tracking_exact(frame["customer_id"], ns, amount, params, model=model, unit=unit,
                                       time_unit=time_unit, calibration_end=_to_day(calibration_end, "calibration_end"),
                                       observation_end=observation_end, start=start)
    acc = DailyAccumulator()
    acc.add(frame["customer_id"], ns // NS_PER_DAY, amount)
    _, code, day, _, has_purchase = acc.daily()
    code, day = code[has_purchase], day[has_purchase]
    cal_end = _to_day(calibration_end, "calibration_end")
    obs_end = _to_day(observation_end, "observation_end") if observation_end is not None else day.max()
    starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    first = np.repeat(day[starts], np.diff(np.r_[starts, len(day)]))
    cohort_first = day[starts][day[starts] <= cal_end]
    if len(cohort_first) == 0:
        raise DataError("no customer made a first purchase on or before calibration_end", column="timestamp")
    origin = _to_day(start, "start") if start is not None else cohort_first.min()
    n_periods = int(math.ceil((obs_end - origin + 1) / unit))
    repeat = (day > first) & (first <= cal_end) & (day <= obs_end) & (day >= origin)
    period_of = np.floor((day[repeat] - origin) / unit).astype(np.int64)
    actual_inc = np.bincount(period_of, minlength=n_periods)[:n_periods].astype(np.float64)
    last_day = np.ceil(origin + unit * np.arange(1, n_periods + 1)) - 1
    last_day = np.minimum(last_day, obs_end)
    fdays, fcount = np.unique(cohort_first, return_counts=True)
    elapsed = np.maximum(last_day[:, None] - fdays[None, :], 0.0) / unit
    predicted = expected_transactions(params, elapsed, model=model) @ fcount
    out = pd.DataFrame({
        "period_end": pd.to_datetime(last_day.astype("int64").astype("datetime64[D]")),
        "actual": np.cumsum(actual_inc),
        "predicted": predicted,
        "actual_incremental": actual_inc,
        "predicted_incremental": np.diff(np.r_[0.0, predicted]),
        "holdout": last_day > cal_end,
    }, index=pd.RangeIndex(1, n_periods + 1, name="period"))
    out.attrs.update({"model": model, "time_unit": time_unit, "resolution": "day",
                      "calibration_end": str(pd.Timestamp(np.datetime64(int(cal_end), "D")).date()),
                      "n_customers": int(len(cohort_first))})
    return out


def _holdout_tracking_exact(customer_id: Any, ns: np.ndarray, amount: np.ndarray, params: Any, *, model: str,
                            unit: float, time_unit: Any, calibration_end: np.int64, observation_end: Any,
                            start: Any) -> pd.DataFrame:
    """:func:`holdout_tracking` in continuous time: every distinct purchase stamp counts."""
    from .rfm import _to_day

    acc = EventAccumulator()
    acc.add(customer_id, ns, amount)
    _, code, t, _, has_purchase = acc.events()
    code, t = code[has_purchase], t[has_purchase]
    obs_day = _to_day(observation_end, "observation_end") if observation_end is not None else t.max() // NS_PER_DAY
    obs_stop = (np.int64(obs_day) + 1) * NS_PER_DAY
    cal_stop = (np.int64(calibration_end) + 1) * NS_PER_DAY
    starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    first = np.repeat(t[starts], np.diff(np.r_[starts, len(t)]))
    cohort_first = t[starts][t[starts] < cal_stop]
    if len(cohort_first) == 0:
        raise DataError("no customer made a first purchase on or before calibration_end", column="timestamp")
    origin = (_to_day(start, "start") if start is not None else cohort_first.min() // NS_PER_DAY) * NS_PER_DAY
    unit_ns = unit * float(NS_PER_DAY)
    n_periods = int(math.ceil((obs_stop - origin) / unit_ns))
    repeat = (t > first) & (first < cal_stop) & (t < obs_stop) & (t >= origin)
    period_of = np.floor((t[repeat] - origin) / unit_ns).astype(np.int64)
    actual_inc = np.bincount(period_of, minlength=n_periods)[:n_periods].astype(np.float64)
    period_stop = np.minimum(origin + np.round(unit_ns * np.arange(1, n_periods + 1)).astype(np.int64), obs_stop)
    # first purchases to the nearest hour for the prediction only (at most 24 distinct per day keeps
    # the periods x first-times grid small; half an hour is < 0.3% of a week)
    hour = NS_PER_DAY // 24
    firsts, fcount = np.unique((cohort_first + hour // 2) // hour * hour, return_counts=True)
    elapsed = np.maximum(period_stop[:, None] - firsts[None, :], 0).astype(np.float64) / unit_ns
    predicted = expected_transactions(params, elapsed, model=model) @ fcount
    out = pd.DataFrame({
        "period_end": pd.to_datetime((period_stop - 1) // NS_PER_DAY * NS_PER_DAY),
        "actual": np.cumsum(actual_inc),
        "predicted": predicted,
        "actual_incremental": actual_inc,
        "predicted_incremental": np.diff(np.r_[0.0, predicted]),
        "holdout": period_stop > cal_stop,
    }, index=pd.RangeIndex(1, n_periods + 1, name="period"))
    out.attrs.update({"model": model, "time_unit": time_unit, "resolution": "exact",
                      "calibration_end": str(pd.Timestamp(np.datetime64(int(calibration_end), "D")).date()),
                      "n_customers": int(len(cohort_first))})
    return out


def conditional_expectations_by_frequency(rfm: pd.DataFrame, params: Any, *, model: str | None = None,
                                          max_frequency: int = 7) -> pd.DataFrame:
    """Mean holdout transactions, actual and predicted, by calibration frequency (FHL 2005, figure 4).

    Parameters
    ----------
    rfm : DataFrame
        With ``frequency_holdout`` and ``duration_holdout`` (a calibration split).
    params : FitResult or dict
    model : str, optional
    max_frequency : int
        Frequencies at or above it are pooled into one row.

    Returns
    -------
    DataFrame
        Indexed by ``frequency`` (0 .. max_frequency; the last row is "max or more"):
        ``label``, ``n_customers``, ``actual``, ``predicted``.
    """
    model = _model_of(params, model)
    if int(max_frequency) < 1:
        raise ConfigError("must be at least 1", field="max_frequency")
    x, t_x, T = _btyd_arrays(rfm)
    actual = _column(rfm, "frequency_holdout")
    duration = _column(rfm, "duration_holdout")
    pred = _conditional_by_pattern(params, model, duration, x, t_x, T)
    bucket = np.minimum(x, max_frequency).astype(np.int64)
    frame = pd.DataFrame({"frequency": bucket, "actual": actual, "predicted": pred})
    out = frame.groupby("frequency").agg(n_customers=("actual", "size"), actual=("actual", "mean"),
                                         predicted=("predicted", "mean"))
    out.insert(0, "label", [f"{k}+" if k == max_frequency else str(k) for k in out.index])
    out.attrs["model"] = model
    return out


def _conditional_by_pattern(params: Any, model: str, t: np.ndarray, x: np.ndarray, t_x: np.ndarray,
                            T: np.ndarray) -> np.ndarray:
    P = _unique_rows(x, t_x, T, t)
    idx = P.inverse
    return conditional_expected_transactions(params, P.cols[3], *P.cols[:3], model=model)[idx]


def _holdout_accuracy(rfm: pd.DataFrame, fit: FitResult) -> dict[str, Any]:
    x, t_x, T = _btyd_arrays(rfm)
    actual = _column(rfm, "frequency_holdout")
    pred = _conditional_by_pattern(fit, fit.model, _column(rfm, "duration_holdout"), x, t_x, T)
    err = pred - actual
    by_freq = conditional_expectations_by_frequency(rfm, fit)
    return {
        "actual_total": float(actual.sum()),
        "predicted_total": float(pred.sum()),
        "relative_error_total": float(pred.sum() / actual.sum() - 1.0) if actual.sum() > 0 else None,
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err ** 2))),
        "correlation": float(np.corrcoef(pred, actual)[0, 1]) if np.std(actual) > 0 else None,
        "by_frequency": by_freq.reset_index().to_dict(orient="records"),
    }


def _spend_accuracy(rfm: pd.DataFrame, fit: FitResult) -> dict[str, Any]:
    x = _column(rfm, "frequency")
    m = _column(rfm, "monetary_value")
    mh = _column(rfm, "monetary_value_holdout")
    xh = _column(rfm, "frequency_holdout")
    use = (x > 0) & (xh > 0) & np.isfinite(m) & np.isfinite(mh)
    if not use.any():
        return {"n_customers": 0}
    pred = gamma_gamma_expected_spend(fit, x[use], m[use])
    return {
        "n_customers": int(use.sum()),
        "mean_actual": float(mh[use].mean()),
        "mean_predicted": float(pred.mean()),
        "mae": float(np.mean(np.abs(pred - mh[use]))),
        "correlation": float(np.corrcoef(pred, mh[use])[0, 1]) if use.sum() > 2 else None,
    }


def fit_report(source: Any, *, model: str | Sequence[str] = "all", calibration_end: Any = None,
               observation_end: Any = None, time_unit: str | float = "W", n_starts: int = 3,
               **read_options: Any) -> dict[str, Any]:
    """Fit the models and report parameters, standard errors, log-likelihoods and holdout accuracy.

    Parameters
    ----------
    source : path-like, TransactionLog, tidy log DataFrame or RFM DataFrame
        A file is read with :func:`loyalty_sim.logs.read_log` (``read_options``
        are passed on: ``format, columns, date_format, window, today, returns,
        duplicates``). With a log (not only an RFM summary) the report includes
        weekly tracking of cumulative repeat transactions.
    model : "all" or str or list of str
        Among ``"bgnbd"``, ``"pareto_nbd"``, ``"gamma_gamma"``.
    calibration_end, observation_end, time_unit
        As in :func:`loyalty_sim.rfm.rfm_summary`; holdout accuracy needs
        ``calibration_end``.
    n_starts : int

    Returns
    -------
    dict
        JSON-able: ``source``, ``summary`` (customers, repeaters, dates), ``log_report``
        (when a file was read) and ``models`` -> name -> fit (``FitResult.to_dict()``)
        plus ``holdout`` accuracy; a model that fails carries ``error`` instead.
    """
    from .logs import TransactionLog, read_log

    models = list(MODELS) if model == "all" else ([model] if isinstance(model, str) else list(model))
    for mname in models:
        if mname not in MODELS:
            raise ConfigError(f"expected some of {list(MODELS)} or 'all', got {mname!r}", field="model")
    log = None
    report: dict[str, Any] = {}
    if isinstance(source, (str, os.PathLike)):
        log = read_log(source, **read_options)
        report["source"] = str(source)
        report["log_report"] = log.report.to_dict()
    elif isinstance(source, TransactionLog):
        log = source
        report["source"] = log.report.source
        report["log_report"] = log.report.to_dict()
    elif isinstance(source, pd.DataFrame) and "timestamp" in source.columns:
        log = source
        report["source"] = "DataFrame (log)"
    elif isinstance(source, pd.DataFrame):
        report["source"] = "DataFrame (RFM)"
    else:
        raise ConfigError(f"expected a path, TransactionLog or DataFrame, got {type(source).__name__}",
                          field="source")
    if log is not None:
        from .rfm import rfm_summary
        rfm = rfm_summary(log, calibration_end=calibration_end, observation_end=observation_end,
                          time_unit=time_unit)
    else:
        rfm = source
    # a customer first seen on the last day of the calibration period was observed for no
    # time (T = 0): no information for the transaction models, so such customers are left
    # out of the fits and counted in the summary
    unobserved = int((rfm["T"] <= 0).sum()) if "T" in rfm else 0
    if unobserved:
        kept = rfm[rfm["T"] > 0]
        kept.attrs.update(rfm.attrs)
        rfm = kept
    holdout = "frequency_holdout" in rfm.columns
    report["summary"] = {
        "n_customers": int(len(rfm)),
        "customers_left_out_observed_for_no_time": unobserved,
        "n_repeat_customers": int((rfm["frequency"] > 0).sum()),
        "repeat_transactions": float(rfm["frequency"].sum()),
        "time_unit": rfm.attrs.get("time_unit", time_unit),
        "calibration_end": rfm.attrs.get("calibration_end"),
        "observation_end": rfm.attrs.get("observation_end"),
        "holdout_transactions": float(rfm["frequency_holdout"].sum()) if holdout else None,
    }
    report["models"] = {}
    for mname in models:
        try:
            fit = fit_model(rfm, mname, n_starts=n_starts)
        except (FitError, DataError) as exc:
            report["models"][mname] = {"model": mname, "converged": False, "error": str(exc)}
            continue
        entry = fit.to_dict()
        if holdout:
            if mname == "gamma_gamma":
                entry["holdout"] = _spend_accuracy(rfm, fit)
            else:
                entry["holdout"] = _holdout_accuracy(rfm, fit)
                if log is not None and calibration_end is not None:
                    track = holdout_tracking(log, fit, calibration_end=calibration_end,
                                             observation_end=observation_end, time_unit=time_unit)
                    hold = track[track["holdout"]]
                    entry["holdout"]["tracking"] = {
                        "periods": int(len(track)),
                        "final_actual": float(track["actual"].iloc[-1]),
                        "final_predicted": float(track["predicted"].iloc[-1]),
                        "mape_cumulative_holdout": float(np.mean(np.abs(hold["predicted"] / hold["actual"] - 1)))
                        if len(hold) and (hold["actual"] > 0).all() else None,
                    }
        report["models"][mname] = entry
    return to_jsonable(report)
