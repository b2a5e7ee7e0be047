"""Unit-level effect estimators for a pilot: difference in differences, CUPED, store clustering.

A *unit* is a customer. Each unit has an outcome before the pilot (``pre``, e.g.
purchases per week in the pre-period) and during it (``post``), and belongs to the
pilot group or the control group.

``did``
    Difference in differences of means: the mean change ``post - pre`` of the pilot
    group minus that of the control group.
``cuped``
    CUPED (Deng, Xu, Kohavi & Walker 2013): the post-period outcome adjusted by the
    pre-period one, ``post - theta * (pre - mean(pre))`` with ``theta =
    cov(pre, post) / var(pre)`` pooled over both groups, then the difference of the
    group means. Under randomisation it is unbiased and its variance is never above
    that of the plain difference of means, nor (asymptotically) above that of DiD, which
    is the special case ``theta = 1``.
``diff``
    Plain difference of post-period means (no pre-period).

Customer-level intervals use Welch's standard error and a t reference with
Welch-Satterthwaite degrees of freedom. When assignment was by store (``cluster``),
customers of one store share store-level shocks, so the customer-level standard error
is too small; the standard error is then cluster-robust, and because a pilot has few
stores, of unequal sizes, it carries the small-sample corrections that keep the
intervals honest:

* the variance is CR2, the bias-reduced linearisation of Bell & McCaffrey (2002): each
  store's residual total (outcome total minus the group mean times its customers) is
  divided by ``sqrt(1 - n_s / N_g)``, ``n_s`` its customers and ``N_g`` those of its
  group. With equal store sizes that is the usual factor ``G_g / (G_g - 1)``;
  with unequal sizes it inflates the large stores, whose residuals are shrunk most by
  fitting the group mean;
* the reference is a t distribution on Satterthwaite degrees of freedom for that
  variance (Bell & McCaffrey 2002; Imbens & Kolesar 2016), computed under a working
  model in which customers of a store share a store effect: within-store variance and
  between-store variance are estimated from the data (one-way analysis of variance of
  the compared outcome within the groups). With equal store sizes and as many pilot as
  control stores this is ``G - 2`` (``G`` stores); when a few large stores dominate a
  group the effective number of stores, and so the degrees of freedom, is smaller.
  With the bare ``G - 2`` degrees of freedom, intervals with log-normal store sizes
  covered only 87-90% instead of 95%.

A standard error of zero (every unit of both groups has the same outcome, up to the
group means) gives no interval: the interval and p-value are NaN
(:func:`unit_effect` also warns with :class:`ZeroVarianceWarning`).

Everything is vectorised over replicates: :func:`unit_effect_batch` takes 2-D
``post`` / ``pre`` (and optionally ``pilot``) with one column per replicate, as
power simulations need; :func:`unit_effect` is the one-replicate version returning an
:class:`Estimate`.

References
----------
Deng, A., Xu, Y., Kohavi, R. & Walker, T. (2013). Improving the sensitivity of online
controlled experiments by utilizing pre-experiment data. Proceedings of WSDM '13, 123-132.
Cameron, A. C. & Miller, D. L. (2015). A practitioner's guide to cluster-robust
inference. Journal of Human Resources 50(2), 317-372.
Bertrand, M., Duflo, E. & Mullainathan, S. (2004). How much should we trust
differences-in-differences estimates? Quarterly Journal of Economics 119(1), 249-275.
Bell, R. M. & McCaffrey, D. F. (2002). Bias reduction in standard errors for linear
regression with multi-stage samples. Survey Methodology 28(2), 169-181.
Imbens, G. W. & Kolesar, M. (2016). Robust standard errors in small samples: some
practical advice. Review of Economics and Statistics 98(4), 701-712.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ConfigError
from ..files import to_jsonable

__all__ = ["METHODS", "Estimate", "EffectBatch", "ZeroVarianceWarning", "unit_effect", "unit_effect_batch",
           "describe_method"]

#: Accepted values of ``method``.
METHODS = ("auto", "did", "cuped", "diff")


class ZeroVarianceWarning(UserWarning):
    """The standard error is zero, so no interval or p-value can be given (they are NaN)."""


@dataclass(frozen=True)
class Estimate:
    """One effect with its interval.

    Parameters
    ----------
    metric : str
        What was measured (e.g. ``"purchases_per_week"``), in the outcome's unit.
    estimate : float
        Effect of the pilot on the pilot group's mean outcome (outcome unit per unit).
    ci_low, ci_high : float
        Two-sided interval at ``level``; NaN when the standard error is zero.
    relative_effect : float
        ``estimate`` divided by the counterfactual mean of the pilot group in the
        post-period (``mean(post | pilot) - estimate``); NaN if that is not positive.
    p_value : float
        Two-sided p-value of "no effect"; NaN when the standard error is zero.
    method : str
        Plain-language description of the estimator and its reference distribution.
    std_error : float
        Standard error of ``estimate``.
    n_pilot, n_control : int
        Units (customers) in each group.
    level : float
        Confidence level of the interval.
    df : float
        Degrees of freedom of the t reference (``inf`` for a normal one; Satterthwaite
        degrees of freedom, not always whole, when clustered by store).
    theta : float
        CUPED coefficient (1 for DiD, 0 for a difference of means).
    counterfactual : float
        Counterfactual post-period mean of the pilot group.
    n_clusters : int
        Stores (clusters) when assignment was by store; 0 otherwise.
    """

    metric: str
    estimate: float
    ci_low: float
    ci_high: float
    relative_effect: float
    p_value: float
    method: str
    std_error: float
    n_pilot: int
    n_control: int
    level: float = 0.95
    df: float = math.inf
    theta: float = math.nan
    counterfactual: float = math.nan
    n_clusters: int = 0

    @property
    def relative_ci(self) -> tuple[float, float]:
        """Interval of the relative effect, treating the counterfactual mean as known."""
        cf = self.counterfactual
        if not (math.isfinite(cf) and cf > 0):
            return (math.nan, math.nan)
        return (self.ci_low / cf, self.ci_high / cf)

    @property
    def significant(self) -> bool:
        """Whether the interval excludes zero."""
        return bool(self.ci_low > 0 or self.ci_high < 0)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (NaN and infinities become None)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            out[f.name] = to_jsonable(getattr(self, f.name))
        lo, hi = self.relative_ci
        out["relative_ci_low"] = to_jsonable(lo)
        out["relative_ci_high"] = to_jsonable(hi)
        return out


@dataclass(frozen=True)
class EffectBatch:
    """Effects of many replicates at once (one entry per column of the inputs).

    Attributes
    ----------
    estimate, std_error, ci_low, ci_high, p_value, relative_effect, df, theta, counterfactual : ndarray
        One value per replicate, as in :class:`Estimate`.
    n_pilot, n_control : ndarray of int
        Units per group in each replicate.
    n_clusters : int
        Stores when clustered; 0 otherwise.
    method : str
        The resolved method (``did``, ``cuped`` or ``diff``).
    description : str
        Plain-language description of the estimator.
    level : float
    auto : bool
        Whether the method was chosen automatically (``method="auto"``).
    """

    estimate: np.ndarray
    std_error: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    p_value: np.ndarray
    relative_effect: np.ndarray
    df: np.ndarray
    theta: np.ndarray
    counterfactual: np.ndarray
    n_pilot: np.ndarray
    n_control: np.ndarray
    n_clusters: int
    method: str
    description: str
    level: float
    auto: bool = False

    def __len__(self) -> int:
        return len(self.estimate)

    def reject(self) -> np.ndarray:
        """Boolean per replicate: the interval excludes zero."""
        return (self.ci_low > 0) | (self.ci_high < 0)

    def to_frame(self) -> pd.DataFrame:
        """One row per replicate."""
        names = ("estimate", "std_error", "ci_low", "ci_high", "p_value", "relative_effect", "df", "theta",
                 "counterfactual", "n_pilot", "n_control")
        return pd.DataFrame({n: getattr(self, n) for n in names})

    def item(self, i: int = 0, *, metric: str = "") -> Estimate:
        """Replicate ``i`` as an :class:`Estimate` (clustered: its description names its degrees of freedom)."""
        description = self.description
        if self.n_clusters and math.isfinite(float(self.df[i])):
            description = describe_method(self.method, clustered=True, n_clusters=self.n_clusters, level=self.level,
                                          auto=self.auto, df=float(self.df[i]))
        return Estimate(metric=metric, estimate=float(self.estimate[i]), ci_low=float(self.ci_low[i]),
                        ci_high=float(self.ci_high[i]), relative_effect=float(self.relative_effect[i]),
                        p_value=float(self.p_value[i]), method=description, std_error=float(self.std_error[i]),
                        n_pilot=int(self.n_pilot[i]), n_control=int(self.n_control[i]), level=self.level,
                        df=float(self.df[i]), theta=float(self.theta[i]), counterfactual=float(self.counterfactual[i]),
                        n_clusters=self.n_clusters)


# --------------------------------------------------------------------------- inputs


def _as_2d(name: str, x: Any, n: int | None) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError(f"expected numbers, got {type(x).__name__}", field=name) from None
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ConfigError(f"expected a 1-D array (one value per unit) or 2-D (units x replicates), got shape {arr.shape}",
                          field=name)
    if n is not None and arr.shape[0] != n:
        raise ConfigError(f"expected {n} rows (one per unit), got {arr.shape[0]}", field=name)
    if not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr).all(axis=1))[0])
        raise ConfigError(f"missing or infinite values (first at unit index {bad})", field=name)
    return arr


def _as_pilot(pilot: Any, n: int) -> np.ndarray:
    arr = np.asarray(pilot)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != n:
        raise ConfigError(f"expected one flag per unit ({n} rows), got shape {np.shape(pilot)}", field="pilot")
    if arr.dtype != bool:
        if not np.isin(arr, (0, 1)).all():
            raise ConfigError("expected booleans (True = pilot, False = control)", field="pilot")
        arr = arr.astype(bool)
    return arr


def _resolve(method: str, has_pre: bool, clustered: bool) -> str:
    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r}; expected one of {list(METHODS)}", field="method")
    if method == "auto":
        if not has_pre:
            return "diff"
        return "did" if clustered else "cuped"
    if method in ("did", "cuped") and not has_pre:
        raise ConfigError(f"method {method!r} needs a pre-period outcome; pass pre= or method='diff'", field="pre")
    return method


def describe_method(method: str, *, clustered: bool = False, n_clusters: int = 0, level: float = 0.95,
                    auto: bool = False, df: float | None = None) -> str:
    """A plain-language description of an estimator, for reports.

    Parameters
    ----------
    method : {"did", "cuped", "diff"}
        The resolved method.
    clustered : bool
        Whether assignment (and the standard error) was by store.
    n_clusters : int
        Number of stores when clustered.
    level : float
        Confidence level.
    auto : bool
        Whether the method was chosen automatically (adds the reason).
    df : float, optional
        The degrees of freedom of one estimate, when clustered (named in the text).

    Returns
    -------
    str
    """
    base = {
        "did": "difference in differences of means (pilot change minus control change)",
        "cuped": "CUPED (Deng et al. 2013): post-period outcome adjusted by the pre-period outcome with a pooled "
                 "theta = cov(pre, post) / var(pre), then difference of means",
        "diff": "difference of post-period means",
    }[method]
    if clustered:
        here = "" if df is None or not math.isfinite(df) else f"{df:.1f} here; "
        se = (f"bias-reduced (CR2) cluster-robust standard error by store ({n_clusters} stores), t reference on "
              f"Satterthwaite degrees of freedom ({here}at most about G - 2 = {max(n_clusters - 2, 0)}, fewer when "
              "a few large stores dominate), so few stores give wide intervals")
    else:
        se = "Welch standard error, t reference (Welch-Satterthwaite degrees of freedom)"
    why = ""
    if auto:
        if method == "cuped":
            why = "; chosen because customers were randomised individually and CUPED has the smallest variance"
        elif method == "did" and clustered:
            why = "; chosen because stores were assigned, and DiD removes fixed store differences"
        elif method == "diff":
            why = "; chosen because no pre-period outcome was available"
    return f"{base}; {se}{why}"


# --------------------------------------------------------------------------- core


def _group_stats_units(y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, variance of the mean and count of ``y`` over units with weight ``w`` (0/1), column-wise."""
    n = w.sum(axis=0)
    mean = (w * y).sum(axis=0) / n
    dev = (y - mean) * w
    var = (dev * dev).sum(axis=0) / (n - 1)
    return mean, var / n, n


def _cluster_sums(x: np.ndarray, order: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return np.add.reduceat(x[order], starts, axis=0)


def _trace_and_square(a: np.ndarray, terms: list[tuple[Any, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """``tr(M)`` and ``tr(M @ M)`` of ``M = diag(a) + sum(alpha * x y')``, column-wise (one M per replicate).

    ``a``, ``x``, ``y`` are ``(G, R)``; ``alpha`` is a scalar or ``(R,)``.
    """
    tr = a.sum(axis=0) + sum(al * (x * y).sum(axis=0) for al, x, y in terms)
    tr2 = (a * a).sum(axis=0)
    for al, x, y in terms:
        tr2 = tr2 + 2 * al * (a * x * y).sum(axis=0)
    for ai, xi, yi in terms:
        for aj, xj, yj in terms:
            tr2 = tr2 + ai * aj * (yi * xj).sum(axis=0) * (yj * xi).sum(axis=0)
    return tr, tr2


def _cr2(tot: np.ndarray, size: np.ndarray, is_p: np.ndarray, ssw: np.ndarray,
         n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Difference of group means with its CR2 variance and Satterthwaite degrees of freedom.

    Parameters
    ----------
    tot : ndarray, shape (G, R)
        Outcome total per store and replicate.
    size : ndarray, shape (G, 1)
        Units per store.
    is_p : ndarray of bool, shape (G, R)
        Whether the store is in the pilot group.
    ssw : ndarray, shape (R,)
        Within-store sum of squares of the outcome.
    n : int
        Units.

    Returns
    -------
    estimate, variance, df, n_pilot, n_control : ndarray, shape (R,)

    Notes
    -----
    The estimator of a group mean is the ratio ``T / N`` of its stores' totals; the
    residual total of store ``s`` is ``r_s = t_s - n_s T / N``. CR2 (Bell & McCaffrey
    2002) for this saturated model adjusts each by ``(1 - q_s)^(-1/2)``, ``q_s = n_s / N``,
    so the variance of the group mean is ``sum(r_s^2 / (1 - q_s)) / N^2``, unbiased when
    units are independent. Its Satterthwaite degrees of freedom, ``tr(K L)^2 /
    tr((K L)^2)`` with ``K = (I - 1 q') C (I - q 1')``, ``C = diag(1 / (N^2 (1 - q_s)))``
    and ``L = diag(sigma^2 n_s + tau^2 n_s^2)`` the variances of the store totals under a
    working model with a store effect of variance ``tau^2`` (Imbens & Kolesar 2016),
    summed over the two independent groups; ``sigma^2`` and ``tau^2`` are the one-way
    analysis-of-variance estimates (``tau^2`` floored at 0).
    """
    g_total = size.shape[0]
    groups = []
    msb = np.zeros(tot.shape[1])
    n0 = np.full(tot.shape[1], float(n))
    for mask in (is_p, ~is_p):
        ns = np.where(mask, size, 0.0)
        ts = np.where(mask, tot, 0.0)
        big_n = ns.sum(axis=0)
        mean = ts.sum(axis=0) / big_n
        r = ts - mean * ns
        q = ns / big_n
        adj = np.where(mask, 1.0 / np.where(mask, 1.0 - q, 1.0), 0.0)
        var = (adj * r * r).sum(axis=0) / (big_n * big_n)
        msb = msb + np.where(mask, r * r / size, 0.0).sum(axis=0)
        n0 = n0 - (ns * ns).sum(axis=0) / big_n
        groups.append((mask, ns, big_n, mean, q, adj, var))
    # working model: variance of a store total = sigma2 n_s + tau2 n_s^2 (only the ratio matters)
    dfw = n - g_total
    sigma2 = ssw / dfw if dfw > 0 else np.zeros_like(ssw)
    tau2 = np.maximum((msb / (g_total - 2) - sigma2) / (n0 / (g_total - 2)), 0.0) if dfw > 0 else np.zeros_like(ssw)
    none = (sigma2 <= 0) & (tau2 <= 0)
    sigma2 = np.where(none, 1.0, sigma2)
    tr = np.zeros_like(ssw)
    tr2 = np.zeros_like(ssw)
    for mask, ns, big_n, _, q, adj, _ in groups:
        c = adj / (big_n * big_n)
        lam = sigma2 * ns + tau2 * ns * ns
        one = mask.astype(float)
        cq = c * q
        t1, t2 = _trace_and_square(c * lam, [(-1.0, one, cq * lam), (-1.0, cq, lam), ((cq * q).sum(axis=0), one, lam)])
        tr = tr + t1
        tr2 = tr2 + t2
    df = np.where(tr2 > 0, tr * tr / np.where(tr2 > 0, tr2, 1.0), np.nan)
    (_, _, n_p, mp, _, _, vp), (_, _, n_c, mc, _, _, vc) = groups
    return mp - mc, vp + vc, df, n_p, n_c


def _compared_outcome(resolved: str, y0: Any, y1: np.ndarray, n: int, reps: int) -> tuple[np.ndarray, np.ndarray]:
    """The outcome actually compared (DiD: the change; CUPED: post less theta times centred pre) and theta."""
    if resolved == "did":
        theta = np.ones(reps)
        y = y1 - y0
    elif resolved == "cuped":
        xc = y0 - y0.mean(axis=0)
        var_x = np.broadcast_to((xc * xc).sum(axis=0), (reps,))
        if xc.shape[1] == 1:
            cov = xc[:, 0] @ y1                       # sum(xc) = 0, so no centring of post is needed
        else:
            cov = np.einsum("ij,ij->j", xc, np.broadcast_to(y1, xc.shape))
        cov = np.broadcast_to(cov, (reps,))
        theta = np.where(var_x > 0, cov / np.where(var_x > 0, var_x, 1.0), 0.0)
        y = y1 - theta * xc
    else:
        theta = np.zeros(reps)
        y = y1
    y = np.broadcast_to(y, (n, reps))
    return theta, y


def _unit_level(y: np.ndarray, p: np.ndarray, pm: np.ndarray, single: bool, n: int, reps: int) -> tuple:
    """Difference of group means with Welch-Satterthwaite degrees of freedom (customer-level assignment)."""
    if single:
        k = int(pm.sum())
        n_p, n_c = np.full(reps, float(k)), np.full(reps, float(n - k))
    else:
        n_p = p.sum(axis=0).astype(float)
        n_c = n - n_p
    if (n_p < 2).any() or (n_c < 2).any():
        raise ConfigError(f"each group needs at least 2 units; got {int(n_p.min())} pilot and "
                          f"{int(n_c.min())} control", field="pilot")
    if single:
        yp, yc = y[pm], y[~pm]
        mp, mc = yp.mean(axis=0), yc.mean(axis=0)
        vp, vc = yp.var(axis=0, ddof=1) / n_p, yc.var(axis=0, ddof=1) / n_c
    else:
        wp = p.astype(float)
        mp, vp, _ = _group_stats_units(y, wp)
        mc, vc, _ = _group_stats_units(y, 1.0 - wp)
    est = mp - mc
    var = vp + vc
    # Welch-Satterthwaite
    df = np.where(var > 0, var * var / (vp * vp / (n_p - 1) + vc * vc / (n_c - 1)), np.inf)
    df = np.where(np.isfinite(df), df, np.inf)
    return est, var, df, n_p, n_c


def _store_level(y: np.ndarray, p: np.ndarray, pm: np.ndarray, single: bool, cluster: Any, n: int,
                 reps: int) -> tuple:
    """Store-clustered (CR2) estimate, variance and degrees of freedom (store-level assignment)."""
    codes, uniques = pd.factorize(np.asarray(cluster), use_na_sentinel=True)
    if len(codes) != n:
        raise ConfigError(f"expected one store per unit ({n}), got {len(codes)}", field="cluster")
    if (codes < 0).any():
        raise ConfigError(f"missing store (first at unit index {int(np.flatnonzero(codes < 0)[0])})",
                          field="cluster")
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    size = np.diff(np.r_[starts, n]).astype(float)[:, None]          # units per store, (G, 1)
    if single:
        np_c = np.add.reduceat(pm[order].astype(float), starts)[:, None]
    else:
        np_c = _cluster_sums(p.astype(float), order, starts)      # pilot units per store, (G, R)
    nc_c = size - np_c
    mixed = (np_c > 0) & (nc_c > 0)
    if mixed.any():
        g = int(np.flatnonzero(mixed.any(axis=1))[0])
        raise ConfigError(f"store {uniques[g]!r} has units in both groups; with cluster= every store's "
                          "customers must share one group", field="cluster")
    is_p = np.broadcast_to(np_c > 0, (len(starts), reps))
    gp = is_p.sum(axis=0)
    gc = len(starts) - gp
    if (gp < 2).any() or (gc < 2).any():
        raise ConfigError(f"each group needs at least 2 stores for a clustered interval; got {int(gp.min())} "
                          f"pilot and {int(gc.min())} control stores", field="cluster")
    ys = y[order]                                   # sorted copy, (n, R)
    tot = np.add.reduceat(ys, starts, axis=0)       # outcome totals per store, (G, R)
    grand = tot.sum(axis=0) / n
    ys -= grand                                     # in place: centred, then squared
    ys *= ys
    dev = tot - size * grand
    # within-store sum of squares (for the working model of the degrees of freedom), (R,)
    ssw = np.maximum((np.add.reduceat(ys, starts, axis=0) - dev * dev / size).sum(axis=0), 0.0)
    del ys
    est, var, df, n_p, n_c = _cr2(tot, size, is_p, ssw, n)
    return est, var, df, n_p, n_c, len(uniques)


def unit_effect_batch(pre: Any, post: Any, pilot: Any, *, cluster: Any = None, method: str = "auto",
                      level: float = 0.95) -> EffectBatch:
    """Effect of a pilot for many replicates at once.

    Parameters
    ----------
    pre : array-like or None
        Pre-period outcome per unit, shape ``(n,)`` or ``(n, R)``; None for no
        pre-period (then only ``method="diff"`` or ``"auto"``).
    post : array-like
        Post-period (pilot window) outcome per unit, shape ``(n,)`` or ``(n, R)``.
    pilot : array-like of bool
        True for pilot units, shape ``(n,)`` or ``(n, R)`` (a fresh assignment per
        replicate).
    cluster : array-like, optional
        Store of each unit, shape ``(n,)``, when assignment was by store: every
        store's units must be in one group in each replicate.
    method : {"auto", "did", "cuped", "diff"}
        See the module docstring. ``auto`` is CUPED for customer-level assignment, DiD
        for store-level assignment, and a difference of means without ``pre``.
    level : float
        Confidence level of the intervals, in (0, 1).

    Returns
    -------
    EffectBatch

    Raises
    ------
    ConfigError
        For inconsistent shapes, missing values, an unknown method, a group with fewer
        than two units (or two stores), or a store split between groups.
    """
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise ConfigError(f"expected a confidence level in (0, 1), got {level!r}", field="level")
    y1 = _as_2d("post", post, None)
    n = y1.shape[0]
    y0 = None if pre is None else _as_2d("pre", pre, n)
    p = _as_pilot(pilot, n)
    clustered = cluster is not None
    resolved = _resolve(method, y0 is not None, clustered)
    reps = max(y1.shape[1], p.shape[1], 1 if y0 is None else y0.shape[1])
    for name, arr in (("post", y1), ("pre", y0), ("pilot", p)):
        if arr is not None and arr.shape[1] not in (1, reps):
            raise ConfigError(f"expected 1 or {reps} columns (replicates), got {arr.shape[1]}", field=name)
    single = p.shape[1] == 1          # one assignment for every replicate: subsets instead of weights
    pm = p[:, 0]

    with np.errstate(divide="ignore", invalid="ignore"):
        theta, y = _compared_outcome(resolved, y0, y1, n, reps)
        if not clustered:
            est, var, df, n_p, n_c = _unit_level(y, p, pm, single, n, reps)
            n_clusters = 0
        else:
            est, var, df, n_p, n_c, n_clusters = _store_level(y, p, pm, single, cluster, n, reps)

        se = np.sqrt(var)
        ok = se > 0                      # no interval from a zero standard error: NaN, not a zero-width one
        q = np.where(ok, stats.t.ppf(0.5 + level / 2, df), np.nan)
        lo = est - q * se
        hi = est + q * se
        tstat = np.where(ok, est / np.where(ok, se, 1.0), np.nan)
        pval = np.where(ok, 2 * stats.t.sf(np.abs(tstat), df), np.nan)
        # counterfactual mean of the pilot group in the post-period
        if single:
            mean_post_p = np.broadcast_to(y1[pm].mean(axis=0), (reps,))
        else:
            mean_post_p = (np.broadcast_to(y1, (n, reps)) * p).sum(axis=0) / n_p
        cf = mean_post_p - est
        rel = np.where(cf > 0, est / np.where(cf > 0, cf, 1.0), np.nan)

    return EffectBatch(estimate=est, std_error=se, ci_low=lo, ci_high=hi, p_value=pval, relative_effect=rel,
                       df=np.asarray(df, float), theta=np.asarray(theta, float), counterfactual=cf,
                       n_pilot=n_p.astype(np.int64), n_control=n_c.astype(np.int64), n_clusters=n_clusters,
                       method=resolved,
                       description=describe_method(resolved, clustered=clustered, n_clusters=n_clusters,
                                                   level=level, auto=method == "auto"),
                       level=float(level), auto=method == "auto")


def unit_effect(pre: Any, post: Any, pilot: Any, *, cluster: Any = None, method: str = "auto", level: float = 0.95,
                metric: str = "") -> Estimate:
    """Effect of a pilot on a per-unit outcome, with its interval.

    Parameters
    ----------
    pre : array-like of float or None
        Outcome per unit (customer) before the pilot, e.g. purchases per week in the
        pre-period; None when there is none.
    post : array-like of float
        Outcome per unit during the pilot, same unit.
    pilot : array-like of bool
        True for pilot units, False for controls.
    cluster : array-like, optional
        Store of each unit when assignment was by store; the standard error is then
        CR2 cluster-robust with a t reference on Satterthwaite degrees of freedom
        (``G - 2`` with equal store sizes, fewer with unequal ones; module docstring).
    method : {"auto", "did", "cuped", "diff"}
        ``did``: difference in differences of means; ``cuped``: CUPED (Deng et al.
        2013) with pooled theta; ``diff``: difference of post means; ``auto``: CUPED
        for customer-level assignment, DiD with ``cluster``, ``diff`` without ``pre``.
    level : float
        Confidence level.
    metric : str
        Name stored in the result.

    Returns
    -------
    Estimate
        With NaN interval and p-value when the standard error is zero.

    Warns
    -----
    ZeroVarianceWarning
        When the standard error is zero.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> pre = rng.gamma(2.0, 0.5, 2000)
    >>> pilot = rng.random(2000) < 0.5
    >>> post = pre + rng.normal(0, 0.3, 2000) + 0.1 * pilot
    >>> e = unit_effect(pre, post, pilot, metric="purchases_per_week")
    >>> e.ci_low < 0.1 < e.ci_high
    True
    """
    for name, x in (("pre", pre), ("post", post), ("pilot", pilot)):
        if x is not None and np.ndim(x) != 1:
            raise ConfigError(f"expected a 1-D array (one value per unit), got shape {np.shape(x)}; for replicates "
                              "use unit_effect_batch", field=name)
    est = unit_effect_batch(pre, post, pilot, cluster=cluster, method=method, level=level).item(0, metric=metric)
    if not est.std_error > 0:
        warnings.warn(f"{metric or 'outcome'}: the standard error is zero (every unit in each group has the same "
                      "value, after the adjustment), so there is no interval or p-value (NaN)", ZeroVarianceWarning,
                      stacklevel=2)
    return est
