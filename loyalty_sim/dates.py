"""Dates given as options (``calibration_end``, ``today``, a window, a pilot's start): the one parser.

Anything :class:`pandas.Timestamp` accepts is a date; a time-zone aware value keeps its
wall-clock time (the zone is dropped, as the log readers drop it). Days are whole days
since 1970-01-01 (``np.int64``), the unit the summaries and the trial windows count in.
Dates *inside* a log are parsed by :mod:`loyalty_sim.calibration.logs`, column-wise and
without guessing day-first or month-first.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

import numpy as np
import pandas as pd

from .errors import ConfigError

__all__ = ["day_timestamp", "parse_iso_date", "to_day", "to_timestamp"]


_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_iso_date(value: Any, option: str) -> pd.Timestamp | None:
    """A date option documented as YYYY-MM-DD, strictly: ``04/05/2026`` is refused, never guessed.

    Parameters
    ----------
    value : str, date, Timestamp or None
        Text must be exactly ``YYYY-MM-DD``; a date or Timestamp object is taken as is.
    option : str
        The option's name in the message, e.g. ``"--start"`` (or a Python field name).

    Returns
    -------
    Timestamp or None
        Midnight of the day; None when ``value`` is None.

    Raises
    ------
    ConfigError
        Naming the option and the value, with an example of the expected form.
    """
    if value is None:
        return None
    if isinstance(value, (_dt.date, pd.Timestamp, np.datetime64)) and not isinstance(value, str):
        return to_timestamp(value, option).normalize()
    text = str(value).strip()
    if not _ISO_DAY.match(text):
        raise ConfigError(f"{option} {value}: expected a date as YYYY-MM-DD (e.g. 2026-05-04); "
                          f"day/month orders such as 04/05/2026 are not guessed")
    try:
        return pd.Timestamp(_dt.date.fromisoformat(text))
    except ValueError as exc:
        raise ConfigError(f"{option} {value}: not a date ({exc})") from None


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
