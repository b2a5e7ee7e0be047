"""Checks of single parameters: each returns the value in its canonical type or raises.

Every check takes the parameter's ``name`` first and raises
:class:`~loyalty_sim.errors.ConfigError` with ``field=name``, saying what was expected
and what came (``expected an integer >= 1, got 'a'``), so a message names the exact
argument, option or YAML field. One module for every wing (statsmodels keeps its
validators in one ``tools/validation`` module in the same spirit).

Functions
---------
check_count
    A whole number ``>= minimum`` (an integral float is accepted).
check_positive
    A finite number ``> 0`` (``>= 0`` with ``allow_zero``).
check_probability
    A number in ``(0, 1)``, ``[0, 1)``, ``(0, 1]`` or ``[0, 1]``.
check_money
    A finite amount of currency ``>= 0``.
check_choice
    One of a fixed set of values.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from .errors import ConfigError

__all__ = ["check_choice", "check_count", "check_money", "check_positive", "check_probability"]

_INTERVALS = ("(0, 1)", "[0, 1)", "(0, 1]", "[0, 1]")


def _is_number(value: Any) -> bool:
    """A real number that is not a bool (numpy scalars included)."""
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, float, np.integer, np.floating))


def check_count(name: str, value: Any, *, minimum: int = 0) -> int:
    """A whole number ``>= minimum``.

    Parameters
    ----------
    name : str
        The field named in the error.
    value : int
        An int, a numpy integer or an integral float (``4.0``); not a bool.
    minimum : int
        Smallest allowed value.

    Returns
    -------
    int

    Examples
    --------
    >>> check_count("weeks", 4.0, minimum=1)
    4
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ConfigError(f"expected an integer >= {minimum}, got {value!r}", field=name)
    if value < minimum:
        raise ConfigError(f"must be >= {minimum}, got {value}", field=name)
    return int(value)


def check_positive(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """A finite number ``> 0`` (``>= 0`` with ``allow_zero``).

    Anything ``float()`` accepts is accepted (``"0.5"`` too), as for a YAML or CLI value.

    Returns
    -------
    float
    """
    bound = ">= 0" if allow_zero else "> 0"
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"expected a number {bound}, got {value!r}", field=name) from None
    if not math.isfinite(v) or (v < 0 if allow_zero else v <= 0):
        raise ConfigError(f"must be a finite number {bound}, got {value!r}", field=name)
    return v


def check_probability(name: str, value: Any, *, interval: str = "(0, 1)", strict: bool = False) -> float:
    """A number in ``interval``, one of ``"(0, 1)"``, ``"[0, 1)"``, ``"(0, 1]"``, ``"[0, 1]"``.

    Parameters
    ----------
    name : str
        The field named in the error.
    value : float
        The value.
    interval : str
        Which ends are allowed (a square bracket includes the end).
    strict : bool
        Accept only numbers (no text such as ``"0.5"``, no bools); otherwise anything
        ``float()`` accepts.

    Returns
    -------
    float

    Examples
    --------
    >>> check_probability("share", 0.25)
    0.25
    """
    if interval not in _INTERVALS:
        raise ValueError(f"interval must be one of {_INTERVALS}, got {interval!r}")
    if strict and not _is_number(value):
        raise ConfigError(f"expected a number in {interval}, got {value!r}", field=name)
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"expected a number in {interval}, got {value!r}", field=name) from None
    low_ok = v >= 0 if interval[0] == "[" else v > 0
    high_ok = v <= 1 if interval[-1] == "]" else v < 1
    if not (math.isfinite(v) and low_ok and high_ok):
        raise ConfigError(f"must be in {interval}, got {value!r}", field=name)
    return v


def check_money(name: str, value: Any) -> float:
    """A finite amount of currency ``>= 0`` (numbers only, not text or bools).

    Returns
    -------
    float
    """
    if not _is_number(value) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"expected an amount >= 0 (currency), got {value!r}", field=name)
    return float(value)


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """``value`` if it is one of ``choices``.

    Returns
    -------
    The value, unchanged.
    """
    options = list(choices)
    if value not in options:
        raise ConfigError(f"expected one of {options}, got {value!r}", field=name)
    return value
