"""What a run is asked for and what it gives back: :class:`SimulationConfig`, :class:`SimulationResult`.

The frames of a result store per-scheme quantities under column names (``member:<name>``,
``transactions_w<lo>_<hi>``, ``<part>.<key>`` in a combination...). That naming is the
storage format and this module is the only one that knows it: the engine writes columns
through :func:`customer_columns` and :func:`window_column`, and readers ask the result
(:meth:`SimulationResult.window`, :meth:`~SimulationResult.alive_at`,
:meth:`~SimulationResult.members`, :meth:`~SimulationResult.balances`,
:meth:`~SimulationResult.costs`, :meth:`~SimulationResult.accounts`,
:meth:`~SimulationResult.ledger`, :meth:`~SimulationResult.state`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, NamedTuple

import numpy as np
import pandas as pd

from .errors import ConfigError
from .streams import GRANULE
from .validation import check_count

DEFAULT_BLOCK = 16 * GRANULE
DEFAULT_START_DATE = "2026-01-05"

#: flows of a unit account, and its stock
_FLOWS = ("issued", "redeemed", "expired")
_ACCOUNT = (*_FLOWS, "outstanding")
#: per-customer balance column of a unit (other units: ``<unit>_balance``)
_BALANCE_KEY = {"points": "points_balance", "stamps": "stamps", "credit": "credit"}


# ------------------------------------------------------------------------------ storage format
def window_column(what: str, lo: int, hi: int) -> str:
    """Column of the per-customer total of ``what`` in weeks ``[lo, hi)``."""
    return f"{what}_w{lo}_{hi}"


def state_column(key: str, part: str) -> str:
    """Column of a per-customer quantity ``key`` of the scheme (or part) named ``part``."""
    return f"{key}:{part}"


def balance_column(unit: str, part: str) -> str:
    """Column of the per-customer outstanding balance of ``unit`` of ``part``."""
    return state_column(_BALANCE_KEY.get(unit, f"{unit}_balance"), part)


def part_ledger_key(part: str, key: str) -> str:
    """Weekly ledger column of ``key`` booked by the part named ``part`` of a combination."""
    return f"{part}.{key}"


def customer_columns(scheme: Any, runtime: Any) -> dict[str, np.ndarray]:
    """Per-customer columns of a run: each component's ``customer_state()`` then its ``balances()``."""
    out: dict[str, np.ndarray] = {}
    for part, rt in zip(scheme.components(), runtime.components()):
        for key, val in rt.customer_state().items():
            out[state_column(key, part.name)] = val
        for unit, val in rt.balances().items():
            out[balance_column(unit, part.name)] = val
    return out


def windows_of(customers: pd.DataFrame, weeks: int) -> tuple[int, ...]:
    """The window edges a customers frame was written with (``(0, weeks)`` if it has no windows)."""
    edges = {0, int(weeks)}
    prefix = "transactions_w"
    for col in customers.columns:
        if isinstance(col, str) and col.startswith(prefix):
            lo, _, hi = col[len(prefix):].partition("_")
            if lo.isdigit() and hi.isdigit():
                edges |= {int(lo), int(hi)}
    return tuple(sorted(edges))


class Part(NamedTuple):
    """A scheme of a run, or a part of its combination."""

    name: str
    family: str | None
    unit: str | None
    #: prefix of its weekly ledger columns ("" for a scheme on its own)
    prefix: str


@dataclass(frozen=True)
class SimulationConfig:
    """Settings of one run.

    Parameters
    ----------
    weeks : int
        Horizon in weeks (>= 1).
    seed : int
        Seed of the weekly random streams (the population has its own seed).
    launch_week : int
        Week the scheme starts (0 = from the start).
    output : {"aggregate", "log"}
        ``"log"`` also returns the full transaction log.
    block_size : int
        Customers per block, a multiple of ``GRANULE`` (memory use scales with it).
    workers : int
        Processes running blocks in parallel (1 = in this process).
    windows : sequence of int, optional
        Week edges of the per-customer windows (default: ``[0, launch_week, weeks]``).
    start_date : str
        Calendar date of week 0, for the log's ``timestamp`` column. Each purchase is
        stamped with its own time of day (the engine draws purchases in continuous
        time), so two purchases of one day stay two transactions in
        :func:`loyalty_sim.btyd.rfm.rfm_summary` (``resolution="auto"`` sees the times of
        day and summarises exactly) and a written log round-trips through the fitter.
    """

    weeks: int
    seed: int = 0
    launch_week: int = 0
    output: str = "aggregate"
    block_size: int = DEFAULT_BLOCK
    workers: int = 1
    windows: tuple[int, ...] | None = None
    start_date: str = DEFAULT_START_DATE

    def __post_init__(self) -> None:
        object.__setattr__(self, "weeks", check_count("weeks", self.weeks, minimum=1))
        object.__setattr__(self, "seed", check_count("seed", self.seed, minimum=0))
        object.__setattr__(self, "launch_week", check_count("launch_week", self.launch_week, minimum=0))
        if self.launch_week >= self.weeks and self.launch_week != 0:
            raise ConfigError(f"must be < weeks ({self.weeks}), got {self.launch_week}", field="launch_week")
        if self.output not in ("aggregate", "log"):
            raise ConfigError(f"expected 'aggregate' or 'log', got {self.output!r}", field="output")
        bs = check_count("block_size", self.block_size, minimum=1)
        if bs % GRANULE:
            raise ConfigError(f"must be a multiple of {GRANULE} (the random-stream granule), got {bs}",
                              field="block_size")
        object.__setattr__(self, "workers", check_count("workers", self.workers, minimum=1))
        edges = self.windows
        if edges is None:
            edges = (0, self.launch_week, self.weeks) if 0 < self.launch_week < self.weeks else (0, self.weeks)
        edges = tuple(int(e) for e in edges)
        if edges[0] != 0 or edges[-1] != self.weeks or any(b <= a for a, b in zip(edges, edges[1:])):
            raise ConfigError(f"must rise strictly from 0 to weeks={self.weeks}, got {list(edges)}",
                              field="windows")
        object.__setattr__(self, "windows", edges)
        try:
            pd.Timestamp(self.start_date)
        except (ValueError, TypeError):
            raise ConfigError(f"expected a date like 2026-01-05, got {self.start_date!r}",
                              field="start_date") from None


@dataclass
class SimulationResult:
    """What a run produced.

    Attributes
    ----------
    weekly : DataFrame
        One row per week: ``alive_start`` (customers who had not dropped out at the
        start of the week, simulation truth), ``new_customers``, ``purchasers``,
        ``transactions``, ``gross_sales`` (full price), ``discount``, ``revenue``
        (paid, = gross - discount), ``reward_retail``/``reward_cost`` (free goods),
        ``dropouts`` and the scheme's ledger columns.
    customers : DataFrame
        One row per customer: totals over the horizon and per window.
    transactions : DataFrame or None
        The transaction log (``output="log"`` only).
    config : dict
        Population parameters, scheme configuration and run settings.
    """

    weekly: pd.DataFrame
    customers: pd.DataFrame
    transactions: pd.DataFrame | None
    config: dict[str, Any] = field(default_factory=dict)
    #: a run without a scheme asked to keep it (``simulate(..., keep_launch_state=True)``): every block at the
    #: start of the launch week, for scheme runs to resume from; not part of the result's data
    launch_state: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_customers(cls, customers: pd.DataFrame, *, weeks: int) -> "SimulationResult":
        """A result holding only a ``customers`` frame (for per-customer accessors: windows, alive weeks)."""
        config = {"weeks": int(weeks), "windows": list(windows_of(customers, weeks))}
        return cls(weekly=pd.DataFrame(index=pd.RangeIndex(int(weeks), name="week")), customers=customers,
                   transactions=None, config=config)

    @property
    def weeks(self) -> int:
        """The horizon in weeks."""
        return int(self.config.get("weeks", len(self.weekly)))

    # ------------------------------------------------------------------ the scheme's parts
    def parts(self) -> list[Part]:
        """The scheme (or the parts of a combination) of the run, from its configuration; [] = baseline."""
        sc = self.config.get("scheme") or {}
        if not sc.get("family"):
            return []
        from .schemes import FAMILIES

        def unit(family: str) -> str | None:
            cls = FAMILIES.get(family)
            return getattr(cls, "unit", None)

        if "parts" in sc:
            return [Part(p["name"], p.get("family"), unit(p.get("family")), part_ledger_key(p["name"], ""))
                    for p in sc["parts"]]
        return [Part(sc["name"], sc["family"], unit(sc["family"]), "")]

    def _part(self, name: str) -> Part:
        for p in self.parts():
            if p.name == name:
                return p
        raise ConfigError(f"unknown scheme or part {name!r}; the run has {[p.name for p in self.parts()]}",
                          field="scheme")

    # ------------------------------------------------------------------ per customer
    def window(self, lo: int, hi: int, what: str = "transactions") -> pd.Series:
        """Per-customer ``what`` (``transactions`` or ``revenue``) in weeks ``[lo, hi)``.

        ``[lo, hi)`` must be made of the run's windows (``config["windows"]``): the sum of the
        windows it covers, or the horizon total for ``[0, weeks)``. Aligned with ``customers``.
        """
        c = self.customers
        edges = list(self.config.get("windows") or (0, len(self.weekly)))
        if (lo, hi) == (edges[0], edges[-1]):
            return c[what]
        if lo not in edges:
            raise ConfigError(f"the run has no window starting at week {lo} (simulate with windows or "
                              f"launch_week); its windows start at {edges[:-1]}", field="from_week")
        if hi not in edges or hi <= lo:
            raise ConfigError(f"the run has no window ending at week {hi}; its windows end at {edges[1:]}",
                              field="to_week")
        cols = [window_column(what, a, b) for a, b in zip(edges, edges[1:]) if a >= lo and b <= hi]
        if len(cols) == 1:
            return c[cols[0]]
        total = np.zeros(len(c))
        for col in cols:  # in week order
            total += c[col].to_numpy(dtype=float)
        return pd.Series(total, index=c.index, name=what)

    def alive_at(self, week: int) -> pd.Series:
        """Whether each customer is alive in ``week``: arrived by then and not dropped out before it.

        A customer who drops out in week ``w`` is alive in ``w`` (he bought then); ``week = weeks``
        (the end of the horizon) means still alive at the end. Aligned with ``customers``.
        """
        c = self.customers
        drop = c["dropout_week"].to_numpy()
        alive = (c["acquisition_week"].to_numpy() <= week) & ((drop < 0) | (drop >= week))
        return pd.Series(alive, index=c.index, name="alive")

    def alive_weeks(self, lo: int, hi: int) -> np.ndarray:
        """Weeks of ``[lo, hi)`` in which each customer is alive (the sum of :meth:`alive_at` over them)."""
        c = self.customers
        drop = c["dropout_week"].to_numpy()
        end = np.where(drop >= 0, drop + 1, self.weeks)
        return np.clip(np.minimum(hi, end) - np.maximum(lo, c["acquisition_week"].to_numpy()), 0, None)

    def members(self, scheme: str | None = None) -> pd.Series | None:
        """Who was ever a member of ``scheme`` (a part's name; None = of any part); None without members."""
        parts = self.parts() if scheme is None else [self._part(scheme)]
        cols = [state_column("member", p.name) for p in parts]
        cols = [k for k in cols if k in self.customers]
        if not cols:
            return None
        return self.customers[cols].any(axis=1).rename("member")

    def state(self, key: str, part: str | None = None) -> pd.Series | None:
        """A per-customer quantity a runtime reported (``rewards``, ``points_earned``, ``in_audience``...).

        ``part`` defaults to the run's scheme (a single scheme); None if it did not report ``key``.
        """
        if part is None:
            parts = self.parts()
            if len(parts) != 1:
                raise ConfigError("name the part of the combination", field="part")
            part = parts[0].name
        col = state_column(key, part)
        return self.customers[col] if col in self.customers else None

    def balances(self) -> pd.DataFrame:
        """Outstanding balances at the horizon per customer: one column per (part, unit)."""
        cols, data = [], []
        for p in self.parts():
            if p.unit is None:
                continue
            col = balance_column(p.unit, p.name)
            if col in self.customers:
                cols.append((p.name, p.unit))
                data.append(self.customers[col].to_numpy(dtype=float))
        index = pd.MultiIndex.from_tuples(cols, names=["part", "unit"]) if cols else \
            pd.MultiIndex.from_tuples([], names=["part", "unit"])
        return pd.DataFrame(dict(enumerate(data)), index=self.customers.index).set_axis(index, axis=1)

    # ------------------------------------------------------------------ per week
    def _ledger_columns(self, key: str) -> list[str]:
        """Weekly columns of ledger ``key`` (one per part that booked it), in column order."""
        names = {key} | {part_ledger_key(p.name, key) for p in self.parts()}
        return [c for c in self.weekly.columns if c in names]

    def ledger(self, key: str, part: str | None = None) -> pd.Series | None:
        """Weekly ledger ``key`` of ``part`` (None = summed over the parts); None if never booked."""
        w = self.weekly
        if part is not None:
            p = self._part(part)
            col = p.prefix + key if p.prefix else key
            return w[col] if col in w else None
        cols = self._ledger_columns(key)
        return w[cols].sum(axis=1).rename(key) if cols else None

    def costs(self) -> pd.DataFrame:
        """Weekly programme costs booked by the scheme: one column per declared cost booked (parts summed).

        The costs are those of :data:`loyalty_sim.schemes.base.PROGRAMME_COSTS`, in that order.
        """
        from .schemes.base import PROGRAMME_COSTS

        out = {}
        for cost in PROGRAMME_COSTS:
            cols = self._ledger_columns(cost)
            if cols:
                out[cost] = self.weekly[cols].sum(axis=1)
        return pd.DataFrame(out, index=self.weekly.index)

    def accounts(self) -> Iterator[tuple[Part, pd.DataFrame]]:
        """Weekly unit accounts (``issued, redeemed, expired, outstanding``) of each part with a unit."""
        w = self.weekly
        for p in self.parts():
            if p.unit is None:
                continue
            cols = {k: f"{p.prefix}{p.unit}_{k}" for k in _ACCOUNT}
            if all(c in w for c in cols.values()):
                yield p, pd.DataFrame({k: w[c].to_numpy() for k, c in cols.items()}, index=w.index)

    def summary(self) -> dict[str, Any]:
        """Headline figures (JSON-able): customers, alive at end, transactions, revenue, rates."""
        w, c = self.weekly, self.customers
        weeks = len(w)
        customer_weeks = float(w["alive_start"].sum())
        return {
            "scheme": self.config.get("scheme", {}).get("name", "baseline"),
            "preset": self.config.get("population", {}).get("name"),
            "weeks": weeks,
            "customers": int(len(c)),
            "initial_customers": int(self.config.get("size", 0)),
            "active_at_end": int((c["dropout_week"] < 0).sum()),
            "transactions": int(w["transactions"].sum()),
            "revenue": round(float(w["revenue"].sum()), 2),
            "mean_purchases_per_customer_week": float(w["transactions"].sum() / customer_weeks) if customer_weeks else 0.0,
            "mean_spend_per_customer_week": float(w["revenue"].sum() / customer_weeks) if customer_weeks else 0.0,
            "seed": self.config.get("seed"),
        }
