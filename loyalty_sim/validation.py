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
check_number
    A finite number (not text, not a bool) within optional bounds.
check_shares
    A mapping of name -> share in ``[0, 1]`` summing to 1.
check_columns
    A table holding the columns a computation needs.
from_mapping
    A config dataclass from a mapping, unknown keys refused, errors naming the source.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Iterable, Mapping, TypeVar

import numpy as np

from .errors import ConfigError

__all__ = ["check_choice", "check_columns", "check_count", "check_money", "check_number", "check_positive", "check_probability",
           "check_shares", "from_mapping"]

T = TypeVar("T")

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


def check_number(name: str, value: Any, *, low: float | None = None, high: float | None = None,
                 strict_low: bool = False) -> float:
    """A finite number (numbers only, not text or bools), ``>= low`` (``> low`` with ``strict_low``), ``<= high``.

    Returns
    -------
    float

    Examples
    --------
    >>> check_number("retention", 0.9, low=0.0, high=1.0)
    0.9
    """
    if not _is_number(value) or not math.isfinite(value):
        raise ConfigError(f"expected a finite number, got {value!r}", field=name)
    if low is not None and (value <= low if strict_low else value < low):
        raise ConfigError(f"must be {'>' if strict_low else '>='} {low:g}, got {value}", field=name)
    if high is not None and value > high:
        raise ConfigError(f"must be <= {high:g}, got {value}", field=name)
    return float(value)


def check_shares(name: str, mix: Any, keys: Iterable[str] | None = None) -> dict[str, float]:
    """A mapping of name -> share, each in ``[0, 1]``, summing to 1 (within 1e-6); ``keys`` limits the names.

    Returns
    -------
    dict
        Names as text, shares as floats.
    """
    if not isinstance(mix, Mapping) or not mix:
        raise ConfigError(f"expected a mapping of name -> share, got {mix!r}", field=name)
    if keys is not None:
        keys = list(keys)
        unknown = sorted(set(mix) - set(keys))
        if unknown:
            raise ConfigError(f"unknown keys {unknown}; expected some of {keys}", field=name)
    out = {str(k): check_probability(f"{name}.{k}", v, interval="[0, 1]") for k, v in mix.items()}
    total = sum(out.values())
    if abs(total - 1.0) > 1e-6:
        raise ConfigError(f"shares must sum to 1, they sum to {total:.6g}", field=name)
    return out


def from_mapping(cls: type[T], raw: Mapping[str, Any] | None, *, what: str, prefix: str | None = None,
                 hint: str | None = None, defaults: Mapping[str, Any] | None = None,
                 source: str | None = None) -> T:
    """Build config dataclass ``cls`` from ``raw`` (over ``defaults``), refusing names it does not have.

    The one strict reader behind ``BehaviourParams.from_mapping``, ``Economics.from_mapping``
    and ``population.params_from_mapping``.

    Parameters
    ----------
    cls : dataclass type
        Raises :class:`ConfigError` from its own checks.
    raw : mapping or None
        The section as read (``None`` for empty).
    what : str
        What the keys are, for the message (``"economics setting(s)"``).
    prefix : str, optional
        Field-path prefix of the section (``"economics"`` gives ``economics.margin``).
    hint : str, optional
        Where the valid names are listed; by default the message lists them.
    defaults : mapping, optional
        Values ``raw`` overrides.
    source : str, optional
        The file, added to every error.
    """
    if raw is not None and not isinstance(raw, Mapping):
        raise ConfigError(f"expected a mapping of {what}, got {raw!r}", field=prefix, source=source)
    raw = dict(raw or {})
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - known, key=str)
    if unknown:
        field = f"{prefix}.{unknown[0]}" if prefix else str(unknown[0])
        raise ConfigError(f"unknown {what} {unknown}; {hint or f'expected some of {sorted(known)}'}",
                          field=field, source=source)
    try:
        return cls(**{**dict(defaults or {}), **raw})
    except TypeError as exc:  # a required field missing
        raise ConfigError(str(exc), field=prefix, source=source) from None
    except ConfigError as exc:
        raise ConfigError(exc.message, field=exc.field, source=source) from None


def check_columns(name: str, frame: Any, required: Iterable[str]) -> None:
    """``frame`` (a DataFrame) holds every column in ``required``; the message lists the missing and present ones."""
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ConfigError(f"the {name} needs columns {missing}; it has {list(frame.columns)}", field=name)
