"""A shop's customers from its fits: who is alive at the log's end, who arrives, what is assumed.

:func:`shop_customers` turns a :class:`~loyalty_sim.calibration.calibrate.Calibration` into the
parameters of a :class:`~loyalty_sim.population.Population`:

* purchase and dropout rates from the BG/NBD fit, the ticket from the Gamma-Gamma fit;
* the base alive at the log's end as the fit sees it: the sum over the log's customers of
  P(alive | x, t_x, T), their histories summarised to the log's last day;
* new customers per week at the rate the log's first purchases show over its later part
  (the first half of a log also holds the first visits of customers who were there before it);
* categories: with a category column the shop's own (shares of purchases) and the spread of
  customers' affinities around them (a Dirichlet concentration by moments); otherwise the
  preset's;
* everything else (segment mix, e-mail propensities, life events) from the preset named by
  ``fill_from``, the segment mix from a survey when one is given: listed in
  :attr:`ShopCustomers.assumed` and stated in every output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import DataError
from ..population import PopulationParams, load_preset

__all__ = ["ShopCustomers", "affinity_concentration", "alive_at_end", "arrivals_per_week", "shop_customers"]

#: Most categories kept as the catalogue; the rest are pooled as "other".
MAX_CATEGORIES = 40
#: Fields of :class:`PopulationParams` a log can give.
FROM_LOG = ("r", "alpha", "a", "b", "spend_p", "spend_q", "spend_gamma", "arrivals", "initial_base", "history_weeks")


@dataclass(frozen=True)
class ShopCustomers:
    """The parameters of this shop's customers and where each came from.

    Attributes
    ----------
    params : PopulationParams
    base_alive : float
        Customers expected alive at the log's end (sum of P(alive)).
    customers_at_end : int
        Customers in the summary to the log's end (the sum runs over them).
    arrivals_per_week : float
        New customers per week over ``arrival_weeks`` at the log's end.
    arrival_weeks : float
    fill_from : str
        The preset the unidentified fields come from.
    survey : bool
        Whether the segment mix is a survey's.
    categories_from_log : bool
    assumed : dict
        Field -> value of every field taken from ``fill_from`` (and not from the log or a survey).
    spend_from_log : bool
        False when the Gamma-Gamma fit failed and the preset's spend model is used.
    """

    params: PopulationParams
    base_alive: float
    customers_at_end: int
    arrivals_per_week: float
    arrival_weeks: float
    fill_from: str
    survey: bool = False
    categories_from_log: bool = False
    assumed: dict[str, Any] = field(default_factory=dict)
    spend_from_log: bool = True

    @property
    def default_size(self) -> int:
        """Customers simulated at week 0 when no size is asked for: the expected alive base."""
        return max(1, int(round(self.base_alive)))

    @property
    def fitted_fields(self) -> tuple[str, ...]:
        """Fields estimated from the log or the survey."""
        return tuple(f for f in self.params.to_dict() if f not in self.assumed and f != "name")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (parameters, counts, what is assumed)."""
        return {"params": self.params.to_dict(), "base_alive": self.base_alive,
                "customers_at_end": self.customers_at_end, "arrivals_per_week": self.arrivals_per_week,
                "arrival_weeks": self.arrival_weeks, "fill_from": self.fill_from, "survey": self.survey,
                "categories_from_log": self.categories_from_log, "spend_from_log": self.spend_from_log,
                "assumed": dict(self.assumed), "default_size": self.default_size}


def alive_at_end(bg: Any, rfm_end: pd.DataFrame) -> float:
    """Customers expected alive at the end of ``rfm_end`` under BG/NBD fit ``bg`` (sum of P(alive))."""
    from ..btyd import probability_alive

    x = rfm_end["frequency"].to_numpy(dtype=float)
    p = probability_alive(bg, x, rfm_end["recency"].to_numpy(dtype=float), rfm_end["T"].to_numpy(dtype=float),
                          model="bgnbd")
    return float(np.nansum(p))


def arrivals_per_week(rfm_end: pd.DataFrame, unit_weeks: float) -> tuple[float, float]:
    """New customers per week over the later half of the log (at most its last 26 weeks), and that window in weeks.

    ``T`` of the summary to the log's end is each customer's time since the first purchase.
    """
    age_weeks = rfm_end["T"].to_numpy(dtype=float) * unit_weeks
    span = float(age_weeks.max()) if len(age_weeks) else 0.0
    window = min(26.0, span / 2.0)
    if window <= 0:
        return 0.0, 0.0
    return float((age_weeks < window).sum()) / window, window


def affinity_concentration(data: pd.DataFrame, catalogue: Mapping[str, float]) -> float:
    """Dirichlet concentration of customers' category shares around ``catalogue``, by moments.

    For a customer with ``n`` purchases, ``E[sum_k (y_k - s_k)^2] = Q (1 + c / n) / (1 + c)``
    with ``Q = sum_k s_k (1 - s_k)``; the mean over customers with two or more purchases is
    solved for ``c`` (kept within [0.05, 1000]).
    """
    cats = list(catalogue)
    share = np.array([catalogue[c] for c in cats])
    q = float(np.sum(share * (1 - share)))
    counts = pd.crosstab(data["customer_id"], data["category"]).reindex(columns=cats, fill_value=0)
    n = counts.sum(axis=1).to_numpy(dtype=float)
    keep = n >= 2
    if keep.sum() < 10 or q <= 0:
        return 5.0
    y = counts.to_numpy(dtype=float)[keep] / n[keep, None]
    m = float(np.mean(((y - share) ** 2).sum(axis=1))) / q
    h = float(np.mean(1.0 / n[keep]))
    if m <= h:
        return 1000.0
    return float(np.clip((1.0 - m) / (m - h), 0.05, 1000.0))


def _log_categories(data: pd.DataFrame) -> tuple[dict[str, float], float] | None:
    """The shop's catalogue (purchase shares) and affinity concentration, when the log has a category column."""
    if "category" not in data.columns:
        return None
    cat = data["category"].astype("string").fillna("unknown").str.strip().replace("", "unknown")
    shares = cat.value_counts(normalize=True)
    if len(shares) > MAX_CATEGORIES:
        top = shares.iloc[:MAX_CATEGORIES - 1]
        cat = cat.where(cat.isin(top.index), "other")
        shares = cat.value_counts(normalize=True)
    catalogue = {str(k): float(v) for k, v in shares.items()}
    frame = pd.DataFrame({"customer_id": data["customer_id"].to_numpy(), "category": cat.to_numpy()})
    return catalogue, affinity_concentration(frame, catalogue)


def shop_customers(bg: Any, spend: Any, rfm_end: pd.DataFrame, *, time_unit: Any, data: pd.DataFrame | None,
                   fill_from: str | PopulationParams, survey: Any = None, source: str | None = None) -> ShopCustomers:
    """Parameters of this shop's customers (see the module docstring).

    Parameters
    ----------
    bg, spend : FitResult
        BG/NBD fit; Gamma-Gamma fit or None (the preset's spend model is kept).
    rfm_end : DataFrame
        The summary of the log to its last day.
    time_unit : str or float
        Time unit of ``rfm_end`` and the fit.
    data : DataFrame or None
        The tidy log (for its categories), or None for an RFM summary.
    fill_from : str or PopulationParams
        Preset for what a log cannot show.
    survey : SurveyEstimate, optional
        Sets the segment mix.
    """
    from ..btyd.rfm import unit_days

    base = load_preset(fill_from) if isinstance(fill_from, str) else fill_from
    unit_weeks = unit_days(time_unit) / 7.0
    if len(rfm_end) == 0:
        raise DataError("the log has no customers to build a population from", source=source)
    alive = alive_at_end(bg, rfm_end)
    per_week, window = arrivals_per_week(rfm_end, unit_weeks)
    size = max(1.0, round(alive))
    span_weeks = float(rfm_end["T"].max()) * unit_weeks
    fitted: dict[str, Any] = {"r": bg.params["r"], "alpha": bg.params["alpha"] * unit_weeks,
                              "a": bg.params["a"], "b": bg.params["b"], "arrivals": per_week / size,
                              "initial_base": "established", "history_weeks": max(span_weeks, 1.0)}
    if spend is not None:
        fitted.update(spend_p=spend.params["p"], spend_q=spend.params["q"], spend_gamma=spend.params["gamma"])
    if survey is not None:
        fitted["segment_mix"] = survey.segment_mix
    cats = _log_categories(data) if data is not None else None
    if cats is not None:
        fitted.update(catalogue=cats[0], affinity_concentration=cats[1], life_events=())
    name = "fitted to " + (source.replace("\\", "/").rsplit("/", 1)[-1] if source else "a log")
    params = base.replace(**fitted, name=name)
    assumed = {k: v for k, v in params.to_dict().items() if k not in fitted and k != "name"}
    return ShopCustomers(params=params, base_alive=alive, customers_at_end=int(len(rfm_end)),
                         arrivals_per_week=per_week, arrival_weeks=window,
                         fill_from=base.name, survey=survey is not None, categories_from_log=cats is not None,
                         assumed=assumed, spend_from_log=spend is not None)
