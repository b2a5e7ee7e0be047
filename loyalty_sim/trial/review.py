"""Review of a pilot from a transaction log and an assignment file, and whether the scheme paid.

A pilot ran from ``start`` to ``end`` (both days included) on some customers (or some
stores); the others are controls. :func:`review_trial` reads the log and the
assignment, checks both, and estimates the scheme's effect on four metrics per
customer, with intervals, then what that is worth.

Analysis population
    The customers of the assignment (customer unit), or the customers whose *home
    store* is in the assignment (store unit), who bought at least once in the
    pre-period. The home store is the store of most of a customer's pre-period rows,
    ties to the store whose id sorts first as text: :func:`home_stores`, the same rule
    as :func:`loyalty_sim.trial.design.store_summary`. Activity before the pilot cannot
    be affected by it, so this choice is the same in both groups; customers first seen
    during the pilot are counted, not analysed (conditioning on activity during the
    pilot would bias the comparison). Outcomes count all of a customer's purchases, in
    any store (intention to treat).
Ids
    Normalised as :func:`loyalty_sim.logs.read_log` keeps a log's ids (stripped text;
    integers in decimal; ``"007"`` and ``"7"`` stay different), on both sides; two
    different ids of the assignment that normalise to one are an error naming the rows.
    Ids are never printed, only counted.
Metrics
    ``purchases_per_week``: purchases (rows with a positive amount) per customer per
    week; ``spend_per_week``: net amount per customer per week (currency);
    ``mean_ticket``: each customer's own spend divided by purchases, averaged over the
    customers who bought in both periods (the before/after table shows the same
    customer mean, so in "X during the pilot against Y expected" X - Y is the effect;
    it conditions on buying during the pilot, so read it as descriptive); ``retention``:
    share of pre-period-active customers who bought (a positive amount; a refund alone
    is no purchase) at least once in the pilot window.
Estimators
    Difference in differences of means and CUPED (Deng et al. 2013), from
    :mod:`loyalty_sim.trial.estimators`; CUPED is primary for customer-level
    assignment (smallest variance), DiD for store-level assignment (it removes fixed
    store differences), with bias-reduced (CR2) cluster-robust intervals on
    Satterthwaite degrees of freedom (``G - 2`` with equal stores, fewer when a few
    large stores dominate). Retention is 1 for everyone in the pre-period, so its
    effect is CUPED with the pre-period purchase frequency as covariate. An estimate
    whose standard error is zero has no interval or p-value (NaN, with a warning).
Checks
    Pre-trend (the pilot - control difference in the weekly pre-period outcome has no
    slope), an event study (weekly effects relative to each customer's pre-period
    mean), sample-ratio mismatch (chi-square of the analysed units per group against
    the assignment's shares or ``expected_share``), activity (a group with no purchase
    in the pilot window is an error -- its customers probably got new ids; one whose
    purchase frequency falls below ``ACTIVITY_COLLAPSE`` = 20% of its pre-period level
    is flagged), ids missing on either side (counts only: ids are never printed; log
    customers outside the assignment are warned about from ``UNASSIGNED_SHARE`` = 5%),
    self-selection (an ``enrolled`` flag: the naive enrolled-vs-rest comparison, and the
    per-enrolled effect = intention-to-treat effect / difference in take-up between the
    groups, Bloom 1984).
Money (over the pilot window)
    ``incremental sales at full price = (spend effect x analysed pilot customers x
    weeks) + discount given``; ``incremental gross profit = margin x that``; costs =
    discount given (``discount_share`` of the full price, when the log's amounts are
    after a member discount) + rewards (``reward_cost_share`` of the cost base, plus
    ``reward_cost``) + programme (``programme_cost`` + ``cost_per_pilot_customer`` x
    costed customers); ``incremental profit = gross profit - costs``; ``ROI =
    incremental profit / costs``. The cost base and the costed customers are everyone
    the scheme was paid for, not only the analysed customers: for a customer pilot, the
    window spend of every pilot customer found in the log, and every assigned pilot
    customer; for a store pilot, all spend in pilot stores during the window (every
    customer buying there), and every customer who bought in a pilot store in the
    window. The intervals carry the spend effect's interval (the costs are taken as
    known). The verdict is "pays" when the whole interval of the incremental profit is
    above zero, "reconsider" when the estimated return is below the cost, "uncertain"
    otherwise, and "uncertain: no costs given" when every cost is 0. Failed checks
    (sample-ratio mismatch, pre-trend, activity collapse, self-selection) are named in
    the verdict, and turn a "pays" into "uncertain".

References
----------
Deng, A., Xu, Y., Kohavi, R. & Walker, T. (2013). Improving the sensitivity of online
controlled experiments by utilizing pre-experiment data. WSDM '13, 123-132.
Brodersen, K. H. et al. (2015). Inferring causal impact using Bayesian structural
time-series models. Annals of Applied Statistics 9(1), 247-274 (the style of the summary).
Fabijan, A. et al. (2019). Diagnosing sample ratio mismatch in online controlled
experiments. KDD '19, 2156-2164.
Bloom, H. S. (1984). Accounting for no-shows in experimental evaluation designs.
Evaluation Review 8(2), 225-246.
"""

from __future__ import annotations

import math
import os
import warnings as _warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ConfigError, DataError
from ..files import to_jsonable
from ..logs import TransactionLog, read_log
from .estimators import Estimate, ZeroVarianceWarning, unit_effect, unit_effect_batch

__all__ = ["METRICS", "TrialReview", "review_trial", "read_assignment", "Assignment"]

#: Metrics reviewed: name -> (label, unit).
METRICS: dict[str, tuple[str, str]] = {
    "purchases_per_week": ("purchase frequency", "purchases per customer per week"),
    "spend_per_week": ("spend per customer", "currency per customer per week"),
    "mean_ticket": ("mean ticket", "currency per purchase"),
    "retention": ("retention", "share of pre-period-active customers who bought during the pilot"),
}
GROUPS = ("pilot", "control")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}
#: Sample-ratio mismatch is flagged below this p-value (Fabijan et al. 2019 use 0.0005-0.001).
SRM_ALPHA = 0.001
#: Pre-trend and balance checks are flagged below this p-value.
CHECK_ALPHA = 0.05
MAX_DEFAULT_PRE_WEEKS = 52
#: A group whose purchase frequency in the pilot window is below this share of its pre-period one is flagged.
ACTIVITY_COLLAPSE = 0.2
#: Log customers missing from the assignment are warned about from this share on (counts only, never ids).
UNASSIGNED_SHARE = 0.05


# --------------------------------------------------------------------------- assignment


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


def _id_text(v: Any) -> str:
    """One id as text: an integer (or an integral float) in decimal, text stripped, missing as ''."""
    if v is None or v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return str(v)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(v):
            return ""
        # an integral float within int64 (an id column with a gap, read as float) is that integer
        return str(int(v)) if float(v).is_integer() and abs(v) < 2.0 ** 63 else repr(float(v))
    return str(v).strip()


def _norm_ids(values: Any) -> np.ndarray:
    """Ids as the text :func:`loyalty_sim.logs.read_log` keeps them, so a log and an assignment agree.

    ``read_log`` keeps a customer id as text, stripped of surrounding blanks, and turns
    a whole column into integers only when every id is a plain decimal integer without
    leading zeros (:func:`loyalty_sim.rfm.maybe_int_ids`), which loses nothing. So the
    rule here is: integers (and integral floats, e.g. an id column with a gap read as
    float) are written in decimal; text is stripped and otherwise kept exactly --
    ``"007"``, ``"7"``, ``"+7"``, ``"7.0"`` and ``"1_000"`` are five different ids, as
    they are in the log. The one exception is the ``'`` our own CSV writers put before
    an id starting with ``= + - @`` to keep spreadsheets from reading it as a formula
    (``'-c7`` is the id ``-c7``). Missing ids become ``""``.
    """
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":
        return arr.astype(str).astype(object)
    kind = pd.api.types.infer_dtype(arr, skipna=False) if arr.dtype.kind in "OSU" and arr.size else ""
    if kind == "integer":
        try:                                  # Python ints within int64: decimal text at numpy speed
            return arr.astype(np.int64).astype(str).astype(object)
        except OverflowError:
            pass
    if kind == "string":
        s = pd.Series(arr, dtype=object).str.strip()
    else:
        s = pd.Series([_id_text(v) for v in arr.ravel()], dtype=object)
    s = s.str.replace(r"^'(?=[=+\-@\t\r])", "", regex=True)
    return s.to_numpy(dtype=object)


def _merge_codes(codes: np.ndarray, keys: np.ndarray, *, sort: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Codes of raw values re-coded by their normalised ``keys`` (raw values with one key share a code).

    Missing raw values (code -1) stay -1. With ``sort``, codes follow the sorted order of the keys.
    """
    kc, ku = pd.factorize(keys, sort=sort)
    out = np.where(codes >= 0, kc[np.maximum(codes, 0)], -1) if len(kc) else codes
    return out.astype(np.int64), np.asarray(ku, dtype=object)


def _store_codes(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Store codes that follow the sorted order of the normalised store ids (missing: -1), and those ids.

    The order is the tie rule of home stores shared by the design and the review
    (:func:`home_stores`): among stores with as many of a customer's pre-period rows,
    the one whose id (as text) sorts first.
    """
    if not isinstance(values, (pd.Series, pd.Index, np.ndarray)):
        values = np.asarray(values, dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return _merge_codes(codes, _norm_ids(np.asarray(uniques)), sort=True)


def _home_store(cust: np.ndarray, store: np.ndarray, n_cust: int, n_store: int) -> tuple[np.ndarray, np.ndarray]:
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
    compared as :func:`_norm_ids` text (``"10"`` sorts before ``"2"``).

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
    s_codes, _ = _store_codes(store)
    ok = (c_codes >= 0) & (s_codes >= 0)
    n_store = int(s_codes.max()) + 1 if ok.any() else 0
    home, _ = _home_store(c_codes[ok], s_codes[ok], len(c_uniques), max(n_store, 1))
    raw_of_code = pd.Series(store[ok].to_numpy()).groupby(s_codes[ok]).first()
    has = home >= 0
    return pd.Series(raw_of_code.reindex(home[has]).to_numpy(), index=pd.Index(np.asarray(c_uniques)[has],
                     name="customer_id"), name="store_id")


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
    :func:`_norm_ids`): ``"007"`` and ``"7"`` stay different ids.
    """
    if isinstance(assignment, pd.DataFrame):
        frame, source = assignment.reset_index(drop=True), "assignment"
    else:
        path = Path(assignment)
        source = str(path)
        if not path.is_file():
            raise DataError("assignment file not found", source=source)
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=True)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot read the assignment as CSV: {exc}", source=source) from None
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
    ids = _norm_ids(frame[id_col].to_numpy())
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
    enrol_col = enrolled if enrolled is not None else ("enrolled" if "enrolled" in frame.columns else None)
    flags = None
    if enrol_col is not None:
        if enrol_col not in frame.columns:
            raise DataError(f"enrolment column '{enrol_col}' not found; columns present: {list(frame.columns)}",
                            source=source, column=enrol_col, rows=[1])
        raw = frame[enrol_col].astype(str).str.strip().str.lower().to_numpy()
        ok = np.isin(raw, list(_TRUE | _FALSE))
        if not ok.all():
            raise DataError("expected true/false, 1/0 or yes/no", source=source, column=enrol_col,
                            rows=[int(v) for v in lines[~ok]])
        flags = np.isin(raw, list(_TRUE))
    return Assignment(unit=unit, ids=ids, pilot=pilot, enrolled=flags, source=source)


# --------------------------------------------------------------------------- log


def _log_frame(log: TransactionLog | pd.DataFrame | str | os.PathLike,
               read_options: Mapping[str, Any] | None) -> tuple[pd.DataFrame, str]:
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


def _days(ts: pd.Series) -> np.ndarray:
    """Calendar day numbers (days since 1970-01-01) of wall-clock timestamps."""
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        ts = ts.dt.tz_localize(None)
    return ts.to_numpy().astype("datetime64[D]").astype(np.int64)


def _day(value: Any, name: str) -> int:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        ts = None
    if ts is None or ts is pd.NaT:
        raise ConfigError(f"expected a date like 2026-03-02, got {value!r}", field=name)
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return int(np.datetime64(ts.normalize().date(), "D").astype(np.int64))


def _date(day: int) -> str:
    return str(np.datetime64(int(day), "D"))


def _check_share(name: str, value: Any, *, allow_one: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"expected a number in [0, 1], got {value!r}", field=name)
    if value < 0 or value > 1 or (not allow_one and value >= 1):
        raise ConfigError(f"expected a share in [0, {'1]' if allow_one else '1)'}, got {value!r}", field=name)
    return float(value)


def _check_money(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"expected an amount >= 0 (currency), got {value!r}", field=name)
    return float(value)


# --------------------------------------------------------------------------- result


@dataclass
class TrialReview:
    """The review of a pilot: effects with intervals, checks, money, verdict.

    Attributes
    ----------
    settings : dict
        Dates, unit, money parameters and level (JSON-able).
    estimates : dict of str -> Estimate
        The primary estimate per metric.
    effects : DataFrame
        Every estimate: ``metric, method, primary, estimate, ci_low, ci_high,
        relative_effect, p_value, std_error, n_pilot, n_control, description``.
    before_after : DataFrame
        Per metric and group: pre-period mean, pilot-window mean, change, customers
        (means of the per-customer outcomes the effects compare).
    event_study : DataFrame
        Weekly effects relative to each customer's pre-period mean, with intervals:
        ``metric, week, week_start, period, estimate, ci_low, ci_high, p_value``.
    checks : dict
        ``pre_trend``, ``balance``, ``srm``, ``coverage``, ``activity``,
        ``self_selection``, ``failed`` (names of the failed checks) and ``passed``.
    money : DataFrame
        ``item, estimate, ci_low, ci_high, unit`` over the pilot window.
    verdict : str
        ``"pays"``, ``"uncertain"`` or ``"reconsider"`` followed by the reason (and the
        failed checks, if any).
    warnings : list of str
        Everything a reader must know before trusting the numbers (counts, never ids).
    """

    settings: dict[str, Any]
    estimates: dict[str, Estimate]
    effects: pd.DataFrame
    before_after: pd.DataFrame
    event_study: pd.DataFrame
    checks: dict[str, Any]
    money: pd.DataFrame
    verdict: str
    warnings: list[str] = field(default_factory=list)

    @property
    def level(self) -> float:
        return float(self.settings["level"])

    @property
    def verdict_word(self) -> str:
        """``pays``, ``uncertain`` or ``reconsider``."""
        return self.verdict.split(":")[0]

    def money_item(self, item: str) -> tuple[float, float, float]:
        """``(estimate, ci_low, ci_high)`` of a row of :attr:`money`."""
        row = self.money.set_index("item").loc[item]
        return float(row["estimate"]), float(row["ci_low"]), float(row["ci_high"])

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table, by name (``effects``, ``before_after``, ``event_study``, ``money``)."""
        return {"effects": self.effects, "before_after": self.before_after, "event_study": self.event_study,
                "money": self.money}

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: per metric ``estimate, ci_low, ci_high, relative_effect, p_value, method``, and the rest."""
        metrics = {}
        for name, est in self.estimates.items():
            d = est.to_dict()
            d["method"] = self.effects.loc[(self.effects["metric"] == name) & self.effects["primary"], "method"].iloc[0]
            d["description"] = est.method
            d["unit"] = METRICS[name][1]
            alts = self.effects[(self.effects["metric"] == name) & ~self.effects["primary"]]
            d["alternatives"] = {r["method"]: {k: to_jsonable(r[k]) for k in ("estimate", "ci_low", "ci_high",
                                                                        "relative_effect", "p_value", "std_error")}
                                 for _, r in alts.iterrows()}
            metrics[name] = d
        return {
            "settings": to_jsonable(self.settings),
            "metrics": metrics,
            "money": {r["item"]: {"estimate": to_jsonable(r["estimate"]), "ci_low": to_jsonable(r["ci_low"]),
                                  "ci_high": to_jsonable(r["ci_high"]), "unit": r["unit"]} for _, r in self.money.iterrows()},
            "verdict": self.verdict,
            "checks": to_jsonable(self.checks),
            "warnings": list(self.warnings),
            "before_after": _records(self.before_after),
            "event_study": _records(self.event_study),
        }

    def summary_text(self) -> str:
        """A short plain-language account: what changed, by how much, how sure, what it is worth, the verdict."""
        return _summary_text(self)

    def __repr__(self) -> str:
        return (f"TrialReview(unit={self.settings['unit']!r}, window={self.settings['start']}..{self.settings['end']}, "
                f"verdict={self.verdict_word!r})")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): to_jsonable(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


# --------------------------------------------------------------------------- review


@dataclass
class _Window:
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


def _window(start: Any, end: Any, pre_weeks: Any, pre_period: Any, first: int, last: int, source: str) -> _Window:
    s, e = _day(start, "start"), _day(end, "end")
    if e < s:
        raise ConfigError(f"the pilot ends ({_date(e)}) before it starts ({_date(s)}); dates reversed?", field="end")
    if s > last:
        raise DataError(f"the pilot starts on {_date(s)}, after the log's last purchase ({_date(last)})",
                        source=source, column="timestamp")
    if e > last:
        raise DataError(f"the pilot window ends on {_date(e)} but the log's last purchase is on {_date(last)}: the "
                        f"log does not cover the pilot window (pass an end date within the log)", source=source,
                        column="timestamp")
    if s <= first:
        raise DataError(f"no pre-period in the log: its first purchase is on {_date(first)} and the pilot starts on "
                        f"{_date(s)}", source=source, column="timestamp")
    if pre_period is not None:
        if pre_weeks is not None:
            raise ConfigError("give pre_weeks or pre_period, not both", field="pre_period")
        try:
            p0, p1 = pre_period
        except (TypeError, ValueError):
            raise ConfigError(f"expected (first day, last day), got {pre_period!r}", field="pre_period") from None
        p0, p1 = _day(p0, "pre_period"), _day(p1, "pre_period")
        if p1 < p0:
            raise ConfigError(f"the pre-period ends ({_date(p1)}) before it starts ({_date(p0)})", field="pre_period")
        if p1 >= s:
            raise ConfigError(f"the pre-period ({_date(p0)} to {_date(p1)}) overlaps the pilot window, which starts "
                              f"on {_date(s)}", field="pre_period")
        if p0 < first:
            raise DataError(f"the pre-period starts on {_date(p0)}, before the log's first purchase ({_date(first)})",
                            source=source, column="timestamp")
        return _Window(s, e, p0, p1)
    available = (s - first) // 7
    if pre_weeks is None:
        if available < 1:
            raise DataError(f"no pre-period in the log: it has {s - first} day(s) before the pilot starts on "
                            f"{_date(s)}; at least one whole week is needed", source=source, column="timestamp")
        k = int(min(available, MAX_DEFAULT_PRE_WEEKS))
    else:
        if isinstance(pre_weeks, bool) or not isinstance(pre_weeks, (int, np.integer)) or pre_weeks < 1:
            raise ConfigError(f"expected a whole number of weeks >= 1, got {pre_weeks!r}", field="pre_weeks")
        k = int(pre_weeks)
        if k > available:
            raise DataError(f"a {k}-week pre-period would start on {_date(s - 7 * k)}, before the log's first purchase "
                            f"({_date(first)}); use pre_weeks <= {available}", source=source, column="timestamp")
    return _Window(s, e, s - 7 * k, s - 1)


def review_trial(log: TransactionLog | pd.DataFrame | str | os.PathLike,
                 assignment: pd.DataFrame | str | os.PathLike, *, start: Any, end: Any, pre_weeks: int | None = None,
                 pre_period: tuple[Any, Any] | None = None, margin: float = 0.3, reward_cost_share: float = 0.0,
                 reward_cost: float = 0.0, programme_cost: float = 0.0, cost_per_pilot_customer: float = 0.0,
                 discount_share: float = 0.0, level: float = 0.95, enrolled: str | None = None,
                 self_selected: bool = False, expected_share: float | None = None, unit: str = "auto",
                 read_options: Mapping[str, Any] | None = None) -> TrialReview:
    """Review a pilot: effects with intervals, checks, money and a verdict.

    Parameters
    ----------
    log : TransactionLog, DataFrame or path-like
        Transactions with ``customer_id``, ``timestamp`` (or ``date``), ``amount`` and,
        for store-level assignment, ``store_id``. A path is read with
        :func:`loyalty_sim.logs.read_log` (``read_options`` passed on).
    assignment : DataFrame or path-like
        ``customer_id,group`` or ``store_id,group`` (group ``pilot``/``control``),
        optionally an ``enrolled`` column (see :func:`read_assignment`).
    start, end : date-like
        First and last day of the pilot window (both included).
    pre_weeks : int, optional
        Whole weeks right before ``start`` used as the pre-period; default: as many as
        the log holds, up to 52.
    pre_period : (date, date), optional
        An explicit pre-period instead (both days included; must end before ``start``).
    margin : float
        Gross margin: share of full-price sales left after the cost of goods (0..1).
    reward_cost_share : float
        Cost of rewards (free items, cashback) as a share of the spend the scheme ran on
        during the pilot: every pilot customer's (customer pilots) or all spend in pilot
        stores (store pilots).
    reward_cost : float
        Fixed cost of rewards over the pilot (currency), added to the share.
    programme_cost : float
        Fixed cost of running the pilot (currency).
    cost_per_pilot_customer : float
        Cost per pilot customer (cards, mailings), currency: counted over every assigned
        pilot customer (customer pilots) or every customer who bought in a pilot store
        during the window (store pilots), analysed or not.
    discount_share : float
        Share of the full price taken off purchases under the scheme during the pilot
        (the same spend as ``reward_cost_share``) *and already deducted from the log's
        amounts* (a member discount); 0 when amounts are full prices or rewards are
        costed through ``reward_cost_share``.
    level : float
        Confidence level of every interval.
    enrolled : str, optional
        Assignment column flagging customers who chose to enrol (default ``enrolled``
        if present); the naive enrolled-vs-not comparison is shown beside the
        intention-to-treat figure.
    self_selected : bool
        The pilot group itself chose to take part (not randomised): warn that the
        estimates are not causal.
    expected_share : float, optional
        Planned share of pilot units, for the sample-ratio check (default: the
        assignment file's share).
    unit : {"auto", "customer", "store"}
        The assigned unit (see :func:`read_assignment`).
    read_options : mapping, optional
        Keywords of :func:`~loyalty_sim.logs.read_log` when ``log`` is a path
        (``returns``, ``duplicates``, ``columns``, ``date_format``...).

    Returns
    -------
    TrialReview

    Raises
    ------
    ConfigError
        Invalid parameters, reversed or overlapping dates.
    DataError
        An unreadable or inconsistent log or assignment: no assigned id in the log, a
        pilot window outside the log, no pre-period, a group with no active customers,
        a group with no purchase in the pilot window, store assignment without a
        ``store_id`` column.
    """
    if not (isinstance(level, (int, float)) and not isinstance(level, bool) and 0 < level < 1):
        raise ConfigError(f"expected a confidence level in (0, 1), got {level!r}", field="level")
    margin = _check_share("margin", margin)
    reward_cost_share = _check_share("reward_cost_share", reward_cost_share)
    discount_share = _check_share("discount_share", discount_share, allow_one=False)
    reward_cost = _check_money("reward_cost", reward_cost)
    programme_cost = _check_money("programme_cost", programme_cost)
    cost_per_pilot_customer = _check_money("cost_per_pilot_customer", cost_per_pilot_customer)
    if expected_share is not None:
        expected_share = _check_share("expected_share", expected_share)
        if not 0 < expected_share < 1:
            raise ConfigError(f"expected a share strictly between 0 and 1, got {expected_share}", field="expected_share")

    asg = read_assignment(assignment, enrolled=enrolled, unit=unit)
    data, source = _log_frame(log, read_options)
    if not len(data):
        raise DataError("the log has no transactions", source=source)
    if asg.unit == "store" and "store_id" not in data.columns:
        raise DataError("the assignment is by store but the log has no 'store_id' column", source=source,
                        column="store_id")
    day = _days(data["timestamp"])
    first, last = int(day.min()), int(day.max())
    win = _window(start, end, pre_weeks, pre_period, first, last, source)
    warnings: list[str] = []

    # ---- ids of the whole log (codes by normalised id), and those of the assignment
    raw_codes, raw_uniques = pd.factorize(data["customer_id"], sort=False)
    cust_codes, cust_keys = _merge_codes(raw_codes, _norm_ids(np.asarray(raw_uniques)))
    n_cust_all = len(cust_keys)
    in_pre = (day >= win.pre_start) & (day <= win.pre_end)
    in_post = (day >= win.start) & (day <= win.end)
    use = in_pre | in_post
    amount = data["amount"].to_numpy(dtype=float)
    c = cust_codes[use]
    d = day[use]
    a = amount[use]
    pre_row = in_pre[use]
    purchase = a > 0
    tx_pre = np.bincount(c[pre_row], weights=purchase[pre_row], minlength=n_cust_all)
    tx_post = np.bincount(c[~pre_row], weights=purchase[~pre_row], minlength=n_cust_all)
    sp_pre = np.bincount(c[pre_row], weights=a[pre_row], minlength=n_cust_all)
    sp_post = np.bincount(c[~pre_row], weights=a[~pre_row], minlength=n_cust_all)
    rows_pre = np.bincount(c[pre_row], minlength=n_cust_all)
    active_pre = rows_pre > 0
    seen_post = np.bincount(c[~pre_row], minlength=n_cust_all) > 0      # any row in the window (refunds too)
    in_window = active_pre | seen_post

    # ---- units, groups, clusters
    cluster = None
    coverage: dict[str, Any] = {"unit": asg.unit}
    key_index = pd.Index(asg.ids)
    if asg.unit == "customer":
        pos = key_index.get_indexer(cust_keys)            # assignment row of each log customer, -1 if none
        found = pos >= 0
        n_found = int(found.sum())
        unassigned = in_window & ~found
        coverage.update(assigned=len(asg.ids), assigned_pilot=asg.n_pilot, assigned_control=asg.n_control,
                        assigned_in_log=n_found, assigned_not_in_log=len(asg.ids) - n_found,
                        log_customers_in_window=int(in_window.sum()),
                        log_customers_in_window_not_assigned=int(unassigned.sum()),
                        log_customers_active_in_pre_not_assigned=int((unassigned & active_pre).sum()),
                        log_customers_not_assigned_first_seen_in_pilot=int((unassigned & ~active_pre).sum()))
        hint = _format_hint(asg.ids, cust_keys, found, pos)
        if n_found == 0:
            raise DataError(f"none of the {len(asg.ids):,} customers of the assignment appear in the log; check that "
                            f"both use the same customer ids{hint}", source=asg.source, column="customer_id")
        _coverage_warning(warnings, "customers", len(asg.ids), n_found, hint)
        _unassigned_warning(warnings, int((unassigned & active_pre).sum()), int(active_pre.sum()),
                            f"besides {int((unassigned & ~active_pre).sum()):,} first seen during the pilot, who "
                            "could not have been assigned", what="customers who bought in the pre-period")
        unit_mask = found & active_pre
        row = pos[unit_mask]
        pilot = asg.pilot[row]
        enrolled_flags = None if asg.enrolled is None else asg.enrolled[row]
        coverage.update(assigned_inactive_in_pre=int((found & ~active_pre).sum()),
                        assigned_in_log_only_during_pilot=int((found & ~active_pre & seen_post).sum()))
        srm_units = ("customers", int(pilot.sum()), int((~pilot).sum()), asg.n_pilot / len(asg.ids))
        # costs: every assigned pilot customer, and the spend of all of them (analysed or not) in the window
        pilot_cust = np.zeros(n_cust_all, dtype=bool)
        pilot_cust[found] = asg.pilot[pos[found]]
        cost_spend = float(sp_post[pilot_cust].sum())
        costed = asg.n_pilot
        cost_basis = ("rewards and discount on the window spend of every pilot customer found in the log; "
                      "per-customer costs for every assigned pilot customer")
    else:
        store_codes_all, store_keys = _store_codes(data["store_id"])
        if (store_codes_all < 0).any():
            raise DataError("missing store ids", source=source, column="store_id",
                            rows=[int(v) + 1 for v in np.flatnonzero(store_codes_all < 0)[:5]])
        n_store = len(store_keys)
        sc = store_codes_all[use]
        home, n_used = _home_store(c[pre_row], sc[pre_row], n_cust_all, n_store)
        spos = key_index.get_indexer(store_keys)         # assignment row of each log store
        n_found = int((spos >= 0).sum())
        coverage.update(assigned=len(asg.ids), assigned_pilot=asg.n_pilot, assigned_control=asg.n_control,
                        assigned_in_log=n_found, assigned_not_in_log=len(asg.ids) - n_found,
                        log_stores_not_assigned=int((spos < 0).sum()))
        hint = _format_hint(asg.ids, store_keys, spos >= 0, spos)
        if n_found == 0:
            raise DataError(f"none of the {len(asg.ids):,} stores of the assignment appear in the log's store_id "
                            f"column; check that both use the same store ids{hint}", source=asg.source,
                            column="store_id")
        _coverage_warning(warnings, "stores", len(asg.ids), n_found, hint)
        home_row = np.where(home >= 0, spos[np.maximum(home, 0)], -1)
        unit_mask = active_pre & (home_row >= 0)
        row = home_row[unit_mask]
        pilot = asg.pilot[row]
        enrolled_flags = None if asg.enrolled is None else asg.enrolled[row]
        cluster = row
        n_unassigned_home = int((active_pre & (home_row < 0)).sum())
        coverage.update(customers_with_unassigned_home_store=n_unassigned_home,
                        customers_shopping_in_several_stores=int((n_used[unit_mask] > 1).sum()))
        _unassigned_warning(warnings, n_unassigned_home, int(active_pre.sum()),
                            f"their home store is one of {int((spos < 0).sum()):,} stores of the log not in the "
                            "assignment", what="customers who bought in the pre-period")
        stores_seen = np.unique(row)
        srm_units = ("stores", int(asg.pilot[stores_seen].sum()), int((~asg.pilot[stores_seen]).sum()),
                     asg.n_pilot / len(asg.ids))
        # costs: all spend in pilot stores during the window, and every customer who bought there
        pilot_store = np.zeros(n_store, dtype=bool)
        pilot_store[spos >= 0] = asg.pilot[spos[spos >= 0]]
        in_pilot_store = pilot_store[sc] & ~pre_row
        cost_spend = float(a[in_pilot_store].sum())
        costed = int(np.unique(c[in_pilot_store & purchase]).size)
        cost_basis = ("rewards and discount on all spend in pilot stores during the window (every customer buying "
                      "there); per-customer costs for every customer who bought in a pilot store during the window")
    coverage.update(analysed_pilot=int(pilot.sum()), analysed_control=int((~pilot).sum()))
    for g, n_g in (("pilot", int(pilot.sum())), ("control", int((~pilot).sum()))):
        if n_g < 2:
            raise DataError(f"the {g} group has {n_g} customer(s) who bought in the pre-period "
                            f"({_date(win.pre_start)} to {_date(win.pre_end)}); a review needs at least 2 per group",
                            source=asg.source, column="group")
    if cluster is not None:
        gp = np.unique(cluster[pilot]).size
        gc = np.unique(cluster[~pilot]).size
        if gp < 2 or gc < 2:
            raise DataError(f"store-level assignment needs at least 2 pilot and 2 control stores with customers; got "
                            f"{gp} pilot and {gc} control", source=asg.source, column="store_id")
        if gp + gc < 6:
            warnings.append(f"only {gp + gc} stores: the intervals use a t reference on at most {gp + gc - 2} "
                            "degrees of freedom and are wide; a few stores cannot show a modest effect")

    # ---- per-unit outcomes
    wk_pre, wk_post = win.pre_weeks, win.pilot_weeks
    f_pre, f_post = tx_pre[unit_mask] / wk_pre, tx_post[unit_mask] / wk_post
    s_pre, s_post = sp_pre[unit_mask] / wk_pre, sp_post[unit_mask] / wk_post
    ret_post = (tx_post[unit_mask] > 0).astype(float)     # bought (a positive amount), not a refund only
    activity = _activity_check(warnings, tx_pre[unit_mask], tx_post[unit_mask], f_pre, f_post, pilot, win, source)
    primary = "did" if cluster is not None else "cuped"
    est_rows: list[dict[str, Any]] = []
    estimates: dict[str, Estimate] = {}

    def add(metric: str, pre: np.ndarray | None, post: np.ndarray, mask: np.ndarray | None, methods: tuple[str, ...],
            main: str) -> None:
        pl = pilot if mask is None else pilot[mask]
        cl = None if cluster is None else (cluster if mask is None else cluster[mask])
        problems: list[str] = []
        for m in methods:
            try:
                e = _effect(pre, post, pl, cluster=cl, method=m, level=level, metric=metric)
            except ConfigError as exc:
                problems.append(exc.message)
                continue
            est_rows.append({"metric": metric, "method": m, "primary": m == main, **{
                k: getattr(e, k) for k in ("estimate", "ci_low", "ci_high", "relative_effect", "p_value", "std_error",
                                           "n_pilot", "n_control", "df", "theta")}, "description": e.method})
            if m == main:
                estimates[metric] = e
        for message in dict.fromkeys(problems):          # once per metric, not once per estimator
            warnings.append(f"{METRICS[metric][0]}: no estimate ({message})")
        if metric in estimates and not math.isfinite(estimates[metric].p_value):
            warnings.append(f"{METRICS[metric][0]}: no interval or p-value - its standard error is zero (every "
                            "customer of each group has the same value), which is no evidence of a certain effect")

    add("purchases_per_week", f_pre, f_post, None, ("did", "cuped"), primary)
    add("spend_per_week", s_pre, s_post, None, ("did", "cuped"), primary)
    # mean ticket: each customer's own spend / purchases, for customers who bought in both periods
    tx_pre_u, tx_post_u = tx_pre[unit_mask], tx_post[unit_mask]
    both = (tx_pre_u > 0) & (tx_post_u > 0)
    t_pre = np.full(both.size, np.nan)
    t_post = np.full(both.size, np.nan)
    t_pre[both] = sp_pre[unit_mask][both] / tx_pre_u[both]
    t_post[both] = sp_post[unit_mask][both] / tx_post_u[both]
    if both.any():
        add("mean_ticket", t_pre[both], t_post[both], both, ("did", "cuped"), primary)
    add("retention", f_pre, ret_post, None, ("cuped", "diff"), "cuped")
    for needed in ("purchases_per_week", "spend_per_week"):
        if needed not in estimates:
            raise DataError(f"no estimate of {METRICS[needed][0]} could be made; see the warnings: {warnings}",
                            source=asg.source)
    effects = pd.DataFrame(est_rows)

    # ---- before / after: the group means of the very outcomes the effects compare
    ba = []
    for metric, pre, post, mask in (("purchases_per_week", f_pre, f_post, None), ("spend_per_week", s_pre, s_post, None),
                                    ("mean_ticket", t_pre, t_post, both), ("retention", None, ret_post, None)):
        for g, gmask in (("pilot", pilot), ("control", ~pilot)):
            m = gmask if mask is None else gmask & mask
            if m.any():
                pre_v = 1.0 if pre is None else float(pre[m].mean())
                post_v = float(post[m].mean())
            else:
                pre_v = post_v = math.nan
            ba.append({"metric": metric, "group": g, "pre": pre_v, "post": post_v, "change": post_v - pre_v,
                       "relative_change": (post_v - pre_v) / pre_v if pre_v else math.nan, "customers": int(m.sum())})
    before_after = pd.DataFrame(ba)

    # ---- weekly series: event study and pre-trend
    units_idx = np.flatnonzero(unit_mask)
    event, pre_trend = _event_study(c, d, a, purchase, units_idx, n_cust_all, win, pilot, cluster, f_pre, s_pre, level)
    balance = _balance(f_pre, s_pre, pilot, cluster, level)
    freq = event[event["metric"] == "purchases_per_week"]
    empty = freq[(freq["pilot_mean"] == 0) & (freq["control_mean"] == 0)]
    if len(empty):
        warnings.append(f"no purchase at all in {len(empty)} week(s) of the review windows (first: week starting "
                        f"{empty['week_start'].iloc[0]}): a gap in the log? The weekly rates there are zeros")
    pre_trend_failed = pre_trend.get("p_value") is not None and pre_trend["p_value"] < CHECK_ALPHA
    if pre_trend_failed:
        warnings.append(f"pre-trend check failed: before the pilot the pilot - control difference in purchase frequency "
                        f"was drifting by {pre_trend['slope']:+.4f} per week (p = {pre_trend['p_value']:.3f}); the "
                        "groups were not comparable, so the effects may be biased")
    elif pre_trend.get("note"):
        warnings.append(pre_trend["note"])
    if balance["p_value"] is not None and balance["p_value"] < CHECK_ALPHA:
        warnings.append(f"the groups differed before the pilot (purchase frequency, p = {balance['p_value']:.3f}); "
                        "difference in differences and CUPED correct for a fixed difference, but check the assignment")

    # ---- sample-ratio mismatch
    what, o_p, o_c, file_share = srm_units
    srm = _srm(o_p, o_c, expected_share if expected_share is not None else file_share, what)
    srm["expected_from"] = "expected_share" if expected_share is not None else "assignment file"
    if expected_share is not None:
        srm["assignment_file"] = _srm(asg.n_pilot, asg.n_control, expected_share, f"assigned {asg.unit}s")
        if srm["assignment_file"]["mismatch"]:
            warnings.append(f"sample-ratio mismatch in the assignment file: {asg.n_pilot:,} pilot and "
                            f"{asg.n_control:,} control {asg.unit}s against a planned pilot share of "
                            f"{expected_share:.0%} (p = {srm['assignment_file']['p_value']:.2g})")
    if srm["mismatch"]:
        warnings.append(f"sample-ratio mismatch: {o_p:,} pilot and {o_c:,} control {what} analysed against an expected "
                        f"pilot share of {srm['expected_share']:.1%} (chi-square p = {srm['p_value']:.2g}); something "
                        "removed or added units unevenly (id matching, logging, eligibility): find it before trusting "
                        "the effects")

    # ---- self-selection
    selection = _self_selection(warnings, enrolled_flags, pilot, cluster, f_post, s_post, estimates, level,
                                self_selected, asg.unit)

    # ---- checks, money, verdict
    failed = []
    if srm["mismatch"]:
        failed.append("sample-ratio mismatch")
    if srm.get("assignment_file", {}).get("mismatch"):
        failed.append("sample-ratio mismatch in the assignment file")
    if pre_trend_failed:
        failed.append("pre-trend")
    if activity["collapsed"]:
        failed.append(f"activity collapse in the {' and '.join(activity['collapsed'])} group")
    if self_selected:
        failed.append("self-selected pilot group")
    checks_passed = not failed
    n_pilot = int(pilot.sum())
    money, verdict = _money(estimates["spend_per_week"], n_pilot, wk_post, cost_spend, costed, margin=margin,
                            reward_cost_share=reward_cost_share, reward_cost=reward_cost, programme_cost=programme_cost,
                            cost_per_pilot_customer=cost_per_pilot_customer, discount_share=discount_share, level=level)
    verdict = _verdict_with_checks(verdict, failed)

    settings = {
        "start": _date(win.start), "end": _date(win.end), "pilot_weeks": wk_post,
        "pre_start": _date(win.pre_start), "pre_end": _date(win.pre_end), "pre_weeks": wk_pre,
        "unit": asg.unit, "primary_method": primary,
        "primary_method_reason": ("stores were assigned: difference in differences removes fixed store differences and "
                                  "the intervals are cluster-robust by store" if cluster is not None else
                                  "customers were randomised individually: CUPED has the smallest variance"),
        "margin": margin, "reward_cost_share": reward_cost_share, "reward_cost": reward_cost,
        "programme_cost": programme_cost, "cost_per_pilot_customer": cost_per_pilot_customer,
        "discount_share": discount_share, "cost_basis": cost_basis, "level": float(level),
        "expected_share": expected_share, "self_selected": bool(self_selected), "log": source,
        "assignment": asg.source, "log_first_day": _date(first), "log_last_day": _date(last),
        "definitions": {k: v[1] for k, v in METRICS.items()},
    }
    checks = {"pre_trend": pre_trend, "balance": balance, "srm": srm, "coverage": coverage, "activity": activity,
              "self_selection": selection, "failed": failed, "passed": checks_passed}
    return TrialReview(settings=settings, estimates=estimates, effects=effects, before_after=before_after,
                       event_study=event, checks=checks, money=money, verdict=verdict, warnings=warnings)


# --------------------------------------------------------------------------- pieces


def _effect(*args: Any, **kwargs: Any) -> Estimate:
    """:func:`unit_effect` without its :class:`ZeroVarianceWarning` (the review reports a missing interval itself)."""
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore", ZeroVarianceWarning)
        return unit_effect(*args, **kwargs)


def _loose(ids: np.ndarray) -> pd.Series:
    """Digit-only ids without leading zeros or a '+': only to *explain* a mismatch, never to match."""
    s = pd.Series(ids, dtype=object).astype(str)
    return s.str.replace(r"^\+?0*(?=\d+$)", "", regex=True)


def _format_hint(assigned: np.ndarray, log_keys: np.ndarray, found: np.ndarray, pos: np.ndarray) -> str:
    """A sentence when assigned ids missing from the log match log ids once leading zeros are ignored (counts only)."""
    matched = np.zeros(len(assigned), dtype=bool)
    matched[pos[found]] = True
    missing = np.asarray(assigned, dtype=object)[~matched]
    if not missing.size:
        return ""
    k = int(_loose(missing).isin(set(_loose(np.asarray(log_keys, dtype=object)[~found]))).sum())
    if not k:
        return ""
    return (f"; {k:,} of the missing ids match an unmatched log id only if leading zeros or a '+' are ignored (as "
            "007 and 7): they are kept apart because they can be different customers, so write the ids the same way "
            "in both files")


def _coverage_warning(warnings: list[str], what: str, n: int, found: int, hint: str = "") -> None:
    missing = n - found
    if missing == 0:
        return
    share = missing / n
    if found < n / 2:
        warnings.append(f"most {what} of the assignment are not in the log: only {found:,} of {n:,} were found "
                        f"({share:.0%} missing); check the ids before trusting the review{hint}")
    else:
        warnings.append(f"{missing:,} of {n:,} {what} of the assignment ({share:.1%}) are not in the log; they are "
                        f"left out{hint}")


def _unassigned_warning(warnings: list[str], k: int, total: int, detail: str, what: str) -> None:
    """Warn (counts only) when log customers outside the assignment are a noticeable share of ``total``.

    Customers first seen during the pilot are expected outside a customer assignment
    (it was drawn before), so the share counts customers who bought in the pre-period.
    """
    if total <= 0 or k / total < UNASSIGNED_SHARE:
        return
    warnings.append(f"{k:,} of {total:,} {what} ({k / total:.1%}) are not in the assignment ({detail}); they are "
                    "counted, not analysed. If they should have been assigned, check the ids and the assignment")


def _activity_check(warnings: list[str], tx_pre: np.ndarray, tx_post: np.ndarray, f_pre: np.ndarray,
                    f_post: np.ndarray, pilot: np.ndarray, win: _Window, source: str) -> dict[str, Any]:
    """Each group's purchase frequency in the window against its pre-period one; a vanished group is an error."""
    out: dict[str, Any] = {"threshold": ACTIVITY_COLLAPSE, "groups": {}, "collapsed": [],
                           "definition": "per group, mean purchases per customer per week during the pilot divided "
                                         "by the same in the pre-period (analysed customers)"}
    for g, m in (("pilot", pilot), ("control", ~pilot)):
        if float(tx_post[m].sum()) == 0:
            raise DataError(f"the {g} group's {int(m.sum()):,} analysed customers made no purchase at all in the pilot "
                            f"window ({_date(win.start)} to {_date(win.end)}), after {int(tx_pre[m].sum()):,} "
                            f"purchases in the pre-period: the group vanished from the log. Did its customers get new "
                            f"ids (new cards) for the pilot, or is part of the log missing? Its effects would read "
                            f"-100%; fix the ids or the log first", source=source, column="customer_id")
        pre, post = float(f_pre[m].mean()), float(f_post[m].mean())
        ratio = post / pre if pre > 0 else math.nan
        out["groups"][g] = {"pre_purchases_per_week": pre, "pilot_purchases_per_week": post, "ratio": ratio}
        if ratio < ACTIVITY_COLLAPSE:
            out["collapsed"].append(g)
            warnings.append(f"the {g} group's purchase frequency fell to {ratio:.0%} of its pre-period level during "
                            f"the pilot ({post:.3f} against {pre:.3f} purchases per customer per week): more than a "
                            "scheme or a season explains. Did its customers get new ids (new cards), or is part of "
                            "the log missing? The effects compare a group that has largely vanished")
    return out


def _verdict_with_checks(verdict: str, failed: list[str]) -> str:
    """Say in the verdict that checks failed; a "pays" becomes "uncertain"."""
    if not failed:
        return verdict
    what = "; ".join(failed)
    word, _, rest = verdict.partition(": ")
    if word == "pays":
        return (f"uncertain: checks failed ({what}), so the figures cannot be trusted until that is explained; "
                f"taken at face value it pays - {rest}")
    return f"{verdict}; checks failed ({what}), so the figures may be biased"


def _event_study(c: np.ndarray, d: np.ndarray, a: np.ndarray, purchase: np.ndarray, units_idx: np.ndarray,
                 n_cust: int, win: _Window, pilot: np.ndarray, cluster: np.ndarray | None, f_pre: np.ndarray,
                 s_pre: np.ndarray, level: float) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Weekly effects relative to each unit's pre-period mean, and the pre-trend slope test."""
    k_min = (win.pre_start - win.start) // 7
    k_max = (win.end - win.start) // 7
    n_bins = k_max - k_min + 1
    days = np.arange(win.pre_start, win.end + 1)
    included = ((days >= win.pre_start) & (days <= win.pre_end)) | ((days >= win.start) & (days <= win.end))
    bin_days = np.bincount((days[included] - win.start) // 7 - k_min, minlength=n_bins).astype(float)
    keep_bins = np.flatnonzero(bin_days > 0)
    # only the analysed customers' rows
    local = np.full(n_cust, -1, dtype=np.int64)
    local[units_idx] = np.arange(units_idx.size)
    lc = local[c]
    m = lc >= 0
    b = (d[m] - win.start) // 7 - k_min
    flat = lc[m] * n_bins + b
    size = units_idx.size * n_bins
    tx = np.bincount(flat, weights=purchase[m], minlength=size).reshape(units_idx.size, n_bins)[:, keep_bins]
    sp = np.bincount(flat, weights=a[m], minlength=size).reshape(units_idx.size, n_bins)[:, keep_bins]
    scale = 7.0 / bin_days[keep_bins]
    weeks = keep_bins + k_min
    rows = []
    for metric, mat, pre in (("purchases_per_week", tx, f_pre), ("spend_per_week", sp, s_pre)):
        mat *= scale
        eb = unit_effect_batch(pre, mat, pilot, cluster=cluster, method="did", level=level)
        mean_p = mat[pilot].mean(axis=0)
        mean_c = mat[~pilot].mean(axis=0)
        for j, w in enumerate(weeks):
            rows.append({"metric": metric, "week": int(w), "week_start": _date(win.start + 7 * int(w)),
                         "period": "pilot" if w >= 0 else "pre", "estimate": float(eb.estimate[j]),
                         "ci_low": float(eb.ci_low[j]), "ci_high": float(eb.ci_high[j]),
                         "p_value": float(eb.p_value[j]), "pilot_mean": float(mean_p[j]),
                         "control_mean": float(mean_c[j])})
        if metric == "purchases_per_week":
            pre_cols = np.flatnonzero(weeks < 0)
            pre_trend = _pre_trend(mat[:, pre_cols], weeks[pre_cols], pilot, cluster, level)
    return pd.DataFrame(rows), pre_trend


def _pre_trend(y: np.ndarray, weeks: np.ndarray, pilot: np.ndarray, cluster: np.ndarray | None,
               level: float) -> dict[str, Any]:
    """Slope of the pilot - control difference over the pre-period weeks (purchase frequency)."""
    out: dict[str, Any] = {"metric": "purchases_per_week", "weeks": int(len(weeks)), "slope": None, "ci_low": None,
                           "ci_high": None, "p_value": None, "note": None,
                           "definition": "per customer, the least-squares slope of weekly purchases over the "
                                         "pre-period weeks; pilot mean slope minus control mean slope "
                                         "(0 when the groups moved in parallel)"}
    if len(weeks) < 3:
        out["note"] = f"pre-trend not checked: the pre-period has {len(weeks)} week(s), at least 3 are needed"
        return out
    x = weeks - weeks.mean()
    contrast = x / (x * x).sum()
    slope = y @ contrast
    e = _effect(None, slope, pilot, cluster=cluster, method="diff", level=level, metric="pre_trend_slope")
    out.update(slope=e.estimate, ci_low=e.ci_low, ci_high=e.ci_high, p_value=e.p_value, failed=e.p_value < CHECK_ALPHA)
    return out


def _balance(f_pre: np.ndarray, s_pre: np.ndarray, pilot: np.ndarray, cluster: np.ndarray | None,
             level: float) -> dict[str, Any]:
    e = _effect(None, f_pre, pilot, cluster=cluster, method="diff", level=level, metric="pre_frequency")
    s = _effect(None, s_pre, pilot, cluster=cluster, method="diff", level=level, metric="pre_spend")
    return {"metric": "purchases_per_week in the pre-period", "difference": e.estimate, "ci_low": e.ci_low,
            "ci_high": e.ci_high, "p_value": e.p_value, "spend_difference": s.estimate, "spend_p_value": s.p_value}


def _srm(n_p: int, n_c: int, share: float, what: str) -> dict[str, Any]:
    n = n_p + n_c
    exp_p, exp_c = n * share, n * (1 - share)
    if n == 0 or exp_p <= 0 or exp_c <= 0:
        return {"units": what, "pilot": n_p, "control": n_c, "expected_share": share, "chi2": None, "p_value": None,
                "mismatch": False}
    chi2 = (n_p - exp_p) ** 2 / exp_p + (n_c - exp_c) ** 2 / exp_c
    p = float(stats.chi2.sf(chi2, 1))
    return {"units": what, "pilot": n_p, "control": n_c, "observed_share": n_p / n, "expected_share": share,
            "chi2": float(chi2), "p_value": p, "mismatch": p < SRM_ALPHA, "threshold": SRM_ALPHA}


def _naive_difference(post: np.ndarray, flag: np.ndarray, cluster: np.ndarray | None,
                      level: float) -> dict[str, float]:
    """Mean of ``post`` where ``flag`` minus where not, with an interval that respects store clustering.

    Customer level: Welch (:func:`unit_effect`). By store, where a store holds both
    enrolled and other customers: the linearised cluster-robust variance of the
    difference of the two means (store totals of each customer's contribution),
    factor ``G / (G - 1)``, t reference on ``G - 1`` degrees of freedom.
    """
    if cluster is None:
        e = _effect(None, post, flag, method="diff", level=level)
        return {"estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high}
    n1, n0 = int(flag.sum()), int((~flag).sum())
    m1, m0 = float(post[flag].mean()), float(post[~flag].mean())
    u = np.where(flag, (post - m1) / n1, -(post - m0) / n0)
    codes, _ = pd.factorize(cluster)
    tot = np.bincount(codes, weights=u)
    g = tot.size
    est = m1 - m0
    if g < 2:
        return {"estimate": est, "ci_low": math.nan, "ci_high": math.nan}
    se = math.sqrt(g / (g - 1) * float((tot * tot).sum()))
    if not se > 0:
        return {"estimate": est, "ci_low": math.nan, "ci_high": math.nan}
    q = float(stats.t.ppf(0.5 + level / 2, g - 1))
    return {"estimate": est, "ci_low": est - q * se, "ci_high": est + q * se}


def _self_selection(warnings: list[str], enrolled: np.ndarray | None, pilot: np.ndarray, cluster: np.ndarray | None,
                    f_post: np.ndarray, s_post: np.ndarray, estimates: dict[str, Estimate], level: float,
                    self_selected: bool, unit: str) -> dict[str, Any] | None:
    if self_selected and enrolled is None:
        warnings.append("the pilot group chose to take part (self-selected, not randomised): the estimates compare "
                        "volunteers with the rest and are not causal; difference in differences removes only fixed "
                        "differences between them. Treat the figures as an upper bound")
        return {"self_selected": True, "enrolled_column": False}
    if enrolled is None:
        return None
    take_up = float(enrolled[pilot].mean())
    take_up_control = float(enrolled[~pilot].mean())
    complier_share = take_up - take_up_control
    in_control = int((enrolled & ~pilot).sum())
    out: dict[str, Any] = {"self_selected": True, "enrolled_column": True, "take_up": take_up,
                           "take_up_control": take_up_control, "take_up_difference": complier_share,
                           "enrolled_pilot": int((enrolled & pilot).sum()), "enrolled_control": in_control,
                           "naive": {}, "itt": {}, "per_enrolled": {}}
    if in_control:
        warnings.append(f"{in_control:,} control customers are flagged as enrolled: the control group was exposed, so "
                        "the intention-to-treat effect understates the scheme's; the per-enrolled effect divides by "
                        "the difference in take-up between the groups")
    for metric, post in (("purchases_per_week", f_post), ("spend_per_week", s_post)):
        itt = estimates[metric]
        out["itt"][metric] = {"estimate": itt.estimate, "ci_low": itt.ci_low, "ci_high": itt.ci_high}
        if enrolled.all() or not enrolled.any():
            continue
        naive = _naive_difference(post, enrolled, cluster, level)
        out["naive"][metric] = {**naive, "definition": "mean during the pilot of enrolled customers minus everyone "
                                                       "else" + (" (interval cluster-robust by store)"
                                                                 if cluster is not None else "")}
        if complier_share > 0:
            out["per_enrolled"][metric] = {
                "estimate": itt.estimate / complier_share, "ci_low": itt.ci_low / complier_share,
                "ci_high": itt.ci_high / complier_share,
                "definition": "intention-to-treat effect / (take-up in the pilot group - take-up in the control "
                              "group) (Bloom 1984; the Wald estimator): the effect per customer the assignment made "
                              "enrol, valid if the assignment changed nothing for those it did not make enrol; the "
                              "interval treats the take-up difference as known"}
    if complier_share <= 0:
        warnings.append(f"self-selection: take-up is no higher in the pilot group ({take_up:.0%}) than in the control "
                        f"group ({take_up_control:.0%}), so no per-enrolled effect can be derived")
    if "spend_per_week" in out["naive"]:
        nv = out["naive"]["spend_per_week"]["estimate"]
        it = out["itt"]["spend_per_week"]["estimate"]
        warnings.append(f"self-selection: {take_up:.0%} of pilot customers chose to enrol. Enrolled customers spent "
                        f"{nv:+,.2f} a week more than the others during the pilot, but that mixes the scheme's effect "
                        f"with who chooses to join; the intention-to-treat effect (pilot vs control as assigned) is "
                        f"{it:+,.2f} a week per pilot customer")
    return out


def _money(spend: Estimate, n_pilot: int, weeks: float, cost_spend: float, costed: int, *, margin: float,
           reward_cost_share: float, reward_cost: float, programme_cost: float, cost_per_pilot_customer: float,
           discount_share: float, level: float) -> tuple[pd.DataFrame, str]:
    """Money over the pilot window and the verdict.

    ``n_pilot`` analysed pilot customers scale the spend effect; ``cost_spend`` (the
    spend the scheme's rewards and discount were paid on) and ``costed`` (customers who
    cost ``cost_per_pilot_customer``) come from :func:`review_trial` (see its Money notes).
    """
    scale = n_pilot * weeks
    d = discount_share
    discount_given = cost_spend * d / (1 - d)
    rewards = reward_cost_share * cost_spend + reward_cost
    programme = programme_cost + cost_per_pilot_customer * costed
    costs = discount_given + rewards + programme

    def tri(x: float, lo: float, hi: float) -> tuple[float, float, float]:
        return (x, min(lo, hi), max(lo, hi)) if math.isfinite(lo) and math.isfinite(hi) else (x, math.nan, math.nan)

    rev = tri(spend.estimate * scale, spend.ci_low * scale, spend.ci_high * scale)
    full = tri(*(v + discount_given for v in rev))
    gp = tri(*(margin * v for v in full))
    profit = tri(*(v - costs for v in gp))
    roi = tri(*(v / costs for v in profit)) if costs > 0 else (math.nan, math.nan, math.nan)
    per_cust = tri(*(v / n_pilot for v in profit))
    break_even = (costs / margin - discount_given) / scale if margin > 0 else math.nan
    rows = [
        ("incremental_revenue", *rev, "currency paid by pilot customers over the pilot"),
        ("incremental_sales_full_price", *full, "currency at full price over the pilot"),
        ("incremental_gross_profit", *gp, "currency (margin x incremental full-price sales)"),
        ("discount_cost", discount_given, discount_given, discount_given, "currency"),
        ("reward_cost", rewards, rewards, rewards, "currency"),
        ("programme_cost", programme, programme, programme, "currency"),
        ("total_cost", costs, costs, costs, "currency"),
        ("incremental_profit", *profit, "currency over the pilot"),
        ("incremental_profit_per_pilot_customer", *per_cust, "currency per analysed pilot customer over the pilot"),
        ("roi", *roi, "incremental profit / total cost"),
        ("break_even_spend_effect", break_even, break_even, break_even, "currency per customer per week"),
        ("pilot_customers", float(n_pilot), float(n_pilot), float(n_pilot), "analysed pilot customers"),
        ("cost_base_spend", cost_spend, cost_spend, cost_spend,
         "currency: the window spend the reward and discount costs are on"),
        ("costed_customers", float(costed), float(costed), float(costed),
         "customers charged cost_per_pilot_customer"),
        ("pilot_weeks", weeks, weeks, weeks, "weeks"),
    ]
    money = pd.DataFrame(rows, columns=["item", "estimate", "ci_low", "ci_high", "unit"])
    pct = f"{100 * level:.0f}%"
    est, lo, hi = profit
    span = f"{est:+,.0f}; {pct} interval {lo:+,.0f} to {hi:+,.0f}"
    if costs == 0:
        g_est, g_lo, g_hi = gp
        verdict = (f"uncertain: no costs given (rewards, discount, programme and per-customer costs are all 0), so "
                   f"whether the pilot pays cannot be judged; incremental gross profit over the pilot {g_est:+,.0f} "
                   f"({pct} interval {g_lo:+,.0f} to {g_hi:+,.0f}) before any cost")
    elif not (math.isfinite(lo) and math.isfinite(hi)):
        verdict = f"uncertain: incremental profit over the pilot {est:+,.0f}, but the spend effect has no interval"
    elif est < 0:
        tail = "the whole interval is below zero" if hi < 0 else "the interval reaches a gain, but the best estimate is a loss"
        verdict = (f"reconsider: the return is below the cost - incremental profit over the pilot {span} ({tail})")
    elif lo > 0:
        verdict = f"pays: incremental profit over the pilot {span}"
    else:
        verdict = f"uncertain: incremental profit over the pilot {span} includes a loss"
    return money, verdict


# --------------------------------------------------------------------------- text


def _num(x: float, digits: int = 2, sign: bool = False) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:+,.{digits}f}" if sign else f"{x:,.{digits}f}"


def _pct(x: float, digits: int = 1) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{100 * x:+.{digits}f}%"


def _how_sure(p: float) -> str:
    if not math.isfinite(p):
        return "cannot say how sure"
    if p < 0.001:
        return "very unlikely to be chance (p < 0.001)"
    if p < 0.05:
        return f"unlikely to be chance (p = {p:.3f})"
    return f"could well be chance (p = {p:.2f})"


def _summary_text(r: TrialReview) -> str:
    s = r.settings
    lvl = f"{100 * r.level:.0f}%"
    cov = r.checks["coverage"]
    lines = []
    unit_txt = "customers" if s["unit"] == "customer" else "stores"
    lines.append(f"Trial review: pilot from {s['start']} to {s['end']} ({s['pilot_weeks']:.1f} weeks), compared with "
                 f"{s['pre_weeks']:.1f} weeks before it ({s['pre_start']} to {s['pre_end']}); {unit_txt} were assigned.")
    lines.append(f"Analysed: {cov['analysed_pilot']:,} pilot and {cov['analysed_control']:,} control customers who "
                 "bought in the pre-period.")
    unassigned = cov.get("log_customers_in_window_not_assigned", cov.get("customers_with_unassigned_home_store", 0))
    if cov["assigned_not_in_log"] or unassigned:
        lines.append(f"Ids: {cov['assigned_not_in_log']:,} of {cov['assigned']:,} assigned {unit_txt} are not in the "
                     f"log; {unassigned:,} customers who bought in the review windows are not in the assignment "
                     "(neither is analysed).")
    for metric in ("purchases_per_week", "spend_per_week", "retention", "mean_ticket"):
        e = r.estimates.get(metric)
        if e is None:
            continue
        label, unit = METRICS[metric]
        digits = 3 if metric in ("purchases_per_week", "retention") else 2
        ba = r.before_after[(r.before_after["metric"] == metric) & (r.before_after["group"] == "pilot")].iloc[0]
        if metric == "retention":
            lines.append(f"- {label.capitalize()} (share of pre-period buyers who bought again during the pilot): "
                         f"{ba['post']:.1%} of pilot customers did, against "
                         f"{e.counterfactual:.1%} expected without it: {_num(100 * e.estimate, 1, True)} points "
                         f"({lvl} interval {_num(100 * e.ci_low, 1, True)} to {_num(100 * e.ci_high, 1, True)}); "
                         f"{_how_sure(e.p_value)}.")
            continue
        rel_lo, rel_hi = e.relative_ci
        lines.append(f"- {label.capitalize()} ({unit}): {_num(ba['post'], digits)} during the pilot against "
                     f"{_num(e.counterfactual, digits)} expected without it: {_num(e.estimate, digits, True)} "
                     f"({_pct(e.relative_effect)}; {lvl} interval {_pct(rel_lo)} to {_pct(rel_hi)}); "
                     f"{_how_sure(e.p_value)}." + (" Read it as descriptive: only customers who bought in both "
                                                   "periods." if metric == "mean_ticket" else ""))
    primary = r.effects[r.effects["primary"]]["method"].iloc[0]
    lines.append(f"Method: {'CUPED' if primary == 'cuped' else 'difference in differences'} "
                 f"({s['primary_method_reason']}); the other estimator is in the effects table.")
    rev = r.money_item("incremental_revenue")
    gp = r.money_item("incremental_gross_profit")
    cost = r.money_item("total_cost")[0]
    prof = r.money_item("incremental_profit")
    roi = r.money_item("roi")
    be = r.money_item("break_even_spend_effect")[0]
    money = (f"Worth: {_num(rev[0], 0, True)} incremental revenue over the pilot ({lvl} interval {_num(rev[1], 0, True)} "
             f"to {_num(rev[2], 0, True)}), {_num(gp[0], 0, True)} gross profit at a {s['margin']:.0%} margin, against "
             f"{_num(cost, 0)} of costs: incremental profit {_num(prof[0], 0, True)} ({_num(prof[1], 0, True)} to "
             f"{_num(prof[2], 0, True)})")
    if math.isfinite(roi[0]):
        money += f", ROI {_pct(roi[0], 0)} ({_pct(roi[1], 0)} to {_pct(roi[2], 0)})"
    money += "."
    if cost > 0 and math.isfinite(be):
        money += f" To break even, spend per pilot customer had to rise by {_num(be, 2)} a week."
    lines.append(money)
    lines.append(f"Verdict: {r.verdict}." + ("" if r.checks["passed"] else
                                             " Some checks failed (below): treat the figures with caution."))
    if r.warnings:
        lines.append("Before you trust this:")
        lines.extend(f"- {w}" for w in r.warnings)
    else:
        lines.append("Checks: pre-trend, balance and sample ratio passed; every assigned unit was found in the log.")
    return "\n".join(lines)
