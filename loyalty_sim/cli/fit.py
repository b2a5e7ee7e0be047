"""``loyalty-sim fit``: calibrate BG/NBD, Pareto/NBD and Gamma-Gamma on a transaction log.

The log options are those of every command that reads a log
(:mod:`loyalty_sim.cli.log_options`). The output says what reading found (rows,
duplicates kept or dropped, zero-amount purchases, returns) and reconciles the customers:
in the log, summarised, fitted, with the reason for each customer left out. A model
that fails to fit is printed as FAILED, listed in ``failed_models`` (JSON) and named in a
one-line warning on stderr (never silently); with ``--strict`` it is an error, exit status 2.
"""

from __future__ import annotations

import argparse
import sys

from ._common import emit
from .log_options import add_log_options, read_log_from_args

HELP = "fit BG/NBD, Pareto/NBD and Gamma-Gamma to a transaction log"


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the options of ``fit`` to ``p`` (and return it)."""
    p.add_argument("log", help="transaction log (CSV, Parquet or a CDNOW text file)")
    add_log_options(p)
    p.add_argument("--calibration-end", metavar="YYYY-MM-DD",
                   help="last day of the calibration period (the rest is holdout)")
    p.add_argument("--observation-end", metavar="YYYY-MM-DD", help="last day observed (default: the log's last day)")
    p.add_argument("--time-unit", default="W", help="time unit of the rates: D, W, M or Y (default W)")
    p.add_argument("--model", default="all", choices=["all", "bgnbd", "pareto_nbd", "gamma_gamma"])
    p.add_argument("--strict", action="store_true", help="exit with status 2 when a model fails to fit "
                   "(default: print FAILED and a warning, exit 0)")
    p.add_argument("--json", action="store_true", help="print JSON")
    return p


def run(args: argparse.Namespace) -> int:
    """Fit the models to the log and report them with holdout accuracy; 2 if a model failed under ``--strict``."""
    from ..calibration.calibrate import calibrate
    from ..calibration.reconcile import reconcile
    from ..dates import parse_iso_date
    from ..text.fit import fit_report_text
    from ..text.log_reading import failed_fits_text, reconciliation_text

    cal_end = parse_iso_date(args.calibration_end, option="--calibration-end")
    obs_end = parse_iso_date(args.observation_end, option="--observation-end")
    log, reading = read_log_from_args(args.log, args)
    cal = calibrate(log, model=args.model, calibration_end=cal_end, observation_end=obs_end,
                    time_unit=args.time_unit)
    res = cal.report()
    res["customers"] = reconcile(log, cal, calibration_end=cal_end, observation_end=obs_end)
    res["reading"] = reading.counts
    res["failed_models"] = [name for name, m in res.get("models", {}).items() if "error" in m]
    text = "\n".join([reading.text(), reconciliation_text(res["customers"]), fit_report_text(args.log, res)])
    emit(args, res, text)
    failed = res["failed_models"]
    if failed:
        level = "error" if args.strict else "warning"
        print(f"loyalty-sim fit: {level}: {args.log}: {failed_fits_text(res, failed)}", file=sys.stderr)
        return 2 if args.strict else 0
    return 0
