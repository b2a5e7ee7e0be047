"""The one number formatter of every text the package writes.

Every function takes a number and returns text. A missing or non-finite value (None,
NaN, an infinity, or anything that is not a number) is never printed as ``nan`` or
``inf``: it becomes ``"n/a"``, or ``"n/a (reason)"`` when a reason is given. Numbers
are written in fixed point with thousands separators, never in scientific notation.

Functions
---------
number(x, digits=2, sign=False)
    ``1,234.50``; ``+0.125`` with ``sign``.
percent(x, digits=1, sign=False)
    A share as a percent: ``0.052`` -> ``5.2%``.
points(x, digits=1, sign=True)
    A difference of two shares in percentage points: ``0.013`` -> ``+1.3 points``.
money(x, digits=0, sign=False, currency=None)
    An amount: ``1,234``; ``EUR 1,234`` with a currency; ``-EUR 5`` stays ``EUR -5``.
p_value(p)
    ``0.0312``-like with three significant digits, ``< 0.001`` below 0.001.
interval(lo, hi, fmt=number, **kw)
    ``lo to hi`` with one formatter for both ends; n/a if either end is missing.
not_available(reason=None)
    ``n/a`` or ``n/a (reason)``.
roi_words(roi, currency=None)
    ``each EUR 1 spent returns EUR 2.72 of profit``.
"""

from __future__ import annotations

import math
from typing import Any, Callable

__all__ = ["finite", "interval", "money", "not_available", "number", "p_value", "percent", "points", "roi_words"]

NA = "n/a"


def finite(x: Any) -> float | None:
    """``x`` as a finite float, or None when it is missing, not a number or not finite."""
    if x is None or isinstance(x, bool):
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def not_available(reason: str | None = None) -> str:
    """``n/a``, or ``n/a (reason)``."""
    return NA if not reason else f"{NA} ({reason})"


def _fixed(v: float, digits: int, sign: bool) -> str:
    d = max(0, int(digits))
    if round(v, d) == 0:  # -0.3 at 0 decimals is "0", never "-0"
        v = 0.0
    return f"{v:{'+' if sign else ''},.{d}f}"


def number(x: Any, digits: int = 2, *, sign: bool = False, missing: str | None = None) -> str:
    """A number with thousands separators and ``digits`` decimals (``+`` shown with ``sign``).

    Examples
    --------
    >>> number(1234.5), number(0.1254, 3, sign=True), number(float("nan"))
    ('1,234.50', '+0.125', 'n/a')
    """
    v = finite(x)
    return not_available(missing) if v is None else _fixed(v, digits, sign)


def percent(x: Any, digits: int = 1, *, sign: bool = False, missing: str | None = None) -> str:
    """A share as a percent (``0.052`` -> ``5.2%``; ``+5.2%`` with ``sign``)."""
    v = finite(x)
    v = None if v is None else finite(100 * v)   # a share near the float limit has no finite percent
    return not_available(missing) if v is None else _fixed(v, digits, sign) + "%"


def points(x: Any, digits: int = 1, *, sign: bool = True, missing: str | None = None) -> str:
    """A difference of two shares in percentage points (``0.013`` -> ``+1.3 points``)."""
    v = finite(x)
    v = None if v is None else finite(100 * v)
    return not_available(missing) if v is None else _fixed(v, digits, sign) + " points"


def money(x: Any, digits: int = 0, *, sign: bool = False, currency: str | None = None,
          missing: str | None = None) -> str:
    """An amount of money, optionally with its currency before it (``EUR 1,234``)."""
    v = finite(x)
    if v is None:
        return not_available(missing)
    text = _fixed(v, digits, sign)
    return f"{currency} {text}" if currency else text


def p_value(p: Any, *, missing: str | None = None) -> str:
    """A p-value with three significant digits in fixed point; ``< 0.001`` below 0.001.

    Examples
    --------
    >>> p_value(0.04567), p_value(0.2), p_value(1e-7)
    ('0.0457', '0.2', '< 0.001')
    """
    v = finite(p)
    if v is None:
        return not_available(missing)
    if v < 0.001:
        return "< 0.001"
    if v >= 999.5:             # not a probability; '.3g' would switch to scientific notation
        return number(v, 0)
    return f"{v:.3g}"          # three significant digits: fixed point for 0.001 <= p < 999.5


def interval(lo: Any, hi: Any, fmt: Callable[..., str] = number, *, missing: str | None = None, **kw: Any) -> str:
    """``lo to hi``, both ends by ``fmt`` (any formatter of this module, its keywords passed on)."""
    if finite(lo) is None or finite(hi) is None:
        return not_available(missing)
    return f"{fmt(lo, **kw)} to {fmt(hi, **kw)}"


def roi_words(roi: Any, currency: str | None = None) -> str:
    """Return on investment in words: profit (or loss) per unit of money the scheme costs.

    Examples
    --------
    >>> roi_words(2.72, "EUR"), roi_words(-0.4, "EUR")
    ('each EUR 1 spent returns EUR 2.72 of profit', 'each EUR 1 spent loses EUR 0.40')
    """
    v = finite(roi)
    if v is None:
        return "no return on cost to report (the scheme costs nothing)"
    one = money(1, 0, currency=currency)
    if v < 0:
        return f"each {one} spent loses {money(-v, 2, currency=currency)}"
    return f"each {one} spent returns {money(v, 2, currency=currency)} of profit"
