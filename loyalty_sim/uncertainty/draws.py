"""Probabilistic sensitivity analysis: draws of the assumptions, each with paired runs of every scheme.

Design (a nested Monte Carlo with common random numbers):

* ``N`` draws of the uncertain behavioural parameters: scrambled Sobol' points (scrambling keyed
  by the scenario's seed) mapped through each prior's quantile function;
* each draw runs every scheme in ``R`` replications; replication ``r`` uses the customers and
  random numbers of replication ``r`` of the plain comparison
  (:func:`loyalty_sim.comparison.replication_seeds`) whatever the draw, so schemes, the
  counterfactual and the draws are all paired, and with every prior fixed a draw *is* the
  plain comparison;
* the counterfactual reads no behavioural parameter (no scheme, no response) and the customers
  do not depend on behaviour, so each replication's population and counterfactual are made once
  and reused by every draw (``R`` counterfactual runs instead of ``N x R``);
* before the launch week a scheme run is its counterfactual, so every scheme run starts from the
  counterfactual's blocks as they stood at the launch week (:class:`loyalty_sim.engine.LaunchState`)
  instead of replaying the weeks before it, with the same numbers;
* every run draws the same uniforms in the weeks after launch (they are keyed by what they are for,
  not by the run): the counterfactual keeps them, where they fit, and the scheme runs read them.

Every run is a :class:`Task` carrying its keys (draw, scheme, replication) and everything it
needs; :func:`run_task` runs one, and every list of tasks goes through :func:`_map`, the one place
that decides where they run. A task's result depends only on the task, never on the order or the
process it ran in.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ..behaviour import BehaviourParams
from ..economics import Economics, scheme_economics
from ..engine import simulate
from ..errors import ConfigError
from ..scenario import Scenario
from .priors import TAKE_UP, Prior, draw_parameters, priors, uncertain

#: metrics kept from each scheme run (from :func:`loyalty_sim.economics.scheme_economics`)
KEPT = ("incremental_profit", "incremental_profit_pv", "incremental_revenue", "scheme_cost", "roi")


@dataclass
class Task:
    """One simulation: the counterfactual of a replication (``scheme`` None, ``draw`` -1) or a scheme in a draw."""

    draw: int
    scheme: str | None
    replication: int
    seed: int
    population_seed: int
    scenario: Scenario
    behaviour: BehaviourParams | None = None
    economics: Economics | None = None
    population: Any = None
    baseline: Any = None
    take_up_scale: float = 1.0


def run_task(task: Task, shared: Any = None) -> dict[str, Any]:
    """Run one task (``shared``: per replication, the population and counterfactual it is paired with).

    Returns
    -------
    dict
        The keys (``draw``, ``scheme``, ``replication``) and, for a counterfactual, its ``population``
        and ``result``; for a scheme, the metrics of :data:`KEPT` against the task's baseline.
    """
    sc = task.scenario
    keys = {"draw": task.draw, "scheme": task.scheme, "replication": task.replication}
    if task.scheme is None:
        pop = sc.population(task.population_seed)
        res = simulate(pop, None, weeks=sc.weeks, seed=task.seed, launch_week=sc.launch_week, behaviour=sc.behaviour,
                       keep_launch_state=True)
        return {**keys, "population": pop, "result": res}
    scheme = scaled_take_up(next(s for s in sc.schemes if s.name == task.scheme), task.take_up_scale)
    population, baseline = (task.population, task.baseline) if shared is None else shared[task.replication]
    res = simulate(population, scheme, weeks=sc.weeks, seed=task.seed, launch_week=sc.launch_week,
                   behaviour=task.behaviour, resume=baseline.launch_state)
    econ = scheme_economics(res, baseline, task.economics)
    return {**keys, **{k: float(econ[k]) for k in KEPT}}


def is_opt_in(scheme: Any) -> bool:
    """Whether the scheme (or a part of a combination) enrols by opt-in."""
    return scheme.enrolment.mode == "opt_in" or any(is_opt_in(p) for p in getattr(scheme, "parts", []))


def scaled_take_up(scheme: Any, scale: float) -> Any:
    """The scheme with every opt-in take-up times ``scale`` (capped at 1); the same object when ``scale`` is 1."""
    if scale == 1.0:
        return scheme
    upd: dict[str, Any] = {}
    if scheme.enrolment.mode == "opt_in":
        upd["enrolment"] = scheme.enrolment.model_copy(update={"take_up": min(1.0, scheme.enrolment.take_up * scale)})
    if hasattr(scheme, "parts"):
        upd["parts"] = [scaled_take_up(p, scale) for p in scheme.parts]
    return scheme.model_copy(update=upd) if upd else scheme


def _map(fn: Callable[..., dict[str, Any]], tasks: Sequence[Task], workers: Any = 1,
         shared: Any = None) -> list[dict[str, Any]]:
    """The one place PSA tasks run: through :func:`loyalty_sim.executor.as_executor` (same results anywhere).

    ``workers`` is a number of local processes, an :class:`~loyalty_sim.executor.Executor` or a
    ``dask.distributed.Client``; ``shared`` (the replications' populations and counterfactuals) is
    shipped once, not with every task.
    """
    from ..executor import as_executor

    keys = [f"assumption draw {t.draw}, scheme {t.scheme or 'counterfactual'}, replication {t.replication}"
            for t in tasks]
    return as_executor(workers).map(fn, list(tasks), desc="assumption draws", keys=keys, shared=shared)


@dataclass
class PSA:
    """The draws and their paired runs.

    Attributes
    ----------
    scenario : Scenario
    economics : Economics
    priors : dict of Prior
        Every parameter's prior (fixed ones included).
    names : list of str
        The uncertain parameters (columns of ``unit``).
    unit : ndarray
        The Sobol' points (draws x uncertain parameters) on ``[0, 1)``.
    parameters : DataFrame
        Every parameter's value in every draw (index ``draw``).
    runs : DataFrame
        One row per draw, scheme and replication: the metrics of :data:`KEPT`.
    replications : int
    seeds : list of (int, int)
        (population seed, simulation seed) of each replication (the plain comparison's).
    reused : dict
        What was made once and shared by the draws, with counts.
    level : float
    """

    scenario: Scenario
    economics: Economics
    priors: dict[str, Prior]
    names: list[str]
    unit: np.ndarray
    parameters: pd.DataFrame
    runs: pd.DataFrame
    replications: int
    seeds: list[tuple[int, int]]
    reused: dict[str, Any] = field(default_factory=dict)
    level: float = 0.95

    @property
    def schemes(self) -> list[str]:
        return [s.name for s in self.scenario.schemes]

    @property
    def n_draws(self) -> int:
        return len(self.parameters)

    def values(self, metric: str = "incremental_profit") -> np.ndarray:
        """``metric`` as an array draws x replications x schemes."""
        t = self.runs.pivot_table(index=["draw", "replication"], columns="scheme", values=metric, aggfunc="first")
        t = t.reindex(columns=self.schemes)
        return t.to_numpy(dtype=float).reshape(self.n_draws, self.replications, len(self.schemes))

    def draw_means(self, metric: str = "incremental_profit") -> pd.DataFrame:
        """``metric`` per draw (mean over replications), one column per scheme."""
        return pd.DataFrame(self.values(metric).mean(axis=1), columns=self.schemes).rename_axis("draw")


def psa(scenario: Scenario, draws: int, *, replications: int = 2, economics: Economics | None = None,
        workers: Any = 1, level: float = 0.95, progress: bool = False) -> PSA:
    """Probabilistic sensitivity analysis of a scenario's schemes over the behavioural priors.

    Parameters
    ----------
    scenario : Scenario
        Its ``behaviour:`` section gives the point values and any own priors.
    draws : int
        Number of draws of the assumptions (``--uncertainty N``); a power of 2 balances the Sobol' points.
    replications : int
        Paired replications per draw (2 or more to split the noise from the assumptions).
    economics : Economics, optional
        Default: the preset's overridden by the scenario's ``economics:``.
    workers : int, Executor or dask.distributed.Client
        Where the runs go (:func:`_map`): local processes, an executor, a Dask client.
    level : float
        Interval level.
    progress : bool
        Print a line per phase.
    """
    from ..comparison import replication_seeds

    n, r = int(draws), int(replications)
    if n < 1:
        raise ConfigError(f"must be >= 1, got {n}", field="uncertainty")
    if r < 1:
        raise ConfigError(f"must be >= 1, got {r}", field="uncertainty_replications")
    econ = economics or Economics.from_mapping(scenario.economics, preset=scenario.params.name, source=scenario.source)
    prs = priors(scenario.behaviour, scenario.behaviour_priors, opt_in=any(is_opt_in(s) for s in scenario.schemes),
                 source=scenario.source)
    unit, values = draw_parameters(prs, n, scenario.seed)
    behaviours = [BehaviourParams(**{k: v for k, v in d.items() if k != TAKE_UP}) for d in values]
    scales = [float(d.get(TAKE_UP, 1.0)) for d in values]
    seeds = replication_seeds(scenario.seed, r)
    cf = _map(run_task, [Task(-1, None, k, seeds[k][1], seeds[k][0], scenario) for k in range(r)], workers)
    if progress:
        print(f"counterfactual: {r} run(s), reused by {n} draws")
    tasks = [Task(i, s.name, k, seeds[k][1], seeds[k][0], scenario, behaviours[i], econ, take_up_scale=scales[i])
             for i in range(n) for k in range(r) for s in scenario.schemes]
    rows = _map(run_task, tasks, workers, shared=[(cf[k]["population"], cf[k]["result"]) for k in range(r)])
    if progress:
        print(f"schemes: {len(rows)} run(s)")
    params = pd.DataFrame(values).rename_axis("draw")
    return PSA(scenario=scenario, economics=econ, priors=prs, names=uncertain(prs), unit=unit, parameters=params,
               runs=pd.DataFrame(rows), replications=r, seeds=seeds, level=level,
               reused={"counterfactual_runs": r, "counterfactual_runs_without_reuse": n * r,
                       "populations": r, "scheme_runs": len(rows),
                       "weeks_before_launch": scenario.launch_week if 0 < scenario.launch_week < scenario.weeks else 0,
                       "uniforms_after_launch": all(c["result"].launch_state is not None
                                                    and c["result"].launch_state.holds_uniforms for c in cf)})


def collapsed(scenario: Scenario) -> Scenario:
    """The scenario with every prior fixed at its point value (a PSA of it is the plain comparison)."""
    fixed = {p: {"fixed": float(v)} for p, v in scenario.behaviour.to_dict().items()}
    return dataclasses.replace(scenario, behaviour_priors={**fixed, TAKE_UP: {"fixed": 1.0}})
