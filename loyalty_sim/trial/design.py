"""Design a pilot before running it: power, minimum detectable effect, length, assignment.

A pilot answers "does the scheme change what customers do?" only if it is large and
long enough for the effect to stand out from the noise of who happens to be in which
group. This module tells the business, before the pilot starts, how likely the pilot
is to detect the effect the scheme is expected to have (its *power*), the smallest
effect it can reliably detect (the *minimum detectable effect*, MDE), the shortest
pilot that reaches a target power, and writes a reproducible stratified random
assignment of customers (or stores) to the pilot and control groups.

Two ways to the same numbers, shown side by side:

by simulation
    The population is simulated over the pre-period and the longest candidate pilot,
    once without the scheme and once with it launched at the end of the pre-period,
    on the same customers and random numbers (common random numbers, see
    :mod:`loyalty_sim.engine`). The assignment is then re-drawn many times (seeded);
    pilot units take their outcomes from the scheme run and control units from the
    baseline run, and the effect is estimated with
    :func:`loyalty_sim.trial.estimators.unit_effect_batch` -- the estimator the review of
    the real pilot uses, so the power is the power of *that* analysis. The power is the
    share of re-randomisations whose interval excludes zero. The simulated true effect
    (scheme minus baseline outcome, averaged over the analysed customers) is known. The
    same re-randomisations with the baseline outcome in both groups give the false
    alarm rate, which should be close to the significance level.
analytically
    ``MDE = (q_{1-alpha/2} + q_{power}) * sigma * sqrt(DE) * sqrt(1/n_p + 1/n_c)`` with
    ``sigma`` the standard deviation of the analysed outcome (for CUPED,
    ``sd(post) * sqrt(1 - rho^2)``, ``rho`` the pre/post correlation; for DiD,
    ``sd(post - pre)``), ``DE = 1 + ((1 + cv^2) * m - 1) * ICC`` the design effect of
    assigning stores of mean size ``m`` (size coefficient of variation ``cv``), and
    normal quantiles ``q`` for customers, t quantiles for ``G`` stores on
    ``G / (1 + cv^2) - 2`` degrees of freedom (``G - 2`` with equal sizes; unequal sizes
    leave fewer effective clusters, as the review's Satterthwaite degrees of freedom do).
    ``sigma`` and ``rho`` are those of the no-scheme run, i.e. what the business's own
    pre-period data would show; the simulated figures use the review's estimator itself.

Outcomes (one value per customer active in the pre-period, the units the review
analyses):

``frequency``
    transactions per customer per week (pilot window; pre-period rate as ``pre``);
``spend``
    amount paid per customer per week (currency; net of scheme discounts);
``retention``
    1 if the customer buys at least once in the pilot window, else 0 (its mean is the
    share of pre-period-active customers still active). It is 1 for everyone in the
    pre-period, so it is always estimated by CUPED with the pre-period purchase
    frequency as covariate.

These are the definitions and estimators of :func:`loyalty_sim.trial.review.review_trial`,
so the power computed here is the power of the review that will be run.

References
----------
Deng, A., Xu, Y., Kohavi, R. & Walker, T. (2013). Improving the sensitivity of online
controlled experiments by utilizing pre-experiment data. WSDM '13, 123-132.
Donner, A. & Klar, N. (2000). Design and Analysis of Cluster Randomization Trials in
Health Research. Arnold, London (design effect ``1 + (m - 1) ICC``).
Eldridge, S. M., Ashby, D. & Kerry, S. (2006). Sample size for cluster randomized trials:
effect of coefficient of variation of cluster size and analysis method. International
Journal of Epidemiology 35(5), 1292-1300.
Kohavi, R., Tang, D. & Xu, Y. (2020). Trustworthy Online Controlled Experiments.
Cambridge University Press (power, MDE, A/A checks).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ConfigError, DataError
from ..files import to_jsonable
from ..streams import stream

__all__ = [
    "METRICS", "UNITS", "TrialDesign", "analytic_mde", "analytic_power", "assign", "design_effect",
    "design_trial", "estimate_icc", "pre_period_spend", "rerandomisation_power", "resolve_scheme",
    "store_summary", "write_assignment",
]

#: Outcome -> unit.
METRICS: dict[str, str] = {
    "frequency": "transactions per customer per week",
    "spend": "currency per customer per week",
    "retention": "share of pre-period-active customers who buy in the pilot window",
}

#: Plain names of the outcomes, for text.
LABELS: dict[str, str] = {
    "frequency": "purchase frequency",
    "spend": "spend per customer",
    "retention": "retention",
}

#: Units of assignment.
UNITS: tuple[str, ...] = ("customer", "store")

#: Default candidate pilot lengths (weeks).
DEFAULT_WEEKS: tuple[int, ...] = (2, 4, 6, 8, 10, 12, 16, 20, 26)

#: Default candidate pilot shares.
DEFAULT_SHARES: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5)

#: Default relative spread of store-level shocks (assumption, see :func:`design_trial`).
DEFAULT_STORE_EFFECT_SD = 0.05

# largest units x replicates matrix handed to the estimator at once (memory)
_BATCH_CELLS = 2_000_000

# layouts of simulated customers into stores, used in turn by the re-randomisations
_STORE_LAYOUTS = 10


# --------------------------------------------------------------------------- checks


def _check_fraction(name: str, value: Any, *, closed_low: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"expected a number in (0, 1), got {value!r}", field=name) from None
    ok = (0 <= v < 1) if closed_low else (0 < v < 1)
    if not (math.isfinite(v) and ok):
        raise ConfigError(f"must be in {'[0, 1)' if closed_low else '(0, 1)'}, got {value!r}", field=name)
    return v


def _check_int(name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ConfigError(f"expected an integer >= {minimum}, got {value!r}", field=name)
    if value < minimum:
        raise ConfigError(f"must be >= {minimum}, got {value}", field=name)
    return int(value)


def _check_nonneg(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"expected a number >= 0, got {value!r}", field=name) from None
    if not (math.isfinite(v) and v >= 0):
        raise ConfigError(f"must be a finite number >= 0, got {value!r}", field=name)
    return v


def _check_unit(unit: Any) -> str:
    if unit not in UNITS:
        raise ConfigError(f"expected one of {list(UNITS)}, got {unit!r}", field="unit")
    return str(unit)


# --------------------------------------------------------------------------- closed forms


def _quantiles(alpha: float, power: float, df: float | None) -> tuple[float, float]:
    if df is None or not math.isfinite(df):
        return float(stats.norm.ppf(1 - alpha / 2)), float(stats.norm.ppf(power))
    return float(stats.t.ppf(1 - alpha / 2, df)), float(stats.t.ppf(power, df))


def design_effect(mean_size: float, icc: float, *, cv: float = 0.0) -> float:
    """Variance inflation of assigning groups (stores) instead of individuals.

    Parameters
    ----------
    mean_size : float
        Mean analysed customers per store, ``m``.
    icc : float
        Intra-store correlation of the analysed outcome, in [0, 1).
    cv : float
        Coefficient of variation of store sizes (0 = equal stores).

    Returns
    -------
    float
        ``1 + ((1 + cv^2) m - 1) ICC`` (Eldridge, Ashby & Kerry 2006); ``1 + (m - 1) ICC``
        for equal stores (Donner & Klar 2000).
    """
    m = float(mean_size)
    if not (math.isfinite(m) and m >= 1):
        raise ConfigError(f"must be >= 1, got {mean_size!r}", field="mean_size")
    icc = _check_fraction("icc", icc, closed_low=True)
    cv = _check_nonneg("cv", cv)
    return 1.0 + ((1.0 + cv * cv) * m - 1.0) * icc


def analytic_mde(sigma: float, n_pilot: float, n_control: float, *, alpha: float = 0.05, power: float = 0.8,
                 rho: float = 0.0, design_effect: float = 1.0, df: float | None = None) -> float:
    """Minimum detectable effect of a two-group comparison of means (absolute, outcome units).

    Parameters
    ----------
    sigma : float
        Standard deviation of the per-unit outcome (before any CUPED reduction).
    n_pilot, n_control : float
        Units (customers) in each group.
    alpha : float
        Two-sided significance level.
    power : float
        Target power.
    rho : float
        Correlation of the outcome with its pre-period value; CUPED scales the variance
        by ``1 - rho^2`` (Deng et al. 2013). 0 for a plain comparison (or when
        ``sigma`` is already the standard deviation of the adjusted outcome).
    design_effect : float
        Variance inflation from assigning stores (:func:`design_effect`); 1 for customers.
    df : float, optional
        Degrees of freedom of a t reference (``G - 2`` for ``G`` stores); normal if None.

    Returns
    -------
    float
        ``(q_{1-alpha/2} + q_{power}) * sigma * sqrt(1 - rho^2) * sqrt(DE) * sqrt(1/n_p + 1/n_c)``.

    Examples
    --------
    >>> round(analytic_mde(1.0, 1000, 1000), 4)   # 2.8016 * sqrt(2/1000)
    0.1253
    """
    se = _standard_error(sigma, n_pilot, n_control, rho=rho, design_effect=design_effect)
    q_a, q_b = _quantiles(_check_fraction("alpha", alpha), _check_fraction("power", power), df)
    return (q_a + q_b) * se


def analytic_power(effect: float, sigma: float, n_pilot: float, n_control: float, *, alpha: float = 0.05,
                   rho: float = 0.0, design_effect: float = 1.0, df: float | None = None) -> float:
    """Probability that a two-sided test at ``alpha`` detects a true ``effect``.

    Parameters
    ----------
    effect : float
        True effect (outcome units); its sign does not matter.
    sigma, n_pilot, n_control, alpha, rho, design_effect, df
        As in :func:`analytic_mde`.

    Returns
    -------
    float
        ``P(|T| > q_{1-alpha/2})`` with ``T`` centred on ``effect / SE`` (both tails).
    """
    se = _standard_error(sigma, n_pilot, n_control, rho=rho, design_effect=design_effect)
    alpha = _check_fraction("alpha", alpha)
    shift = abs(float(effect)) / se if se > 0 else (math.inf if effect else 0.0)
    if df is None or not math.isfinite(df):
        q = stats.norm.ppf(1 - alpha / 2)
        return float(stats.norm.sf(q - shift) + stats.norm.cdf(-q - shift))
    q = stats.t.ppf(1 - alpha / 2, df)
    return float(stats.t.sf(q - shift, df) + stats.t.cdf(-q - shift, df))


def _standard_error(sigma: float, n_pilot: float, n_control: float, *, rho: float, design_effect: float) -> float:
    sigma = _check_nonneg("sigma", sigma)
    for name, n in (("n_pilot", n_pilot), ("n_control", n_control)):
        if not (math.isfinite(float(n)) and float(n) >= 1):
            raise ConfigError(f"must be >= 1, got {n!r}", field=name)
    rho = float(rho)
    if not (math.isfinite(rho) and -1 <= rho <= 1):
        raise ConfigError(f"must be a correlation in [-1, 1], got {rho!r}", field="rho")
    de = float(design_effect)
    if not (math.isfinite(de) and de >= 1):
        raise ConfigError(f"must be >= 1, got {design_effect!r}", field="design_effect")
    return sigma * math.sqrt(max(1.0 - rho * rho, 0.0) * de * (1.0 / float(n_pilot) + 1.0 / float(n_control)))


def estimate_icc(values: Any, groups: Any) -> float:
    """Intra-class correlation of ``values`` within ``groups`` (one-way ANOVA estimator).

    Parameters
    ----------
    values : array-like of float
        One value per unit (e.g. a customer's change in spend between two periods).
    groups : array-like
        The group (store) of each unit.

    Returns
    -------
    float
        ``(MSB - MSW) / (MSB + (m0 - 1) MSW)`` with ``m0`` the ANOVA mean group size,
        clipped at 0; NaN with fewer than two groups or no within-group variation.
    """
    y = np.asarray(values, dtype=float)
    codes, _ = pd.factorize(np.asarray(groups))
    if y.ndim != 1 or len(codes) != len(y):
        raise ConfigError(f"expected one group per value ({len(y)}), got {len(codes)}", field="groups")
    ok = np.isfinite(y) & (codes >= 0)
    y, codes = y[ok], codes[ok]
    g = int(codes.max()) + 1 if len(codes) else 0
    n = len(y)
    if g < 2 or n <= g:
        return math.nan
    size = np.bincount(codes, minlength=g).astype(float)
    keep = size > 0
    total = np.bincount(codes, weights=y, minlength=g)
    mean_g = np.divide(total, size, out=np.zeros(g), where=keep)
    grand = y.mean()
    ssb = float((size * (mean_g - grand) ** 2).sum())
    ssw = float(((y - mean_g[codes]) ** 2).sum())
    g_eff = int(keep.sum())
    msb = ssb / (g_eff - 1)
    msw = ssw / (n - g_eff)
    m0 = (n - float((size ** 2).sum()) / n) / (g_eff - 1)
    denom = msb + (m0 - 1.0) * msw
    if msw <= 0 or denom <= 0:
        return math.nan
    return max(0.0, (msb - msw) / denom)


# --------------------------------------------------------------------------- stores in a log


def store_summary(log: Any, *, pre_weeks: int, end: Any = None) -> dict[str, Any]:
    """Stores of a transaction log, as a store-level pilot design needs them.

    Parameters
    ----------
    log : TransactionLog or DataFrame
        ``customer_id``, ``timestamp``, ``amount`` and ``store_id``.
    pre_weeks : int
        Pre-period length (weeks), ending at ``end``.
    end : date-like, optional
        End of the pre-period (exclusive); default the day after the log's last timestamp.

    Returns
    -------
    dict
        ``home``: each pre-period customer's home store (where most of their pre-period
        rows were; ties to the store whose id sorts first as text), computed by
        :func:`loyalty_sim.trial.review.home_stores`, the very rule of the review, so a
        customer split evenly between a pilot and a control store is in the same group
        in the design and in the review; ``stores``: one row per store with home
        customers, ``store_id`` and ``size`` (its customers); ``icc``: per outcome, the
        intra-store correlation of the change between the two halves of the pre-period
        (:func:`estimate_icc`; what DiD faces, NaN where the log is too thin), to pass
        as ``icc`` to :func:`design_trial`.
    """
    frame = getattr(log, "data", log)
    if not isinstance(frame, pd.DataFrame):
        raise ConfigError(f"expected a DataFrame or TransactionLog, got {type(log).__name__}", field="log")
    for col in ("customer_id", "timestamp", "amount", "store_id"):
        if col not in frame.columns:
            raise DataError(f"required column '{col}' missing; columns present: {list(frame.columns)}", column=col)
    pre_weeks = _check_int("pre_weeks", pre_weeks, minimum=1)
    ts = pd.to_datetime(frame["timestamp"])
    stop = pd.Timestamp(end) if end is not None else ts.max().normalize() + pd.Timedelta(days=1)
    begin = stop - pd.Timedelta(weeks=pre_weeks)
    in_pre = (ts >= begin) & (ts < stop)
    rows = frame.loc[in_pre, ["customer_id", "store_id", "amount"]].assign(timestamp=ts[in_pre])
    # the review's rule, from the review's own helper: most pre-period rows, ties to the id that sorts first as text
    from .review import home_stores

    home = home_stores(rows["customer_id"], rows["store_id"])
    try:
        home = home.sort_index()
    except TypeError:                 # ids of mixed types: keep the order of first appearance
        pass
    sizes = home.value_counts().sort_index()
    stores = pd.DataFrame({"store_id": sizes.index.to_numpy(), "size": sizes.to_numpy(dtype=np.int64)})

    half = pd.Timedelta(weeks=pre_weeks) / 2
    second = rows["timestamp"] >= begin + half
    agg = rows.assign(second=second).groupby(["customer_id", "second"])["amount"].agg(["size", "sum"]).unstack(
        "second", fill_value=0)
    icc = {m: math.nan for m in METRICS}
    if not agg.empty and agg.shape[1] == 4:
        weeks_half = pre_weeks / 2
        tx_a, tx_b = agg[("size", False)].to_numpy(float), agg[("size", True)].to_numpy(float)
        sp_a, sp_b = agg[("sum", False)].to_numpy(float), agg[("sum", True)].to_numpy(float)
        where = home.reindex(agg.index).to_numpy()
        was_active = tx_a > 0
        icc = {"frequency": estimate_icc((tx_b - tx_a) / weeks_half, where),
               "spend": estimate_icc((sp_b - sp_a) / weeks_half, where),
               "retention": estimate_icc((tx_b[was_active] > 0).astype(float), where[was_active])}
    return {"home": home, "stores": stores, "icc": icc}


# --------------------------------------------------------------------------- assignment


def _draw_groups(strata: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """Pilot flags with exact shares per stratum.

    Each stratum gets ``floor`` or ``ceil`` of ``share * size`` pilot units by systematic
    randomised rounding across strata (one uniform offset over the cumulative targets),
    so the total is also within one of ``share * n``; the units are then a random subset
    of their stratum.

    Parameters
    ----------
    strata : ndarray of int
        Stratum code (0 .. S-1) of each unit, in the units' canonical order.
    share : float
        Pilot share.
    rng : Generator

    Returns
    -------
    ndarray of bool
    """
    n = len(strata)
    sizes = np.bincount(strata, minlength=int(strata.max()) + 1 if n else 0)
    cum = np.cumsum(sizes) * share
    offset = rng.random()
    counts = np.diff(np.floor(np.concatenate([[0.0], cum]) + offset)).astype(np.int64)
    keys = rng.random(n)
    order = np.lexsort((keys, strata))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - starts[strata[order]]
    return rank < counts[strata]


def _draw_groups_many(strata: np.ndarray, share: float, rng: np.random.Generator, reps: int) -> np.ndarray:
    """``reps`` independent draws of :func:`_draw_groups`, as columns of an (n, reps) array."""
    n = len(strata)
    out = np.empty((n, reps), dtype=bool)
    for r in range(reps):
        out[:, r] = _draw_groups(strata, share, rng)
    return out


def _assignment_rng(seed: int) -> np.random.Generator:
    return np.random.Generator(stream(_check_int("seed", seed, minimum=0), "trial_assignment", 0))


def _is_log(frame: pd.DataFrame, id_col: str) -> bool:
    return "timestamp" in frame.columns or bool(frame[id_col].duplicated().any())


def pre_period_spend(log: Any, *, pre_weeks: int | None = None, end: Any = None) -> pd.DataFrame:
    """Spend and transactions of each customer of a transaction log in the pre-period.

    Parameters
    ----------
    log : TransactionLog or DataFrame
        ``customer_id``, ``amount`` and (to cut a pre-period) ``timestamp``.
    pre_weeks : int, optional
        Length of the pre-period in weeks, ending at ``end``; the whole log if None.
    end : date-like, optional
        End of the pre-period (exclusive); default the day after the log's last
        timestamp, i.e. the pilot starts right after the log.

    Returns
    -------
    DataFrame
        ``customer_id``, ``spend`` (currency in the pre-period), ``transactions``; one
        row per customer of the log, those without a purchase in the pre-period at 0.
    """
    frame = getattr(log, "data", log)
    if not isinstance(frame, pd.DataFrame):
        raise ConfigError(f"expected a DataFrame or TransactionLog, got {type(log).__name__}", field="log")
    for col in ("customer_id", "amount"):
        if col not in frame.columns:
            raise DataError(f"required column '{col}' missing; columns present: {list(frame.columns)}", column=col)
    ids = pd.Index(frame["customer_id"].unique())
    rows = frame
    if pre_weeks is not None:
        pre_weeks = _check_int("pre_weeks", pre_weeks, minimum=1)
        if "timestamp" not in frame.columns:
            raise DataError("a pre-period needs a 'timestamp' column", column="timestamp")
        ts = pd.to_datetime(frame["timestamp"])
        stop = pd.Timestamp(end) if end is not None else ts.max().normalize() + pd.Timedelta(days=1)
        rows = frame[(ts >= stop - pd.Timedelta(weeks=pre_weeks)) & (ts < stop)]
    agg = rows.groupby("customer_id", sort=False)["amount"].agg(["sum", "size"])
    out = pd.DataFrame({"customer_id": ids})
    out["spend"] = agg["sum"].reindex(ids).fillna(0.0).to_numpy()
    out["transactions"] = agg["size"].reindex(ids).fillna(0).astype(np.int64).to_numpy()
    return out


def _spend_deciles(spend: np.ndarray) -> np.ndarray:
    """Stratum labels: ``spend_d01`` .. ``spend_d10`` among customers who spent, ``spend_none`` for the rest."""
    labels = np.full(len(spend), "spend_none", dtype=object)
    pos = np.flatnonzero(spend > 0)
    if pos.size:
        # ranks with ties broken by position (units are sorted by id), then ten equal groups
        rank = np.empty(pos.size, dtype=np.int64)
        rank[np.argsort(spend[pos], kind="stable")] = np.arange(pos.size)
        dec = (rank * 10) // pos.size + 1
        labels[pos] = [f"spend_d{d:02d}" for d in dec]
    return labels


def _size_groups(size: np.ndarray) -> np.ndarray:
    """Stratum labels for stores by size: groups of at least four stores, at most ten groups."""
    g = len(size)
    k = int(max(1, min(10, g // 4)))
    rank = np.empty(g, dtype=np.int64)
    rank[np.argsort(size, kind="stable")] = np.arange(g)
    grp = (rank * k) // max(g, 1) + 1
    return np.array([f"size_g{d:02d}" for d in grp], dtype=object)


def assign(units: Any, *, unit: str = "customer", share: float = 0.5, strata: str | None = "auto", seed: int = 0,
           pre_weeks: int | None = None) -> pd.DataFrame:
    """A reproducible stratified random assignment of customers or stores to pilot and control.

    Parameters
    ----------
    units : DataFrame or TransactionLog
        For ``unit="customer"``: a transaction log (``customer_id``, ``amount``,
        ``timestamp``; spend is summed per customer) or one row per customer with
        ``customer_id`` and a ``spend`` column (e.g. pre-period spend). For
        ``unit="store"``: a log with ``store_id`` (store size = distinct customers), or
        one row per store with ``store_id`` and optionally ``size`` (or ``customers``).
    unit : {"customer", "store"}
        What is assigned.
    share : float
        Share of units in the pilot group, in (0, 1).
    strata : str or None
        ``"auto"`` (pre-period spend deciles for customers, size groups for stores),
        ``"spend_decile"``, ``"size"``, the name of a column holding given strata, or
        None (one stratum).
    seed : int
        Seed of the draw.
    pre_weeks : int, optional
        For a log: only the last ``pre_weeks`` weeks count towards a customer's spend.

    Returns
    -------
    DataFrame
        ``customer_id`` (or ``store_id``), ``group`` (``"pilot"`` / ``"control"``),
        ``stratum``; sorted by id. Within each stratum the pilot count is ``floor`` or
        ``ceil`` of ``share`` times its size (randomised rounding), and the overall count
        within one of ``share`` times the units. The same seed gives the same file
        whatever the row order of ``units``; another seed gives another draw.

    Raises
    ------
    ConfigError
        For a share outside (0, 1), an unknown unit or strata, a negative seed.
    DataError
        For a missing id column, missing ids, or a per-unit frame with repeated ids.
    """
    unit = _check_unit(unit)
    share = _check_fraction("share", share)
    frame = getattr(units, "data", units)
    if not isinstance(frame, pd.DataFrame):
        raise ConfigError(f"expected a DataFrame or TransactionLog, got {type(units).__name__}", field="units")
    id_col = "customer_id" if unit == "customer" else "store_id"
    if id_col not in frame.columns:
        raise DataError(f"required column '{id_col}' missing; columns present: {list(frame.columns)}", column=id_col)
    if frame[id_col].isna().any():
        bad = [int(i) + 1 for i in np.flatnonzero(frame[id_col].isna().to_numpy())[:5]]
        raise DataError("missing ids", column=id_col, rows=bad)
    is_log = _is_log(frame, id_col)
    if strata == "auto":
        strata = "spend_decile" if unit == "customer" else "size"
    given: pd.Series | None = None
    if unit == "customer":
        if is_log:
            if "amount" not in frame.columns:
                raise DataError("a transaction log needs an 'amount' column", column="amount")
            per = pre_period_spend(frame, pre_weeks=pre_weeks)
            if strata not in (None, "spend_decile", "size"):
                if strata not in frame.columns:
                    raise ConfigError(f"no column {strata!r}; columns present: {list(frame.columns)}", field="strata")
                given = frame.groupby(id_col, sort=False)[strata].first()
        else:
            per = frame.copy()
            spend_col = next((c for c in ("spend", "pre_spend", "revenue", "amount") if c in frame.columns), None)
            per["spend"] = frame[spend_col].to_numpy(dtype=float) if spend_col else np.nan
            if strata == "spend_decile" and spend_col is None:
                raise DataError("spend deciles need a 'spend' column (pre-period spend per customer)", column="spend")
        ids = per[id_col]
    else:
        if is_log:
            if "customer_id" in frame.columns:
                per = frame.groupby(id_col, sort=False)["customer_id"].nunique().rename("size").reset_index()
            else:
                per = frame.groupby(id_col, sort=False).size().rename("size").reset_index()
            if strata not in (None, "spend_decile", "size"):
                if strata not in frame.columns:
                    raise ConfigError(f"no column {strata!r}; columns present: {list(frame.columns)}", field="strata")
                given = frame.groupby(id_col, sort=False)[strata].first()
        else:
            per = frame.copy()
            size_col = next((c for c in ("size", "customers", "n_customers") if c in frame.columns), None)
            per["size"] = frame[size_col].to_numpy(dtype=float) if size_col else np.nan
            if strata == "size" and size_col is None:
                strata = None   # no sizes known: one stratum
        ids = per[id_col]
    if not is_log and ids.duplicated().any():
        dup = [int(i) + 1 for i in np.flatnonzero(ids.duplicated().to_numpy())[:5]]
        raise DataError("repeated ids in a one-row-per-unit frame", column=id_col, rows=dup)
    if strata == "spend_decile" and unit != "customer":
        raise ConfigError("spend deciles stratify customers; for stores use 'size', a column or None", field="strata")
    if strata == "size" and unit != "store":
        raise ConfigError("size groups stratify stores; for customers use 'spend_decile', a column or None",
                          field="strata")
    if len(per) < 2:
        raise DataError(f"need at least 2 units to assign, got {len(per)}", column=id_col)

    # canonical order: by id, so the draw does not depend on the input's row order
    order = _id_order(ids)
    per = per.iloc[order].reset_index(drop=True)
    if strata is None:
        labels = np.full(len(per), "all", dtype=object)
    elif strata == "spend_decile":
        labels = _spend_deciles(np.nan_to_num(per["spend"].to_numpy(dtype=float), nan=0.0))
    elif strata == "size":
        labels = _size_groups(np.nan_to_num(per["size"].to_numpy(dtype=float), nan=0.0))
    else:
        if given is not None:
            col = given.reindex(per[id_col]).to_numpy()
        elif strata in per.columns:
            col = per[strata].to_numpy()
        else:
            raise ConfigError(f"no column {strata!r}; columns present: {list(frame.columns)}", field="strata")
        if pd.isna(col).any():
            raise DataError("missing stratum", column=str(strata),
                            rows=[int(i) + 1 for i in np.flatnonzero(pd.isna(col))[:5]])
        labels = np.array([str(v) for v in col], dtype=object)
    codes, uniques = pd.factorize(labels, sort=True)
    pilot = _draw_groups(codes.astype(np.int64), share, _assignment_rng(seed))
    return pd.DataFrame({id_col: per[id_col].to_numpy(), "group": np.where(pilot, "pilot", "control"),
                         "stratum": labels})


def _id_order(ids: pd.Series) -> np.ndarray:
    """Positions that sort ``ids`` (numbers numerically, anything else as text)."""
    values = ids.to_numpy()
    if pd.api.types.is_numeric_dtype(ids):
        return np.argsort(values, kind="stable")
    return np.argsort(np.array([str(v) for v in values], dtype=object), kind="stable")


def write_assignment(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write an assignment (from :func:`assign`) as a spreadsheet-safe CSV, atomically.

    Parameters
    ----------
    frame : DataFrame
        ``customer_id`` or ``store_id``, ``group`` (``pilot``/``control``) and ``stratum``.
    path : path-like
        A ``.csv`` file; its folder is created if needed. Nothing is written until the
        whole file is ready (temporary file, then rename).

    Returns
    -------
    Path
    """
    from ..files import check_output_path, write_csv_safe

    p = check_output_path(path, (".csv",), field="assignment_out")
    if not isinstance(frame, pd.DataFrame):
        raise ConfigError(f"expected a DataFrame, got {type(frame).__name__}", field="frame")
    id_cols = [c for c in ("customer_id", "store_id") if c in frame.columns]
    if len(id_cols) != 1 or "group" not in frame.columns:
        raise ConfigError("expected columns customer_id or store_id, group and stratum "
                          f"(as returned by assign), got {list(frame.columns)}", field="frame")
    bad = ~frame["group"].isin(["pilot", "control"])
    if bad.any():
        raise ConfigError(f"group must be 'pilot' or 'control', got {sorted(set(frame.loc[bad, 'group'].astype(str)))}",
                          field="group")
    cols = [id_cols[0], "group"] + (["stratum"] if "stratum" in frame.columns else [])
    return write_csv_safe(frame[cols], p)


# --------------------------------------------------------------------------- schemes and populations


def resolve_scheme(scheme: Any, *, name: str | None = None) -> tuple[Any, dict[str, Any]]:
    """The scheme to pilot, from an object, a mapping, a scheme or scenario file, or a scheme's name.

    Parameters
    ----------
    scheme : Scheme, mapping, path or str
        A scheme object (anything with ``start``); a mapping with a ``type``; a YAML
        file holding one scheme (a mapping with ``type``) or a scenario (``schemes:``
        list), given by path or by name in ``data/schemes`` (``"gift"``); or the name
        of a scheme in one of the example scenario files (``"stamp10"``).
    name : str, optional
        Which scheme of a scenario file (default: its first).

    Returns
    -------
    scheme, info
        The scheme, and where it came from: ``source``, ``preset`` and ``behaviour``
        of a scenario file (None otherwise).
    """
    from ..schemes import scheme_from_dict

    info: dict[str, Any] = {"source": None, "preset": None, "behaviour": None}
    if scheme is None:
        raise ConfigError("a scheme to pilot is required", field="scheme")
    if hasattr(scheme, "start") and not isinstance(scheme, (str, os.PathLike, Mapping)):
        if name is not None and getattr(scheme, "name", name) != name:
            raise ConfigError(f"the scheme is named {getattr(scheme, 'name', None)!r}, not {name!r}", field="scheme_name")
        return scheme, info
    if isinstance(scheme, Mapping):
        return scheme_from_dict(scheme, path="scheme"), info
    if not isinstance(scheme, (str, os.PathLike)):
        raise ConfigError(f"expected a scheme, a mapping or a file, got {type(scheme).__name__}", field="scheme")
    from ..files import load_yaml
    from ..scenario import SCHEME_DIR, scenario_from_mapping

    p = Path(scheme)
    candidates = [p] if p.is_file() else []
    if not candidates and p.suffix in ("", ".yaml", ".yml"):
        c = SCHEME_DIR / f"{p.name if p.suffix else p.name + '.yaml'}"
        if c.is_file():
            candidates = [c]
    if candidates:
        path = candidates[0]
        raw = load_yaml(path)
        info["source"] = str(path)
        if isinstance(raw, Mapping) and "type" in raw:
            return scheme_from_dict(raw, source=str(path), path="scheme"), info
        sc = scenario_from_mapping(raw, source=str(path))
        info["preset"] = sc.params.name
        info["behaviour"] = sc.behaviour
        if name is None:
            return sc.schemes[0], info
        for s in sc.schemes:
            if s.name == name:
                return s, info
        raise ConfigError(f"no scheme {name!r} in {path}; it has {[s.name for s in sc.schemes]}", field="scheme_name")
    # a scheme's name in the example files
    wanted = name or str(scheme)
    for path in sorted(SCHEME_DIR.glob("*.yaml")):
        raw = load_yaml(path)
        for i, s in enumerate(raw.get("schemes", []) if isinstance(raw, Mapping) else []):
            if isinstance(s, Mapping) and s.get("name") == wanted:
                info.update(source=f"{path}#{wanted}", preset=raw.get("preset"))
                return scheme_from_dict(s, source=str(path), path=f"schemes[{i}]"), info
    avail = sorted(q.stem for q in SCHEME_DIR.glob("*.yaml"))
    raise ConfigError(f"no scheme file or scheme named {str(scheme)!r}; give a YAML path, one of {avail}, "
                      "or the name of a scheme in one of them", field="scheme")


def _population(population: Any, *, customers: int | None, weeks: int, seed: int) -> Any:
    """A :class:`~loyalty_sim.population.Population` covering ``weeks``."""
    from ..population import Population, PopulationParams

    if isinstance(population, Population):
        if population.weeks >= weeks and customers in (None, population.size):
            return population
        pop = Population(population.params, size=customers or population.size, weeks=max(weeks, population.weeks),
                         seed=population.seed)
        if hasattr(population, "fitted_fields"):
            pop.fitted_fields = population.fitted_fields
        return pop
    if isinstance(population, (str, PopulationParams)):
        return Population(population, size=10_000 if customers is None else customers, weeks=weeks, seed=seed)
    raise ConfigError(f"expected a preset name, PopulationParams or Population, got {type(population).__name__}",
                      field="population")


# --------------------------------------------------------------------------- outcomes


@dataclass
class _Outcomes:
    """Per-customer outcomes of the analysed customers (active in the pre-period).

    ``data[(metric, L)] = (pre, baseline_post, scheme_post)``; ``ids`` the customers,
    ``pre_spend`` their pre-period spend (for strata).
    """

    ids: np.ndarray
    pre_spend: np.ndarray
    data: dict[tuple[str, int], tuple[np.ndarray, np.ndarray, np.ndarray]]
    n_customers_simulated: int
    seconds: float = 0.0


def _window_total(result: Any, kind: str, lo: int, hi: int, rows: np.ndarray) -> np.ndarray:
    """``kind`` in weeks ``[lo, hi)`` of the customers at ``rows`` of ``result.customers``."""
    return result.window(lo, hi, kind).to_numpy(dtype=float)[rows]


def _simulate_outcomes(pop: Any, scheme: Any, *, pre_weeks: int, lengths: Sequence[int], seed: int,
                       behaviour: Any) -> _Outcomes:
    """Simulate baseline and scheme (common random numbers) and extract per-customer outcomes."""
    import time

    from ..engine import simulate

    t0 = time.perf_counter()
    horizon = pre_weeks + max(lengths)
    edges = sorted({0, pre_weeks, horizon} | {pre_weeks + L for L in lengths})
    kw = dict(weeks=horizon, seed=seed, launch_week=pre_weeks, windows=edges, behaviour=behaviour)
    base_run = simulate(pop, None, **kw)
    sch_run = simulate(pop, scheme, **kw)
    base_tx_pre = _window_total(base_run, "transactions", 0, pre_weeks, slice(None))
    active = base_tx_pre > 0
    base = base_run.customers.loc[active].reset_index(drop=True)
    b_rows = np.flatnonzero(active)
    s_rows = pd.Index(sch_run.customers["customer_id"]).get_indexer(base["customer_id"])
    tx_pre = base_tx_pre[active]
    rev_pre = _window_total(base_run, "revenue", 0, pre_weeks, b_rows)
    data: dict[tuple[str, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for L in lengths:
        hi = pre_weeks + L
        tb = _window_total(base_run, "transactions", pre_weeks, hi, b_rows)
        ts = _window_total(sch_run, "transactions", pre_weeks, hi, s_rows)
        rb = _window_total(base_run, "revenue", pre_weeks, hi, b_rows)
        rs = _window_total(sch_run, "revenue", pre_weeks, hi, s_rows)
        data[("frequency", L)] = (tx_pre / pre_weeks, tb / L, ts / L)
        data[("spend", L)] = (rev_pre / pre_weeks, rb / L, rs / L)
        # retention is 1 for everyone before the pilot: CUPED on the pre-period frequency (as the review does)
        data[("retention", L)] = (tx_pre / pre_weeks, (tb > 0).astype(float), (ts > 0).astype(float))
    return _Outcomes(ids=base["customer_id"].to_numpy(), pre_spend=rev_pre, data=data,
                     n_customers_simulated=int(len(active)), seconds=time.perf_counter() - t0)


# --------------------------------------------------------------------------- power by re-randomisation


def rerandomisation_power(pre: Any, post_control: Any, post_pilot: Any, *, share: float = 0.5, alpha: float = 0.05,
                          rerandomisations: int = 200, strata: Any = None, cluster: Any = None,
                          store_strata: Any = None, store_shock_sd: float = 0.0, method: str = "auto",
                          target_power: float = 0.8, null: bool = True, seed: int = 0, key: int = 0,
                          assignments: np.ndarray | None = None) -> dict[str, Any]:
    """Power of a pilot by re-randomising the assignment of fixed per-unit outcomes.

    Parameters
    ----------
    pre : array-like of float
        Pre-period outcome per unit (customer).
    post_control, post_pilot : array-like of float
        The unit's outcome in the pilot window without and with the scheme (paired:
        the same customer and random numbers).
    share : float
        Pilot share (of customers, or of stores with ``cluster``).
    alpha : float
        Two-sided significance level; intervals are at ``1 - alpha``.
    rerandomisations : int
        Assignments drawn.
    strata : array-like, optional
        Stratum of each customer (customer assignment).
    cluster : array-like of int, optional
        Store code (0 .. G-1) of each customer: stores are assigned, and the estimator's
        interval is cluster-robust. A 2-D array ``(units, K)`` gives ``K`` layouts of
        customers into stores, used in turn by consecutive blocks of re-randomisations
        (so that the power does not hinge on one chance layout).
    store_strata : array-like, optional
        Stratum of each store (store assignment).
    store_shock_sd : float
        Standard deviation of a store-level shock added to every post-period outcome of
        the store's customers (drawn afresh in each re-randomisation): what the
        pre-period cannot predict about a store (outcome units).
    method : {"auto", "did", "cuped", "diff"}
        The estimator (:func:`loyalty_sim.trial.estimators.unit_effect_batch`).
    target_power : float
        For the simulated MDE.
    null : bool
        Also estimate on the baseline outcomes in both groups (false-alarm rate).
    seed, key : int
        Seed and a key of this design point (independent, reproducible streams).
    assignments : ndarray of bool, optional
        Pre-drawn pilot flags, (units, R) for customers or (stores, R) for stores.

    Returns
    -------
    dict
        ``power`` (share of intervals excluding 0), ``power_se``, ``null_rejection`` and
        ``null_rejection_se`` (NaN if ``null`` is False), ``true_effect`` (mean of
        ``post_pilot - post_control``), ``mean_estimate``, ``coverage`` (share of
        intervals covering the true effect), ``sd_null`` (empirical SD of the null
        estimates), ``mean_se`` (mean reported standard error), ``simulated_mde``
        (``(q_{1-alpha/2} + q_{power}) * sd_null``), ``method``, ``description``,
        ``n_pilot``, ``n_control`` (means over draws), ``rerandomisations``.
    """
    from .estimators import unit_effect_batch

    x = np.asarray(pre, dtype=float)
    y0 = np.asarray(post_control, dtype=float)
    y1 = np.asarray(post_pilot, dtype=float)
    n = len(y0)
    if x.shape != (n,) or y1.shape != (n,):
        raise ConfigError(f"pre, post_control and post_pilot need one value per unit ({n})", field="post_pilot")
    share = _check_fraction("share", share)
    alpha = _check_fraction("alpha", alpha)
    target_power = _check_fraction("target_power", target_power)
    reps = _check_int("rerandomisations", rerandomisations, minimum=1)
    rng = np.random.Generator(stream(_check_int("seed", seed, minimum=0), "trial_power", int(key)))
    shock_sd = _check_nonneg("store_shock_sd", store_shock_sd)
    if cluster is not None:
        layouts = np.asarray(cluster, dtype=np.int64)
        if layouts.ndim == 1:
            layouts = layouts[:, None]
        if layouts.ndim != 2 or layouts.shape[0] != n:
            raise ConfigError(f"expected one store per unit ({n}), got shape {np.shape(cluster)}", field="cluster")
        n_stores = int(layouts.max()) + 1
        st = np.zeros(n_stores, np.int64) if store_strata is None else pd.factorize(np.asarray(store_strata), sort=True)[0]
        units_strata = st
    else:
        layouts = None
        n_stores = 0
        units_strata = np.zeros(n, np.int64) if strata is None else pd.factorize(np.asarray(strata), sort=True)[0]
    if assignments is None:
        assignments = _draw_groups_many(units_strata.astype(np.int64), share, rng, reps)
    assignments = np.asarray(assignments, dtype=bool)[:, :reps]
    reps = assignments.shape[1]
    true = float(np.mean(y1 - y0))
    chunk = max(1, min(reps, _BATCH_CELLS // max(n, 1)))
    blocks: list[tuple[int, int, np.ndarray | None]] = []
    if layouts is None:
        blocks = [(lo, min(lo + chunk, reps), None) for lo in range(0, reps, chunk)]
    else:
        k = layouts.shape[1]
        edges = np.linspace(0, reps, min(k, reps) + 1).round().astype(int)
        for j, (a0, a1) in enumerate(zip(edges, edges[1:])):
            blocks += [(lo, min(lo + chunk, a1), layouts[:, j]) for lo in range(a0, a1, chunk)]
    rej, rej0, est, est0, se, cover, npil, nctl = [], [], [], [], [], [], [], []
    method_used, desc = method, ""
    for lo, hi, cl in blocks:
        a = assignments[:, lo:hi]
        pil = a[cl] if cl is not None else a
        shocks = 0.0
        if cl is not None and shock_sd > 0:
            shocks = rng.normal(0.0, shock_sd, size=(n_stores, a.shape[1]))[cl]
        post = np.where(pil, y1[:, None], y0[:, None]) + shocks
        b = unit_effect_batch(x, post, pil, cluster=cl, method=method, level=1 - alpha)
        method_used, desc = b.method, b.description
        rej.append(b.reject())
        est.append(b.estimate)
        se.append(b.std_error)
        cover.append((b.ci_low <= true) & (true <= b.ci_high))
        npil.append(b.n_pilot)
        nctl.append(b.n_control)
        if null:
            b0 = unit_effect_batch(x, y0[:, None] + shocks, pil, cluster=cl, method=method, level=1 - alpha)
            rej0.append(b0.reject())
            est0.append(b0.estimate)
    rej_a = np.concatenate(rej)
    power = float(rej_a.mean())
    out: dict[str, Any] = {
        "power": power, "power_se": math.sqrt(power * (1 - power) / reps),
        "true_effect": true, "mean_estimate": float(np.mean(np.concatenate(est))),
        "coverage": float(np.mean(np.concatenate(cover))), "mean_se": float(np.mean(np.concatenate(se))),
        "method": method_used, "description": desc, "rerandomisations": reps,
        "n_pilot": float(np.mean(np.concatenate(npil))), "n_control": float(np.mean(np.concatenate(nctl))),
        "null_rejection": math.nan, "null_rejection_se": math.nan, "sd_null": math.nan, "simulated_mde": math.nan,
    }
    if null:
        r0 = float(np.concatenate(rej0).mean())
        e0 = np.concatenate(est0)
        sd0 = float(np.std(e0, ddof=1)) if len(e0) > 1 else math.nan
        df = (n_stores - 2) if layouts is not None else None
        q_a, q_b = _quantiles(alpha, target_power, df)
        out.update(null_rejection=r0, null_rejection_se=math.sqrt(alpha * (1 - alpha) / reps), sd_null=sd0,
                   simulated_mde=(q_a + q_b) * sd0)
    return out


# --------------------------------------------------------------------------- the design


@dataclass(frozen=True)
class TrialDesign:
    """How to run a pilot so that it can answer the question.

    Attributes
    ----------
    settings : dict
        Everything the design was computed from (population, scheme, unit, share,
        weeks, pre-weeks, significance level, target power, method, seed, ...).
    metrics : DataFrame
        One row per outcome (:data:`METRICS`) at the chosen share and length:
        ``baseline_mean``, ``true_effect`` and ``true_relative_effect`` (simulated),
        ``n_pilot``, ``n_control``, ``method``, ``sigma`` (SD of the analysed outcome,
        store shocks included), ``rho``, ``icc``, ``design_effect``, analytic
        ``analytic_mde`` / ``analytic_mde_relative`` / ``analytic_power``, simulated
        ``simulated_mde`` / ``simulated_mde_relative`` / ``simulated_power`` /
        ``simulated_power_se``, the A/A check ``null_rejection`` / ``null_rejection_se``,
        ``mean_estimate``, ``coverage`` and ``unit``.
    curve : DataFrame
        Power and MDE over candidate lengths (at the chosen share) and candidate shares
        (at the chosen length): ``metric``, ``weeks``, ``share``, ``n_pilot``,
        ``n_control``, ``true_effect``, ``baseline_mean``, ``analytic_mde``,
        ``analytic_mde_relative``, ``analytic_power``, ``simulated_power`` (the primary
        metric only; NaN elsewhere), ``simulated_power_se``, ``varies`` (``"weeks"`` or
        ``"share"``).
    recommendation : dict
        ``metric``, ``weeks`` / ``share`` (smallest candidates reaching the target power,
        or None), their power, ``reached`` and a plain ``statement``.
    """

    settings: dict[str, Any]
    metrics: pd.DataFrame
    curve: pd.DataFrame
    recommendation: dict[str, Any] = field(default_factory=dict)

    @property
    def primary(self) -> str:
        """The outcome the recommendation is for."""
        return str(self.settings["primary"])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (NaN becomes None)."""
        return {"settings": to_jsonable(self.settings),
                "metrics": _records(self.metrics),
                "curve": _records(self.curve),
                "recommendation": to_jsonable(self.recommendation)}

    def summary_text(self) -> str:
        """The design in plain language."""
        s = self.settings
        lvl = f"{100 * s['target_power']:.0f}%"
        who = (f"{s['n_units']:,} customers" if s["unit"] == "customer"
               else f"{s['stores']} stores ({s['n_units']:,} customers)")
        lines = [
            f"Pilot design for scheme '{s['scheme']}' on population '{s['population']}'",
            f"{who} active in the {s['pre_weeks']} weeks before the pilot; {100 * s['share']:.0f}% of "
            f"{'customers' if s['unit'] == 'customer' else 'stores'} in the pilot, assigned at random by "
            f"{s['unit']} ({s['strata_text']}); pilot of {s['weeks']} weeks; {100 * s['alpha']:g}% significance, "
            f"target power {lvl}.",
            "",
        ]
        for _, r in self.metrics.iterrows():
            name = LABELS.get(r["metric"], r["metric"])
            fmt = _fmt_for(r["metric"])
            rel = r["true_relative_effect"]
            lines.append(f"{name.capitalize()} ({r['unit']}):")
            lines.append(f"  the scheme's simulated effect is {fmt(r['true_effect'], sign=True)}"
                         f"{'' if not np.isfinite(rel) else f' ({100 * rel:+.1f}%)'} "
                         f"on a baseline of {fmt(r['baseline_mean'])}.")
            mde_rel = r["analytic_mde_relative"]
            sim_mde = r["simulated_mde"]
            lines.append(f"  smallest effect detectable with {lvl} power: {fmt(r['analytic_mde'])}"
                         f"{'' if not np.isfinite(mde_rel) else f' ({100 * mde_rel:.1f}%)'} analytic"
                         f"{'' if not np.isfinite(sim_mde) else f', {fmt(sim_mde)} simulated'}.")
            sim_p = r["simulated_power"]
            lines.append(f"  power to detect the simulated effect: "
                         f"{'' if not np.isfinite(sim_p) else f'{100 * sim_p:.0f}% simulated, '}"
                         f"{100 * r['analytic_power']:.0f}% analytic.")
            if np.isfinite(r["null_rejection"]):
                lines.append(f"  check without a scheme: an effect was wrongly found in {100 * r['null_rejection']:.1f}% "
                             f"of {s['rerandomisations']} re-randomisations (expected about {100 * s['alpha']:g}%).")
        lines += ["", f"Recommendation: {self.recommendation.get('statement', '')}"]
        lines += ["", f"Review the pilot with the estimator these figures are for (method '{s['resolved_method']}', "
                      f"as loyalty-sim trial review does), on the customers active in the {s['pre_weeks']} weeks "
                      f"before it: {s['method_description']}."]
        if s["unit"] == "store":
            lines.append(f"Store-level shocks: {s['store_text']}.")
        return "\n".join(lines)


def _fmt_for(metric: str) -> Any:
    def fmt(v: float, sign: bool = False) -> str:
        if not np.isfinite(v):
            return "n/a"
        if metric == "retention":
            return f"{100 * v:+.1f} points" if sign else f"{100 * v:.1f}%"
        digits = 3 if metric == "frequency" else 2
        return f"{v:+.{digits}f}" if sign else f"{v:.{digits}f}"
    return fmt


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [to_jsonable(r) for r in frame.to_dict(orient="records")]


def _metric_method(metric: str, method: str) -> str:
    """The estimator of ``metric``: retention is CUPED on pre-period frequency whatever ``method`` (as in the review)."""
    if metric == "retention":
        return "diff" if method == "diff" else "cuped"
    return method


def _store_layout(n: int, stores: int, sizes: Any, rng: np.random.Generator) -> np.ndarray:
    """Store code of each analysed customer: a seeded shuffle cut in proportion to ``sizes``."""
    if sizes is None:
        w = np.ones(stores)
    else:
        w = np.asarray(sizes, dtype=float)
        if w.shape != (stores,) or not np.isfinite(w).all() or (w <= 0).any():
            raise ConfigError(f"expected {stores} positive store sizes, got {np.shape(sizes)}", field="store_sizes")
    cut = np.round(np.cumsum(w) / w.sum() * n).astype(np.int64)
    counts = np.diff(np.concatenate([[0], cut]))
    if (counts < 1).any():
        raise ConfigError(f"{n} customers are too few for {stores} stores of these sizes; use fewer stores or more "
                          "customers", field="stores")
    codes = np.repeat(np.arange(stores), counts)
    return codes[rng.permutation(n)]


def design_trial(population: Any, scheme: Any, *, unit: str = "customer", share: float = 0.5, weeks: int = 8,
                 pre_weeks: int = 8, alpha: float = 0.05, target_power: float = 0.8, primary: str = "spend",
                 method: str = "auto", customers: int | None = None, stores: int | None = None,
                 store_sizes: Any = None, icc: float | Mapping[str, float] | None = None,
                 store_effect_sd: float | None = None, candidate_weeks: Sequence[int] = DEFAULT_WEEKS,
                 candidate_shares: Sequence[float] = DEFAULT_SHARES, rerandomisations: int = 200,
                 curve_rerandomisations: int | None = None, seed: int = 0, scheme_name: str | None = None,
                 behaviour: Any = None) -> TrialDesign:
    """Power, minimum detectable effect and recommended length of a pilot, by simulation and analytically.

    Parameters
    ----------
    population : str, PopulationParams or Population
        The customers: a preset name, parameters, or a population (e.g. fitted to the
        business's log with :meth:`~loyalty_sim.population.Population.from_fit`).
    scheme : Scheme, mapping, path or str
        The candidate scheme (see :func:`resolve_scheme`).
    unit : {"customer", "store"}
        Unit of assignment.
    share : float
        Share of units (customers or stores) in the pilot, in (0, 1).
    weeks : int
        Pilot length (weeks, >= 1).
    pre_weeks : int
        Pre-period used as baseline (weeks, >= 1); customers active in it are analysed.
    alpha : float
        Two-sided significance level.
    target_power : float
        Power the pilot should reach for ``primary``.
    primary : {"spend", "frequency", "retention"}
        Outcome the recommendation is for.
    method : {"auto", "did", "cuped", "diff"}
        Estimator of frequency and spend (:mod:`loyalty_sim.trial.estimators`); ``auto``
        is CUPED for customer assignment and DiD for store assignment, as
        :func:`loyalty_sim.trial.review.review_trial` uses. Retention is always CUPED
        on the pre-period frequency (``diff`` with ``method="diff"``).
    customers : int, optional
        Customers at week 0 when ``population`` is a preset (default 10,000), or a new
        size for a given population.
    stores : int, optional
        Number of stores (store assignment; >= 4, default 20). Simulated customers are
        spread over them at random in proportion to ``store_sizes`` (equal if None);
        the re-randomisations use several such layouts in turn.
    store_sizes : array-like, optional
        Relative store sizes (e.g. ``store_summary(log, ...)["stores"]["size"]``); stores
        are then stratified by size, as :func:`assign` does.
    icc : float or mapping, optional
        Intra-store correlation of each analysed outcome (one value, or per metric),
        e.g. ``store_summary(log, pre_weeks=...)["icc"]`` (:func:`store_summary`).
        Overrides ``store_effect_sd``. It is the share of the analysed outcome's variance
        that is common to a store's customers in the pilot window; the simulation adds
        a store-level shock of that size to the post-period outcomes.
    store_effect_sd : float, optional
        Standard deviation of store-level shocks in the pilot window as a share of the
        outcome's mean (what a store's pre-period cannot predict: local events,
        staffing). Default 0.05 (an assumption) when neither this nor ``icc`` is given.
    candidate_weeks : sequence of int
        Pilot lengths to evaluate (``weeks`` is added).
    candidate_shares : sequence of float
        Pilot shares to evaluate (``share`` is added).
    rerandomisations : int
        Assignments drawn for the simulated power at the chosen design (0: analytic only).
    curve_rerandomisations : int, optional
        Assignments per point of the curves (primary outcome); default half of
        ``rerandomisations`` (at least 50).
    seed : int
        Seed of the population (for a preset), the simulation and the draws.
    scheme_name : str, optional
        Which scheme of a scenario file.
    behaviour : BehaviourParams, optional
        Behaviour overrides (default: the scenario file's, or the package defaults).

    Returns
    -------
    TrialDesign

    Raises
    ------
    ConfigError
        Naming the field of any invalid parameter.
    """
    import time

    t0 = time.perf_counter()
    unit = _check_unit(unit)
    share = _check_fraction("share", share)
    weeks = _check_int("weeks", weeks, minimum=1)
    pre_weeks = _check_int("pre_weeks", pre_weeks, minimum=1)
    alpha = _check_fraction("alpha", alpha)
    target_power = _check_fraction("target_power", target_power)
    if primary not in METRICS:
        raise ConfigError(f"expected one of {list(METRICS)}, got {primary!r}", field="primary")
    from .estimators import METHODS

    if method not in METHODS:
        raise ConfigError(f"expected one of {list(METHODS)}, got {method!r}", field="method")
    seed = _check_int("seed", seed, minimum=0)
    if customers is not None:
        customers = _check_int("customers", customers, minimum=10)
    reps = _check_int("rerandomisations", rerandomisations, minimum=0)
    curve_reps = (max(50, reps // 2) if reps else 0) if curve_rerandomisations is None else \
        _check_int("curve_rerandomisations", curve_rerandomisations, minimum=0)
    if isinstance(candidate_weeks, (str, bytes)) or not isinstance(candidate_weeks, Sequence):
        raise ConfigError(f"expected a list of pilot lengths in weeks, got {candidate_weeks!r}", field="candidate_weeks")
    lengths = sorted({_check_int("candidate_weeks", w, minimum=1) for w in candidate_weeks} | {weeks})
    if isinstance(candidate_shares, (str, bytes)) or not isinstance(candidate_shares, Sequence):
        raise ConfigError(f"expected a list of shares in (0, 1), got {candidate_shares!r}", field="candidate_shares")
    shares = sorted({round(_check_fraction("candidate_shares", s), 6) for s in candidate_shares} | {round(share, 6)})
    if unit == "store":
        stores = 20 if stores is None else _check_int("stores", stores, minimum=4)
        if icc is not None:
            icc_map = ({m: _check_fraction(f"icc.{m}", icc.get(m, 0.0), closed_low=True) for m in METRICS}
                       if isinstance(icc, Mapping) else {m: _check_fraction("icc", icc, closed_low=True) for m in METRICS})
            if isinstance(icc, Mapping) and set(icc) - set(METRICS):
                raise ConfigError(f"unknown metrics {sorted(set(icc) - set(METRICS))}; expected {list(METRICS)}",
                                  field="icc")
            effect_sd = None
        else:
            icc_map = None
            effect_sd = DEFAULT_STORE_EFFECT_SD if store_effect_sd is None else _check_nonneg("store_effect_sd",
                                                                                            store_effect_sd)
    else:
        if stores is not None:
            _check_int("stores", stores, minimum=4)
        icc_map, effect_sd = None, None

    sch, info = resolve_scheme(scheme, name=scheme_name)
    if behaviour is None:
        behaviour = info.get("behaviour")
    pop = _population(population, customers=customers, weeks=pre_weeks + max(lengths), seed=seed)
    out = _simulate_outcomes(pop, sch, pre_weeks=pre_weeks, lengths=lengths, seed=seed, behaviour=behaviour)
    n = len(out.ids)
    if n < 8:
        raise ConfigError(f"only {n} customers were active in the {pre_weeks}-week pre-period; use more customers "
                          "or a longer pre-period", field="customers")

    rng_layout = np.random.Generator(stream(seed, "trial_layout", 0))
    if unit == "store":
        def enough(s: float) -> bool:
            return math.floor(s * stores) >= 2 and math.floor((1 - s) * stores) >= 2

        if not enough(share):
            raise ConfigError(f"with {stores} stores a share of {share:g} leaves fewer than 2 stores in a group; "
                              "a clustered interval needs at least 2 per group", field="share")
        shares = [s for s in shares if enough(s)]
        cluster = np.column_stack([_store_layout(n, stores, store_sizes, rng_layout) for _ in range(_STORE_LAYOUTS)])
        sizes = np.bincount(cluster[:, 0], minlength=stores).astype(float)
        store_strata = _size_groups(sizes) if store_sizes is not None else None
        m_bar = float(sizes.mean())
        cv = float(sizes.std() / sizes.mean())
        cust_strata = None
    else:
        cluster, store_strata, m_bar, cv = None, None, 1.0, 0.0
        cust_strata = _spend_deciles(out.pre_spend)

    # the estimator's resolved method per metric (auto -> cuped / did), for the analytic variance
    probe_cluster = None if cluster is None else cluster[:, 0]
    probe_pilot = np.arange(n) % 2 == 0 if cluster is None else (probe_cluster % 2 == 0)
    from .estimators import unit_effect_batch

    methods: dict[str, str] = {}
    resolved_of: dict[str, str] = {}
    description_of: dict[str, str] = {}
    for metric in METRICS:
        methods[metric] = _metric_method(metric, method)
        pre0, yb0, _ = out.data[(metric, weeks)]
        probe = unit_effect_batch(pre0, yb0, probe_pilot, cluster=probe_cluster, method=methods[metric],
                                  level=1 - alpha)
        resolved_of[metric], description_of[metric] = probe.method, probe.description
    resolved, description = resolved_of[primary], description_of[primary]

    def moments(metric: str, L: int) -> dict[str, float]:
        pre, yb, ys = out.data[(metric, L)]
        sd_post = float(np.std(yb, ddof=1))
        sd_pre = float(np.std(pre, ddof=1))
        rho = float(np.corrcoef(pre, yb)[0, 1]) if sd_pre > 0 and sd_post > 0 else 0.0
        if resolved_of[metric] == "did":
            sigma_e = float(np.std(yb - pre, ddof=1))
        elif resolved_of[metric] == "cuped":
            sigma_e = sd_post * math.sqrt(max(1 - rho * rho, 0.0))
        else:
            sigma_e = sd_post
        base_mean = float(np.mean(yb))
        res = {"sigma_e": sigma_e, "rho": rho, "baseline_mean": base_mean, "true_effect": float(np.mean(ys - yb)),
               "icc": 0.0, "shock_sd": 0.0}
        if unit == "store":
            if icc_map is not None:
                r = icc_map[metric]
                shock = sigma_e * math.sqrt(r / (1 - r))
            else:
                shock = effect_sd * abs(base_mean)
                r = shock ** 2 / (shock ** 2 + sigma_e ** 2) if (shock > 0 or sigma_e > 0) else 0.0
            res.update(icc=r, shock_sd=shock)
        res["sigma"] = math.sqrt(sigma_e ** 2 + res["shock_sd"] ** 2)
        return res

    # t reference: G - 2 with equal stores; unequal sizes leave fewer effective clusters,
    # G / (1 + cv^2) = (sum m)^2 / sum m^2, as the review's Satterthwaite degrees of freedom do
    df = max(stores / (1.0 + cv * cv) - 2.0, 1.0) if unit == "store" else None

    def analytic_row(metric: str, L: int, s: float) -> dict[str, Any]:
        mo = moments(metric, L)
        if unit == "store":
            n_p = max(1.0, s * n)
            de = design_effect(max(m_bar, 1.0), mo["icc"], cv=cv)
        else:
            n_p = float(max(1, round(s * n)))
            de = 1.0
        n_c = max(1.0, n - n_p)
        sigma = mo["sigma"]
        mde = analytic_mde(sigma, n_p, n_c, alpha=alpha, power=target_power, design_effect=de, df=df)
        pw = analytic_power(mo["true_effect"], sigma, n_p, n_c, alpha=alpha, design_effect=de, df=df)
        base = mo["baseline_mean"]
        return {"metric": metric, "weeks": L, "share": s, "n_pilot": n_p, "n_control": n_c,
                "baseline_mean": base, "true_effect": mo["true_effect"],
                "true_relative_effect": mo["true_effect"] / base if base > 0 else math.nan,
                "sigma": sigma, "rho": mo["rho"], "icc": mo["icc"], "design_effect": de, "shock_sd": mo["shock_sd"],
                "analytic_mde": mde, "analytic_mde_relative": mde / base if base > 0 else math.nan,
                "analytic_power": pw}

    # assignments per share, shared by every metric and length (common draws: smooth curves)
    n_assign_units = stores if unit == "store" else n
    unit_strata = (pd.factorize(store_strata, sort=True)[0] if store_strata is not None else np.zeros(stores, np.int64)) \
        if unit == "store" else pd.factorize(cust_strata, sort=True)[0]
    draws: dict[float, np.ndarray] = {}

    def assignments(s: float, count: int) -> np.ndarray:
        have = draws.get(s)
        if have is None or have.shape[1] < count:
            key = int(round(s * 1e6))
            rng = np.random.Generator(stream(seed, "trial_assign_draws", key))
            have = _draw_groups_many(unit_strata.astype(np.int64), s, rng, count) if count else \
                np.zeros((n_assign_units, 0), bool)
            draws[s] = have
        return have[:, :count]

    def simulated(metric: str, L: int, s: float, count: int, null: bool, key: int) -> dict[str, Any]:
        pre, yb, ys = out.data[(metric, L)]
        mo = moments(metric, L)
        return rerandomisation_power(pre, yb, ys, share=s, alpha=alpha, rerandomisations=count, cluster=cluster,
                                     store_shock_sd=mo["shock_sd"], method=methods[metric], target_power=target_power,
                                     null=null, seed=seed, key=key, assignments=assignments(s, count))

    # the chosen design: every metric, with the A/A check
    rows = []
    for i, metric in enumerate(METRICS):
        row = analytic_row(metric, weeks, share)
        row["method"] = resolved_of[metric]
        row["method_description"] = description_of[metric]
        row["unit"] = METRICS[metric]
        if reps:
            sim = simulated(metric, weeks, share, reps, True, key=1000 + i)
            base = row["baseline_mean"]
            row.update(simulated_power=sim["power"], simulated_power_se=sim["power_se"],
                       simulated_mde=sim["simulated_mde"],
                       simulated_mde_relative=sim["simulated_mde"] / base if base > 0 else math.nan,
                       null_rejection=sim["null_rejection"], null_rejection_se=sim["null_rejection_se"],
                       mean_estimate=sim["mean_estimate"], coverage=sim["coverage"], mean_se=sim["mean_se"],
                       method=sim["method"], method_description=sim["description"], n_pilot=sim["n_pilot"],
                       n_control=sim["n_control"])
        else:
            row.update(simulated_power=math.nan, simulated_power_se=math.nan, simulated_mde=math.nan,
                       simulated_mde_relative=math.nan, null_rejection=math.nan, null_rejection_se=math.nan,
                       mean_estimate=math.nan, coverage=math.nan, mean_se=math.nan)
        rows.append(row)
    metrics = pd.DataFrame(rows)
    lead = ["metric", "unit", "baseline_mean", "true_effect", "true_relative_effect", "n_pilot", "n_control",
            "analytic_mde", "analytic_mde_relative", "simulated_mde", "simulated_mde_relative", "analytic_power",
            "simulated_power", "simulated_power_se", "null_rejection", "null_rejection_se"]
    metrics = metrics[lead + [c for c in metrics.columns if c not in lead]]

    # curves: over lengths at the chosen share, over shares at the chosen length
    curve_rows = []
    for varies, points in (("weeks", [(L, share) for L in lengths]), ("share", [(weeks, s) for s in shares])):
        for j, (L, s) in enumerate(points):
            for metric in METRICS:
                row = analytic_row(metric, L, s)
                row["varies"] = varies
                row["simulated_power"] = math.nan
                row["simulated_power_se"] = math.nan
                if curve_reps and metric == primary:
                    sim = simulated(metric, L, s, curve_reps, False, key=2000 + 100 * (varies == "share") + j)
                    row["simulated_power"] = sim["power"]
                    row["simulated_power_se"] = sim["power_se"]
                curve_rows.append(row)
    curve = pd.DataFrame(curve_rows)
    curve = curve[["varies", "metric", "weeks", "share"] + [c for c in curve.columns
                                                           if c not in ("varies", "metric", "weeks", "share")]]

    recommendation = _recommend(curve, metrics, primary=primary, target=target_power, weeks=weeks, share=share,
                                unit=unit, n=n, alpha=alpha, df=df, m_bar=m_bar, cv=cv)
    strata_text = ("stratified by pre-period spend decile" if unit == "customer"
                   else ("stratified by store size" if store_strata is not None else "no strata"))
    store_text = ""
    if unit == "store":
        store_text = (f"intra-store correlation {', '.join(f'{m} {icc_map[m]:.3g}' for m in METRICS)} (the icc parameter)"
                      if icc_map is not None else
                      f"standard deviation {100 * effect_sd:.1f}% of each outcome's mean"
                      f"{' (an assumption; pass icc or store_effect_sd from your data)' if store_effect_sd is None else ''}")
    settings = {
        "population": pop.params.name, "population_size": pop.size, "population_seed": pop.seed,
        "analytic_t_df": df,
        "assumed_fields": pop.assumed_fields() if hasattr(pop, "assumed_fields") else [],
        "scheme": getattr(sch, "name", type(sch).__name__),
        "scheme_config": sch.to_dict() if hasattr(sch, "to_dict") else None, "scheme_source": info.get("source"),
        "unit": unit, "share": share, "weeks": weeks, "pre_weeks": pre_weeks, "alpha": alpha,
        "target_power": target_power, "primary": primary, "method": method, "resolved_method": resolved,
        "method_description": description,
        "stores": stores if unit == "store" else None, "mean_customers_per_store": m_bar if unit == "store" else None,
        "store_size_cv": cv if unit == "store" else None, "icc": icc_map, "store_effect_sd": effect_sd,
        "store_text": store_text, "strata_text": strata_text,
        "n_units": n, "customers_simulated": out.n_customers_simulated,
        "candidate_weeks": lengths, "candidate_shares": shares, "rerandomisations": reps,
        "curve_rerandomisations": curve_reps, "seed": seed,
        "simulation_seconds": round(out.seconds, 3), "seconds": round(time.perf_counter() - t0, 3),
    }
    return TrialDesign(settings=settings, metrics=metrics.reset_index(drop=True),
                       curve=curve.reset_index(drop=True), recommendation=recommendation)


def _recommend(curve: pd.DataFrame, metrics: pd.DataFrame, *, primary: str, target: float, weeks: int, share: float,
               unit: str, n: int, alpha: float, df: float | None, m_bar: float, cv: float) -> dict[str, Any]:
    """Smallest candidate length (at the chosen share) and share (at the chosen length) reaching the target."""
    c = curve[curve["metric"] == primary]
    simulated = c["simulated_power"].notna().any()
    col = "simulated_power" if simulated else "analytic_power"
    basis = "simulated" if simulated else "analytic"
    by_len = c[c["varies"] == "weeks"].sort_values("weeks")
    by_share = c[c["varies"] == "share"].sort_values("share")
    ok_len = by_len[by_len[col] >= target]
    ok_share = by_share[by_share[col] >= target]
    name = LABELS[primary]
    lvl = f"{100 * target:.0f}%"
    units = "customers" if unit == "customer" else "stores"
    rec: dict[str, Any] = {"metric": primary, "basis": basis, "target_power": target,
                           "weeks": None, "weeks_power": None, "share": None, "share_power": None, "reached": False}
    parts = []
    row = metrics.set_index("metric").loc[primary]
    effect = float(row["true_effect"])
    if abs(effect) <= 0:
        rec["statement"] = (f"The scheme has no simulated effect on {name} in this population, so no pilot can "
                            f"detect one; check the scheme or choose another outcome.")
        return rec
    if len(ok_len):
        best = ok_len.iloc[0]
        rec.update(weeks=int(best["weeks"]), weeks_power=float(best[col]), reached=True)
        parts.append(f"a pilot of {int(best['weeks'])} weeks with {100 * share:.0f}% of {units} reaches {lvl} power "
                     f"for {name} ({100 * best[col]:.0f}% {basis})")
    else:
        top = by_len.loc[by_len[col].idxmax()]
        parts.append(f"no candidate length up to {int(by_len['weeks'].max())} weeks with {100 * share:.0f}% of {units} "
                     f"reaches {lvl} power for {name} (best: {100 * top[col]:.0f}% at {int(top['weeks'])} weeks)")
    if len(ok_share):
        best = ok_share.iloc[0]
        rec.update(share=float(best["share"]), share_power=float(best[col]))
        rec["reached"] = True
        parts.append(f"at {weeks} weeks, a pilot share of {100 * best['share']:.0f}% suffices "
                     f"({100 * best[col]:.0f}% {basis})")
    else:
        parts.append(f"at {weeks} weeks no candidate share up to {100 * by_share['share'].max():.0f}% reaches it")
    # customers needed at the chosen length and share for the simulated effect (analytic)
    q_a, q_b = _quantiles(alpha, target, df)
    sigma = float(row["sigma"])
    de = float(row["design_effect"])
    needed = (q_a + q_b) ** 2 * sigma ** 2 * de / (effect ** 2 * share * (1 - share))
    if unit == "store" and _icc_positive(row):
        # with store assignment more customers per store stop helping; say so instead of a customer count
        rec["customers_needed"] = None
        parts.append("with store assignment, adding stores helps more than adding customers per store")
    else:
        rec["customers_needed"] = float(math.ceil(needed))
        if needed > n:
            parts.append(f"the analytic approximation says about {math.ceil(needed):,} active customers would be needed "
                         f"at {weeks} weeks and {100 * share:.0f}% (this population has {n:,})")
    rec["statement"] = "; ".join(parts) + "."
    rec["statement"] = rec["statement"][0].upper() + rec["statement"][1:]
    return rec


def _icc_positive(row: Any) -> bool:
    v = float(row.get("icc", 0.0))
    return bool(np.isfinite(v) and v > 0)
