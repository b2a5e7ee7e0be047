"""``--log FILE`` wherever a preset is taken: the options and the one way a command builds this shop's customers.

``simulate --log``, ``compare SCENARIO --log`` and ``trial design --log`` add these with
:func:`add_population_options`; the log itself is read with the options of
:mod:`loyalty_sim.cli.log_options` (the same on every command), then calibrated by
:func:`loyalty_sim.calibration.calibrate.calibrate`.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_population_options", "calibrated_from_args", "statements_text"]


def add_population_options(parser: argparse.ArgumentParser, *, log_flag: bool = True,
                           exclude: tuple[str, ...] = ()) -> None:
    """Add ``--log`` (unless the command has it), ``--calibration-end``, ``--fill-from`` and the log-reading options."""
    from ..population import available_presets
    from .log_options import add_log_options

    g = parser.add_argument_group("your own customers")
    if log_flag:
        g.add_argument("--log", help="your transaction log (CSV, Parquet or CDNOW): simulate your own customers")
    g.add_argument("--calibration-end", default="auto", metavar="YYYY-MM-DD",
                   help="last day the models are fitted on; the rest of the log checks them (default auto: "
                        "two thirds of the way through the log; none: no holdout check)")
    g.add_argument("--fill-from", choices=available_presets(), metavar="PRESET",
                   help="preset for what a log cannot show: segment mix, e-mail behaviour, and categories when "
                        "the log has no category column (default: the scenario's or --preset's; "
                        f"one of {', '.join(available_presets())})")
    add_log_options(parser, exclude=exclude)


def calibrated_from_args(args: argparse.Namespace, *, fill_default: str, survey: Any = None) -> Any:
    """Read ``args.log`` with the log options and calibrate it: a :class:`~loyalty_sim.calibration.calibrate.CalibratedPopulation`."""
    from ..calibration.calibrate import calibrate
    from ..dates import parse_iso_date
    from .log_options import read_log_from_args

    tl = read_log_from_args(args.log, args)
    tl = tl[0] if isinstance(tl, tuple) else tl
    end = args.calibration_end
    if end not in ("auto", "none", ""):
        end = str(parse_iso_date(end, "--calibration-end").date())
    return calibrate(tl, calibration_end=None if end in ("none", "") else end,
                     fill_from=args.fill_from or fill_default, survey=survey)


def statements_text(statements: list[str]) -> str:
    """The calibration sentences as a block of text before a command's own output."""
    return "\n".join(statements) + "\n" if statements else ""
