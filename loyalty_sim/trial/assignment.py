"""Who is in the pilot: drawing, writing and reading an assignment, and the home-store rule.

:func:`assign` draws a reproducible stratified random assignment of customers (or
stores) to the pilot and control groups and :func:`write_assignment` writes it;
:func:`read_assignment` reads and checks one for the review. :func:`home_stores` is
the one rule by which a customer belongs to a store, used by the design
(:func:`loyalty_sim.trial.power.store_summary`) and the review alike, so a customer
whose pre-period rows are split evenly between a pilot and a control store is in the
same group in both. Ids are compared as :func:`loyalty_sim.ids.normalise_ids` text.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError
from ..ids import merge_codes, normalise_ids
from ..streams import stream
from ..validation import check_choice, check_count, check_probability
from .outcomes import GROUPS

__all__ = ["Assignment", "UNITS", "assign", "draw_groups", "draw_groups_many", "home_store_codes", "home_stores",
           "pre_period_spend", "read_assignment", "size_groups", "spend_deciles", "store_codes",
           "write_assignment"]

#: Units of assignment.
UNITS: tuple[str, ...] = ("customer", "store")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


# --------------------------------------------------------------------------- drawing


def draw_groups(strata: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
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

def draw_groups_many(strata: np.ndarray, share: float, rng: np.random.Generator, reps: int) -> np.ndarray:
    """``reps`` independent draws of :func:`_draw_groups`, as columns of an (n, reps) array."""
    n = len(strata)
    out = np.empty((n, reps), dtype=bool)
    for r in range(reps):
        out[:, r] = draw_groups(strata, share, rng)
    return out

def _assignment_rng(seed: int) -> np.random.Generator:
    return np.random.Generator(stream(check_count("seed", seed, minimum=0), "trial_assignment", 0))

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
        pre_weeks = check_count("pre_weeks", pre_weeks, minimum=1)
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

def spend_deciles(spend: np.ndarray) -> np.ndarray:
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

def size_groups(size: np.ndarray) -> np.ndarray:
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
    unit = check_choice("unit", unit, UNITS)
    share = check_probability("share", share)
    frame = getattr(units, "data", units)
    if not isinstance(frame, pd.DataFrame):
        raise ConfigError(f"expected a DataFrame or TransactionLog, got {type(units).__name__}", field="units")
    id_col = "customer_id" if unit == "customer" else "store_id"
    if id_col not in frame.columns:
        raise DataError(f"required column '{id_col}' missing; columns present: {list(frame.columns)}", column=id_col)
    if frame[id_col].isna().any():
        bad = [int(i) + 1 for i in np.flatnonzero(frame[id_col].isna().to_numpy())[:5]]
        raise DataError("missing ids", column=id_col, rows=bad)
    if strata == "auto":
        strata = "spend_decile" if unit == "customer" else "size"
    per, given, strata = _per_unit(frame, unit, id_col, strata, pre_weeks)
    if len(per) < 2:
        raise DataError(f"need at least 2 units to assign, got {len(per)}", column=id_col)
    # canonical order: by id, so the draw does not depend on the input's row order
    per = per.iloc[_id_order(per[id_col])].reset_index(drop=True)
    labels = _strata_labels(per, strata, given, id_col, list(frame.columns))
    codes, _ = pd.factorize(labels, sort=True)
    pilot = draw_groups(codes.astype(np.int64), share, _assignment_rng(seed))
    return pd.DataFrame({id_col: per[id_col].to_numpy(), "group": np.where(pilot, "pilot", "control"),
                         "stratum": labels})


def _given_strata(frame: pd.DataFrame, id_col: str, strata: Any) -> pd.Series | None:
    """A log's own stratum column, one value per unit (its first row), or None for a built-in stratification."""
    if strata in (None, "spend_decile", "size"):
        return None
    if strata not in frame.columns:
        raise ConfigError(f"no column {strata!r}; columns present: {list(frame.columns)}", field="strata")
    return frame.groupby(id_col, sort=False)[strata].first()


def _per_unit(frame: pd.DataFrame, unit: str, id_col: str, strata: Any,
              pre_weeks: int | None) -> tuple[pd.DataFrame, pd.Series | None, Any]:
    """One row per unit with its ``spend`` (customers) or ``size`` (stores); given strata; the strata to use."""
    is_log = _is_log(frame, id_col)
    given = None
    if unit == "customer" and is_log:
        if "amount" not in frame.columns:
            raise DataError("a transaction log needs an 'amount' column", column="amount")
        per = pre_period_spend(frame, pre_weeks=pre_weeks)
        given = _given_strata(frame, id_col, strata)
    elif unit == "customer":
        per = frame.copy()
        spend_col = next((c for c in ("spend", "pre_spend", "revenue", "amount") if c in frame.columns), None)
        per["spend"] = frame[spend_col].to_numpy(dtype=float) if spend_col else np.nan
        if strata == "spend_decile" and spend_col is None:
            raise DataError("spend deciles need a 'spend' column (pre-period spend per customer)", column="spend")
    elif is_log:
        if "customer_id" in frame.columns:
            per = frame.groupby(id_col, sort=False)["customer_id"].nunique().rename("size").reset_index()
        else:
            per = frame.groupby(id_col, sort=False).size().rename("size").reset_index()
        given = _given_strata(frame, id_col, strata)
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
    return per, given, strata


def _strata_labels(per: pd.DataFrame, strata: Any, given: pd.Series | None, id_col: str,
                   columns: list[str]) -> np.ndarray:
    """The stratum label of each unit of ``per`` (in its order)."""
    if strata is None:
        return np.full(len(per), "all", dtype=object)
    if strata == "spend_decile":
        return spend_deciles(np.nan_to_num(per["spend"].to_numpy(dtype=float), nan=0.0))
    if strata == "size":
        return size_groups(np.nan_to_num(per["size"].to_numpy(dtype=float), nan=0.0))
    if given is not None:
        col = given.reindex(per[id_col]).to_numpy()
    elif strata in per.columns:
        col = per[strata].to_numpy()
    else:
        raise ConfigError(f"no column {strata!r}; columns present: {columns}", field="strata")
    if pd.isna(col).any():
        raise DataError("missing stratum", column=str(strata),
                        rows=[int(i) + 1 for i in np.flatnonzero(pd.isna(col))[:5]])
    return np.array([str(v) for v in col], dtype=object)


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


# --------------------------------------------------------------------------- home stores


def store_codes(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Store codes that follow the sorted order of the normalised store ids (missing: -1), and those ids.

    The order is the tie rule of home stores shared by the design and the review
    (:func:`home_stores`): among stores with as many of a customer's pre-period rows,
    the one whose id (as text) sorts first.
    """
    if not isinstance(values, (pd.Series, pd.Index, np.ndarray)):
        values = np.asarray(values, dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return merge_codes(codes, normalise_ids(np.asarray(uniques)), sort=True)

def home_store_codes(cust: np.ndarray, store: np.ndarray, n_cust: int, n_store: int) -> tuple[np.ndarray, np.ndarray]:
    """Store of most rows per customer (-1 if none; ties go to the lowest store code), and stores used.

    With codes from :func:`_store_codes` the lowest code is the store whose id sorts first.
    """
    home = np.full(n_cust, -1, dtype=np.int64)
    if not cust.size:
        return home, np.zeros(n_cust, dtype=np.int64)
    pair = cust.astype(np.int64) * n_store + store
    uniq, counts = np.unique(pair, return_counts=True)
    pc, ps = uniq // n_store, uniq % n_store
    n_used = np.bincount(pc, minlength=n_cust)
    order = np.lexsort((ps, -counts, pc))
    pc, ps = pc[order], ps[order]
    first = np.r_[True, pc[1:] != pc[:-1]]
    home[pc[first]] = ps[first]
    return home, n_used

def home_stores(customer_ids: Any, store_ids: Any) -> pd.Series:
    """Each customer's home store: the store of most of their rows, ties to the id that sorts first.

    The one rule of the design (:func:`loyalty_sim.trial.design.store_summary`) and
    the review (:func:`review_trial`), so a customer whose pre-period rows are split
    evenly between two stores is in the same store, and group, in both. Ids are
    compared as :func:`loyalty_sim.ids.normalise_ids` text (``"10"`` sorts before ``"2"``).

    Parameters
    ----------
    customer_ids, store_ids : array-like
        One value per row (a purchase or a refund), e.g. the pre-period rows of a log.

    Returns
    -------
    Series
        Indexed by customer id (as in the input, in order of first appearance), the home
        store id (the first spelling of that store met in ``store_ids``).
    """
    cust = pd.Series(customer_ids).reset_index(drop=True)
    store = pd.Series(store_ids).reset_index(drop=True)
    if len(cust) != len(store):
        raise ConfigError(f"expected one store per row ({len(cust)}), got {len(store)}", field="store_ids")
    c_codes, c_uniques = pd.factorize(cust)
    s_codes, _ = store_codes(store)
    ok = (c_codes >= 0) & (s_codes >= 0)
    n_store = int(s_codes.max()) + 1 if ok.any() else 0
    home, _ = home_store_codes(c_codes[ok], s_codes[ok], len(c_uniques), max(n_store, 1))
    raw_of_code = pd.Series(store[ok].to_numpy()).groupby(s_codes[ok]).first()
    has = home >= 0
    return pd.Series(raw_of_code.reindex(home[has]).to_numpy(), index=pd.Index(np.asarray(c_uniques)[has],
                     name="customer_id"), name="store_id")


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Assignment:
    """A validated assignment file.

    Attributes
    ----------
    unit : {"customer", "store"}
        What was assigned.
    ids : ndarray of str
        Normalised ids, one per row: the text :func:`loyalty_sim.logs.read_log` keeps
        for an id (stripped; integers in decimal; leading zeros and signs kept).
    pilot : ndarray of bool
        True for the pilot group.
    enrolled : ndarray of bool or None
        Whether the unit chose to enrol (self-selection), when the file says.
    source : str
        The file (or "assignment" for a DataFrame).
    """

    unit: str
    ids: np.ndarray
    pilot: np.ndarray
    enrolled: np.ndarray | None
    source: str

    @property
    def n_pilot(self) -> int:
        return int(self.pilot.sum())

    @property
    def n_control(self) -> int:
        return int((~self.pilot).sum())

def read_assignment(assignment: pd.DataFrame | str | os.PathLike, *, enrolled: str | None = None,
                    unit: str = "auto") -> Assignment:
    """Read and check an assignment (``customer_id,group`` or ``store_id,group``).

    Parameters
    ----------
    assignment : DataFrame or path-like
        A CSV file or frame with a ``group`` column (``pilot`` or ``control``, any case)
        and a ``customer_id`` or ``store_id`` column. Other columns are ignored.
    enrolled : str, optional
        Column saying whether a unit chose to enrol (true/false, 1/0, yes/no; empty is
        false). Default: ``enrolled`` if the file has it.
    unit : {"auto", "customer", "store"}
        The assigned unit; ``auto``: customer when there is a ``customer_id`` column.

    Returns
    -------
    Assignment

    Raises
    ------
    DataError
        Naming the file, column and (1-based, header = line 1) rows of a missing id,
        an unknown group, a repeated id, two different ids that normalise to one (e.g.
        ``" 7"`` and ``"7"``), a bad enrolment flag, or a group with no units.

    Notes
    -----
    Ids are normalised as :func:`loyalty_sim.logs.read_log` normalises a log's (see
    :func:`loyalty_sim.ids.normalise_ids`): ``"007"`` and ``"7"`` stay different ids.
    """
    frame, source = _assignment_frame(assignment)
    frame.columns = [str(c).strip() for c in frame.columns]
    if unit not in ("auto", "customer", "store"):
        raise ConfigError(f"expected 'auto', 'customer' or 'store', got {unit!r}", field="unit")
    if unit == "auto":
        unit = "customer" if "customer_id" in frame.columns else "store"
    id_col = f"{unit}_id"
    for col in (id_col, "group"):
        if col not in frame.columns:
            raise DataError(f"required column '{col}' not found; columns present: {list(frame.columns)}. An assignment "
                            "has 'customer_id,group' or 'store_id,group'", source=source, column=col, rows=[1])
    lines = np.arange(len(frame)) + 2
    ids = normalise_ids(frame[id_col].to_numpy())
    blank = ids == ""
    if blank.any():
        raise DataError(f"{int(blank.sum())} row(s) without an id", source=source, column=id_col,
                        rows=[int(v) for v in lines[blank]])
    group = frame["group"].astype(str).str.strip().str.lower().to_numpy()
    bad = ~np.isin(group, GROUPS)
    if bad.any():
        shown = sorted({str(v) for v in frame["group"].to_numpy()[bad]})[:5]
        raise DataError(f"group must be 'pilot' or 'control'; found {shown}", source=source, column="group",
                        rows=[int(v) for v in lines[bad]])
    key = pd.Series(ids)
    if key.duplicated().any():
        # two different ids that become one once normalised as the log's ids are: a collision, not a repeat
        raw = pd.Series([f"{type(v).__name__}:{v}" for v in frame[id_col].to_numpy()])
        spellings = raw.groupby(key).transform("nunique").to_numpy()
        clash = key.duplicated(keep=False).to_numpy() & (spellings > 1)
        if clash.any():
            raise DataError(f"{int(clash.sum())} rows hold different {unit} ids that become the same id once "
                            "normalised as the log's ids are (blanks around an id, the ' a spreadsheet-safe CSV puts "
                            "before = + - @, or a number and the same number as text); make them unique",
                            source=source, column=id_col, rows=[int(v) for v in lines[clash]])
        dup = key.duplicated(keep="first").to_numpy()
        raise DataError(f"{int(dup.sum())} {unit}(s) listed more than once", source=source, column=id_col,
                        rows=[int(v) for v in lines[dup]])
    pilot = group == "pilot"
    for g, mask in (("pilot", pilot), ("control", ~pilot)):
        if not mask.any():
            raise DataError(f"no {unit}s assigned to the {g} group; a review needs both groups", source=source,
                            column="group")
    flags = _enrolment_flags(frame, enrolled, source, lines)
    return Assignment(unit=unit, ids=ids, pilot=pilot, enrolled=flags, source=source)


def _assignment_frame(assignment: pd.DataFrame | str | os.PathLike) -> tuple[pd.DataFrame, str]:
    """The assignment as a frame of text (a file is read as CSV), and its source."""
    if isinstance(assignment, pd.DataFrame):
        return assignment.reset_index(drop=True), "assignment"
    path = Path(assignment)
    source = str(path)
    if not path.is_file():
        raise DataError("assignment file not found", source=source)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read the assignment as CSV: {exc}", source=source) from None
    return frame, source


def _enrolment_flags(frame: pd.DataFrame, enrolled: str | None, source: str, lines: np.ndarray) -> np.ndarray | None:
    """The enrolment flag of each row (``enrolled`` column, or the file's ``enrolled``), None when there is none."""
    enrol_col = enrolled if enrolled is not None else ("enrolled" if "enrolled" in frame.columns else None)
    if enrol_col is None:
        return None
    if enrol_col not in frame.columns:
        raise DataError(f"enrolment column '{enrol_col}' not found; columns present: {list(frame.columns)}",
                        source=source, column=enrol_col, rows=[1])
    raw = frame[enrol_col].astype(str).str.strip().str.lower().to_numpy()
    ok = np.isin(raw, list(_TRUE | _FALSE))
    if not ok.all():
        raise DataError("expected true/false, 1/0 or yes/no", source=source, column=enrol_col,
                        rows=[int(v) for v in lines[~ok]])
    return np.isin(raw, list(_TRUE))
