"""``loyalty-sim fit``: calibrate BG/NBD, Pareto/NBD and Gamma-Gamma on a transaction log."""

from __future__ import annotations

import argparse

from ._common import emit

HELP = "fit BG/NBD, Pareto/NBD and Gamma-Gamma to a transaction log"


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the options of ``fit`` to ``p`` (and return it)."""
    p.add_argument("log", help="transaction log (CSV, Parquet or the CDNOW text format)")
    p.add_argument("--format", default="auto", choices=["auto", "csv", "parquet", "cdnow"])
    p.add_argument("--customer-col", help="column with the customer id (default: customer_id)")
    p.add_argument("--date-col", help="column with the date or timestamp (default: timestamp)")
    p.add_argument("--amount-col", help="column with the amount (default: amount)")
    p.add_argument("--quantity-col", help="optional quantity column")
    p.add_argument("--category-col", help="optional category column")
    p.add_argument("--store-col", help="optional store column")
    p.add_argument("--date-format", help="strftime format of the dates if not ISO")
    p.add_argument("--calibration-end", help="last day of the calibration period (the rest is holdout)")
    p.add_argument("--observation-end", help="last day observed (default: the log's last day)")
    p.add_argument("--time-unit", default="W", help="time unit of the rates: D, W, M or Y (default W)")
    p.add_argument("--model", default="all", choices=["all", "bgnbd", "pareto_nbd", "gamma_gamma"])
    p.add_argument("--returns", default="error", choices=["error", "drop", "net"],
                   help="what to do with negative amounts (default: stop with an error)")
    p.add_argument("--duplicates", default="error", choices=["error", "drop", "keep"],
                   help="what to do with exact duplicate rows (default: stop with an error)")
    p.add_argument("--json", action="store_true", help="print JSON")
    return p


def run(args: argparse.Namespace) -> int:
    """Fit BG/NBD, Pareto/NBD and Gamma-Gamma to a transaction log and report holdout accuracy."""
    from ..calibration.calibrate import fit_report
    from ..text.fit import fit_report_text

    columns = {k: v for k, v in (("customer_id", args.customer_col), ("timestamp", args.date_col),
                                 ("amount", args.amount_col), ("quantity", args.quantity_col),
                                 ("category", args.category_col), ("store_id", args.store_col)) if v}
    res = fit_report(args.log, model=args.model, calibration_end=args.calibration_end,
                     observation_end=args.observation_end, time_unit=args.time_unit, format=args.format,
                     columns=columns or None, date_format=args.date_format, returns=args.returns,
                     duplicates=args.duplicates)
    emit(args, res, fit_report_text(args.log, res))
    return 0
