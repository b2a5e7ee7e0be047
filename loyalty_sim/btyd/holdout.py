"""Holdout checks: tracking of cumulative repeat transactions, conditional expectations by frequency, accuracy.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the easy
way. *Marketing Science* 24(2), 275-284 (figures 2-4).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..dates import to_day
from ..errors import ConfigError, DataError
from ._mle import FitResult, _btyd_arrays, _column, _model_of, _unique_rows
from .dispatch import conditional_expected_transactions, expected_transactions
from .gamma_gamma import gamma_gamma_expected_spend, spend_frequency
from .rfm import (
    NS_PER_DAY,
    DailyAccumulator,
    EventAccumulator,
    check_resolution,
    log_resolution,
    timestamps_to_ns,
    unit_days,
)


def holdout_tracking(log: Any, params: Any, *, calibration_end: Any, observation_end: Any = None,
                     model: str | None = None, time_unit: str | float = "W", start: Any = None,
                     resolution: str = "auto") -> pd.DataFrame:
    """Cumulative repeat transactions of the cohort, actual and predicted, period by period.

    The cohort is every customer whose first purchase is on or before
    ``calibration_end``; its repeat transactions (purchase days after the first, or
    with ``resolution="exact"`` purchase timestamps after the first) are counted per
    period of ``time_unit`` from ``start`` (default: the cohort's first purchase day,
    from its midnight when exact). The prediction sums ``E[X(t)]`` over customers,
    each from their own first purchase (Fader, Hardie & Lee 2005, figures 2-3).

    Parameters
    ----------
    log : TransactionLog or DataFrame
        The tidy log (``customer_id``, ``timestamp``, ``amount``).
    params : FitResult or dict
        BG/NBD or Pareto/NBD parameters, fitted in ``time_unit``.
    calibration_end, observation_end : date-like
        End of calibration (inclusive) and of the data used (default: last purchase).
    model : str, optional
    time_unit : str or float
    start : date-like, optional
    resolution : {"auto", "day", "exact"}
        What one transaction is, as in :func:`loyalty_sim.btyd.rfm.rfm_summary` (count
        the same transactions the fit was made on).

    Returns
    -------
    DataFrame
        Indexed by ``period`` (1, 2, ...): ``period_end`` (last day), ``actual``,
        ``predicted`` (cumulative), ``actual_incremental``, ``predicted_incremental``,
        ``holdout`` (period ends after ``calibration_end``).
    """
    model = _model_of(params, model)
    frame = getattr(log, "data", log)
    unit = unit_days(time_unit)
    check_resolution(resolution)
    amount = pd.to_numeric(frame["amount"], errors="coerce").to_numpy(dtype=np.float64)
    ns = timestamps_to_ns(frame["timestamp"])
    if resolution == "auto":
        resolution = log_resolution(ns)
    if resolution == "exact":
        return _holdout_tracking_exact(frame["customer_id"], ns, amount, params, model=model, unit=unit,
                                       time_unit=time_unit, calibration_end=to_day(calibration_end, "calibration_end"),
                                       observation_end=observation_end, start=start)
    acc = DailyAccumulator()
    acc.add(frame["customer_id"], ns // NS_PER_DAY, amount)
    _, code, day, _, has_purchase = acc.daily()
    code, day = code[has_purchase], day[has_purchase]
    cal_end = to_day(calibration_end, "calibration_end")
    obs_end = to_day(observation_end, "observation_end") if observation_end is not None else day.max()
    starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    first = np.repeat(day[starts], np.diff(np.r_[starts, len(day)]))
    cohort_first = day[starts][day[starts] <= cal_end]
    if len(cohort_first) == 0:
        raise DataError("no customer made a first purchase on or before calibration_end", column="timestamp")
    origin = to_day(start, "start") if start is not None else cohort_first.min()
    n_periods = int(math.ceil((obs_end - origin + 1) / unit))
    repeat = (day > first) & (first <= cal_end) & (day <= obs_end) & (day >= origin)
    period_of = np.floor((day[repeat] - origin) / unit).astype(np.int64)
    actual_inc = np.bincount(period_of, minlength=n_periods)[:n_periods].astype(np.float64)
    last_day = np.ceil(origin + unit * np.arange(1, n_periods + 1)) - 1
    last_day = np.minimum(last_day, obs_end)
    fdays, fcount = np.unique(cohort_first, return_counts=True)
    elapsed = np.maximum(last_day[:, None] - fdays[None, :], 0.0) / unit
    predicted = expected_transactions(params, elapsed, model=model) @ fcount
    out = pd.DataFrame({
        "period_end": pd.to_datetime(last_day.astype("int64").astype("datetime64[D]")),
        "actual": np.cumsum(actual_inc),
        "predicted": predicted,
        "actual_incremental": actual_inc,
        "predicted_incremental": np.diff(np.r_[0.0, predicted]),
        "holdout": last_day > cal_end,
    }, index=pd.RangeIndex(1, n_periods + 1, name="period"))
    out.attrs.update({"model": model, "time_unit": time_unit, "resolution": "day",
                      "calibration_end": str(pd.Timestamp(np.datetime64(int(cal_end), "D")).date()),
                      "n_customers": int(len(cohort_first))})
    return out


def _holdout_tracking_exact(customer_id: Any, ns: np.ndarray, amount: np.ndarray, params: Any, *, model: str,
                            unit: float, time_unit: Any, calibration_end: np.int64, observation_end: Any,
                            start: Any) -> pd.DataFrame:
    """:func:`holdout_tracking` in continuous time: every distinct purchase stamp counts."""
    acc = EventAccumulator()
    acc.add(customer_id, ns, amount)
    _, code, t, _, has_purchase = acc.events()
    code, t = code[has_purchase], t[has_purchase]
    obs_day = to_day(observation_end, "observation_end") if observation_end is not None else t.max() // NS_PER_DAY
    obs_stop = (np.int64(obs_day) + 1) * NS_PER_DAY
    cal_stop = (np.int64(calibration_end) + 1) * NS_PER_DAY
    starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    first = np.repeat(t[starts], np.diff(np.r_[starts, len(t)]))
    cohort_first = t[starts][t[starts] < cal_stop]
    if len(cohort_first) == 0:
        raise DataError("no customer made a first purchase on or before calibration_end", column="timestamp")
    origin = (to_day(start, "start") if start is not None else cohort_first.min() // NS_PER_DAY) * NS_PER_DAY
    unit_ns = unit * float(NS_PER_DAY)
    n_periods = int(math.ceil((obs_stop - origin) / unit_ns))
    repeat = (t > first) & (first < cal_stop) & (t < obs_stop) & (t >= origin)
    period_of = np.floor((t[repeat] - origin) / unit_ns).astype(np.int64)
    actual_inc = np.bincount(period_of, minlength=n_periods)[:n_periods].astype(np.float64)
    period_stop = np.minimum(origin + np.round(unit_ns * np.arange(1, n_periods + 1)).astype(np.int64), obs_stop)
    # first purchases to the nearest hour for the prediction only (at most 24 distinct per day keeps
    # the periods x first-times grid small; half an hour is < 0.3% of a week)
    hour = NS_PER_DAY // 24
    firsts, fcount = np.unique((cohort_first + hour // 2) // hour * hour, return_counts=True)
    elapsed = np.maximum(period_stop[:, None] - firsts[None, :], 0).astype(np.float64) / unit_ns
    predicted = expected_transactions(params, elapsed, model=model) @ fcount
    out = pd.DataFrame({
        "period_end": pd.to_datetime((period_stop - 1) // NS_PER_DAY * NS_PER_DAY),
        "actual": np.cumsum(actual_inc),
        "predicted": predicted,
        "actual_incremental": actual_inc,
        "predicted_incremental": np.diff(np.r_[0.0, predicted]),
        "holdout": period_stop > cal_stop,
    }, index=pd.RangeIndex(1, n_periods + 1, name="period"))
    out.attrs.update({"model": model, "time_unit": time_unit, "resolution": "exact",
                      "calibration_end": str(pd.Timestamp(np.datetime64(int(calibration_end), "D")).date()),
                      "n_customers": int(len(cohort_first))})
    return out


def conditional_expectations_by_frequency(rfm: pd.DataFrame, params: Any, *, model: str | None = None,
                                          max_frequency: int = 7) -> pd.DataFrame:
    """Mean holdout transactions, actual and predicted, by calibration frequency (FHL 2005, figure 4).

    Parameters
    ----------
    rfm : DataFrame
        With ``frequency_holdout`` and ``duration_holdout`` (a calibration split).
    params : FitResult or dict
    model : str, optional
    max_frequency : int
        Frequencies at or above it are pooled into one row.

    Returns
    -------
    DataFrame
        Indexed by ``frequency`` (0 .. max_frequency; the last row is "max or more"):
        ``label``, ``n_customers``, ``actual``, ``predicted``.
    """
    model = _model_of(params, model)
    if int(max_frequency) < 1:
        raise ConfigError("must be at least 1", field="max_frequency")
    x, t_x, T = _btyd_arrays(rfm)
    actual = _column(rfm, "frequency_holdout")
    duration = _column(rfm, "duration_holdout")
    pred = _conditional_by_pattern(params, model, duration, x, t_x, T)
    bucket = np.minimum(x, max_frequency).astype(np.int64)
    frame = pd.DataFrame({"frequency": bucket, "actual": actual, "predicted": pred})
    out = frame.groupby("frequency").agg(n_customers=("actual", "size"), actual=("actual", "mean"),
                                         predicted=("predicted", "mean"))
    out.insert(0, "label", [f"{k}+" if k == max_frequency else str(k) for k in out.index])
    out.attrs["model"] = model
    return out


def _conditional_by_pattern(params: Any, model: str, t: np.ndarray, x: np.ndarray, t_x: np.ndarray,
                            T: np.ndarray) -> np.ndarray:
    P = _unique_rows(x, t_x, T, t)
    idx = P.inverse
    return conditional_expected_transactions(params, P.cols[3], *P.cols[:3], model=model)[idx]


def holdout_accuracy(rfm: pd.DataFrame, fit: FitResult) -> dict[str, Any]:
    """Holdout transactions of a transaction-model fit, actual vs predicted: totals, MAE, RMSE, correlation, by frequency."""
    x, t_x, T = _btyd_arrays(rfm)
    actual = _column(rfm, "frequency_holdout")
    pred = _conditional_by_pattern(fit, fit.model, _column(rfm, "duration_holdout"), x, t_x, T)
    err = pred - actual
    by_freq = conditional_expectations_by_frequency(rfm, fit)
    return {
        "actual_total": float(actual.sum()),
        "predicted_total": float(pred.sum()),
        "relative_error_total": float(pred.sum() / actual.sum() - 1.0) if actual.sum() > 0 else None,
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err ** 2))),
        "correlation": float(np.corrcoef(pred, actual)[0, 1]) if np.std(actual) > 0 else None,
        "by_frequency": by_freq.reset_index().to_dict(orient="records"),
    }


def spend_accuracy(rfm: pd.DataFrame, fit: FitResult) -> dict[str, Any]:
    """Holdout mean spend of repeat customers, actual vs Gamma-Gamma expected: means, MAE, correlation."""
    x = spend_frequency(rfm)
    m = _column(rfm, "monetary_value")
    mh = _column(rfm, "monetary_value_holdout")
    xh = _column(rfm, "frequency_holdout")
    use = (x > 0) & (xh > 0) & np.isfinite(m) & np.isfinite(mh)
    if not use.any():
        return {"n_customers": 0}
    pred = gamma_gamma_expected_spend(fit, x[use], m[use])
    return {
        "n_customers": int(use.sum()),
        "mean_actual": float(mh[use].mean()),
        "mean_predicted": float(pred.mean()),
        "mae": float(np.mean(np.abs(pred - mh[use]))),
        "correlation": float(np.corrcoef(pred, mh[use])[0, 1]) if use.sum() > 2 else None,
    }
