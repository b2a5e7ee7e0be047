"""Priors over the behavioural assumptions: one distribution per row of the parameter table.

Every row of :data:`loyalty_sim.behaviour.PARAMETER_TABLE` gets a Beta-PERT distribution
over its plausible range ``(a, b)`` with its mode ``m`` at the point value (the default,
or the scenario's value)::

    x = a + (b - a) * Beta(1 + w (m - a) / (b - a), 1 + w (b - m) / (b - a))

``w`` is the row's :attr:`~loyalty_sim.behaviour.Parameter.prior_shape`: 4 (the classic
PERT, mean ``(a + 4m + b) / 6``) for an assumption, 16 for a row a study measured, whose
prior is about 0.6 times as wide. A point value outside the plausible range widens the range to
include it.

For a scenario with an opt-in scheme one more prior, :data:`TAKE_UP` (``take_up_scale``), scales every
opt-in scheme's take-up (capped at 1): Beta-PERT(0.5, mode 1, 1.5; weight 4), since a planned
take-up is a guess until a pilot measures it. The scenario can fix or range it like the others.

A scenario's ``behaviour:`` section takes, per parameter, a number (the point value: the
mode moves there), ``{fixed: v}`` (held at ``v`` in every draw) or ``{low: a, high: b}``
with an optional ``mode`` and ``weight`` (its own range; the mode defaults to the point
value, clipped into the range).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
from scipy import stats

from ..behaviour import PARAMETER_TABLE, BehaviourParams
from ..errors import ConfigError

#: keys of a prior given in a scenario's ``behaviour:`` section
SPEC_KEYS = ("fixed", "low", "mode", "high", "weight")
#: the prior on the take-up of opt-in schemes (a multiplier of each one's take-up); not a behavioural parameter
TAKE_UP = "take_up_scale"
TAKE_UP_PRIOR = (0.5, 1.0, 1.5, 4.0)
#: pairs that must stay ordered in every draw (lower, higher)
ORDERED = (("discount_threshold", "discount_saturation"), ("reward_threshold", "reward_saturation"))


@dataclass(frozen=True)
class Prior:
    """A Beta-PERT prior on ``[low, high]`` with mode ``mode`` and weight ``weight``; ``fixed`` holds it at the mode."""

    name: str
    low: float
    mode: float
    high: float
    weight: float = 4.0
    fixed: bool = False

    @property
    def alpha_beta(self) -> tuple[float, float]:
        """The Beta shape parameters."""
        span = self.high - self.low
        return 1.0 + self.weight * (self.mode - self.low) / span, 1.0 + self.weight * (self.high - self.mode) / span

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Quantiles at probabilities ``u`` (the mode for a fixed prior)."""
        u = np.asarray(u, dtype=float)
        if self.fixed or self.high <= self.low:
            return np.full(u.shape, self.mode)
        a, b = self.alpha_beta
        return self.low + (self.high - self.low) * stats.beta.ppf(u, a, b)

    def mean(self) -> float:
        """The prior mean."""
        if self.fixed or self.high <= self.low:
            return self.mode
        a, b = self.alpha_beta
        return self.low + (self.high - self.low) * a / (a + b)

    def describe(self) -> str:
        """``Beta-PERT(0.11, mode 0.25, 0.33; weight 16)`` or ``fixed at 0.2``."""
        if self.fixed:
            return f"fixed at {self.mode:g}"
        return f"Beta-PERT({self.low:g}, mode {self.mode:g}, {self.high:g}; weight {self.weight:g})"


def split_behaviour_section(raw: Mapping[str, Any] | None, *, source: str | None = None
                            ) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """Split a ``behaviour:`` section into point values and prior specs (``{fixed: v}``, ``{low, high, ...}``).

    Returns
    -------
    (dict, dict)
        Point values (for :class:`BehaviourParams`) and the specs, checked for their keys and numbers.
    """
    if raw is None or not isinstance(raw, Mapping):
        return raw, {}  # type: ignore[return-value]  # BehaviourParams.from_mapping names the mistake
    values: dict[str, Any] = {}
    specs: dict[str, dict[str, float]] = {}
    for name, v in raw.items():
        where = f"behaviour.{name}"
        if name == TAKE_UP and not isinstance(v, Mapping):
            raise ConfigError("the take-up scale is a prior only: give {fixed: v} or {low: a, high: b}",
                              field=where, source=source)
        if not isinstance(v, Mapping):
            values[name] = v
            continue
        unknown = sorted(set(map(str, v)) - set(SPEC_KEYS))
        if unknown or not v:
            raise ConfigError(f"unknown key(s) {unknown} in a prior; give a number, {{fixed: v}} or "
                              "{low: a, high: b} (optionally mode, weight)", field=where, source=source)
        spec = {}
        for k, x in v.items():
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                raise ConfigError(f"expected a finite number, got {x!r}", field=f"{where}.{k}", source=source)
            spec[str(k)] = float(x)
        if name == TAKE_UP and min(spec.get("low", 0.0), spec.get("fixed", 0.0), spec.get("mode", 0.0)) < 0:
            raise ConfigError("a take-up scale cannot be negative", field=where, source=source)
        if "fixed" in spec:
            if len(spec) > 1:
                raise ConfigError("'fixed' holds the parameter at one value: give it alone", field=where, source=source)
            if name != TAKE_UP:
                values[name] = spec["fixed"]
        else:
            if "low" not in spec or "high" not in spec:
                raise ConfigError("a range needs both 'low' and 'high'", field=where, source=source)
            if not spec["low"] < spec["high"]:
                raise ConfigError(f"'low' ({spec['low']:g}) must be below 'high' ({spec['high']:g})",
                                  field=where, source=source)
            if "mode" in spec:
                if not spec["low"] <= spec["mode"] <= spec["high"]:
                    raise ConfigError("'mode' must lie between 'low' and 'high'", field=f"{where}.mode", source=source)
                if name != TAKE_UP:
                    values[name] = spec["mode"]
            if spec.get("weight", 1.0) <= 0:
                raise ConfigError("'weight' must be greater than 0", field=f"{where}.weight", source=source)
        specs[name] = spec
    return values, specs


def priors(behaviour: BehaviourParams | None = None, specs: Mapping[str, Mapping[str, float]] | None = None,
           *, opt_in: bool = False, source: str | None = None) -> dict[str, Prior]:
    """One prior per behavioural parameter, in table order (and :data:`TAKE_UP` last with ``opt_in``).

    Parameters
    ----------
    behaviour : BehaviourParams, optional
        The point values (modes); default: the table's defaults.
    specs : mapping, optional
        A scenario's own priors (:func:`split_behaviour_section`): ``{fixed: v}`` or ``{low, high, mode?, weight?}``.
    """
    b = (behaviour or BehaviourParams()).to_dict()
    specs = dict(specs or {})
    out: dict[str, Prior] = {}
    for p in PARAMETER_TABLE:
        v = float(b[p.name])
        spec = specs.get(p.name, {})
        if "fixed" in spec:
            out[p.name] = Prior(p.name, v, v, v, p.prior_shape, fixed=True)
            continue
        low, high = spec.get("low", p.plausible[0]), spec.get("high", p.plausible[1])
        if "low" in spec:
            mode = min(max(v, low), high)
        else:
            low, high, mode = min(low, v), max(high, v), v
        out[p.name] = Prior(p.name, float(low), float(mode), float(high), float(spec.get("weight", p.prior_shape)))
    if opt_in or TAKE_UP in specs:
        out[TAKE_UP] = _take_up_prior(specs.get(TAKE_UP, {}))
    for lo, hi in ORDERED:
        if not out[lo].high <= out[hi].low:
            raise ConfigError(f"the prior of {lo} reaches {out[lo].high:g}, above the lowest {hi} "
                              f"({out[hi].low:g}); a draw would put the threshold past the saturation",
                              field=f"behaviour.{hi}", source=source)
    return out


def _take_up_prior(spec: Mapping[str, float]) -> Prior:
    low, mode, high, weight = TAKE_UP_PRIOR
    if "fixed" in spec:
        return Prior(TAKE_UP, spec["fixed"], spec["fixed"], spec["fixed"], weight, fixed=True)
    low, high = spec.get("low", low), spec.get("high", high)
    mode = spec.get("mode", min(max(mode, low), high))
    return Prior(TAKE_UP, float(low), float(mode), float(high), float(spec.get("weight", weight)))


def uncertain(prs: Mapping[str, Prior]) -> list[str]:
    """Names of the priors that are not fixed (and have a range), in table order."""
    return [n for n, p in prs.items() if not p.fixed and p.high > p.low]


def sobol_points(n: int, dims: int, seed: int) -> np.ndarray:
    """``n`` scrambled Sobol' points in ``[0, 1)^dims`` (scrambling keyed by ``seed``); midpoints when ``dims`` is 0."""
    import warnings

    from scipy.stats import qmc

    if dims == 0:
        return np.full((n, 0), 0.5)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=(0x50534121,))))
    engine = qmc.Sobol(d=dims, scramble=True, rng=rng)
    with warnings.catch_warnings():  # balance needs a power of 2; any n is a valid (less balanced) design
        warnings.simplefilter("ignore", UserWarning)
        pts = engine.random(n)
    return np.clip(pts, 1e-12, 1.0 - 1e-12)


def draw_parameters(prs: Mapping[str, Prior], n: int, seed: int) -> tuple[np.ndarray, list[dict[str, float]]]:
    """``n`` quasi-random draws of every parameter.

    Returns
    -------
    (ndarray, list of dict)
        The unit-cube points of the uncertain parameters (``n x k``, columns in :func:`uncertain` order)
        and, per draw, every parameter's value.
    """
    names = uncertain(prs)
    u = sobol_points(n, len(names), seed)
    cols = {name: prs[name].ppf(u[:, j]) for j, name in enumerate(names)}
    draws = [{name: float(cols[name][i]) if name in cols else float(p.mode) for name, p in prs.items()}
             for i in range(n)]
    return u, draws
