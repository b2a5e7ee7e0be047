"""A shop's files in, fitted models and a fitted population out.

==============================  ==============================================================
:mod:`~.calibration.logs`       read and validate a transaction log (:func:`read_log`), or
                                summarise a large one in one pass (:func:`summarise_log`)
:mod:`~.calibration.survey`     read a customer survey and draw segment mixes from it
:mod:`~.calibration.calibrate`  log → RFM summary → fits → holdout checks → population
                                (:func:`calibrate`, :func:`fit_report`)
:mod:`~.calibration.customers`  this shop's customers from the fits: alive base, arrivals,
                                categories, what is assumed (:class:`ShopCustomers`)
==============================  ==============================================================
"""

from __future__ import annotations

from .._lazy import lazy_exports

#: Public name -> the submodule that defines it, loaded on first use (PEP 562): reading a log
#: does not load the model fits.

_WHERE = {
    "CalibratedPopulation": "calibrate", "Calibration": "calibrate",
    "ShopCustomers": "customers", "calibrate": "calibrate", "fit_report": "calibrate",
    "ColumnMap": "log_readers", "LogReport": "logs", "TransactionLog": "logs", "read_log": "logs",
    "summarise_log": "logs",
}

__all__ = ["CalibratedPopulation", "Calibration", "ShopCustomers", "ColumnMap", "LogReport", "TransactionLog", "calibrate", "fit_report", "read_log",
           "summarise_log"]


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, __all__)
