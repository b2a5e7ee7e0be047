"""What a pilot measures, shared by the design and the review: outcomes, groups, windows.

The design (:mod:`loyalty_sim.trial.design`) simulates the outcomes a pilot would see;
the review (:mod:`loyalty_sim.trial.review`) measures them in a log. Both analyse the
customers active in the pre-period, and both estimate retention by CUPED on the
pre-period purchase frequency, so that the power computed before the pilot is the
power of the review run after it.

Contents
--------
DESIGN_METRICS, LABELS, REVIEW_METRICS, GROUPS
    The outcomes of the design and of the review, their plain names, and the groups.
PilotWindow, pilot_window, parse_day, day_text, day_numbers
    The pilot window and pre-period as calendar day numbers.
log_frame, LogTotals, log_totals, unit_outcomes
    A log as a checked frame; every log customer's totals in the two periods; the
    review's per-customer outcomes from them.
resolve_scheme, pilot_population
    The scheme to pilot (from an object, a mapping, a file or a name) and the population.
SimulatedOutcomes, simulate_outcomes, window_total, metric_method
    Per-customer outcomes of a simulated pilot (baseline and scheme by common random
    numbers) and the estimator of each outcome.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError
from ..ids import merge_codes, normalise_ids
from ..logs import TransactionLog, read_log

__all__ = ["DESIGN_METRICS", "GROUPS", "LABELS", "LogTotals", "MAX_DEFAULT_PRE_WEEKS", "PilotWindow", "REVIEW_METRICS",
           "SimulatedOutcomes", "UnitOutcomes", "day_numbers", "day_text", "metric_method", "parse_day",
           "log_frame", "log_totals", "pilot_population", "pilot_window", "resolve_scheme", "simulate_outcomes", "unit_outcomes", "window_total"]

#: Outcome of the design -> unit.
DESIGN_METRICS: dict[str, str] = {
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


#: Metrics of the review: name -> (label, unit).
REVIEW_METRICS: dict[str, tuple[str, str]] = {
    "purchases_per_week": ("purchase frequency", "purchases per customer per week"),
    "spend_per_week": ("spend per customer", "currency per customer per week"),
    "mean_ticket": ("mean ticket", "currency per purchase"),
    "retention": ("retention", "share of pre-period-active customers who bought during the pilot"),
}
GROUPS = ("pilot", "control")
#: Default pre-period of a review: as many whole weeks as the log holds, up to this many.
MAX_DEFAULT_PRE_WEEKS = 52


# --------------------------------------------------------------------------- windows


def day_numbers(ts: pd.Series) -> np.ndarray:
    """Calendar day numbers (days since 1970-01-01) of wall-clock timestamps."""
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        ts = ts.dt.tz_localize(None)
    return ts.to_numpy().astype("datetime64[D]").astype(np.int64)

def parse_day(value: Any, name: str) -> int:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        ts = None
    if ts is None or ts is pd.NaT:
        raise ConfigError(f"expected a date like 2026-03-02, got {value!r}", field=name)
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return int(np.datetime64(ts.normalize().date(), "D").astype(np.int64))

def day_text(day: int) -> str:
    return str(np.datetime64(int(day), "D"))

@dataclass
class PilotWindow:
    """The pilot window ``start..end`` and the pre-period ``pre_start..pre_end`` (day numbers, ends included)."""

    start: int
    end: int
    pre_start: int
    pre_end: int

    @property
    def pilot_weeks(self) -> float:
        return (self.end - self.start + 1) / 7.0

    @property
    def pre_weeks(self) -> float:
        return (self.pre_end - self.pre_start + 1) / 7.0

def pilot_window(start: Any, end: Any, pre_weeks: Any, pre_period: Any, first: int, last: int, source: str) -> PilotWindow:
    s, e = parse_day(start, "start"), parse_day(end, "end")
    if e < s:
        raise ConfigError(f"the pilot ends ({day_text(e)}) before it starts ({day_text(s)}); dates reversed?", field="end")
    if s > last:
        raise DataError(f"the pilot starts on {day_text(s)}, after the log's last purchase ({day_text(last)})",
                        source=source, column="timestamp")
    if e > last:
        raise DataError(f"the pilot window ends on {day_text(e)} but the log's last purchase is on {day_text(last)}: the "
                        f"log does not cover the pilot window (pass an end date within the log)", source=source,
                        column="timestamp")
    if s <= first:
        raise DataError(f"no pre-period in the log: its first purchase is on {day_text(first)} and the pilot starts on "
                        f"{day_text(s)}", source=source, column="timestamp")
    if pre_period is not None:
        if pre_weeks is not None:
            raise ConfigError("give pre_weeks or pre_period, not both", field="pre_period")
        try:
            p0, p1 = pre_period
        except (TypeError, ValueError):
            raise ConfigError(f"expected (first day, last day), got {pre_period!r}", field="pre_period") from None
        p0, p1 = parse_day(p0, "pre_period"), parse_day(p1, "pre_period")
        if p1 < p0:
            raise ConfigError(f"the pre-period ends ({day_text(p1)}) before it starts ({day_text(p0)})", field="pre_period")
        if p1 >= s:
            raise ConfigError(f"the pre-period ({day_text(p0)} to {day_text(p1)}) overlaps the pilot window, which starts "
                              f"on {day_text(s)}", field="pre_period")
        if p0 < first:
            raise DataError(f"the pre-period starts on {day_text(p0)}, before the log's first purchase ({day_text(first)})",
                            source=source, column="timestamp")
        return PilotWindow(s, e, p0, p1)
    available = (s - first) // 7
    if pre_weeks is None:
        if available < 1:
            raise DataError(f"no pre-period in the log: it has {s - first} day(s) before the pilot starts on "
                            f"{day_text(s)}; at least one whole week is needed", source=source, column="timestamp")
        k = int(min(available, MAX_DEFAULT_PRE_WEEKS))
    else:
        if isinstance(pre_weeks, bool) or not isinstance(pre_weeks, (int, np.integer)) or pre_weeks < 1:
            raise ConfigError(f"expected a whole number of weeks >= 1, got {pre_weeks!r}", field="pre_weeks")
        k = int(pre_weeks)
        if k > available:
            raise DataError(f"a {k}-week pre-period would start on {day_text(s - 7 * k)}, before the log's first purchase "
                            f"({day_text(first)}); use pre_weeks <= {available}", source=source, column="timestamp")
    return PilotWindow(s, e, s - 7 * k, s - 1)


# --------------------------------------------------------------------------- simulated outcomes


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

def pilot_population(population: Any, *, customers: int | None, weeks: int, seed: int) -> Any:
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

@dataclass
class SimulatedOutcomes:
    """Per-customer outcomes of the analysed customers (active in the pre-period).

    ``data[(metric, L)] = (pre, baseline_post, scheme_post)``; ``ids`` the customers,
    ``pre_spend`` their pre-period spend (for strata).
    """

    ids: np.ndarray
    pre_spend: np.ndarray
    data: dict[tuple[str, int], tuple[np.ndarray, np.ndarray, np.ndarray]]
    n_customers_simulated: int
    seconds: float = 0.0

def window_total(customers: pd.DataFrame, kind: str, edges: Sequence[int], lo: int, hi: int) -> np.ndarray:
    total = np.zeros(len(customers))
    for a, b in zip(edges, edges[1:]):
        if a >= lo and b <= hi:
            total += customers[f"{kind}_w{a}_{b}"].to_numpy(dtype=float)
    return total

def simulate_outcomes(pop: Any, scheme: Any, *, pre_weeks: int, lengths: Sequence[int], seed: int,
                       behaviour: Any) -> SimulatedOutcomes:
    """Simulate baseline and scheme (common random numbers) and extract per-customer outcomes."""
    import time

    from ..engine import simulate

    t0 = time.perf_counter()
    horizon = pre_weeks + max(lengths)
    edges = sorted({0, pre_weeks, horizon} | {pre_weeks + L for L in lengths})
    kw = dict(weeks=horizon, seed=seed, launch_week=pre_weeks, windows=edges, behaviour=behaviour)
    base = simulate(pop, None, **kw).customers
    sch = simulate(pop, scheme, **kw).customers
    base_tx_pre = window_total(base, "transactions", edges, 0, pre_weeks)
    active = base_tx_pre > 0
    base = base.loc[active].reset_index(drop=True)
    sch = sch.set_index("customer_id").reindex(base["customer_id"]).reset_index()
    tx_pre = base_tx_pre[active]
    rev_pre = window_total(base, "revenue", edges, 0, pre_weeks)
    data: dict[tuple[str, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for L in lengths:
        hi = pre_weeks + L
        tb = window_total(base, "transactions", edges, pre_weeks, hi)
        ts = window_total(sch, "transactions", edges, pre_weeks, hi)
        rb = window_total(base, "revenue", edges, pre_weeks, hi)
        rs = window_total(sch, "revenue", edges, pre_weeks, hi)
        data[("frequency", L)] = (tx_pre / pre_weeks, tb / L, ts / L)
        data[("spend", L)] = (rev_pre / pre_weeks, rb / L, rs / L)
        # retention is 1 for everyone before the pilot: CUPED on the pre-period frequency (as the review does)
        data[("retention", L)] = (tx_pre / pre_weeks, (tb > 0).astype(float), (ts > 0).astype(float))
    return SimulatedOutcomes(ids=base["customer_id"].to_numpy(), pre_spend=rev_pre, data=data,
                     n_customers_simulated=int(len(active)), seconds=time.perf_counter() - t0)

def metric_method(metric: str, method: str) -> str:
    """The estimator of ``metric``: retention is CUPED on pre-period frequency whatever ``method`` (as in the review)."""
    if metric == "retention":
        return "diff" if method == "diff" else "cuped"
    return method


# --------------------------------------------------------------------------- outcomes of a log


def log_frame(log: TransactionLog | pd.DataFrame | str | os.PathLike,
               read_options: Mapping[str, Any] | None) -> tuple[pd.DataFrame, str]:
    """The log as a frame with parsed ``timestamp`` and numeric ``amount`` (a path is read by ``read_log``), and its source."""
    if isinstance(log, TransactionLog):
        return log.data, log.report.source
    if isinstance(log, pd.DataFrame):
        source = "log"
        data = log
        if "timestamp" not in data.columns and "date" in data.columns:
            data = data.rename(columns={"date": "timestamp"})
        for col in ("customer_id", "timestamp", "amount"):
            if col not in data.columns:
                raise DataError(f"required column '{col}' not found; columns present: {list(log.columns)}",
                                source=source, column=col)
        if not pd.api.types.is_datetime64_any_dtype(data["timestamp"]):
            try:
                ts = pd.to_datetime(data["timestamp"], format="ISO8601")
            except (ValueError, TypeError) as exc:
                raise DataError(f"cannot parse dates: {exc}", source=source, column="timestamp") from None
            data = data.assign(timestamp=ts)
        amount = pd.to_numeric(data["amount"], errors="coerce")
        bad = ~np.isfinite(amount.to_numpy(dtype=float))
        if bad.any():
            raise DataError("missing or non-numeric amounts", source=source, column="amount",
                            rows=[int(v) + 1 for v in np.flatnonzero(bad)[:5]])
        bad_ts = data["timestamp"].isna().to_numpy()
        if bad_ts.any():
            raise DataError("missing dates", source=source, column="timestamp",
                            rows=[int(v) + 1 for v in np.flatnonzero(bad_ts)[:5]])
        if data["customer_id"].isna().any():
            raise DataError("missing customer ids", source=source, column="customer_id",
                            rows=[int(v) + 1 for v in np.flatnonzero(data["customer_id"].isna().to_numpy())[:5]])
        return data.assign(amount=amount), source
    path = Path(log)
    if not path.exists():
        raise DataError("log file not found", source=str(path))
    tl = read_log(path, **dict(read_options or {}))
    return tl.data, tl.report.source


@dataclass
class LogTotals:
    """Per log customer (codes by normalised id): purchases, spend and rows in the pre-period and the window.

    ``c, d, a, pre_row, purchase`` are the customer code, day, amount, pre-period flag and
    purchase flag of each row inside the two windows.
    """

    keys: np.ndarray
    use: np.ndarray
    c: np.ndarray
    d: np.ndarray
    a: np.ndarray
    pre_row: np.ndarray
    purchase: np.ndarray
    tx_pre: np.ndarray
    tx_post: np.ndarray
    sp_pre: np.ndarray
    sp_post: np.ndarray
    active_pre: np.ndarray
    seen_post: np.ndarray

    @property
    def n(self) -> int:
        """Customers of the log."""
        return len(self.keys)


def log_totals(data: pd.DataFrame, day: np.ndarray, win: PilotWindow) -> LogTotals:
    """Every log customer's totals in the pre-period and the pilot window."""
    raw_codes, raw_uniques = pd.factorize(data["customer_id"], sort=False)
    cust_codes, cust_keys = merge_codes(raw_codes, normalise_ids(np.asarray(raw_uniques)))
    n = len(cust_keys)
    in_pre = (day >= win.pre_start) & (day <= win.pre_end)
    in_post = (day >= win.start) & (day <= win.end)
    use = in_pre | in_post
    a = data["amount"].to_numpy(dtype=float)[use]
    c, d, pre_row = cust_codes[use], day[use], in_pre[use]
    purchase = a > 0
    return LogTotals(keys=cust_keys, use=use, c=c, d=d, a=a, pre_row=pre_row, purchase=purchase,
                   tx_pre=np.bincount(c[pre_row], weights=purchase[pre_row], minlength=n),
                   tx_post=np.bincount(c[~pre_row], weights=purchase[~pre_row], minlength=n),
                   sp_pre=np.bincount(c[pre_row], weights=a[pre_row], minlength=n),
                   sp_post=np.bincount(c[~pre_row], weights=a[~pre_row], minlength=n),
                   active_pre=np.bincount(c[pre_row], minlength=n) > 0,
                   seen_post=np.bincount(c[~pre_row], minlength=n) > 0)      # any row in the window (refunds too)


@dataclass
class UnitOutcomes:
    """Per analysed customer, the outcomes of the review (one entry per customer, in one order).

    ``f_*`` purchases per week, ``s_*`` spend per week, ``ret_post`` bought (a positive
    amount) in the window, ``t_*`` mean ticket (NaN unless ``both``: bought in both periods).
    """

    f_pre: np.ndarray
    f_post: np.ndarray
    s_pre: np.ndarray
    s_post: np.ndarray
    ret_post: np.ndarray
    t_pre: np.ndarray
    t_post: np.ndarray
    both: np.ndarray
    tx_pre: np.ndarray
    tx_post: np.ndarray


def unit_outcomes(tx_pre: np.ndarray, tx_post: np.ndarray, sp_pre: np.ndarray, sp_post: np.ndarray,
                  win: PilotWindow) -> UnitOutcomes:
    """The review's outcomes from each analysed customer's purchases and spend in the two periods."""
    wk_pre, wk_post = win.pre_weeks, win.pilot_weeks
    both = (tx_pre > 0) & (tx_post > 0)
    t_pre = np.full(both.size, np.nan)
    t_post = np.full(both.size, np.nan)
    # mean ticket: each customer's own spend / purchases, for customers who bought in both periods
    t_pre[both] = sp_pre[both] / tx_pre[both]
    t_post[both] = sp_post[both] / tx_post[both]
    return UnitOutcomes(f_pre=tx_pre / wk_pre, f_post=tx_post / wk_post, s_pre=sp_pre / wk_pre, s_post=sp_post / wk_post,
                        ret_post=(tx_post > 0).astype(float), t_pre=t_pre, t_post=t_post, both=both,
                        tx_pre=tx_pre, tx_post=tx_post)
