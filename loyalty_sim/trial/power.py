"""How much a pilot can see: design effect, analytic MDE and power, ICC, stores, re-randomisation power.

Closed forms (see :mod:`loyalty_sim.trial.design` for the formulas and references):
:func:`design_effect`, :func:`analytic_mde`, :func:`analytic_power`; from data:
:func:`estimate_icc` and :func:`store_summary`; by simulation:
:func:`rerandomisation_power`, which re-draws the assignment of fixed per-unit
outcomes and estimates each draw with the review's estimator. The power of one design
of :func:`loyalty_sim.trial.design.design_trial` at every candidate: :func:`plan_design`
(stores, estimators), :func:`simulate_design` (the re-randomisations, one task per design point, on any
executor) then :func:`chosen_design_power` and :func:`power_curves`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ConfigError, DataError
from ..streams import stream
from ..validation import check_count, check_positive, check_probability
from .assignment import draw_groups_many, home_stores, size_groups, spend_deciles
from .outcomes import DESIGN_METRICS as METRICS
from .outcomes import SimulatedOutcomes, metric_method

__all__ = ["DesignPlan", "analytic_mde", "analytic_power", "design_effect", "estimate_icc", "quantiles", "rerandomisation_power",
           "store_summary", "plan_design", "simulate_design", "chosen_design_power", "power_curves"]

# layouts of simulated customers into stores, used in turn by the re-randomisations
_STORE_LAYOUTS = 10

# largest units x replicates matrix handed to the estimator at once (memory)
_BATCH_CELLS = 2_000_000


def quantiles(alpha: float, power: float, df: float | None) -> tuple[float, float]:
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
    icc = check_probability("icc", icc, interval="[0, 1)")
    cv = check_positive("cv", cv, allow_zero=True)
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
    q_a, q_b = quantiles(check_probability("alpha", alpha), check_probability("power", power), df)
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
    alpha = check_probability("alpha", alpha)
    shift = abs(float(effect)) / se if se > 0 else (math.inf if effect else 0.0)
    if df is None or not math.isfinite(df):
        q = stats.norm.ppf(1 - alpha / 2)
        return float(stats.norm.sf(q - shift) + stats.norm.cdf(-q - shift))
    q = stats.t.ppf(1 - alpha / 2, df)
    return float(stats.t.sf(q - shift, df) + stats.t.cdf(-q - shift, df))

def _standard_error(sigma: float, n_pilot: float, n_control: float, *, rho: float, design_effect: float) -> float:
    sigma = check_positive("sigma", sigma, allow_zero=True)
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
        :func:`loyalty_sim.trial.assignment.home_stores`, the very rule of the review, so a
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
    pre_weeks = check_count("pre_weeks", pre_weeks, minimum=1)
    ts = pd.to_datetime(frame["timestamp"])
    stop = pd.Timestamp(end) if end is not None else ts.max().normalize() + pd.Timedelta(days=1)
    begin = stop - pd.Timedelta(weeks=pre_weeks)
    in_pre = (ts >= begin) & (ts < stop)
    rows = frame.loc[in_pre, ["customer_id", "store_id", "amount"]].assign(timestamp=ts[in_pre])
    # the review's rule: most pre-period rows, ties to the id that sorts first as text
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
    x = np.asarray(pre, dtype=float)
    y0 = np.asarray(post_control, dtype=float)
    y1 = np.asarray(post_pilot, dtype=float)
    n = len(y0)
    if x.shape != (n,) or y1.shape != (n,):
        raise ConfigError(f"pre, post_control and post_pilot need one value per unit ({n})", field="post_pilot")
    share = check_probability("share", share)
    alpha = check_probability("alpha", alpha)
    target_power = check_probability("target_power", target_power)
    reps = check_count("rerandomisations", rerandomisations, minimum=1)
    rng = np.random.Generator(stream(check_count("seed", seed, minimum=0), "trial_power", int(key)))
    shock_sd = check_positive("store_shock_sd", store_shock_sd, allow_zero=True)
    layouts, n_stores, units_strata = _layouts(cluster, n, strata, store_strata)
    if assignments is None:
        assignments = draw_groups_many(units_strata.astype(np.int64), share, rng, reps)
    assignments = np.asarray(assignments, dtype=bool)[:, :reps]
    reps = assignments.shape[1]
    true = float(np.mean(y1 - y0))
    runs = _run_blocks(x, y0, y1, assignments, _blocks(layouts, reps, n), rng, n_stores=n_stores, shock_sd=shock_sd,
                       method=method, alpha=alpha, null=null, true=true)
    power = float(runs["rej"].mean())
    out: dict[str, Any] = {
        "power": power, "power_se": math.sqrt(power * (1 - power) / reps),
        "true_effect": true, "mean_estimate": float(np.mean(runs["est"])),
        "coverage": float(np.mean(runs["cover"])), "mean_se": float(np.mean(runs["se"])),
        "method": runs["method"], "description": runs["description"], "rerandomisations": reps,
        "n_pilot": float(np.mean(runs["npil"])), "n_control": float(np.mean(runs["nctl"])),
        "null_rejection": math.nan, "null_rejection_se": math.nan, "sd_null": math.nan, "simulated_mde": math.nan,
    }
    if null:
        e0 = runs["est0"]
        sd0 = float(np.std(e0, ddof=1)) if len(e0) > 1 else math.nan
        df = (n_stores - 2) if layouts is not None else None
        q_a, q_b = quantiles(alpha, target_power, df)
        out.update(null_rejection=float(runs["rej0"].mean()), null_rejection_se=math.sqrt(alpha * (1 - alpha) / reps),
                   sd_null=sd0, simulated_mde=(q_a + q_b) * sd0)
    return out


def _layouts(cluster: Any, n: int, strata: Any, store_strata: Any) -> tuple[np.ndarray | None, int, np.ndarray]:
    """Store layouts ``(units, K)`` (None for customer assignment), the number of stores, the strata of the units drawn."""
    if cluster is None:
        units_strata = np.zeros(n, np.int64) if strata is None else pd.factorize(np.asarray(strata), sort=True)[0]
        return None, 0, units_strata
    layouts = np.asarray(cluster, dtype=np.int64)
    if layouts.ndim == 1:
        layouts = layouts[:, None]
    if layouts.ndim != 2 or layouts.shape[0] != n:
        raise ConfigError(f"expected one store per unit ({n}), got shape {np.shape(cluster)}", field="cluster")
    n_stores = int(layouts.max()) + 1
    st = np.zeros(n_stores, np.int64) if store_strata is None else pd.factorize(np.asarray(store_strata), sort=True)[0]
    return layouts, n_stores, st


def _blocks(layouts: np.ndarray | None, reps: int, n: int) -> list[tuple[int, int, np.ndarray | None]]:
    """Consecutive blocks of re-randomisations ``(lo, hi, layout)`` that fit in memory, layouts used in turn."""
    chunk = max(1, min(reps, _BATCH_CELLS // max(n, 1)))
    if layouts is None:
        return [(lo, min(lo + chunk, reps), None) for lo in range(0, reps, chunk)]
    blocks: list[tuple[int, int, np.ndarray | None]] = []
    k = layouts.shape[1]
    edges = np.linspace(0, reps, min(k, reps) + 1).round().astype(int)
    for j, (a0, a1) in enumerate(zip(edges, edges[1:])):
        blocks += [(lo, min(lo + chunk, a1), layouts[:, j]) for lo in range(a0, a1, chunk)]
    return blocks


def _run_blocks(x: np.ndarray, y0: np.ndarray, y1: np.ndarray, assignments: np.ndarray,
                blocks: list[tuple[int, int, np.ndarray | None]], rng: np.random.Generator, *, n_stores: int,
                shock_sd: float, method: str, alpha: float, null: bool, true: float) -> dict[str, Any]:
    """Estimate every re-randomisation (and its null twin); per-draw results concatenated over the blocks."""
    from .estimators import unit_effect_batch

    keys = ("rej", "rej0", "est", "est0", "se", "cover", "npil", "nctl")
    acc: dict[str, list[np.ndarray]] = {k: [] for k in keys}
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
        acc["rej"].append(b.reject())
        acc["est"].append(b.estimate)
        acc["se"].append(b.std_error)
        acc["cover"].append((b.ci_low <= true) & (true <= b.ci_high))
        acc["npil"].append(b.n_pilot)
        acc["nctl"].append(b.n_control)
        if null:
            b0 = unit_effect_batch(x, y0[:, None] + shocks, pil, cluster=cl, method=method, level=1 - alpha)
            acc["rej0"].append(b0.reject())
            acc["est0"].append(b0.estimate)
    out: dict[str, Any] = {k: np.concatenate(v) if v else np.array([]) for k, v in acc.items()}
    out.update(method=method_used, description=desc)
    return out


# --------------------------------------------------------------------------- the power of a design


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


@dataclass
class DesignPlan:
    """Everything the design's steps share: the checked arguments, the outcomes, the stores, the estimators."""

    arg: dict[str, Any]
    out: SimulatedOutcomes
    n: int
    cluster: np.ndarray | None
    store_strata: np.ndarray | None
    m_bar: float
    cv: float
    df: float | None
    unit_strata: np.ndarray
    methods: dict[str, str]
    resolved_of: dict[str, str]
    description_of: dict[str, str]
    draws: dict[float, np.ndarray] = field(default_factory=dict)

    @property
    def unit(self) -> str:
        return str(self.arg["unit"])


def plan_design(out: SimulatedOutcomes, arg: dict[str, Any], store_sizes: Any) -> DesignPlan:
    """Lay the simulated customers into stores (store unit), and resolve each metric's estimator."""
    n = len(out.ids)
    rng_layout = np.random.Generator(stream(arg["seed"], "trial_layout", 0))
    if arg["unit"] == "store":
        stores, share = arg["stores"], arg["share"]

        def enough(s: float) -> bool:
            return math.floor(s * stores) >= 2 and math.floor((1 - s) * stores) >= 2

        if not enough(share):
            raise ConfigError(f"with {stores} stores a share of {share:g} leaves fewer than 2 stores in a group; "
                              "a clustered interval needs at least 2 per group", field="share")
        arg["shares"] = [s for s in arg["shares"] if enough(s)]
        cluster = np.column_stack([_store_layout(n, stores, store_sizes, rng_layout) for _ in range(_STORE_LAYOUTS)])
        sizes = np.bincount(cluster[:, 0], minlength=stores).astype(float)
        store_strata = size_groups(sizes) if store_sizes is not None else None
        m_bar, cv = float(sizes.mean()), float(sizes.std() / sizes.mean())
        unit_strata = (pd.factorize(store_strata, sort=True)[0] if store_strata is not None
                       else np.zeros(stores, np.int64))
        # t reference: G - 2 with equal stores; unequal sizes leave fewer effective clusters,
        # G / (1 + cv^2) = (sum m)^2 / sum m^2, as the review's Satterthwaite degrees of freedom do
        df: float | None = max(stores / (1.0 + cv * cv) - 2.0, 1.0)
    else:
        cluster, store_strata, m_bar, cv, df = None, None, 1.0, 0.0, None
        unit_strata = pd.factorize(spend_deciles(out.pre_spend), sort=True)[0]
    methods, resolved_of, description_of = _resolve_methods(out, arg, cluster)
    return DesignPlan(arg=arg, out=out, n=n, cluster=cluster, store_strata=store_strata, m_bar=m_bar, cv=cv, df=df,
                 unit_strata=unit_strata, methods=methods, resolved_of=resolved_of, description_of=description_of)


def _resolve_methods(out: SimulatedOutcomes, arg: dict[str, Any],
                     cluster: np.ndarray | None) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The estimator asked for, the one it resolves to (auto -> cuped / did) and its description, per metric."""
    from .estimators import unit_effect_batch

    n = len(out.ids)
    probe_cluster = None if cluster is None else cluster[:, 0]
    probe_pilot = np.arange(n) % 2 == 0 if cluster is None else (probe_cluster % 2 == 0)
    methods: dict[str, str] = {}
    resolved_of: dict[str, str] = {}
    description_of: dict[str, str] = {}
    for metric in METRICS:
        methods[metric] = metric_method(metric, arg["method"])
        pre0, yb0, _ = out.data[(metric, arg["weeks"])]
        probe = unit_effect_batch(pre0, yb0, probe_pilot, cluster=probe_cluster, method=methods[metric],
                                  level=1 - arg["alpha"])
        resolved_of[metric], description_of[metric] = probe.method, probe.description
    return methods, resolved_of, description_of


def _moments(plan: DesignPlan, metric: str, L: int) -> dict[str, float]:
    """SD of the analysed outcome (store shocks included), pre/post correlation, baseline mean, true effect, ICC."""
    pre, yb, ys = plan.out.data[(metric, L)]
    sd_post = float(np.std(yb, ddof=1))
    sd_pre = float(np.std(pre, ddof=1))
    rho = float(np.corrcoef(pre, yb)[0, 1]) if sd_pre > 0 and sd_post > 0 else 0.0
    if plan.resolved_of[metric] == "did":
        sigma_e = float(np.std(yb - pre, ddof=1))
    elif plan.resolved_of[metric] == "cuped":
        sigma_e = sd_post * math.sqrt(max(1 - rho * rho, 0.0))
    else:
        sigma_e = sd_post
    base_mean = float(np.mean(yb))
    res = {"sigma_e": sigma_e, "rho": rho, "baseline_mean": base_mean, "true_effect": float(np.mean(ys - yb)),
           "icc": 0.0, "shock_sd": 0.0}
    if plan.unit == "store":
        icc_map = plan.arg["icc_map"]
        if icc_map is not None:
            r = icc_map[metric]
            shock = sigma_e * math.sqrt(r / (1 - r))
        else:
            shock = plan.arg["effect_sd"] * abs(base_mean)
            r = shock ** 2 / (shock ** 2 + sigma_e ** 2) if (shock > 0 or sigma_e > 0) else 0.0
        res.update(icc=r, shock_sd=shock)
    res["sigma"] = math.sqrt(sigma_e ** 2 + res["shock_sd"] ** 2)
    return res


def _analytic_row(plan: DesignPlan, metric: str, L: int, s: float) -> dict[str, Any]:
    """The closed-form MDE and power of one metric at pilot length ``L`` and share ``s``."""
    mo = _moments(plan, metric, L)
    n, alpha, df = plan.n, plan.arg["alpha"], plan.df
    if plan.unit == "store":
        n_p = max(1.0, s * n)
        de = design_effect(max(plan.m_bar, 1.0), mo["icc"], cv=plan.cv)
    else:
        n_p = float(max(1, round(s * n)))
        de = 1.0
    n_c = max(1.0, n - n_p)
    sigma = mo["sigma"]
    mde = analytic_mde(sigma, n_p, n_c, alpha=alpha, power=plan.arg["target_power"], design_effect=de, df=df)
    pw = analytic_power(mo["true_effect"], sigma, n_p, n_c, alpha=alpha, design_effect=de, df=df)
    base = mo["baseline_mean"]
    return {"metric": metric, "weeks": L, "share": s, "n_pilot": n_p, "n_control": n_c,
            "baseline_mean": base, "true_effect": mo["true_effect"],
            "true_relative_effect": mo["true_effect"] / base if base > 0 else math.nan,
            "sigma": sigma, "rho": mo["rho"], "icc": mo["icc"], "design_effect": de, "shock_sd": mo["shock_sd"],
            "analytic_mde": mde, "analytic_mde_relative": mde / base if base > 0 else math.nan,
            "analytic_power": pw}


def _assignments(plan: DesignPlan, s: float, count: int) -> np.ndarray:
    """``count`` pilot draws at share ``s``, shared by every metric and length (common draws: smooth curves)."""
    have = plan.draws.get(s)
    if have is None or have.shape[1] < count:
        rng = np.random.Generator(stream(plan.arg["seed"], "trial_assign_draws", int(round(s * 1e6))))
        n_units = plan.arg["stores"] if plan.unit == "store" else plan.n
        have = draw_groups_many(plan.unit_strata.astype(np.int64), s, rng, count) if count else \
            np.zeros((n_units, 0), bool)
        plan.draws[s] = have
    return have[:, :count]


def _simulated(task: tuple[str, int, float, int, bool, int], plan: DesignPlan) -> dict[str, Any]:
    """Power by re-randomising the simulated outcomes of one metric: a task ``(metric, weeks, share, count, null, key)``.

    Its assignments and store shocks come from streams keyed by the seed, the share and
    ``key``, so the task gives the same numbers wherever it runs.
    """
    metric, L, s, count, null, key = task
    pre, yb, ys = plan.out.data[(metric, L)]
    mo = _moments(plan, metric, L)
    return rerandomisation_power(pre, yb, ys, share=s, alpha=plan.arg["alpha"], rerandomisations=count,
                                 cluster=plan.cluster, store_shock_sd=mo["shock_sd"], method=plan.methods[metric],
                                 target_power=plan.arg["target_power"], null=null, seed=plan.arg["seed"], key=key,
                                 assignments=_assignments(plan, s, count))


def _design_points(plan: DesignPlan) -> list[tuple[str, int, float, int, bool, int]]:
    """The re-randomisation tasks of a design: every metric at the chosen design, the primary along the curves."""
    a = plan.arg
    tasks = [(metric, a["weeks"], a["share"], a["reps"], True, 1000 + i) for i, metric in enumerate(METRICS)] \
        if a["reps"] else []
    if a["curve_reps"]:
        for varies, points in _curve_points(a):
            tasks += [(a["primary"], L, s, a["curve_reps"], False, 2000 + 100 * (varies == "share") + j)
                      for j, (L, s) in enumerate(points)]
    return tasks


def _curve_points(a: dict[str, Any]) -> list[tuple[str, list[tuple[int, float]]]]:
    return [("weeks", [(L, a["share"]) for L in a["lengths"]]), ("share", [(a["weeks"], s) for s in a["shares"]])]


def simulate_design(plan: DesignPlan, executor: Any = None, *, progress: bool = False) -> dict[tuple, dict[str, Any]]:
    """Run the design's re-randomisations (one task per design point) on ``executor``; results by task.

    ``executor``: see :func:`loyalty_sim.executor.as_executor` (default: this process).
    """
    from ..executor import as_executor

    tasks = _design_points(plan)
    keys = [f"re-randomisations of {m}, {L} weeks, share {s:g} (key {k})" for m, L, s, _, _, k in tasks]
    done = as_executor(executor).map(_simulated, tasks, desc="design points", keys=keys, shared=plan,
                                     progress=progress)
    return dict(zip(tasks, done))


def chosen_design_power(plan: DesignPlan, simulated: dict[tuple, dict[str, Any]] | None = None) -> pd.DataFrame:
    """The chosen design: every metric, analytic and simulated, with the A/A check.

    ``simulated``: the results of :func:`simulate_design` (run here when not given).
    """
    sims = simulate_design(plan) if simulated is None else simulated
    reps, weeks, share = plan.arg["reps"], plan.arg["weeks"], plan.arg["share"]
    rows = []
    for i, metric in enumerate(METRICS):
        row = _analytic_row(plan, metric, weeks, share)
        row["method"] = plan.resolved_of[metric]
        row["method_description"] = plan.description_of[metric]
        row["unit"] = METRICS[metric]
        if reps:
            sim = sims[(metric, weeks, share, reps, True, 1000 + i)]
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
    return metrics[lead + [c for c in metrics.columns if c not in lead]]


def power_curves(plan: DesignPlan, simulated: dict[tuple, dict[str, Any]] | None = None) -> pd.DataFrame:
    """Power and MDE over lengths at the chosen share, and over shares at the chosen length.

    ``simulated``: the results of :func:`simulate_design` (run here when not given).
    """
    a = plan.arg
    sims = simulate_design(plan) if simulated is None else simulated
    curve_rows = []
    for varies, points in _curve_points(a):
        for j, (L, s) in enumerate(points):
            for metric in METRICS:
                row = _analytic_row(plan, metric, L, s)
                row["varies"] = varies
                row["simulated_power"] = math.nan
                row["simulated_power_se"] = math.nan
                if a["curve_reps"] and metric == a["primary"]:
                    sim = sims[(metric, L, s, a["curve_reps"], False, 2000 + 100 * (varies == "share") + j)]
                    row["simulated_power"] = sim["power"]
                    row["simulated_power_se"] = sim["power_se"]
                curve_rows.append(row)
    curve = pd.DataFrame(curve_rows)
    first = ["varies", "metric", "weeks", "share"]
    return curve[first + [c for c in curve.columns if c not in first]]
