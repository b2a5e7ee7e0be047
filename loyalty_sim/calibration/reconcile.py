"""Customers reconciled from the log to the fit: how many were read, summarised and fitted, and why any dropped.

A customer in the log is not summarised when every row is a return (no purchase) or
when the first purchase is after the calibration end (they belong to the holdout
only); a summarised customer is not fitted when first seen on the calibration's last
day (observed for no time). The spend model (Gamma-Gamma) fits only repeat customers
with a non-zero repeat purchase: zero-amount visits count for frequency, not for spend.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..dates import to_day
from .logs import TransactionLog

__all__ = ["reconcile"]


def reconcile(log: TransactionLog | pd.DataFrame, calibration: Any, *, calibration_end: Any = None,
              observation_end: Any = None) -> dict[str, Any]:
    """The customer counts from the log to the fits, each step with the customers it leaves out.

    Parameters
    ----------
    log : TransactionLog or DataFrame
        The tidy log the fits were made on.
    calibration : Calibration
        :func:`~loyalty_sim.calibration.calibrate.calibrate`'s result on ``log``.
    calibration_end, observation_end : date-like, optional
        As given to the fit.

    Returns
    -------
    dict
        ``in_log``, ``only_returns``, ``first_purchase_after_calibration``,
        ``summarised``, ``observed_for_no_time``, ``fitted``, ``repeat_customers``,
        ``zero_spend_repeat_customers``, ``spend_fitted``, ``calibration_end``.
    """
    data = log.data if isinstance(log, TransactionLog) else log
    ids = data["customer_id"].to_numpy()
    codes, uniq = pd.factorize(ids)
    day = data["timestamp"].to_numpy().astype("datetime64[D]").astype(np.int64)
    purchase = data["amount"].to_numpy() >= 0
    big = np.iinfo(np.int64).max
    first = np.full(len(uniq), big, dtype=np.int64)
    np.minimum.at(first, codes[purchase], day[purchase])
    has_purchase = first < big
    end = calibration_end if calibration_end is not None else observation_end
    after = has_purchase & (first > to_day(end, "calibration_end")) if end is not None else np.zeros_like(has_purchase)
    rfm = calibration.rfm
    repeat = rfm["frequency"].to_numpy() > 0
    spend_x = rfm["spend_frequency"].to_numpy() if "spend_frequency" in rfm else rfm["frequency"].to_numpy()
    return {
        "in_log": int(len(uniq)),
        "only_returns": int((~has_purchase).sum()),
        "first_purchase_after_calibration": int(after.sum()),
        "summarised": int(len(rfm) + calibration.left_out),
        "observed_for_no_time": int(calibration.left_out),
        "fitted": int(len(rfm)),
        "repeat_customers": int(repeat.sum()),
        "zero_spend_repeat_customers": int((repeat & (spend_x == 0)).sum()),
        "spend_fitted": int((spend_x > 0).sum()),
        "calibration_end": rfm.attrs.get("calibration_end"),
    }
