"""Dates given as options (``calibration_end``, ``today``, a window, a pilot's start): the one parser.

Anything :class:`pandas.Timestamp` accepts is a date; a time-zone aware value keeps its
wall-clock time (the zone is dropped, as the log readers drop it). Days are whole days
since 1970-01-01 (``np.int64``), the unit the summaries and the trial windows count in.
Dates *inside* a log are parsed by :mod:`loyalty_sim.calibration.logs`, column-wise and
without guessing day-first or month-first.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .errors import ConfigError

__all__ = ["day_timestamp", "to_day", "to_timestamp"]


def to_timestamp(value: Any, field: str) -> pd.Timestamp:
    """``value`` as a time-zone-naive Timestamp; a ConfigError naming ``field`` if it is not a date."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ConfigError(f"not a date: {value!r}", field=field) from None
    if ts is pd.NaT:
        raise ConfigError("a date is required, got NaT", field=field)
    return ts.tz_localize(None) if ts.tzinfo is not None else ts


def to_day(value: Any, field: str = "date") -> np.int64:
    """The day of ``value`` (a Timestamp or anything :func:`to_timestamp` accepts) as days since 1970-01-01."""
    ts = to_timestamp(value, field)
    return np.int64(np.datetime64(ts.to_datetime64(), "D").astype(np.int64))


def day_timestamp(day: int) -> pd.Timestamp:
    """Midnight of ``day`` (days since 1970-01-01)."""
    return pd.Timestamp(np.datetime64(int(day), "D"))
