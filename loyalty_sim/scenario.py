"""Scenario files: a population, a horizon, a launch week and candidate schemes.

A scenario runs the baseline and every scheme on the same customers and the same
random numbers (common random numbers), so the differences are the schemes' effects.

Example (the shipped ``loyalty_sim/scenarios/*.yaml``, loaded by name: ``load_scenario("coffee_comparison")``)::

    name: coffee stamp card
    preset: coffee_shop
    customers: 20000
    weeks: 104
    launch_week: 26
    seed: 1
    behaviour: {goal_gradient: 0.2}      # optional overrides of the behaviour table; for --uncertainty a
                                         # parameter can be {fixed: 0.2} or {low: 0.1, high: 0.3} (its prior)
    population: {arrivals: none}         # optional overrides of the preset
    # or this shop's customers, fitted to its log (path relative to this file):
    # population: {log: sales.csv, calibration_end: auto, fill_from: grocery, duplicates: keep}
    schemes:
      - {type: stamp_card, name: stamp10, stamps_required: 10, reward_value: 4.5, reward_cost: 1.2}
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .behaviour import BehaviourParams
from .engine import simulate
from .errors import ConfigError
from .memory import check_memory, estimate_memory, memory_limit
from .population import Population, PopulationParams, available_presets, load_preset, params_from_mapping
from .result import SimulationResult
from .schemes import SchemeConfig, population_errors, scheme_from_dict, validation_error
from .schemes.common import MAX_WEEKS

#: Currency of a scenario that names none: one neutral default for every preset (display only).
DEFAULT_CURRENCY = "EUR"
#: A currency is 1-8 letters, currency symbols or dots ("EUR", "€", "US$", "kr."): never markup.
CURRENCY_PATTERN = r"^[\p{L}\p{Sc}.]{1,8}$"
#: ... in a reader's words, for an error
CURRENCY_WORDS = "expected 1-8 letters, currency symbols or dots, such as EUR, € or US$"

#: Most customers a scenario file may name (the population at week 0): a finite bound for the
#: file format only; whether a run fits is decided by the memory estimate, which names the limit.
MAX_CUSTOMERS = 10**12
#: Largest seed (the range numpy's SeedSequence and the file format keep exactly).
MAX_SEED = 2**63 - 1


class _ScenarioFile(BaseModel):
    """The top level of a scenario file (schemes are validated by their family).

    Bounds: ``customers`` 1..:data:`MAX_CUSTOMERS`, ``weeks`` 1..``MAX_WEEKS`` (5,200),
    ``launch_week`` before ``weeks``, ``seed`` 0..:data:`MAX_SEED`, ``replications`` 1..1,000.
    """

    model_config = ConfigDict(extra="forbid")
    name: str = Field("scenario", min_length=1)
    description: str = ""
    preset: str = "coffee_shop"
    population: dict[str, Any] = Field(default_factory=dict)
    customers: int = Field(10_000, ge=1, le=MAX_CUSTOMERS)
    weeks: int = Field(104, ge=1, le=MAX_WEEKS)
    launch_week: int = Field(0, ge=0, le=MAX_WEEKS)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    replications: int = Field(1, ge=1, le=1000)
    behaviour: dict[str, Any] = Field(default_factory=dict)
    economics: dict[str, Any] = Field(default_factory=dict)
    currency: str = Field(DEFAULT_CURRENCY, pattern=CURRENCY_PATTERN)
    schemes: list[Any] = Field(min_length=1)
    #: where a scenario written into an output came from (:meth:`Scenario.to_dict`); provenance only
    source: str | None = None
    #: the log a population was fitted to and what was assumed (:meth:`Scenario.to_dict`); provenance only
    calibrated_from: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _check(self) -> "_ScenarioFile":
        if self.launch_week >= self.weeks:
            raise ValueError(f"launch_week ({self.launch_week}) must be before the horizon end (weeks={self.weeks})")
        return self


class _SweepFile(_ScenarioFile):
    """A scenario for a sweep, which makes its own schemes: ``schemes`` may be left out."""

    schemes: list[Any] = Field(default_factory=list)


@dataclass
class Scenario:
    """A validated scenario.

    Attributes
    ----------
    name : str
    params : PopulationParams
    customers, weeks, launch_week, seed, replications : int
    behaviour : BehaviourParams
    behaviour_priors : dict
        Priors the ``behaviour:`` section gives (``{fixed: v}`` or ``{low, high, mode?, weight?}``), read by
        :func:`loyalty_sim.uncertainty.priors.priors`; the other parameters keep the table's.
    schemes : list of SchemeConfig
    economics : dict
        The scenario's economics settings (overrides of the preset's), validated at load
        by :class:`loyalty_sim.economics.Economics`.
    source : str or None
        The file it came from.
    currency : str
        Shown on every amount of money in its reports and console text (a symbol or an
        ISO code: ``"€"``, ``"EUR"``; default :data:`DEFAULT_CURRENCY`). Display only.

    ``scenario_from_mapping(sc.to_dict())`` gives back an equal scenario.
    """

    name: str
    params: PopulationParams
    customers: int
    weeks: int
    launch_week: int
    seed: int
    schemes: list[SchemeConfig]
    behaviour: BehaviourParams = field(default_factory=BehaviourParams)
    replications: int = 1
    economics: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    #: the :class:`~loyalty_sim.calibration.calibrate.CalibratedPopulation` the customers were fitted from
    calibration: Any = field(default=None, compare=False, repr=False)
    #: the preset the economics defaults (and, on a log, the unidentified traits) come from
    preset: str | None = field(default=None, compare=False)
    currency: str = "EUR"
    behaviour_priors: dict[str, dict[str, float]] = field(default_factory=dict)

    def population(self, seed: int | None = None) -> Population:
        """The scenario's customers (seed defaults to the scenario's); a size that cannot fit names the file."""
        try:
            return Population(self.params, size=self.customers, weeks=self.weeks,
                              seed=self.seed if seed is None else seed)
        except ConfigError as exc:
            if exc.source or not self.source:
                raise
            raise ConfigError(exc.message, field=exc.field, source=self.source) from None

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form, written into every output; :func:`scenario_from_mapping` reads it back."""
        return {"name": self.name, "preset": (self.preset if self.calibration is not None and self.preset
                                               else self.params.name), "population": self.params.to_dict(),
                "customers": self.customers,
                "weeks": self.weeks, "launch_week": self.launch_week, "seed": self.seed,
                "replications": self.replications,
                "behaviour": {**self.behaviour.to_dict(), **{k: dict(v) for k, v in self.behaviour_priors.items()}},
                "economics": dict(self.economics), "schemes": [s.to_dict() for s in self.schemes],
                "currency": self.currency,
                "source": self.source, "calibrated_from": self.calibrated_from()}

    def calibrated_from(self) -> dict[str, Any] | None:
        """The log the customers were fitted to, its counts, fit check and assumptions (None for a preset)."""
        if self.calibration is None:
            return None
        return self.calibration.describe(self.customers)

    def statements(self) -> list[str]:
        """What every output on a log states (counts, holdout, fit check, assumptions); empty for a preset."""
        return [] if self.calibration is None else self.calibration.describe(self.customers)["statements"]


def scenario_from_mapping(raw: Mapping[str, Any], *, source: str | None = None, require_schemes: bool = True,
                          **overrides: Any) -> Scenario:
    """Validate a scenario mapping; ``overrides`` (customers, weeks, seed, ...) replace the file's values.

    ``require_schemes=False`` accepts a scenario without schemes, for
    :func:`loyalty_sim.comparison.sweep`, which makes its own.
    """
    if not isinstance(raw, Mapping):
        raise ConfigError("a scenario file must be a mapping with a 'schemes' list", source=source)
    data = {**raw, **{k: v for k, v in overrides.items() if v is not None}}
    try:
        top = (_ScenarioFile if require_schemes else _SweepFile).model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, source=source, path="scenario", patterns={CURRENCY_PATTERN: CURRENCY_WORDS}) from None
    source = source if source is not None else top.source
    calibration = None
    if "log" in top.population:
        calibration = _log_calibration(top, source)
        params = calibration.params
        if "customers" not in data:
            top.customers = calibration.shop.default_size
    else:
        params = _population(top, source)
    from .uncertainty.priors import priors, split_behaviour_section

    points, behaviour_priors = split_behaviour_section(top.behaviour, source=source)
    behaviour = BehaviourParams.from_mapping(points, source=source)
    priors(behaviour, behaviour_priors, source=source)  # a prior that cannot be drawn fails here
    from .economics import Economics

    preset = (calibration.shop.fill_from if calibration is not None
              else top.preset if top.preset in available_presets() else params.name)
    Economics.from_mapping(top.economics, preset=preset, source=source)  # validate early: a wrong key fails here
    schemes = [scheme_from_dict(s, source=source, path=f"schemes[{i}]") for i, s in enumerate(top.schemes)]
    for i, sc in enumerate(schemes):  # settings the population cannot serve: refused here, not mid-run
        for where, msg in population_errors(sc, params, path=f"schemes[{i}]"):
            raise ConfigError(msg, field=where, source=source)
    names = [s.name for s in schemes]
    dup = sorted({n for n in names if names.count(n) > 1} | ({"baseline"} & set(names)))
    if dup:
        raise ConfigError(f"scheme names must be unique and not 'baseline'; repeated or reserved: {dup}",
                          field="schemes", source=source)
    return Scenario(name=top.name, params=params, customers=top.customers, weeks=top.weeks,
                    launch_week=top.launch_week, seed=top.seed, schemes=schemes, behaviour=behaviour,
                    replications=top.replications, economics=dict(top.economics), source=source,
                    calibration=calibration, preset=preset, currency=top.currency,
                    behaviour_priors=behaviour_priors)


class _LogPopulation(BaseModel):
    """``population: {log: FILE, ...}``: this shop's customers, fitted to its log."""

    model_config = ConfigDict(extra="forbid")
    log: str = Field(min_length=1)
    calibration_end: str | None = "auto"
    fill_from: str | None = None
    survey: str | None = None
    format: str = "auto"
    columns: dict[str, str] | None = None
    date_format: str | None = None
    separator: str | None = None
    header: str = "auto"
    duplicates: str = "keep"
    returns: str = "error"


def _log_calibration(top: _ScenarioFile, source: str | None) -> Any:
    """Calibrate on the log a scenario's ``population:`` names (a path relative to the scenario file)."""
    from .calibration.calibrate import calibrate

    try:
        spec = _LogPopulation.model_validate(top.population)
    except ValidationError as exc:
        raise validation_error(exc, source=source, path="population") from None
    base = Path(source).parent if source and Path(source).is_file() else Path(".")
    def here(p: str) -> str:
        return str(p if Path(p).is_absolute() else base / p)
    log = Path(here(spec.log))
    if not log.is_file():
        raise ConfigError(f"no log file '{log}'", field="population.log", source=source)
    fill = spec.fill_from or top.preset
    if fill not in available_presets():
        raise ConfigError(f"unknown preset '{fill}'; available presets: {', '.join(available_presets())}",
                          field="population.fill_from", source=source)
    end = spec.calibration_end
    if end not in (None, "auto"):
        from .dates import parse_iso_date

        try:
            end = str(parse_iso_date(end, "population.calibration_end").date())
        except ConfigError as exc:
            raise ConfigError(exc.message, field="population.calibration_end", source=source) from None
    read = {"duplicates": spec.duplicates, **spec.model_dump(exclude_unset=True, exclude={
        "log", "calibration_end", "fill_from", "survey"})}
    try:
        return calibrate(log, calibration_end=end, fill_from=fill,
                         survey=here(spec.survey) if spec.survey else None, **read)
    except ConfigError as exc:  # a setting of the file's population: name the file and the field
        if exc.source:
            raise
        raise ConfigError(exc.message, field=f"population.{exc.field}" if exc.field else "population",
                          source=source) from None


def _preset_of(scenario: Scenario) -> str:
    """The shipped preset a scenario's unidentified traits and economics come from."""
    for name in (scenario.preset, scenario.params.name):
        if name in available_presets():
            return name
    return "coffee_shop"


def scenarios_on_log(scenarios: Mapping[str, Scenario], log: Any, *, calibration_end: Any = "auto",
                     fill_from: str | None = None, customers: int | None = None,
                     **read_options: Any) -> tuple[dict[str, Scenario], Any]:
    """Several scenarios on one calibration of ``log`` (reports 01, 02, 03, 05 with ``-p log FILE``).

    ``fill_from`` defaults to the first scenario's preset; returns the scenarios and the
    :class:`~loyalty_sim.calibration.calibrate.CalibratedPopulation`.
    """
    from .calibration.calibrate import calibrate

    first = next(iter(scenarios.values()))
    cal = calibrate(log, calibration_end=calibration_end, fill_from=fill_from or _preset_of(first), **read_options)
    return {k: with_log(sc, cal, customers=customers) for k, sc in scenarios.items()}, cal


def with_log(scenario: Scenario, log: Any, *, calibration_end: Any = "auto", fill_from: str | None = None,
             customers: int | None = None, survey: Any = None, **read_options: Any) -> Scenario:
    """``scenario`` on this shop's customers: fitted to ``log`` (a path, TransactionLog or CalibratedPopulation).

    ``customers`` (default: the customers expected active at the log's end) is the simulated
    size; the scaling is stated in :meth:`Scenario.statements`. ``fill_from`` defaults to the
    scenario's preset.
    """
    from .calibration.calibrate import CalibratedPopulation, calibrate

    cal = log if isinstance(log, CalibratedPopulation) else calibrate(
        log, calibration_end=calibration_end, fill_from=fill_from or _preset_of(scenario), survey=survey,
        **read_options)
    params = cal.params
    for i, sc in enumerate(scenario.schemes):
        for where, msg in population_errors(sc, params, path=f"schemes[{i}]"):
            raise ConfigError(f"{msg} (the log's customers)", field=where, source=scenario.source)
    return dataclasses.replace(scenario, params=params, calibration=cal, preset=cal.shop.fill_from,
                               customers=cal.shop.default_size if customers is None else customers)


def scheme_named(scenario: Scenario, name: str) -> SchemeConfig:
    """The scheme called ``name`` in ``scenario``.

    Raises
    ------
    ConfigError
        No such scheme (field ``scheme``; the message lists the scenario's schemes).
    """
    for s in scenario.schemes:
        if s.name == name:
            return s
    where = scenario.source or scenario.name
    raise ConfigError(f"scheme '{name}' is not in {where}; it has {[s.name for s in scenario.schemes]}", field="scheme")


def _population(top: _ScenarioFile, source: str | None) -> PopulationParams:
    """The preset with the file's ``population:`` overrides.

    A scenario written by :meth:`Scenario.to_dict` carries every population field; it
    loads back even when its ``preset`` names no shipped preset (a custom or fitted population).
    """
    if top.preset not in available_presets():
        required = {f.name for f in dataclasses.fields(PopulationParams)
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
        if not required <= set(top.population):
            raise ConfigError(f"unknown preset '{top.preset}'; available presets: {', '.join(available_presets())}",
                              field="preset", source=source)
        try:
            return params_from_mapping({**top.population, "name": top.population.get("name", top.preset)})
        except ConfigError as exc:
            raise ConfigError(exc.message, field=f"population.{exc.field}" if exc.field else "population",
                              source=source) from None
    try:
        params = load_preset(top.preset)
        return params.replace(**top.population) if top.population else params
    except ConfigError as exc:
        raise ConfigError(exc.message, field=f"population.{exc.field}" if exc.field else "population",
                          source=source) from None


def load_scenario(path: str | os.PathLike, **overrides: Any) -> Scenario:
    """Read and validate a scenario YAML file (never modified), or a shipped scenario by name.

    ``path`` is a file, or the name of a shipped example (``"coffee_comparison"``,
    :func:`available_scenarios`) when no file of that name exists.

    Raises
    ------
    ConfigError
        Naming the file, the field path (``schemes[1].thresholds``) and what was expected.
    """
    from .files import load_yaml

    if not Path(path).is_file():
        path = _shipped(path) or path  # a missing file that is not a shipped name fails in load_yaml, as before
    return scenario_from_mapping(load_yaml(path), source=str(Path(path)), **overrides)


@dataclass
class ScenarioRun:
    """Results of one replication: the baseline and each scheme, same customers and random numbers."""

    scenario: Scenario
    results: dict[str, SimulationResult]
    seed: int

    @property
    def baseline(self) -> SimulationResult:
        """The run without any scheme."""
        return self.results["baseline"]

    def summary(self) -> dict[str, Any]:
        """Per-scheme summaries with the change against the baseline (JSON-able)."""
        base = self.baseline.summary()
        out = {"scenario": self.scenario.name, "seed": self.seed, "launch_week": self.scenario.launch_week,
               "schemes": {}}
        for name, res in self.results.items():
            s = res.summary()
            if name != "baseline":
                for key in ("transactions", "revenue"):
                    if base[key] > 0:
                        s[f"{key}_change_pct"] = 100.0 * (s[key] / base[key] - 1.0)
                    else:  # no baseline to compare with: undefined, with the reason beside it
                        s[f"{key}_change_pct"] = None
                        s[f"{key}_change_pct_reason"] = f"the baseline has no {key}"
                w = res.weekly
                s["reward_cost"] = round(float(w["reward_cost"].sum()), 2)
                s["discount"] = round(float(w["discount"].sum()), 2)
            out["schemes"][name] = s
        return out


def run_scenario(scenario: Scenario, *, seed: int | None = None, population_seed: int | None = None,
                 output: str = "aggregate", workers: int = 1, progress: bool = False,
                 schemes: list[SchemeConfig] | None = None) -> ScenarioRun:
    """Run the baseline and every scheme on the same customers and random numbers.

    Parameters
    ----------
    scenario : Scenario
    seed : int, optional
        Seed of the weekly random numbers (default: the scenario's).
    population_seed : int, optional
        Seed of the customers' traits (default: same as ``seed``).
    output, workers, progress
        Passed to :func:`loyalty_sim.engine.simulate`.
    schemes : list, optional
        Run these instead of the scenario's schemes.
    """
    seed = scenario.seed if seed is None else seed
    pop = scenario.population(seed if population_seed is None else population_seed)
    todo = scenario.schemes if schemes is None else schemes
    # the baseline's and every scheme's results are held at once
    def need(keep: bool) -> int:
        return estimate_memory(pop.n_customers, scenario.weeks, params=pop.params, output=output, workers=workers,
                               scheme=bool(todo), results_held=1 + len(todo), size=pop.size, launch_state=keep)

    # the schemes start from the baseline's launch week (the weeks before it are the same in every run) when
    # memory allows
    keep = bool(todo) and 0 < scenario.launch_week < scenario.weeks and need(True) <= memory_limit()[0]
    check_memory(need(keep), what=f"this scenario ({1 + len(todo)} runs of {pop.n_customers:,} customers)")
    baseline = simulate(pop, None, weeks=scenario.weeks, seed=seed, launch_week=scenario.launch_week,
                        output=output, workers=workers, behaviour=scenario.behaviour, keep_launch_state=keep)
    start, baseline.launch_state = baseline.launch_state, None
    results = {"baseline": baseline}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(todo, desc="schemes", unit="scheme")
        todo = bar
    for sc in todo:
        results[sc.name] = simulate(pop, sc, weeks=scenario.weeks, seed=seed, launch_week=scenario.launch_week,
                                    output=output, workers=workers, behaviour=scenario.behaviour, resume=start)
    return ScenarioRun(scenario=scenario, results=results, seed=seed)


#: Folder of the example scenario files: package data (``loyalty_sim/scenarios``), read with importlib.resources.
SCHEME_DIR = Path(str(resources.files(__package__) / "scenarios"))  # a regular install is a folder on disk


def available_scenarios() -> list[str]:
    """Names of the shipped example scenarios (``"coffee_comparison"``)."""
    return sorted(p.name[:-5] for p in SCHEME_DIR.iterdir() if p.is_file() and p.name.endswith(".yaml"))


def _shipped(name_or_path: str | os.PathLike) -> Path | None:
    """The shipped scenario a bare name (``coffee_comparison``, ``coffee_comparison.yaml``) means, if any."""
    text = os.fspath(name_or_path)
    seps = {"/", "\\", os.sep} | ({os.altsep} if os.altsep else set())
    if not isinstance(text, str) or any(c in text for c in seps):
        return None
    stem = text[:-5] if text.endswith(".yaml") else text
    return Path(str(SCHEME_DIR / f"{stem}.yaml")) if stem in available_scenarios() else None


def find_scenario(name_or_path: str | os.PathLike) -> Path:
    """A scenario file by path, or a shipped scenario by name (``"coffee_comparison"``).

    A file at the path given wins over a shipped scenario of the same name.
    """
    p = Path(name_or_path)
    if p.is_file():
        return p
    cand = _shipped(name_or_path)
    if cand is not None:
        return cand
    raise ConfigError(f"no scenario file '{name_or_path}'; give a path or one of {available_scenarios()}",
                      field="scenario")
