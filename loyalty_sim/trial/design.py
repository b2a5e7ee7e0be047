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
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..files import to_jsonable
from ..validation import check_choice, check_count, check_positive, check_probability
from .assignment import UNITS, assign, pre_period_spend, write_assignment
from .outcomes import DESIGN_METRICS as METRICS
from .outcomes import LABELS, pilot_population, resolve_scheme, simulate_outcomes
from .power import (
    DesignPlan,
    analytic_mde,
    analytic_power,
    chosen_design_power,
    design_effect,
    estimate_icc,
    plan_design,
    power_curves,
    quantiles,
    rerandomisation_power,
    simulate_design,
    store_summary,
)

__all__ = [
    "METRICS", "UNITS", "TrialDesign", "analytic_mde", "analytic_power", "assign", "design_effect",
    "design_trial", "design_trial_from_log", "estimate_icc", "pre_period_spend", "rerandomisation_power",
    "resolve_scheme", "simulated_assignment", "store_summary", "write_assignment",
]

#: Default candidate pilot lengths (weeks).
DEFAULT_WEEKS: tuple[int, ...] = (2, 4, 6, 8, 10, 12, 16, 20, 26)

#: Default candidate pilot shares.
DEFAULT_SHARES: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5)

#: Default relative spread of store-level shocks (assumption, see :func:`design_trial`).
DEFAULT_STORE_EFFECT_SD = 0.05

# layouts of simulated customers into stores, used in turn by the re-randomisations
_STORE_LAYOUTS = 10


@dataclass(frozen=True)
class TrialDesign:
    """How to run a pilot so that it can answer the question.

    Attributes
    ----------
    settings : dict
        Everything the design was computed from (population, scheme, unit, share,
        pilot length as ``weeks``, pre-weeks, significance level, target power, method, seed, ...).
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
                "metrics": to_jsonable(self.metrics.to_dict(orient="records")),
                "curve": to_jsonable(self.curve.to_dict(orient="records")),
                "recommendation": to_jsonable(self.recommendation)}

    def summary_text(self) -> str:
        """The design in plain language (:func:`loyalty_sim.text.trial.design_summary`)."""
        from ..text.trial import design_summary

        return design_summary(self)


def design_trial(population: Any, scheme: Any, *, unit: str = "customer", share: float = 0.5, pilot_weeks: int = 8,
                 pre_weeks: int = 8, alpha: float = 0.05, target_power: float = 0.8, primary: str = "spend",
                 method: str = "auto", customers: int | None = None, stores: int | None = None,
                 store_sizes: Any = None, icc: float | Mapping[str, float] | None = None,
                 store_effect_sd: float | None = None, candidate_weeks: Sequence[int] = DEFAULT_WEEKS,
                 candidate_shares: Sequence[float] = DEFAULT_SHARES, rerandomisations: int = 200,
                 curve_rerandomisations: int | None = None, seed: int = 0, scheme_name: str | None = None,
                 behaviour: Any = None, executor: Any = None) -> TrialDesign:
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
    pilot_weeks : int
        Pilot length (weeks, >= 1); ``--weeks`` on the command line. The population's
        horizon is set from it (``pre_weeks`` plus the longest candidate).
    pre_weeks : int
        Pre-period used as baseline (weeks, >= 1); customers active in it are analysed.
    alpha : float
        Two-sided significance level.
    target_power : float
        Power the pilot should reach for ``primary``.
    primary : {"spend", "frequency", "retention"}
        Outcome the recommendation is for.
    method : {"auto", "did", "cuped", "diff"}
        Estimator of frequency and spend; ``auto`` is CUPED for customers and DiD for stores,
        as :func:`~loyalty_sim.trial.review.review_trial` uses (retention: CUPED, or ``diff``).
    customers : int, optional
        Customers at week 0 when ``population`` is a preset (default 10,000), or a new
        size for a given population.
    stores : int, optional
        Stores (store assignment; >= 4, default 20); customers are spread over them at random
        in proportion to ``store_sizes``, a new layout for each batch of re-randomisations.
    store_sizes : array-like, optional
        Relative store sizes (e.g. ``store_summary(log, ...)["stores"]["size"]``); stores
        are then stratified by size, as :func:`assign` does.
    icc : float or mapping, optional
        Intra-store correlation of each outcome (one value or per metric), e.g.
        ``store_summary(log, pre_weeks=...)["icc"]``: the share of its variance common to a
        store's customers; the simulation adds a store shock of that size. Overrides
        ``store_effect_sd``.
    store_effect_sd : float, optional
        SD of store shocks in the pilot window as a share of the outcome's mean (what the
        pre-period cannot predict); default 0.05 (an assumption) without ``icc``.
    candidate_weeks, candidate_shares : sequence of int, sequence of float
        Pilot lengths and shares to evaluate (``pilot_weeks`` and ``share`` are added).
    rerandomisations : int
        Assignments drawn for the simulated power at the chosen design (0: analytic only).
    curve_rerandomisations : int, optional
        Assignments per point of the curves; default half of ``rerandomisations`` (>= 50).
    seed : int
        Seed of the population (for a preset), the simulation and the draws.
    scheme_name, behaviour : str, BehaviourParams, optional
        Which scheme of a scenario file; behaviour overrides (default: the file's, or the package's).
    executor : Executor, int or dask.distributed.Client, optional
        Where the re-randomisations run, a task per design point (:func:`loyalty_sim.executor.as_executor`).

    Returns
    -------
    TrialDesign

    Raises
    ------
    ConfigError
        Naming the field of any invalid parameter.
    """
    t0 = time.perf_counter()
    arg = _checked_arguments(unit=unit, share=share, pilot_weeks=pilot_weeks, pre_weeks=pre_weeks, alpha=alpha,
                             target_power=target_power, primary=primary, method=method, seed=seed,
                             customers=customers, rerandomisations=rerandomisations,
                             curve_rerandomisations=curve_rerandomisations, candidate_weeks=candidate_weeks,
                             candidate_shares=candidate_shares, stores=stores, icc=icc,
                             store_effect_sd=store_effect_sd)
    sch, info = resolve_scheme(scheme, name=scheme_name)
    if behaviour is None:
        behaviour = info.get("behaviour")
    pop = pilot_population(population, customers=arg["customers"], weeks=pre_weeks + max(arg["lengths"]), seed=seed)
    out = simulate_outcomes(pop, sch, pre_weeks=pre_weeks, lengths=arg["lengths"], seed=seed, behaviour=behaviour)
    if len(out.ids) < 8:
        raise ConfigError(f"only {len(out.ids)} customers were active in the {pre_weeks}-week pre-period; use more "
                          "customers or a longer pre-period", field="customers")
    plan = plan_design(out, arg, store_sizes)
    simulated = simulate_design(plan, executor)
    metrics = chosen_design_power(plan, simulated)
    curve = power_curves(plan, simulated)
    recommendation = _recommend(curve, metrics, primary=arg["primary"], target=arg["target_power"],
                                weeks=arg["weeks"], share=arg["share"], unit=arg["unit"], n=plan.n, alpha=arg["alpha"],
                                df=plan.df, m_bar=plan.m_bar, cv=plan.cv)
    settings = _settings(plan, pop, sch, info, t0)
    return TrialDesign(settings=settings, metrics=metrics.reset_index(drop=True),
                       curve=curve.reset_index(drop=True), recommendation=recommendation)


def _checked_arguments(**kw: Any) -> dict[str, Any]:
    """The arguments of :func:`design_trial`, checked (each error names its field) and completed."""
    from .estimators import METHODS

    a = dict(kw)
    a["unit"] = check_choice("unit", kw["unit"], UNITS)
    a["share"] = check_probability("share", kw["share"])
    a["weeks"] = check_count("pilot_weeks", kw["pilot_weeks"], minimum=1)
    a["pre_weeks"] = check_count("pre_weeks", kw["pre_weeks"], minimum=1)
    a["alpha"] = check_probability("alpha", kw["alpha"])
    a["target_power"] = check_probability("target_power", kw["target_power"])
    check_choice("primary", kw["primary"], METRICS)
    check_choice("method", kw["method"], METHODS)
    a["seed"] = check_count("seed", kw["seed"], minimum=0)
    if kw["customers"] is not None:
        a["customers"] = check_count("customers", kw["customers"], minimum=10)
    reps = a["reps"] = check_count("rerandomisations", kw["rerandomisations"], minimum=0)
    a["curve_reps"] = (max(50, reps // 2) if reps else 0) if kw["curve_rerandomisations"] is None else \
        check_count("curve_rerandomisations", kw["curve_rerandomisations"], minimum=0)
    cw, cs = kw["candidate_weeks"], kw["candidate_shares"]
    if isinstance(cw, (str, bytes)) or not isinstance(cw, Sequence):
        raise ConfigError(f"expected a list of pilot lengths in weeks, got {cw!r}", field="candidate_weeks")
    a["lengths"] = sorted({check_count("candidate_weeks", w, minimum=1) for w in cw} | {a["weeks"]})
    if isinstance(cs, (str, bytes)) or not isinstance(cs, Sequence):
        raise ConfigError(f"expected a list of shares in (0, 1), got {cs!r}", field="candidate_shares")
    a["shares"] = sorted({round(check_probability("candidate_shares", s), 6) for s in cs} | {round(a["share"], 6)})
    a.update(_store_assumptions(a["unit"], kw["stores"], kw["icc"], kw["store_effect_sd"]))
    return a


def _store_assumptions(unit: str, stores: int | None, icc: Any, store_effect_sd: float | None) -> dict[str, Any]:
    """``stores``, per-metric ``icc_map`` and ``effect_sd`` (store shocks as a share of the mean) of a design."""
    if unit != "store":
        if stores is not None:
            check_count("stores", stores, minimum=4)
        return {"icc_map": None, "effect_sd": None}
    stores = 20 if stores is None else check_count("stores", stores, minimum=4)
    if icc is None:
        effect_sd = DEFAULT_STORE_EFFECT_SD if store_effect_sd is None else \
            check_positive("store_effect_sd", store_effect_sd, allow_zero=True)
        return {"stores": stores, "icc_map": None, "effect_sd": effect_sd}
    if isinstance(icc, Mapping):
        icc_map = {m: check_probability(f"icc.{m}", icc.get(m, 0.0), interval="[0, 1)") for m in METRICS}
        if set(icc) - set(METRICS):
            raise ConfigError(f"unknown metrics {sorted(set(icc) - set(METRICS))}; expected {list(METRICS)}",
                              field="icc")
    else:
        icc_map = {m: check_probability("icc", icc, interval="[0, 1)") for m in METRICS}
    return {"stores": stores, "icc_map": icc_map, "effect_sd": None}


def _settings(plan: DesignPlan, pop: Any, sch: Any, info: dict[str, Any], t0: float) -> dict[str, Any]:
    """Everything the design was computed from, and the texts that describe its assumptions."""
    a, unit = plan.arg, plan.unit
    icc_map, effect_sd = a["icc_map"], a["effect_sd"]
    strata_text = ("stratified by pre-period spend decile" if unit == "customer"
                   else ("stratified by store size" if plan.store_strata is not None else "no strata"))
    store_text = ""
    if unit == "store":
        store_text = (f"intra-store correlation {', '.join(f'{m} {icc_map[m]:.3g}' for m in METRICS)} (the icc parameter)"
                      if icc_map is not None else
                      f"standard deviation {100 * effect_sd:.1f}% of each outcome's mean"
                      f"{' (an assumption; pass icc or store_effect_sd from your data)' if a['store_effect_sd'] is None else ''}")
    store = unit == "store"
    return {
        "population": pop.params.name, "population_size": pop.size, "population_seed": pop.seed,
        "analytic_t_df": plan.df,
        "assumed_fields": pop.assumed_fields() if hasattr(pop, "assumed_fields") else [],
        "scheme": getattr(sch, "name", type(sch).__name__),
        "scheme_config": sch.to_dict() if hasattr(sch, "to_dict") else None, "scheme_source": info.get("source"),
        "unit": unit, "share": a["share"], "weeks": a["weeks"], "pre_weeks": a["pre_weeks"], "alpha": a["alpha"],
        "target_power": a["target_power"], "primary": a["primary"], "method": a["method"],
        "resolved_method": plan.resolved_of[a["primary"]], "method_description": plan.description_of[a["primary"]],
        "stores": a["stores"] if store else None, "mean_customers_per_store": plan.m_bar if store else None,
        "store_size_cv": plan.cv if store else None, "icc": icc_map, "store_effect_sd": effect_sd,
        "store_text": store_text, "strata_text": strata_text,
        "n_units": plan.n, "customers_simulated": plan.out.n_customers_simulated,
        "candidate_weeks": a["lengths"], "candidate_shares": a["shares"], "rerandomisations": a["reps"],
        "curve_rerandomisations": a["curve_reps"], "seed": a["seed"],
        "simulation_seconds": round(plan.out.seconds, 3), "seconds": round(time.perf_counter() - t0, 3),
    }


def design_trial_from_log(log: Any, scheme: Any, *, unit: str = "customer", share: float = 0.5, pilot_weeks: int = 8,
                          pre_weeks: int = 8, customers: int | None = None, icc: float | None = None,
                          store_effect_sd: float | None = None, seed: int = 0,
                          candidate_weeks: Sequence[int] = DEFAULT_WEEKS, read_options: Mapping[str, Any] | None = None,
                          assumptions: str | None = None, scheme_name: str | None = None,
                          calibration_end: Any = "auto", **design_kw: Any) -> tuple[TrialDesign, pd.DataFrame, dict[str, Any]]:
    """Design a pilot for the customers (or stores) of a transaction log, and assign them.

    The log is calibrated on the one path (:func:`loyalty_sim.calibration.calibrate.calibrate`):
    the simulated customers are this shop's, sized to those expected active at the log's end
    unless ``customers`` says otherwise. The pre-period is the last ``pre_weeks`` weeks of the
    log; the pilot is assumed to start the day after it ends. For store assignment the stores,
    their sizes and (unless ``icc`` or ``store_effect_sd`` is given) their intra-store
    correlations come from the log (:func:`store_summary`).

    Parameters
    ----------
    log : path-like, TransactionLog or CalibratedPopulation
        The transaction log, or its calibration.
    scheme : Scheme, mapping, path or str
        The candidate scheme (:func:`resolve_scheme`).
    unit, share, pilot_weeks, pre_weeks, customers, icc, store_effect_sd, seed, candidate_weeks, scheme_name
        As in :func:`design_trial` (``customers`` default: the customers expected active at the log's end).
    read_options : mapping, optional
        Keywords of :func:`~loyalty_sim.calibration.logs.read_log` (``format``, ``columns``, ``date_format``, ...).
    assumptions : str, optional
        Preset for the fields a log does not identify (default: the scheme file's preset, else coffee_shop).
    calibration_end : date-like, "auto" or None
        As in :func:`~loyalty_sim.calibration.calibrate.calibrate`.
    **design_kw
        Other keywords of :func:`design_trial` (``alpha``, ``target_power``, ``primary``, ...).

    Returns
    -------
    design, assignment, extra
        The :class:`TrialDesign`, the assignment of the log's units (:func:`assign`),
        and what the log and the fit gave: ``calibrated_from`` (counts, fit check,
        assumptions), ``pre_period``, ``assumptions_preset``, ``icc_estimated`` (store unit) and ``notes``.
    """
    from ..calibration.calibrate import CalibratedPopulation, calibrate

    sch, info = resolve_scheme(scheme, name=scheme_name)
    design_kw.setdefault("behaviour", info.get("behaviour"))
    assumptions = assumptions or info.get("preset") or "coffee_shop"
    cal = log if isinstance(log, CalibratedPopulation) else calibrate(
        log, model=("bgnbd", "pareto_nbd", "gamma_gamma"), required=("bgnbd",), calibration_end=calibration_end,
        fill_from=assumptions, **dict(read_options or {}))
    source = cal.source
    data, notes = cal.log.data, []
    end, pre, n_active = _log_pre_period(data, source, pre_weeks)
    horizon = pre_weeks + max(max(candidate_weeks), pilot_weeks)
    pop = cal.population(customers, weeks=horizon, seed=seed)
    start_pre = end - pd.Timedelta(weeks=pre_weeks)
    described = cal.describe(pop.size)
    fits = {m: (f.to_dict() if f is not None else None) for m, f in
            (("bgnbd", cal.fit_of("bgnbd")), ("gamma_gamma", cal.fit_of("gamma_gamma")))}
    extra: dict[str, Any] = {"log": cal.log.report.to_dict(), "fit": fits, "calibrated_from": described,
                             "pre_period": {"start": str(start_pre.date()), "end": str((end - pd.Timedelta(days=1)).date()),
                                            "active_customers": n_active},
                             "assumptions_preset": cal.shop.fill_from}
    if unit == "store":
        store_kw, units = _log_stores(data, source, pre_weeks=pre_weeks, end=end, icc=icc,
                                      store_effect_sd=store_effect_sd, extra=extra, notes=notes)
        assignment = assign(units, unit="store", share=share, seed=seed)
    else:
        store_kw = {}
        assignment = assign(pre[["customer_id", "spend"]], unit="customer", share=share, seed=seed)
    design = design_trial(pop, sch, unit=unit, share=share, pilot_weeks=pilot_weeks, pre_weeks=pre_weeks, seed=seed,
                          candidate_weeks=candidate_weeks, **store_kw, **design_kw)
    notes.extend(described["statements"])
    if unit == "customer":
        notes.append(f"all {len(assignment):,} of the log's customers are assigned (stratified by pre-period spend); "
                     f"the {n_active:,} who bought in its last {pre_weeks} weeks are the ones the review analyses, "
                     f"as the power is simulated on the pre-period buyers among the {pop.size:,} customers above")
    extra["notes"] = notes
    return design, assignment, extra


def simulated_assignment(design: TrialDesign, population: str, *, unit: str = "customer", share: float = 0.5,
                         seed: int = 0) -> pd.DataFrame:
    """Assignment of the simulated customers (or stores) a preset's design was computed for.

    Parameters
    ----------
    design : TrialDesign
        From :func:`design_trial` on the preset ``population``.
    population : str
        The preset's name.
    unit, share, seed
        As given to :func:`design_trial`; the customers are those who bought in the
        simulated pre-period, the stores ``store_001`` ... by number.
    """
    from ..engine import simulate
    from ..population import Population

    s = design.settings
    pop = Population(population, size=s["population_size"], weeks=s["pre_weeks"], seed=s["population_seed"])
    cust = simulate(pop, None, weeks=s["pre_weeks"], seed=seed).customers
    units = pd.DataFrame({"customer_id": cust["customer_id"], "spend": cust["revenue"]})
    units = units[cust["transactions"].to_numpy() > 0]
    if unit == "customer":
        return assign(units, unit="customer", share=share, seed=seed)
    store_ids = [f"store_{i + 1:03d}" for i in range(s["stores"])]
    return assign(pd.DataFrame({"store_id": store_ids}), unit="store", share=share, strata=None, seed=seed)


def _log_pre_period(data: pd.DataFrame, source: str, pre_weeks: int) -> tuple[pd.Timestamp, pd.DataFrame, int]:
    """End of the log's pre-period (exclusive), each customer's pre-period spend, and the customers active in it."""
    from ..errors import DataError

    if len(data) == 0:
        raise DataError("the log has no transactions", source=source)
    end = pd.Timestamp(data["timestamp"].max()).normalize() + pd.Timedelta(days=1)
    start_pre = end - pd.Timedelta(weeks=pre_weeks)
    if pd.Timestamp(data["timestamp"].min()) > start_pre:
        raise ConfigError(f"the log covers less than the {pre_weeks}-week pre-period (first purchase "
                          f"{pd.Timestamp(data['timestamp'].min()).date()}, pre-period from {start_pre.date()})",
                          field="pre_weeks", source=source)
    pre = pre_period_spend(data, pre_weeks=pre_weeks, end=end)
    n_active = int((pre["transactions"] > 0).sum())
    if n_active < 8:
        raise DataError(f"only {n_active} customers bought in the last {pre_weeks} weeks of the log", source=source)
    return end, pre, n_active


def _log_stores(data: pd.DataFrame, source: str, *, pre_weeks: int, end: pd.Timestamp, icc: float | None,
                store_effect_sd: float | None, extra: dict[str, Any],
                notes: list[str]) -> tuple[dict[str, Any], pd.DataFrame]:
    """The store keywords of :func:`design_trial` from the log's stores, and the stores to assign."""
    from ..errors import DataError

    if "store_id" not in data.columns:
        raise DataError("store assignment needs the store of each purchase; name its column with --store-col",
                        source=source, column="store_id")
    summary = store_summary(data, pre_weeks=pre_weeks, end=end)
    per_store = summary["stores"].set_index("store_id")["size"]
    if len(per_store) < 4:
        raise ConfigError(f"the log has {len(per_store)} stores with active customers; store assignment needs "
                          "at least 4", field="stores", source=source)
    store_kw: dict[str, Any] = {"stores": int(len(per_store)), "store_sizes": per_store.to_numpy(dtype=float)}
    if icc is not None:
        store_kw["icc"] = icc
    elif store_effect_sd is not None:
        store_kw["store_effect_sd"] = store_effect_sd
    else:
        iccs = summary["icc"]
        extra["icc_estimated"] = {k: (None if not math.isfinite(v) else v) for k, v in iccs.items()}
        if all(math.isfinite(v) for v in iccs.values()):
            store_kw["icc"] = iccs
            notes.append("intra-store correlations estimated from the log (change between the two halves of "
                         "the pre-period, one-way ANOVA): " + ", ".join(f"{k} {v:.4f}" for k, v in iccs.items()))
        else:
            notes.append("too little data to estimate the intra-store correlation from the log; store shocks "
                         f"of {100 * DEFAULT_STORE_EFFECT_SD:.0f}% of the mean are assumed")
    return store_kw, summary["stores"]


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
    q_a, q_b = quantiles(alpha, target, df)
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
