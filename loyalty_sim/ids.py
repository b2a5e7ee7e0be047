"""Customer and store ids as text: the one rule by which a log and an assignment agree.

A log's ids are kept as text, stripped of surrounding blanks; a whole column becomes
integers only when every id is a plain decimal integer without leading zeros, which
loses nothing (:func:`loyalty_sim.logs.read_log`). The rule here reproduces that text
for any input, so that ids met in two files (a log and an assignment, or two logs) can
be compared:

- integers, and integral floats (an id column with a gap, read as float), are written
  in decimal;
- text is stripped and otherwise kept exactly: ``"007"``, ``"7"``, ``"+7"``, ``"7.0"``
  and ``"1_000"`` are five different ids;
- the one exception is the ``'`` our own spreadsheet-safe CSV writers put before an id
  starting with ``= + - @`` (or a tab or carriage return), which is dropped
  (``'-c7`` is the id ``-c7``);
- missing ids become ``""``.

Functions
---------
id_text
    One id as text.
normalise_ids
    An array of ids as text (fast paths for integer and string arrays).
merge_codes
    Codes of raw ids re-coded so that raw spellings of one normalised id share a code.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["id_text", "merge_codes", "normalise_ids"]


def id_text(v: Any) -> str:
    """One id as text: an integer (or an integral float) in decimal, text stripped, missing as ''.

    Examples
    --------
    >>> id_text(7.0), id_text(" 007 "), id_text(None)
    ('7', '007', '')
    """
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


def normalise_ids(values: Any) -> np.ndarray:
    """Ids as the text :func:`loyalty_sim.logs.read_log` keeps them (see the module notes).

    Parameters
    ----------
    values : array-like
        Ids of any type (ints, floats, text, mixed; missing values allowed).

    Returns
    -------
    ndarray of object (str)
        One text id per input value, in order.
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
        s = pd.Series([id_text(v) for v in arr.ravel()], dtype=object)
    s = s.str.replace(r"^'(?=[=+\-@\t\r])", "", regex=True)
    return s.to_numpy(dtype=object)


def merge_codes(codes: np.ndarray, keys: np.ndarray, *, sort: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Codes of raw values re-coded by their normalised ``keys`` (raw values with one key share a code).

    Missing raw values (code -1) stay -1. With ``sort``, codes follow the sorted order of the keys.
    """
    kc, ku = pd.factorize(keys, sort=sort)
    out = np.where(codes >= 0, kc[np.maximum(codes, 0)], -1) if len(kc) else codes
    return out.astype(np.int64), np.asarray(ku, dtype=object)
