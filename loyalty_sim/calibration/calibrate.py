"""One path from a shop's transaction log to fitted models and a fitted :class:`~loyalty_sim.Population`.

``read → summarise → fit → check → build``:

1. the log is read and validated (:func:`loyalty_sim.calibration.logs.read_log`), unless a
   :class:`TransactionLog`, a tidy log frame or an RFM summary is given;
2. it is summarised per customer (:func:`loyalty_sim.btyd.rfm.rfm_summary`);
3. customers observed for no time (``T == 0``: first seen on the last day of the
   calibration period) carry no information and are left out of the fits, and counted;
4. the models are fitted (:func:`loyalty_sim.btyd.fit_models`): one that fails is a
   :class:`~loyalty_sim.btyd.NotFitted` with its reason, the others go on, unless it is
   ``required``;
5. with a ``calibration_end`` the fits are checked on the holdout period;
6. :class:`CalibratedPopulation` builds this shop's customers from the fits
   (:func:`loyalty_sim.calibration.customers.shop_customers`): the base alive at the log's
   end, new customers at the rate the log shows, the rest from the ``fill_from`` preset
   or a survey, stated in every output.

The ``fit`` command (:func:`fit_report`), :func:`loyalty_sim.trial.design.design_trial_from_log`
and notebook 06 all take this path.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..btyd import MODELS, FitResult, NotFitted, fit_models, holdout_tracking
from ..btyd._mle import _NOTHING_TO_FIT
from ..btyd.holdout import holdout_accuracy, spend_accuracy
from ..btyd.rfm import rfm_summary
from ..errors import ConfigError, DataError
from ..files import to_jsonable
from .logs import TransactionLog, read_log

__all__ = ["CalibratedPopulation", "Calibration", "calibrate", "fit_report"]

#: Holdout error of the total above which a fit is not good enough to decide on.
MAX_HOLDOUT_ERROR = 0.15
#: Fewest repeat customers a fit is trusted on.
MIN_REPEAT_CUSTOMERS = 50


@dataclass(frozen=True)
class Calibration:
    """What :func:`calibrate` found: the log, its summary, the fits and how they fare on the holdout.

    Attributes
    ----------
    source : str
        The file read, or what was given (``"DataFrame (log)"``, ``"DataFrame (RFM)"``).
    log : TransactionLog, DataFrame or None
        The log (None when an RFM summary was given).
    rfm : DataFrame
        The summary the models were fitted to (customers with ``T > 0``).
    fits : dict
        Label -> :class:`~loyalty_sim.btyd.FitResult` or :class:`~loyalty_sim.btyd.NotFitted`.
    left_out : int
        Customers observed for no time (``T == 0``), left out of ``rfm``.
    calibration_end, observation_end, time_unit
        As given to :func:`calibrate`.
    """

    source: str
    log: Any
    rfm: pd.DataFrame
    fits: dict[str, FitResult | NotFitted]
    left_out: int = 0
    calibration_end: Any = None
    observation_end: Any = None
    time_unit: str | float = "W"
    _models: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def has_holdout(self) -> bool:
        """Whether the summary has a holdout period (``calibration_end`` was given)."""
        return "frequency_holdout" in self.rfm.columns

    def summary(self) -> dict[str, Any]:
        """Customers, repeaters and dates of the summary (``summary`` of :func:`fit_report`)."""
        rfm = self.rfm
        return {
            "n_customers": int(len(rfm)),
            "customers_left_out_observed_for_no_time": self.left_out,
            "n_repeat_customers": int((rfm["frequency"] > 0).sum()),
            "repeat_transactions": float(rfm["frequency"].sum()),
            "time_unit": rfm.attrs.get("time_unit", self.time_unit),
            "calibration_end": rfm.attrs.get("calibration_end"),
            "observation_end": rfm.attrs.get("observation_end"),
            "holdout_transactions": float(rfm["frequency_holdout"].sum()) if self.has_holdout else None,
        }

    def tracking(self, label: str) -> pd.DataFrame:
        """Cumulative repeat transactions, actual and predicted by fit ``label`` (:func:`~loyalty_sim.btyd.holdout_tracking`)."""
        if self.log is None or self.calibration_end is None:
            raise ConfigError("holdout tracking needs a log (not only an RFM summary) and a calibration_end",
                              field="calibration_end")
        return holdout_tracking(self.log, self.fits[label], calibration_end=self.calibration_end,
                                observation_end=self.observation_end, time_unit=self.time_unit)

    def holdout(self, label: str) -> dict[str, Any] | None:
        """Holdout accuracy of fit ``label`` (with tracking for a transaction model fitted to a log), or None."""
        fit = self.fits[label]
        if not self.has_holdout or isinstance(fit, NotFitted):
            return None
        if fit.model == "gamma_gamma":
            return spend_accuracy(self.rfm, fit)
        out = holdout_accuracy(self.rfm, fit)
        if self.log is not None and self.calibration_end is not None:
            track = self.tracking(label)
            hold = track[track["holdout"]]
            out["tracking"] = {
                "periods": int(len(track)),
                "final_actual": float(track["actual"].iloc[-1]),
                "final_predicted": float(track["predicted"].iloc[-1]),
                "mape_cumulative_holdout": float(np.mean(np.abs(hold["predicted"] / hold["actual"] - 1)))
                if len(hold) and (hold["actual"] > 0).all() else None,
            }
        return out

    def fit_of(self, model: str) -> FitResult | NotFitted | None:
        """The fit of ``model`` (a model name, whatever its label), or None if it was not asked for."""
        for label, name in self._models.items():
            if name == model:
                return self.fits[label]
        return None

    def report(self) -> dict[str, Any]:
        """The JSON-able report of :func:`fit_report`."""
        out: dict[str, Any] = {"source": self.source}
        if isinstance(self.log, TransactionLog):
            out["log_report"] = self.log.report.to_dict()
        out["summary"] = self.summary()
        out["models"] = {}
        for label, fit in self.fits.items():
            if isinstance(fit, NotFitted):
                out["models"][label] = fit.to_dict()
                continue
            entry = fit.to_dict()
            holdout = self.holdout(label)
            if holdout is not None:
                entry["holdout"] = holdout
            out["models"][label] = entry
        return to_jsonable(out)


@dataclass(frozen=True)
class CalibratedPopulation(Calibration):
    """A :class:`Calibration` and the customers of this shop built from it.

    Attributes (beyond :class:`Calibration`)
    ----------------------------------------
    fill_from : str
        Preset for what a log cannot show (segment mix, e-mail propensities, and the catalogue
        when the log has no category column).
    survey : SurveyEstimate or None
        Sets the segment mix when given.
    rfm_end : DataFrame or None
        The summary of the log to its last day (for who is alive and who arrives).
    """

    fill_from: str = "coffee_shop"
    survey: Any = None
    rfm_end: pd.DataFrame | None = field(default=None, repr=False)

    @cached_property
    def shop(self) -> Any:
        """:class:`~loyalty_sim.calibration.customers.ShopCustomers`: the parameters and what is assumed."""
        from .customers import shop_customers

        bg = self.fit_of("bgnbd")
        if not isinstance(bg, FitResult):
            why = bg.reason if isinstance(bg, NotFitted) else "it was not fitted"
            raise DataError(f"a population needs the BG/NBD fit: {why}", source=self.source)
        gg = self.fit_of("gamma_gamma")
        data = getattr(self.log, "data", self.log) if self.log is not None else None
        rfm_end = self.rfm_end if self.rfm_end is not None else self.rfm
        return shop_customers(bg, gg if isinstance(gg, FitResult) else None, rfm_end, time_unit=self.time_unit,
                              data=data, fill_from=self.fill_from, survey=self.survey, source=self.source)

    @property
    def params(self) -> Any:
        """The :class:`~loyalty_sim.population.PopulationParams` of this shop's customers."""
        return self.shop.params

    def population(self, size: int | None = None, *, weeks: int = 52, seed: int = 0, **overrides: Any) -> Any:
        """The shop's customers as a :class:`~loyalty_sim.population.Population`.

        Parameters
        ----------
        size : int, optional
            Customers at week 0 (default: those expected alive at the log's end); arrivals
            scale with it.
        weeks, seed
            As for :class:`~loyalty_sim.population.Population`.
        **overrides
            Fields of :class:`~loyalty_sim.population.PopulationParams` to change.
        """
        from ..population import Population

        shop = self.shop
        params = shop.params.replace(**overrides) if overrides else shop.params
        pop = Population(params, size=shop.default_size if size is None else size, weeks=weeks, seed=seed)
        pop.fitted_fields = tuple(f for f in shop.fitted_fields if f not in overrides)
        return pop

    @cached_property
    def _holdout_totals(self) -> dict[str, dict[str, Any]]:
        """Label -> holdout accuracy of each fitted transaction model (empty without a holdout)."""
        if not self.has_holdout:
            return {}
        return {lab: holdout_accuracy(self.rfm, f) for lab, f in self.fits.items()
                if isinstance(f, FitResult) and f.model in ("bgnbd", "pareto_nbd")}

    def chosen_model(self) -> str | None:
        """Label of the transaction model that predicts the holdout total best (by log-likelihood without one)."""
        cands = {lab: f for lab, f in self.fits.items()
                 if isinstance(f, FitResult) and f.model in ("bgnbd", "pareto_nbd")}
        if not cands:
            return None
        if not self.has_holdout:
            return max(cands, key=lambda lab: cands[lab].log_likelihood)
        def err(lab: str) -> float:
            e = self._holdout_totals[lab]["relative_error_total"]
            return abs(e) if e is not None else math.inf
        return min(cands, key=lambda lab: (err(lab), cands[lab].model != "bgnbd"))

    def fit_check(self) -> dict[str, Any]:
        """Whether the fit is good enough to decide on: holdout totals, error, repeat customers and the reasons."""
        return dict(self._fit_check)

    @cached_property
    def _fit_check(self) -> dict[str, Any]:
        label = self.chosen_model()
        repeaters = int((self.rfm["frequency"] > 0).sum())
        out: dict[str, Any] = {"model": label, "simulated_model": "bgnbd", "repeat_customers": repeaters,
                               "max_error": MAX_HOLDOUT_ERROR, "min_repeat_customers": MIN_REPEAT_CUSTOMERS,
                               "predicted": None, "actual": None, "relative_error": None, "reasons": [],
                               "calibration_end": self.rfm.attrs.get("calibration_end")}
        if label is not None and self.has_holdout:
            acc = self._holdout_totals[label]
            out.update(predicted=acc["predicted_total"], actual=acc["actual_total"],
                       relative_error=acc["relative_error_total"])
            bg = self.fit_of("bgnbd")
            if isinstance(bg, FitResult) and self.fits[label] is not bg:
                out["simulated_error"] = self._holdout_totals[next(k for k, f in self.fits.items() if f is bg)][
                    "relative_error_total"]
        if label is None:
            out["reasons"].append("no purchase model could be fitted")
        elif not self.has_holdout:
            out["reasons"].append("no holdout period: the fit was not checked on purchases it did not see")
        elif out["relative_error"] is None:
            out["reasons"].append("the holdout has no repeat purchases to check against")
        elif abs(out["relative_error"]) > MAX_HOLDOUT_ERROR:
            out["reasons"].append(f"the holdout total is off by more than {100 * MAX_HOLDOUT_ERROR:.0f}%")
        if repeaters < MIN_REPEAT_CUSTOMERS:
            out["reasons"].append(f"only {repeaters} customers bought more than once (fewer than "
                                  f"{MIN_REPEAT_CUSTOMERS})")
        out["good_enough"] = not out["reasons"]
        return out

    def check_tables(self) -> tuple[pd.DataFrame, pd.DataFrame] | None:
        """Weekly tracking and conditional expectations by past frequency of the chosen model (None without a holdout)."""
        from ..btyd import conditional_expectations_by_frequency

        label = self.chosen_model()
        if label is None or not self.has_holdout or self.log is None:
            return None
        return self.tracking(label), conditional_expectations_by_frequency(self.rfm, self.fits[label])

    def counts(self, size: int | None = None) -> dict[str, Any]:
        """Customers in the log -> summarised -> fitted -> alive at its end -> simulated (``size``, default the alive base).

        The first steps are :func:`~loyalty_sim.calibration.reconcile.reconcile`'s.
        """
        from .reconcile import reconcile

        shop = self.shop
        if isinstance(self.log, TransactionLog) or isinstance(self.log, pd.DataFrame):
            out = reconcile(self.log, self, calibration_end=self.calibration_end, observation_end=self.observation_end)
        else:
            n = int(len(self.rfm)) + self.left_out
            out = {"in_log": n, "summarised": n, "observed_for_no_time": self.left_out, "fitted": int(len(self.rfm)),
                   "repeat_customers": int((self.rfm["frequency"] > 0).sum()),
                   "calibration_end": self.rfm.attrs.get("calibration_end")}
        rep = self.log.report if isinstance(self.log, TransactionLog) else None
        simulated = shop.default_size if size is None else int(size)
        out.update({"log_rows": rep.n_rows if rep is not None else None,
                    "duplicates_kept": (rep.n_duplicates - rep.n_duplicates_dropped) if rep is not None else 0,
                    "duplicates_dropped": rep.n_duplicates_dropped if rep is not None else 0,
                    "customers_at_end": shop.customers_at_end, "alive_at_end": shop.base_alive,
                    "default_size": shop.default_size, "simulated": simulated,
                    "scale": simulated / shop.default_size})
        return out

    def describe(self, size: int | None = None) -> dict[str, Any]:
        """JSON-able account of the customers built: counts, fit check, what is assumed, in words and numbers."""
        from ..text.calibration import calibration_statements

        return to_jsonable({"source": self.source, "counts": self.counts(size), "fit_check": self.fit_check(),
                            "customers": self.shop.to_dict(),
                            "statements": calibration_statements(self, size)})


def _model_names(model: Any) -> dict[str, str]:
    """Label -> model from ``"all"``, a model name, a list of names or a mapping label -> name."""
    if isinstance(model, Mapping):
        pairs = dict(model)
    else:
        names = list(MODELS) if model == "all" else ([model] if isinstance(model, str) else list(model))
        pairs = {m: m for m in names}
    for mname in pairs.values():
        if mname not in MODELS:
            raise ConfigError(f"expected some of {list(MODELS)} or 'all', got {mname!r}", field="model")
    return pairs


def _open(source: Any, read_options: Mapping[str, Any]) -> tuple[str, Any]:
    """What was given, as (source text, log or None)."""
    if isinstance(source, (str, os.PathLike)):
        return str(source), read_log(source, **read_options)
    if isinstance(source, TransactionLog):
        return source.report.source, source
    if isinstance(source, pd.DataFrame) and "timestamp" in source.columns:
        return "DataFrame (log)", source
    if isinstance(source, pd.DataFrame):
        return "DataFrame (RFM)", None
    raise ConfigError(f"expected a path, TransactionLog or DataFrame, got {type(source).__name__}", field="source")


def _observed(rfm: pd.DataFrame, source: str) -> tuple[pd.DataFrame, int]:
    """The customers observed for some time (T > 0) and how many were left out."""
    unobserved = int((rfm["T"] <= 0).sum()) if "T" in rfm else 0
    if unobserved and unobserved == len(rfm) and (rfm["frequency"] == 0).all():
        raise DataError(_NOTHING_TO_FIT, source=source, column="T")
    if unobserved:
        kept = rfm[rfm["T"] > 0]
        kept.attrs.update(rfm.attrs)
        rfm = kept
    return rfm, unobserved


def calibrate(source: Any, *, model: Any = "all", required: Sequence[str] = (), calibration_end: Any = None,
              observation_end: Any = None, time_unit: str | float = "W", n_starts: int = 3,
              fill_from: str = "coffee_shop", survey: Any = None, **read_options: Any) -> CalibratedPopulation:
    """Read a log, summarise it, fit the models and keep what a report or a population needs.

    Parameters
    ----------
    source : path-like, TransactionLog, tidy log DataFrame or RFM DataFrame
        A file is read with :func:`loyalty_sim.calibration.logs.read_log` (``read_options``
        are passed on: ``format, columns, date_format, window, today, returns, duplicates``).
    model : "all", str, list of str or mapping of label -> model
        Among ``"bgnbd"``, ``"pareto_nbd"``, ``"gamma_gamma"``; a mapping labels the fits
        (``{"BG/NBD": "bgnbd"}``).
    required : sequence of str
        Models whose failure raises instead of giving a :class:`~loyalty_sim.btyd.NotFitted`.
    calibration_end, observation_end, time_unit
        As in :func:`loyalty_sim.btyd.rfm.rfm_summary`; holdout checks need ``calibration_end``.
        ``calibration_end="auto"``: the day two thirds of the way through the log (the last
        third is the holdout).
    n_starts : int
    fill_from : str
        Preset for what a log cannot show (:class:`CalibratedPopulation`).
    survey : SurveyEstimate or path, optional
        A customer survey setting the segment mix.

    Returns
    -------
    CalibratedPopulation
    """
    models = _model_names(model)
    if isinstance(survey, (str, os.PathLike)):
        from .survey import read_survey

        survey = read_survey(survey)
    text, log = _open(source, read_options)
    rfm_end = None
    if log is not None:
        if isinstance(calibration_end, str) and calibration_end == "auto":
            calibration_end = auto_calibration_end(getattr(log, "data", log))
        rfm = _summary(log, text, calibration_end=calibration_end, observation_end=observation_end,
                       time_unit=time_unit)
        rfm_end = rfm if calibration_end is None else _summary(log, text, calibration_end=None,
                                                                observation_end=observation_end, time_unit=time_unit)
    else:
        if isinstance(calibration_end, str) and calibration_end == "auto":
            calibration_end = None
        rfm = source
    rfm, left_out = _observed(rfm, text)
    fits = fit_models(rfm, models, required=required, n_starts=n_starts)
    return CalibratedPopulation(source=text, log=log, rfm=rfm, fits=fits, left_out=left_out,
                                calibration_end=calibration_end, observation_end=observation_end,
                                time_unit=time_unit, _models=models, fill_from=fill_from, survey=survey,
                                rfm_end=rfm_end)


def auto_calibration_end(data: pd.DataFrame) -> str:
    """The day two thirds of the way from a log's first to its last purchase (YYYY-MM-DD)."""
    first, last = pd.Timestamp(data["timestamp"].min()), pd.Timestamp(data["timestamp"].max())
    return str((first + (last - first) * 2 / 3).normalize().date())


def _summary(log: Any, text: str | None, **kwargs: Any) -> pd.DataFrame:
    """:func:`rfm_summary` whose errors name the file the user gave."""
    try:
        return rfm_summary(log, **kwargs)
    except DataError as exc:
        if exc.source or text is None:
            raise
        raise DataError(exc.message, source=text, rows=exc.rows, column=exc.column) from None


def fit_report(source: Any, *, model: str | Sequence[str] = "all", calibration_end: Any = None,
               observation_end: Any = None, time_unit: str | float = "W", n_starts: int = 3,
               **read_options: Any) -> dict[str, Any]:
    """Fit the models and report parameters, standard errors, log-likelihoods and holdout accuracy.

    Parameters
    ----------
    source : path-like, TransactionLog, tidy log DataFrame or RFM DataFrame
        As in :func:`calibrate`. With a log (not only an RFM summary) the report
        includes weekly tracking of cumulative repeat transactions.
    model : "all" or str or list of str
        Among ``"bgnbd"``, ``"pareto_nbd"``, ``"gamma_gamma"``.
    calibration_end, observation_end, time_unit, n_starts, **read_options
        As in :func:`calibrate`.

    Returns
    -------
    dict
        JSON-able: ``source``, ``summary`` (customers, repeaters, dates), ``log_report``
        (when a file was read) and ``models`` -> name -> fit (``FitResult.to_dict()``)
        plus ``holdout`` accuracy; a model that fails carries ``error`` instead.
    """
    return calibrate(source, model=model, calibration_end=calibration_end, observation_end=observation_end,
                     time_unit=time_unit, n_starts=n_starts, **read_options).report()
