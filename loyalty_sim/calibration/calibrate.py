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
6. :meth:`Calibration.population` builds customers from the fits
   (:meth:`~loyalty_sim.population.Population.from_fit`).

The ``fit`` command (:func:`fit_report`), :func:`loyalty_sim.trial.design.design_trial_from_log`
and notebook 06 all take this path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
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

__all__ = ["Calibration", "calibrate", "fit_report"]


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

    def population(self, *, transactions: str = "bgnbd", spend: str | None = "gamma_gamma", **kwargs: Any) -> Any:
        """Customers built from the fits (:meth:`~loyalty_sim.population.Population.from_fit`).

        Parameters
        ----------
        transactions, spend : str
            Models whose fits are used (``spend=None``, or a spend model not fitted: the
            assumption preset's spend).
        **kwargs
            ``size``, ``weeks``, ``seed``, ``assumptions``, ``survey`` and overrides of
            :meth:`~loyalty_sim.population.Population.from_fit`.
        """
        from ..population import Population

        bg = self.fit_of(transactions)
        if not isinstance(bg, FitResult):
            why = bg.reason if isinstance(bg, NotFitted) else "it was not fitted"
            raise DataError(f"a population needs the {transactions} fit: {why}", source=self.source)
        gg = self.fit_of(spend) if spend is not None else None
        return Population.from_fit(bg, gg if isinstance(gg, FitResult) else None, **kwargs)

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
              **read_options: Any) -> Calibration:
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
    n_starts : int

    Returns
    -------
    Calibration
    """
    models = _model_names(model)
    text, log = _open(source, read_options)
    if log is not None:
        try:
            rfm = rfm_summary(log, calibration_end=calibration_end, observation_end=observation_end,
                              time_unit=time_unit)
        except DataError as exc:  # a summary error names the file the user gave
            if exc.source or text is None:
                raise
            raise DataError(exc.message, source=text, rows=exc.rows, column=exc.column) from None
    else:
        rfm = source
    rfm, left_out = _observed(rfm, text)
    fits = fit_models(rfm, models, required=required, n_starts=n_starts)
    return Calibration(source=text, log=log, rfm=rfm, fits=fits, left_out=left_out, calibration_end=calibration_end,
                       observation_end=observation_end, time_unit=time_unit, _models=models)


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
