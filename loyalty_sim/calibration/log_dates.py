"""Dates of a log written day/month/year or month/day/year: settled by the data, or an error.

``04/05/2026`` is 4 May or 5 April; the order is never guessed. When some value of the
column has a number above 12 in one of the two places (``25/03/2026``), that settles it
for the whole column; when none has, or values disagree, the reader stops and asks for
``--date-format``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

__all__ = ["DayMonth", "settle_day_month"]


#: a date written day/month/year or month/day/year (with an optional time of day)
_DAY_MONTH = re.compile(r"^\s*(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(.*)$")


_CLOCK = re.compile(r"^([ T])\d{1,2}:\d{2}(:\d{2})?$")


def _clock_format(rest: str) -> str:
    """The strftime tail of a date's time of day (``" 10:30"`` -> ``" %H:%M"``)."""
    m = _CLOCK.match(rest.rstrip())
    if not m:
        return ""
    return f"{m.group(1)}%H:%M" + (":%S" if m.group(2) else "")


@dataclass(frozen=True)
class DayMonth:
    """What the values say about the day/month order.

    Attributes
    ----------
    format : str or None
        The strftime pattern the values settle (None when they do not).
    problem : str or None
        Why the order is not settled, in command-line words (None when it is).
    examples : list of int
        Positions (in the values given) of the value that settles the order or of the
        ones that show the problem.
    """

    format: str | None
    problem: str | None
    examples: list[int]


def settle_day_month(values: list[str]) -> DayMonth | None:
    """The day/month order of ``values`` (dates that are not ISO 8601); None if none looks like d/m/y."""
    found = [(i, m) for i, v in enumerate(values) if (m := _DAY_MONTH.match(str(v)))]
    if not found:
        return None
    first = np.array([int(m.group(1)) for _, m in found])
    second = np.array([int(m.group(3)) for _, m in found])
    i0, m0 = found[0]
    sep, year = m0.group(2), "%Y" if len(m0.group(4)) == 4 else "%y"
    clock = _clock_format(m0.group(5))
    day_first, month_first = f"%d{sep}%m{sep}{year}{clock}", f"%m{sep}%d{sep}{year}{clock}"
    high1, high2 = first > 12, second > 12
    if high1.any() and high2.any():
        a, b = found[int(np.argmax(high1))][0], found[int(np.argmax(high2))][0]
        return DayMonth(None, f"the dates disagree on the day/month order: {values[a]!r} has the day first, "
                              f"{values[b]!r} the month first. Pass --date-format {day_first} or --date-format "
                              f"{month_first}, and correct the other rows", [a, b])
    if not high1.any() and not high2.any():
        d, mth = int(m0.group(1)), int(m0.group(3))
        return DayMonth(None, f"the day/month order of the dates is not settled: no value has a number above 12 "
                              f"in the first or second place, so {values[i0]!r} could be day {d} of month {mth} "
                              f"or day {mth} of month {d}. Pass --date-format {day_first} (day first) or "
                              f"--date-format {month_first} (month first)", [i0])
    k = found[int(np.argmax(high1 if high1.any() else high2))][0]
    return DayMonth(day_first if high1.any() else month_first, None, [k])
