"""A shop's files in, fitted models and a fitted population out.

==============================  ==============================================================
:mod:`~.calibration.logs`       read and validate a transaction log (:func:`read_log`), or
                                summarise a large one in one pass (:func:`summarise_log`)
:mod:`~.calibration.survey`     read a customer survey and draw segment mixes from it
:mod:`~.calibration.calibrate`  log → RFM summary → fits → holdout checks → population
                                (:func:`calibrate`, :func:`fit_report`)
==============================  ==============================================================
"""

from .calibrate import Calibration, calibrate, fit_report
from .logs import ColumnMap, LogReport, TransactionLog, read_log, summarise_log

__all__ = ["Calibration", "ColumnMap", "LogReport", "TransactionLog", "calibrate", "fit_report", "read_log",
           "summarise_log"]
