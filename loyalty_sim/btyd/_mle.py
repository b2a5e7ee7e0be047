"""The machinery the three models share: validated inputs, data patterns, the optimiser and its checks.

How a fit is made
-----------------
* Customers with the same ``(frequency, recency, T)`` share a likelihood term, so the
  log-likelihood is summed over unique patterns weighted by their counts
  (:func:`_unique_rows`); terms that depend on the frequency alone are computed once
  per distinct frequency.
* Parameters are optimised (L-BFGS-B) in decorrelated log coordinates -- log r,
  log(r/alpha), log a (or s), log(a/b) (or log(s/beta)); for Gamma-Gamma log p,
  log q, log(p gamma/q) -- from three deterministic, data-scaled starting points: the
  first to full precision, the others to a loose tolerance to check for a better
  optimum (which is then polished). For summaries with more than 80,000 customers the
  starts run on a systematic sub-sample of 20,000 and the best is polished on all.
* Standard errors come from the inverse Hessian of the log-likelihood at the estimate
  (central differences of the gradient in log parameters, then the delta method).
* BLAS runs single-threaded during a fit; thread counts are restored afterwards.
* A fit that does not converge (gradient not vanishing, a parameter running off to
  0 or infinity, a Hessian that is not positive definite, a non-finite likelihood)
  raises :class:`~loyalty_sim.errors.FitError` saying why and what to try, unless
  ``raise_on_failure=False``, in which case the :class:`FitResult` says
  ``converged=False`` and carries the same message.

A model module supplies a :class:`_Spec` (its objective, starting points, Hessian step
and advice) and calls :func:`_run_fit`. Nothing here reads files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import numbers
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import optimize

from ..errors import ConfigError, DataError, FitError
from ..files import to_jsonable
from ..streams import as_generator

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


_NOTHING_TO_FIT = ("nothing can be fitted: every purchase falls on one day, so no customer has a repeat "
                   "purchase or any time between first and last purchase, and the calibration window has "
                   "zero length (T = 0 for everyone). A log must span several purchase periods")


def _btyd_arrays(rfm: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, t_x, T = _column(rfm, "frequency"), _column(rfm, "recency"), _column(rfm, "T")
    if len(x) == 0:
        raise DataError("the RFM summary is empty: no customer is left to fit (a customer first seen on the "
                        "last day of the calibration period is observed for no time)", column="frequency")
    if not (T > 0).any() and (x == 0).all():
        raise DataError(_NOTHING_TO_FIT, column="T")
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


def _time_unit_of(rfm: Any) -> Any:
    return rfm.attrs.get("time_unit", None) if isinstance(rfm, pd.DataFrame) else None


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


def _objective(terms: Callable[[np.ndarray, Any, bool], tuple[np.ndarray, np.ndarray | None]],
               D: Any) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """Mean negative log-likelihood and its gradient in log-parameters, from analytic ``terms``.

    ``terms(theta, D, True)`` returns the per-pattern log-likelihood and its gradient in
    ``theta``; ``D`` carries the pattern weights ``w`` and their total ``n``.
    """
    def f(lt: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.exp(lt)
        with np.errstate(all="ignore"):
            ll, g = terms(theta, D, True)
            val = -float(D.w @ ll) / D.n
            grad = -(g @ D.w) * theta / D.n
        if not (math.isfinite(val) and np.isfinite(grad).all()):
            return 1e10, np.zeros_like(lt)
        return val, grad
    return f


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


def _start_points(spec: _Spec, starts: Sequence[Any] | None, n_starts: int, rng: Any) -> list[np.ndarray]:
    """Starting points in log parameters: the explicit ``starts``, or the spec's defaults plus random extras."""
    if starts is not None:
        return [np.log(np.array(_params(s, spec.model))) for s in starts]
    if isinstance(n_starts, bool) or not isinstance(n_starts, numbers.Integral) or n_starts < 1:
        raise ConfigError(f"need a whole number of starts >= 1, got {n_starts!r}", field="n_starts")
    x0s = list(spec.starts[:n_starts])
    extra = n_starts - len(x0s)
    if extra > 0:  # random spread (one log unit) around the first default start
        grid = as_generator(rng).normal(0.0, 1.0, size=(extra, len(PARAM_NAMES[spec.model])))
        x0s += [spec.starts[0] + g for g in grid]
    return x0s


def _optimise(spec: _Spec, P: _Patterns, full: Callable, x0s: list[np.ndarray],
              maxiter: int) -> tuple[optimize.OptimizeResult, int, bool]:
    """The best optimum over the starts, polished on all customers; with how many starts agree and whether sub-sampled.

    The first start runs to full precision, the others to a loose tolerance (they only
    check for a better optimum); a better one found that way, or any optimum found on a
    sub-sample, is then polished on all customers.
    """
    small = P.n_customers > 4 * _SUBSAMPLE and len(P) > _SUBSAMPLE
    make = spec.loose_objective or spec.objective
    fun = make(_subsample(P, _SUBSAMPLE) if small else P)
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
    val, grad = full(best.x)
    if np.isfinite(grad).all() and np.max(np.abs(grad)) > _GRAD_TOL and np.all(np.abs(best.x) < _AT_BOUND):
        retry = _minimise(full, best.x, maxiter, transform=M)   # a fresh start clears a stalled line search
        if retry.fun <= val:
            retry.nit += best.nit
            best = retry
    return best, n_agree, small


def _problems(spec: _Spec, lt: np.ndarray, val: float, ll: float, gmax: float,
              best: optimize.OptimizeResult) -> list[str]:
    """What is wrong with the optimum (a non-finite likelihood, a parameter at the edge, a gradient left)."""
    names = PARAM_NAMES[spec.model]
    problems: list[str] = []
    if not math.isfinite(ll) or val >= 1e10:
        problems.append("the log-likelihood is not finite at the estimate")
    hi = [nm for nm, v in zip(names, lt) if v > _AT_BOUND]
    lo = [nm for nm, v in zip(names, lt) if v < -_AT_BOUND]
    if hi or lo:
        problems.append("parameter(s) ran off to the edge of the space: "
                        + ", ".join([f"{nm} -> infinity" for nm in hi] + [f"{nm} -> 0" for nm in lo])
                        + f" ({spec.advice})")
    if gmax > _GRAD_TOL:
        problems.append(f"the gradient did not vanish (max |d mean-LL / d log theta| = {gmax:.2g} after "
                        f"{best.nit} iterations; optimiser: {best.message})")
    return problems


def _standard_errors(spec: _Spec, P: _Patterns, full: Callable, lt: np.ndarray,
                     problems: list[str]) -> tuple[dict[str, float], tuple[tuple[float, ...], ...]]:
    """Standard errors and covariance from the inverse Hessian (delta method); a problem if it is not positive definite."""
    names = PARAM_NAMES[spec.model]
    theta = np.exp(lt)
    se = {nm: float("nan") for nm in names}
    cov: tuple[tuple[float, ...], ...] = ()
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
    return se, cov


def _message(spec: _Spec, problems: list[str], n_agree: int, n_starts: int, small: bool, gmax: float) -> str:
    """How the fit ended: the starts that agreed, or what went wrong and what to try."""
    if not problems:
        return (f"converged: {n_agree} of {n_starts} starts reached the best log-likelihood"
                + (" on a sub-sample, then polished on all customers" if small else "")
                + ("" if n_agree == n_starts else
                   " (the others stopped lower: the likelihood may have other, worse optima)")
                + f"; max |gradient| {gmax:.1g}")
    return (f"{spec.model} fit did not converge: " + "; ".join(problems) + ". What to try: "
            "check the summary (frequency counts repeat transactions; recency and T share one time "
            "unit and recency <= T); rescale time so that T is of order 1-100 (time_unit='W' or 'M'); "
            "give other starting points (starts=[...]) or more of them (n_starts); "
            f"{spec.advice}.")


def _run_fit_inner(spec: _Spec, P: _Patterns, *, starts: Sequence[Any] | None, n_starts: int,
                   time_unit: Any, maxiter: int, t0: float, rng: Any) -> FitResult:
    names = PARAM_NAMES[spec.model]
    x0s = _start_points(spec, starts, n_starts, rng)
    full = spec.objective(P)
    best, n_agree, small = _optimise(spec, P, full, x0s, maxiter)
    lt = best.x
    val, grad = full(lt)
    params = {k: float(v) for k, v in zip(names, np.exp(lt))}
    ll = -val * float(P.w.sum())
    gmax = float(np.max(np.abs(grad))) if np.isfinite(grad).all() else float("inf")
    problems = _problems(spec, lt, val, ll, gmax, best)
    se: dict[str, float] = {nm: float("nan") for nm in names}
    cov: tuple[tuple[float, ...], ...] = ()
    if not problems:
        se, cov = _standard_errors(spec, P, full, lt, problems)
    return FitResult(model=spec.model, params=params, standard_errors=se, log_likelihood=float(ll),
                     n_customers=P.n_customers, converged=not problems,
                     message=_message(spec, problems, n_agree, len(x0s), small, gmax), n_starts=len(x0s),
                     n_patterns=len(P), time_unit=time_unit, covariance=cov, seconds=time.perf_counter() - t0)


def _rate_scale(x: np.ndarray, T: np.ndarray, w: np.ndarray) -> float:
    total = float(w @ x)
    if total <= 0:
        raise DataError("no customer made a repeat transaction: the purchase rate cannot be estimated",
                        column="frequency")
    return float(w @ T) / total   # 1 / (repeat purchases per time unit)
