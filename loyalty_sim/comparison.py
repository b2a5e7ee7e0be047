"""Schemes against their counterfactual, with intervals from replications.

Each replication draws new customers and new random numbers (seeds spawned from the
scenario's seed by ``SeedSequence``); within a replication the baseline and every
scheme share them (common random numbers), so each replication gives a *paired*
effect. The interval of an effect is a Student-t interval over the replications'
paired effects, at the stated level.

Beside the causal effect (scheme minus counterfactual after launch) we show the naive
before/after change (scheme run, after minus before launch), which also contains
the drift of a cohort that loses customers, so the user sees the bias.
"""

from __future__ import annotations

import dataclasses
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .economics import Economics, scheme_economics, simulated_retention, verdict_word
from .errors import ConfigError
from .metrics import window_metrics
from .scenario import Scenario, ScenarioRun, run_scenario
from .text.comparison import verdict as verdict_text

#: metric -> (unit, higher is better)
METRICS: dict[str, str] = {
    "purchases_per_customer_week": "transactions per alive customer per week, after launch",
    "spend_per_customer_week": "currency per alive customer per week, after launch",
    "mean_ticket": "currency per transaction, after launch",
    "retention_annual": "share of customers alive at launch still alive a year later",
    "active_customers_end": "customers alive at the horizon end",
    "revenue": "currency, after launch",
    "incremental_profit": "currency, after launch, against the counterfactual",
    "incremental_profit_pv": "currency, present value, against the counterfactual",
    "scheme_cost": "currency: discounts + rewards at cost + programme costs",
    "roi": "incremental profit / scheme cost",
    "payback_week": "weeks from launch until cumulative incremental profit stays >= 0",
    "breakage_rate": "share of issued units that expired",
    "unredeemed_share": "share of issued units still outstanding at the horizon end",
    "liability_end_cost": "currency: outstanding units at cost at the horizon end",
}


def replication_seeds(seed: int, replications: int) -> list[tuple[int, int]]:
    """(population seed, simulation seed) for each replication, spawned from ``seed``."""
    children = np.random.SeedSequence(int(seed)).spawn(int(replications))
    return [tuple(int(x) for x in ch.generate_state(2, dtype=np.uint32)) for ch in children]


def _run_metrics(run: ScenarioRun, econ: Economics) -> dict[str, dict[str, float]]:
    """Per scheme (baseline included): the metrics of one replication."""
    launch = run.scenario.launch_week
    out: dict[str, dict[str, float]] = {}
    base = run.baseline
    for name, res in run.results.items():
        wm = window_metrics(res).set_index("week_from")
        after = wm.loc[launch] if launch in wm.index else wm.iloc[-1]
        before = wm.loc[0] if launch > 0 else None
        m = {
            "purchases_per_customer_week": float(after["purchases_per_alive_customer_week"]),
            "spend_per_customer_week": float(after["spend_per_alive_customer_week"]),
            "mean_ticket": float(after["mean_ticket"]),
            "retention_annual": simulated_retention(res)["retention_annual"],
            "active_customers_end": float((res.customers["dropout_week"] < 0).sum()),
            "revenue": float(res.weekly["revenue"].iloc[launch:].sum()),
        }
        if before is not None:
            m["before_purchases_per_customer_week"] = float(before["purchases_per_alive_customer_week"])
            m["before_spend_per_customer_week"] = float(before["spend_per_alive_customer_week"])
        if name != "baseline":
            m.update({k: v for k, v in scheme_economics(res, base, econ).items()
                      if k in METRICS or k in ("clv", "clv_baseline")})
        out[name] = m
    return out


def _members(res: Any) -> np.ndarray | None:
    mem = res.members()
    return None if mem is None else mem.to_numpy()


def _member_gap(run: ScenarioRun, name: str) -> dict[str, float] | None:
    """Naive member vs non-member gap and the causal effect on members (same customers, no scheme)."""
    res = run.results[name]
    mem = _members(res)
    base = run.baseline
    if mem is None or mem.all() or not mem.any() or len(base.customers) != len(res.customers):
        return None
    launch = run.scenario.launch_week
    key = "purchases_per_alive_customer_week"
    on = window_metrics(res, customers=mem).set_index("week_from").loc[launch, key]
    off = window_metrics(res, customers=~mem).set_index("week_from").loc[launch, key]
    cf = window_metrics(base, customers=mem).set_index("week_from").loc[launch, key]
    return {"members_freq": float(on), "non_members_freq": float(off), "members_counterfactual_freq": float(cf),
            "naive_gap": float(on - off), "causal_effect_on_members": float(on - cf),
            "member_share": float(mem.mean())}


def _segment_effects(run: ScenarioRun, name: str) -> pd.DataFrame:
    launch = run.scenario.launch_week
    a = window_metrics(run.results[name], by="segment")
    b = window_metrics(run.baseline, by="segment")
    a = a[a["week_from"] == launch].set_index("segment")
    b = b[b["week_from"] == launch].set_index("segment")
    return pd.DataFrame({"scheme": name,
                         "purchases_effect": a["purchases_per_alive_customer_week"] - b["purchases_per_alive_customer_week"],
                         "spend_effect": a["spend_per_alive_customer_week"] - b["spend_per_alive_customer_week"],
                         "retention_effect": _retained_by_segment(run.results[name], launch)
                         - _retained_by_segment(run.baseline, launch),
                         "purchases_baseline": b["purchases_per_alive_customer_week"]})


def _retained_by_segment(res: Any, launch: int) -> pd.Series:
    """Share of the customers alive at launch who are still alive at the horizon, per segment."""
    c = res.customers
    at_launch = res.alive_at(launch).to_numpy()
    kept = res.alive_at(res.weeks)[at_launch]
    return kept.groupby(c.loc[at_launch, "segment"], observed=True).mean().astype(float)


def _finite_mean(values: np.ndarray) -> float:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else float("nan")


def interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t interval of replicated values (NaN interval with one replication)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(v.mean())
    if v.size < 2:
        return mean, float("nan"), float("nan")
    se = float(v.std(ddof=1) / np.sqrt(v.size))
    q = float(stats.t.ppf(0.5 + level / 2, v.size - 1))
    return mean, mean - q * se, mean + q * se


@dataclass
class Comparison:
    """Replicated comparison of a scenario's schemes against the counterfactual.

    Attributes
    ----------
    scenario : Scenario
    economics : Economics
    level : float
        Interval level (0.95).
    runs : list of ScenarioRun
        One per replication (seeds in ``seeds``).
    per_replication : DataFrame
        Long table: replication, scheme, metric, value.
    member_gaps, segments : DataFrame
        Members vs non-members (opt-in schemes) and effects by segment.
    survey_draws : DataFrame
        The survey draw of each replication (empty without a survey).
    """

    scenario: Scenario
    economics: Economics
    level: float
    runs: list[ScenarioRun]
    seeds: list[tuple[int, int]]
    per_replication: pd.DataFrame
    member_gaps: pd.DataFrame = field(default_factory=pd.DataFrame)
    segments: pd.DataFrame = field(default_factory=pd.DataFrame)
    survey_draws: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def schemes(self) -> list[str]:
        return [s.name for s in self.scenario.schemes]

    def effects(self) -> pd.DataFrame:
        """Per scheme and metric: baseline, scheme, effect with interval, relative effect.

        ``effect`` is the paired difference scheme - counterfactual (for economics metrics,
        which are already incremental, the value itself); ``naive_before_after`` is the
        scheme run's after - before change where a launch week splits the horizon.
        """
        pr = self.per_replication
        rows = []
        for name in self.schemes:
            for metric, unit in METRICS.items():
                s = pr[(pr["scheme"] == name) & (pr["metric"] == metric)].sort_values("replication")["value"].to_numpy()
                if s.size == 0:
                    continue
                b = pr[(pr["scheme"] == "baseline") & (pr["metric"] == metric)].sort_values("replication")["value"].to_numpy()
                incremental = b.size == 0
                diff = s if incremental else s - b
                est, lo, hi = interval(diff, self.level)
                base_mean = _finite_mean(b)
                row = {"scheme": name, "metric": metric, "unit": unit, "level": self.level,
                       "baseline": base_mean, "scheme_value": _finite_mean(s), "effect": est,
                       "ci_low": lo, "ci_high": hi,
                       "relative_effect": est / base_mean if np.isfinite(base_mean) and base_mean else float("nan")}
                if metric in ("purchases_per_customer_week", "spend_per_customer_week"):
                    bb = pr[(pr["scheme"] == name) & (pr["metric"] == f"before_{metric}")]["value"].to_numpy()
                    if bb.size:
                        naive, nlo, nhi = interval(s - bb, self.level)
                        row.update({"naive_before_after": naive, "naive_ci_low": nlo, "naive_ci_high": nhi})
                rows.append(row)
        out = pd.DataFrame(rows)
        out.attrs["level"] = self.level
        out.attrs["replications"] = len(self.runs)
        return out

    def difference(self, a: str, b: str, metric: str = "incremental_profit") -> tuple[float, float, float]:
        """Scheme ``a`` minus scheme ``b`` on ``metric``, paired by replication: (estimate, low, high).

        Both schemes ran on the same customers and random numbers in each replication, so
        the interval of the difference is narrower than the two intervals side by side.
        """
        pr = self.per_replication
        vals = []
        for name in (a, b):
            d = pr[(pr["scheme"] == name) & (pr["metric"] == metric)]
            if d.empty:
                raise ConfigError(f"no '{metric}' for scheme '{name}'; schemes: {self.schemes}", field="scheme")
            vals.append(d.sort_values("replication")["value"].to_numpy(dtype=float))
        return interval(vals[0] - vals[1], self.level)

    def summary(self) -> pd.DataFrame:
        """One row per scheme: the headline effects, profit, ROI and the verdict."""
        eff = self.effects().set_index(["scheme", "metric"])
        rows = []
        for name in self.schemes:
            def g(metric: str, col: str = "effect", name: str = name) -> float:
                # a column no row has (naive_before_after with launch in week 0) is undefined, not an error
                if (name, metric) not in eff.index or col not in eff.columns:
                    return float("nan")
                return float(eff.loc[(name, metric), col])
            lo, hi = g("incremental_profit", "ci_low"), g("incremental_profit", "ci_high")
            est = g("incremental_profit")
            text = verdict_text(verdict_word(est, lo, hi), est, lo, hi, level=self.level,
                                currency=getattr(self.scenario, "currency", None))
            rows.append({
                "scheme": name,
                "purchases_per_customer_week_effect": g("purchases_per_customer_week"),
                "purchases_ci": (g("purchases_per_customer_week", "ci_low"), g("purchases_per_customer_week", "ci_high")),
                "purchases_relative_effect": g("purchases_per_customer_week", "relative_effect"),
                "naive_before_after_purchases": g("purchases_per_customer_week", "naive_before_after"),
                "spend_per_customer_week_effect": g("spend_per_customer_week"),
                "spend_relative_effect": g("spend_per_customer_week", "relative_effect"),
                "retention_annual_effect": g("retention_annual"),
                "retention_ci": (g("retention_annual", "ci_low"), g("retention_annual", "ci_high")),
                "incremental_profit": est, "profit_ci": (lo, hi),
                "roi": g("roi"), "roi_ci": (g("roi", "ci_low"), g("roi", "ci_high")),
                "payback_week": g("payback_week"), "breakage_rate": g("breakage_rate"),
                "verdict": text,
            })
        return pd.DataFrame(rows).set_index("scheme")

    def undefined_reason(self, scheme: str, metric: str, kind: str = "value") -> str:
        """Why a value of ``metric`` for ``scheme`` is undefined (NaN), in words.

        ``kind`` is ``"value"`` (the estimate), ``"ci"`` (its interval), ``"relative"``
        (effect / baseline), ``"baseline"`` or ``"naive"`` (the before/after change).
        """
        pr = self.per_replication
        vals = pr[(pr["scheme"] == scheme) & (pr["metric"] == metric)]["value"].to_numpy(dtype=float)
        n = int(np.isfinite(vals).sum())
        if kind in ("baseline", "relative") and metric in _INCREMENTAL:
            return "incremental against the counterfactual: no baseline value"
        if kind == "baseline":
            return "undefined for the baseline in every replication"
        if kind == "naive":
            if metric not in ("purchases_per_customer_week", "spend_per_customer_week"):
                return "the before/after change is given for purchases and spend only"
            if self.scenario.launch_week == 0:
                return "launch in week 0: no weeks before launch to compare with"
            kind = "ci" if n else "value"
        if n == 0:
            return _UNDEFINED.get(metric, "undefined in every replication")
        if kind == "relative":
            return "the baseline value is 0 or undefined"
        if kind == "ci" and n < 2:
            return f"an interval needs at least 2 replications with a defined value ({n} here)"
        return "undefined in every replication"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: scenario, settings, effects, summary, member gaps.

        An undefined value (NaN or infinite, or an interval with one) is ``None`` with a
        ``<key>_reason`` beside it saying why (``"roi": None, "roi_reason": "the scheme cost nothing..."``).
        """
        def clean(df: pd.DataFrame, reason: Any) -> list[dict[str, Any]]:
            out = []
            for r in df.reset_index().to_dict(orient="records"):
                row: dict[str, Any] = {}
                for k, v in r.items():
                    undefined = (isinstance(v, (float, np.floating)) and not np.isfinite(v)) or (
                        isinstance(v, tuple) and not all(np.isfinite(np.asarray(v, dtype=float))))
                    row[k] = None if undefined else (list(v) if isinstance(v, tuple) else v)
                    if undefined:
                        row[f"{k}_reason"] = reason(r, k)
                out.append(row)
            return out

        def summary_reason(r: dict[str, Any], key: str) -> str:
            metric, kind = _SUMMARY_KEYS.get(key, (None, "value"))
            return self.undefined_reason(r["scheme"], metric, kind) if metric else "undefined"

        def effects_reason(r: dict[str, Any], key: str) -> str:
            kind = {"ci_low": "ci", "ci_high": "ci", "relative_effect": "relative", "baseline": "baseline",
                    "naive_before_after": "naive", "naive_ci_low": "naive", "naive_ci_high": "naive"}.get(key, "value")
            return self.undefined_reason(r["scheme"], r["metric"], kind)

        def other_reason(r: dict[str, Any], key: str) -> str:
            if key.endswith(("ci_low", "ci_high")) and len(self.runs) < 2:
                return "an interval needs at least 2 replications"
            return "undefined: no customers (or a zero denominator) for it in these replications"

        return {"scenario": self.scenario.to_dict(), "economics": self.economics.to_dict(),
                "level": self.level, "replications": len(self.runs), "seeds": self.seeds,
                "summary": clean(self.summary(), summary_reason), "effects": clean(self.effects(), effects_reason),
                "member_gaps": clean(self.member_gaps, other_reason) if len(self.member_gaps) else [],
                "segments": clean(self.segments, other_reason) if len(self.segments) else [],
                "survey_draws": clean(self.survey_draws, other_reason) if len(self.survey_draws) else []}


#: metrics computed against the counterfactual already (no baseline value of their own)
_INCREMENTAL = ("incremental_profit", "incremental_profit_pv", "scheme_cost", "roi", "payback_week",
                "breakage_rate", "unredeemed_share", "liability_end_cost")

#: why a metric is undefined when it is undefined in every replication
_UNDEFINED: dict[str, str] = {
    "roi": "no scheme cost: ROI (incremental profit / scheme cost) is undefined",
    "payback_week": "cumulative incremental profit never stays at or above 0 within the horizon",
    "breakage_rate": "no scheme units issued, or a combination of several units",
    "unredeemed_share": "no scheme units issued, or a combination of several units",
    "retention_annual": "no customers alive at launch",
    "purchases_per_customer_week": "no customer alive after launch",
    "spend_per_customer_week": "no customer alive after launch",
    "mean_ticket": "no purchase after launch",
}

#: summary column -> (metric, kind of value) for the reasons of undefined values
_SUMMARY_KEYS: dict[str, tuple[str, str]] = {
    "purchases_per_customer_week_effect": ("purchases_per_customer_week", "value"),
    "purchases_ci": ("purchases_per_customer_week", "ci"),
    "purchases_relative_effect": ("purchases_per_customer_week", "relative"),
    "naive_before_after_purchases": ("purchases_per_customer_week", "naive"),
    "spend_per_customer_week_effect": ("spend_per_customer_week", "value"),
    "spend_relative_effect": ("spend_per_customer_week", "relative"),
    "retention_annual_effect": ("retention_annual", "value"),
    "retention_ci": ("retention_annual", "ci"),
    "incremental_profit": ("incremental_profit", "value"),
    "profit_ci": ("incremental_profit", "ci"),
    "roi": ("roi", "value"),
    "roi_ci": ("roi", "ci"),
    "payback_week": ("payback_week", "value"),
    "breakage_rate": ("breakage_rate", "value"),
}


def with_survey_draw(scenario: Scenario, survey: Any, seed: int) -> tuple[Scenario, dict[str, Any]]:
    """The scenario with one posterior draw of a customer survey's segment mix and take-up.

    The segment mix replaces the population's; the take-up replaces that of every opt-in
    scheme (parts of a combination included). The draw is keyed by ``seed`` so a
    replication always gets the same one.

    Returns
    -------
    (Scenario, dict)
        The scenario and the draw (``segment_mix``, ``take_up``).
    """
    from .calibration.survey import apply_survey

    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(zlib.crc32(b"survey"),))))
    mix, take = survey.draw(rng)

    def opt_in(s: Any) -> Any:
        upd: dict[str, Any] = {}
        if s.enrolment.mode == "opt_in":
            upd["enrolment"] = s.enrolment.model_copy(update={"take_up": take})
        if hasattr(s, "parts"):
            upd["parts"] = [opt_in(p) for p in s.parts]
        return s.model_copy(update=upd) if upd else s

    out = dataclasses.replace(scenario, params=apply_survey(scenario.params, survey, (mix, take)),
                              schemes=[opt_in(s) for s in scenario.schemes])
    return out, {"segment_mix": mix, "take_up": take}


@dataclass(frozen=True)
class _ReplicationInputs:
    """What every replication of a comparison shares (shipped to each worker once)."""

    scenario: Scenario
    economics: Economics
    survey: Any
    paired: bool
    workers: int


def _reduced(run: ScenarioRun) -> ScenarioRun:
    """The run without its per-customer tables: weekly series, ledgers and configuration only."""
    results = {k: dataclasses.replace(r, customers=r.customers.iloc[:0], transactions=None) for k, r in run.results.items()}
    return dataclasses.replace(run, results=results)


def _replicate(task: tuple[int, int, int, bool], shared: _ReplicationInputs) -> dict[str, Any]:
    """One replication (a task of :func:`compare`): its metrics, member gaps, segment effects, survey draw, run.

    ``task`` is (replication, population seed, simulation seed, keep the run whole); the run
    comes back reduced (:func:`_reduced`) unless asked whole, so what a worker returns
    does not grow with the population.
    """
    rep, pop_seed, sim_seed, whole = task
    scenario, workers = shared.scenario, shared.workers
    rep_scenario, draw = scenario, None
    if shared.survey is not None:
        rep_scenario, d = with_survey_draw(scenario, shared.survey, sim_seed)
        draw = {"replication": rep, "take_up": d["take_up"], **{f"share_{k}": v for k, v in d["segment_mix"].items()}}
    if shared.paired:
        run = run_scenario(rep_scenario, seed=sim_seed, population_seed=pop_seed, workers=workers)
    else:
        results = {}
        for j, sc in enumerate([None, *rep_scenario.schemes]):
            ps, ss = replication_seeds(sim_seed + 7919 * (j + 1), 1)[0]
            sub = run_scenario(rep_scenario, seed=ss, population_seed=ps, workers=workers,
                               schemes=[] if sc is None else [sc])
            results.update({"baseline": sub.baseline} if sc is None else {sc.name: sub.results[sc.name]})
        run = ScenarioRun(scenario=rep_scenario, results=results, seed=sim_seed)
    rows = [{"replication": rep, "scheme": name, "metric": m, "value": v}
            for name, mets in _run_metrics(run, shared.economics).items() for m, v in mets.items()]
    gaps, segs = [], []
    if shared.paired:
        for sc in scenario.schemes:
            gap = _member_gap(run, sc.name)
            if gap:
                gaps.append({"replication": rep, "scheme": sc.name, **gap})
            segs.append(_segment_effects(run, sc.name).assign(replication=rep))
    return {"rows": rows, "gaps": gaps, "segments": segs, "draw": draw, "run": run if whole else _reduced(run)}


def compare(scenario: Scenario, *, replications: int | None = None, level: float = 0.95,
            economics: Economics | None = None, workers: int = 1, progress: bool = False,
            paired: bool = True, survey: Any = None, executor: Any = None, whole_runs: int = 1) -> Comparison:
    """Run ``replications`` paired replications of a scenario and gather metrics and economics.

    Parameters
    ----------
    scenario : Scenario
    replications : int, optional
        Number of replications (default: the scenario's); intervals need at least 2.
    level : float
        Interval level.
    economics : Economics, optional
        Default: the preset's economics overridden by the scenario's ``economics:``.
    workers : int
        Processes per simulation when the replications run in this process (elsewhere 1).
    progress : bool
        Show a progress bar over replications.
    paired : bool
        True (default): scheme and baseline share customers and random numbers in each
        replication. False: each scheme gets its own seeds (for checking interval calibration).
    survey : SurveyEstimate, optional
        A customer survey (:func:`loyalty_sim.calibration.survey.read_survey`): each replication draws
        the segment mix and the opt-in take-up from their posteriors, so the intervals
        carry the survey's sampling uncertainty (see :func:`with_survey_draw`).
    executor : Executor, int or dask.distributed.Client, optional
        Where the replications run (:func:`loyalty_sim.executor.as_executor`; default: here).
        The result has the same bits on any executor.
    whole_runs : int
        Replications whose runs are kept whole in ``runs`` (the first; figures draw them);
        the others keep weekly series, ledgers and configuration, not per-customer tables.
    """
    from .executor import as_executor

    k = scenario.replications if replications is None else int(replications)
    if k < 1:
        raise ConfigError(f"must be >= 1, got {k}", field="replications")
    if not 0 < level < 1:
        raise ConfigError(f"must be in (0, 1), got {level}", field="level")
    econ = economics or Economics.from_mapping(scenario.economics, preset=scenario.preset or scenario.params.name,
                                                source=scenario.source)
    seeds = replication_seeds(scenario.seed, k)
    ex = as_executor(executor)
    shared = _ReplicationInputs(scenario=scenario, economics=econ, survey=survey, paired=paired,
                                workers=workers if ex.runs_here(k) else 1)  # no pool inside a pool
    tasks = [(rep, pop_seed, sim_seed, rep < whole_runs) for rep, (pop_seed, sim_seed) in enumerate(seeds)]
    what = f"scenario '{scenario.name}'"
    keys = [f"{what}, replication {rep}" + (f" (survey draw {rep})" if survey is not None else "") for rep in range(k)]
    done = ex.map(_replicate, tasks, desc="replications", keys=keys, shared=shared, progress=progress)
    rows = [r for d in done for r in d["rows"]]
    gaps = [g for d in done for g in d["gaps"]]
    segs = [s for d in done for s in d["segments"]]
    draws = [d["draw"] for d in done if d["draw"] is not None]
    runs = [d["run"] for d in done]
    per_rep = pd.DataFrame(rows)
    member_gaps = pd.DataFrame(gaps)
    if len(member_gaps):
        member_gaps = member_gaps.groupby("scheme").mean(numeric_only=True).drop(columns="replication")
        member_gaps["naive_over_causal"] = member_gaps["naive_gap"] / member_gaps["causal_effect_on_members"]
    segments = pd.DataFrame()
    if segs:
        allseg = pd.concat([s.reset_index() for s in segs], ignore_index=True)
        agg = []
        for (name, seg), grp in allseg.groupby(["scheme", "segment"], observed=True):
            est, lo, hi = interval(grp["purchases_effect"].to_numpy(), level)
            row = {"scheme": name, "segment": seg, "purchases_effect": est, "ci_low": lo, "ci_high": hi,
                   "purchases_baseline": float(grp["purchases_baseline"].mean())}
            for col in ("spend_effect", "retention_effect"):
                e, elo, ehi = interval(grp[col].to_numpy(), level)
                row.update({col: e, f"{col}_ci_low": elo, f"{col}_ci_high": ehi})
            agg.append(row)
        segments = pd.DataFrame(agg)
    return Comparison(scenario=scenario, economics=econ, level=level, runs=runs, seeds=seeds,
                      per_replication=per_rep, member_gaps=member_gaps, segments=segments,
                      survey_draws=pd.DataFrame(draws))


def sweep(scenario: Scenario, make_scheme: Any, values: list[float], *, name: str = "value",
          replications: int | None = None, level: float = 0.95, economics: Economics | None = None,
          progress: bool = False, executor: Any = None) -> pd.DataFrame:
    """Compare one scheme family over a grid of a parameter (e.g. discount depth), paired throughout.

    Parameters
    ----------
    scenario : Scenario
        Population, horizon and seeds (its own schemes are ignored).
    make_scheme : callable
        ``value -> SchemeConfig``; each scheme is named after its value.
    values : list of float
        The grid.
    name : str
        Column name of the swept parameter.
    executor : Executor, int or dask.distributed.Client, optional
        Where the replications run (see :func:`compare`).

    Returns
    -------
    DataFrame, one row per value: ``incremental_profit`` (+ ``_low``/``_high``), ``purchases_effect``,
    ``spend_effect``, ``scheme_cost``, ``revenue_effect``, ``roi``, ``retention_effect``.
    """
    import dataclasses

    schemes = []
    for v in values:
        sc = make_scheme(v)
        schemes.append(sc.model_copy(update={"name": f"{name}={v:g}"}))
    sub = dataclasses.replace(scenario, schemes=schemes)
    comp = compare(sub, replications=replications, level=level, economics=economics, progress=progress,
                   executor=executor)
    eff = comp.effects().set_index(["scheme", "metric"])
    rows = []
    for v, sc in zip(values, schemes):
        def g(metric: str, col: str = "effect", sc: Any = sc) -> float:
            return float(eff.loc[(sc.name, metric), col])
        rows.append({name: v, "incremental_profit": g("incremental_profit"),
                     "incremental_profit_low": g("incremental_profit", "ci_low"),
                     "incremental_profit_high": g("incremental_profit", "ci_high"),
                     "purchases_effect": g("purchases_per_customer_week", "relative_effect"),
                     "spend_effect": g("spend_per_customer_week", "relative_effect"),
                     "revenue_effect": g("revenue", "relative_effect"),
                     "scheme_cost": g("scheme_cost"), "roi": g("roi"),
                     "retention_effect": g("retention_annual")})
    out = pd.DataFrame(rows)
    out.attrs["comparison"] = comp
    return out
